// Replication throughput over TCP on 127.0.0.1, ours against the Node reference, same run:
//   us -> us, Node -> us, us -> Node, Node -> Node (the reference alone).
// Usage: protocol_replicate [MiB=128] [block KiB=64]. Prints MB/s for each direction.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "hyper/core/feed.h"
#include "hyper/protocol/tcp.h"
#include "tests/support/node_harness.h"
#include "tests/support/temp_dir.h"

using namespace hyper;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

Bytes BlockBytes(uint64_t i, size_t size) {
  Bytes b(size);
  for (size_t j = 0; j < size; ++j)
    b[j] = static_cast<uint8_t>((i * 131 + j * 7 + (j >> 8)) & 0xff);
  return b;
}

const std::string kSeedHex = "0707070707070707070707070707070707070707070707070707070707070707";

std::unique_ptr<core::Feed> Open(const std::string& dir, bool writer) {
  core::FeedOptions o;
  auto kp = crypto::KeyPairFromSeed(*FromHex(kSeedHex));
  o.key = kp.public_key;
  if (writer) o.secret_key = kp.secret_key;
  auto f = core::Feed::Open(storage::PosixDirectory(dir), o);
  if (!f.ok()) {
    std::fprintf(stderr, "open: %s\n", f.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(f).value();
}

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

uint16_t ReadPort(const std::string& path) {
  for (int i = 0; i < 6000; ++i) {
    std::ifstream in(path);
    int port = 0;
    if (in >> port && port > 0) return static_cast<uint16_t>(port);
    std::this_thread::sleep_for(5ms);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t mib = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 128;
  size_t block = (argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 64) * 1024;
  uint64_t blocks = mib * 1024 * 1024 / block;
  double mb = static_cast<double>(blocks * block) / 1e6;
  if (!crypto::Init().ok()) return 1;
  testing::TempDir dir;
  std::string key_hex = ToHex(crypto::KeyPairFromSeed(*FromHex(kSeedHex)).public_key);

  auto writer = Open(dir.Sub("writer"), true);
  for (uint64_t i = 0; i < blocks; ++i) {
    if (!writer->Append(BlockBytes(i, block)).ok()) return 1;
  }
  std::printf("%llu blocks of %zu KiB (%.1f MB)\n", static_cast<unsigned long long>(blocks),
              block / 1024, mb);

  auto server = protocol::Replicator::Create().value();
  (void)server->AddFeed(writer.get());
  uint16_t port = server->Listen("127.0.0.1", 0).value();

  {  // us -> us
    auto replica = Open(dir.Sub("replica"), false);
    auto t0 = std::chrono::steady_clock::now();
    Status s = protocol::ReplicateOnce({replica.get()}, "127.0.0.1", port, 300s);
    double sec = Seconds(std::chrono::steady_clock::now() - t0);
    std::printf("us   -> us  : %8.1f MB/s  (%s, %llu blocks)\n", mb / sec, s.ToString().c_str(),
                static_cast<unsigned long long>(replica->Downloaded()));
  }
  // A Node peer fetches every block from `from_port` and reports how long it took.
  auto node_fetch = [&](const char* label, const std::string& sub, uint16_t from_port) {
    auto node = testing::RunNode("protocol_peer", {json{{"role", "fetch"},
                                                        {"dir", dir.Sub(sub)},
                                                        {"key", key_hex},
                                                        {"port", from_port},
                                                        {"blockSize", block},
                                                        {"waitLength", blocks},
                                                        {"lifetime", 300000}}
                                                       .dump()});
    if (node.ok()) {
      double sec = node->value("ms", 1) / 1000.0;
      std::printf("%s: %8.1f MB/s  (ok=%d)\n", label, mb / sec, node->value("ok", false));
    } else {
      std::printf("%s: failed: %s\n", label, node.status().ToString().c_str());
    }
  };
  node_fetch("us   -> Node", "node-fetch", port);
  // Node serves: Node -> us, then Node -> Node.
  json serve = {{"role", "serve"},
                {"dir", dir.Sub("node-serve")},
                {"seed", kSeedHex},
                {"blocks", blocks},
                {"blockSize", block},
                {"live", true},
                {"portfile", dir.Sub("port")},
                {"stopfile", dir.Sub("stop")},
                {"lifetime", 300000}};
  auto node_server = std::async(std::launch::async,
                                [&] { return testing::RunNode("protocol_peer", {serve.dump()}); });
  uint16_t node_port = ReadPort(dir.Sub("port"));
  {
    auto replica = Open(dir.Sub("replica2"), false);
    auto r = protocol::Replicator::Create().value();
    (void)r->AddFeed(replica.get());
    auto t0 = std::chrono::steady_clock::now();
    (void)r->Connect("127.0.0.1", node_port);
    Status s = r->WaitSynced(replica.get(), 300s);
    double sec = Seconds(std::chrono::steady_clock::now() - t0);
    std::printf("Node -> us  : %8.1f MB/s  (%s, %llu blocks)\n", mb / sec, s.ToString().c_str(),
                static_cast<unsigned long long>(replica->Downloaded()));
  }
  node_fetch("Node -> Node", "node-fetch2", node_port);
  std::ofstream(dir.Sub("stop")) << "1";
  node_server.wait();
  return 0;
}
