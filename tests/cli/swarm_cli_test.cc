// Discovery by key alone from the command line: `seed` announces on a local DHT, and `cat`,
// `export` and `sync` given only hyper://KEY and --bootstrap find the peers; against our own
// `dht-node` and seeds, and against Node hyperswarm 2 peers (tests/interop/scripts/swarm_peer.js)
// in both directions. Every address is on loopback.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/cli/background.h"
#include "tests/cli/cli_runner.h"
#include "tests/support/net_namespace.h"

namespace hyper::cli {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Lines of text, `n` bytes in all, different for each `tag`.
std::string Text(const std::string& tag, size_t n) {
  std::string out;
  for (size_t i = 0; out.size() < n; i++) out += tag + " line " + std::to_string(i) + "\n";
  out.resize(n);
  return out;
}

// Waits for `path` to exist (a Node peer writes its info there); its JSON.
json WaitForJson(const std::string& path) {
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < deadline) {
    if (std::filesystem::exists(path)) return json::parse(ReadFile(path));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ADD_FAILURE() << "no " << path;
  return json::object();
}

// The address printed after `prefix` on the process's stdout.
std::string AddressAfter(const Background& b, const std::string& prefix) {
  std::string out = b.out();
  size_t at = out.find(prefix);
  if (at == std::string::npos) return "";
  at += prefix.size();
  return out.substr(at, out.find('\n', at) - at);
}

class SwarmCli : public CliTest {
 protected:
  // Our persistent DHT node on 127.0.0.1: the bootstrap of the test's network.
  std::string StartDht() {
    dht_ = std::make_unique<Background>(
        std::vector<std::string>{HYPERDRIVE_BINARY, "dht-node", "--listen", "127.0.0.1:0"},
        tmp_.Sub("dht.out"), tmp_.Sub("dht.err"));
    EXPECT_TRUE(dht_->WaitFor("dht-node listening on 127.0.0.1:")) << dht_->err();
    return AddressAfter(*dht_, "listening on ");
  }
  // A drive in `store` holding `files` (path -> bytes); its URL.
  std::string MakeDrive(const std::string& store, const std::map<std::string, std::string>& files) {
    std::string url = ExpectSuccess(RunCli(store, {"create"}), {"create"});
    for (const auto& [path, data] : files) {
      EXPECT_EQ(RunCli(store, {"put", url + path}, data).exit_code, 0) << path;
    }
    return url;
  }
  std::unique_ptr<Background> Seed(const std::string& store, const std::string& url,
                                   const std::string& bootstrap) {
    auto seed = std::make_unique<Background>(
        std::vector<std::string>{HYPERDRIVE_BINARY, "--storage", store, "seed", url, "--listen",
                                 "127.0.0.1:0", "--bootstrap", bootstrap},
        tmp_.Sub("seed.out"), tmp_.Sub("seed.err"));
    EXPECT_TRUE(seed->WaitFor("announcing 1 drive on the DHT")) << seed->err();
    return seed;
  }
  std::unique_ptr<Background> dht_;
};

TEST_F(SwarmCli, CatExportAndSyncFindOurSeedByTheKeyAlone) {
  const std::string boot = StartDht();
  const std::map<std::string, std::string> files = {{"/a.txt", Text("a", 1000)},
                                                    {"/dir/big.txt", Text("big", 300000)}};
  const std::string url = MakeDrive(store_, files);
  auto seed = Seed(store_, url, boot);
  // The seed prints where it listens: TCP on the port number of its DHT socket.
  const std::string listening = AddressAfter(*seed, "listening on ");
  EXPECT_EQ(listening.rfind("127.0.0.1:", 0), 0u) << listening;

  const std::string reader = tmp_.Sub("reader");
  auto cat = RunCli(reader, {"cat", url + "/a.txt", "--bootstrap", boot});
  EXPECT_EQ(cat.exit_code, 0) << cat.stderr_text;
  EXPECT_EQ(cat.stdout_text, files.at("/a.txt"));
  const std::string out = tmp_.Sub("out");
  ExpectSuccess(RunCli(tmp_.Sub("exporter"), {"export", url, out, "--bootstrap", boot}),
                {"export"});
  for (const auto& [path, data] : files) EXPECT_EQ(ReadFile(out + path), data) << path;
  const std::string synced = tmp_.Sub("synced");
  std::string sync_out =
      ExpectSuccess(RunCli(synced, {"sync", url, "--bootstrap", boot}), {"sync"});
  EXPECT_NE(sync_out.find("version "), std::string::npos) << sync_out;
  // Synced whole: read with no network at all.
  for (const auto& [path, data] : files) {
    auto run = RunCli(synced, {"cat", url + path, "--offline"});
    EXPECT_EQ(run.stdout_text, data) << path;
  }
  // The seed saw its readers come and go.
  EXPECT_TRUE(seed->WaitFor("peer 127.0.0.1:")) << seed->out();
  EXPECT_EQ(seed->Stop(SIGTERM), 0) << seed->err();
}

TEST_F(SwarmCli, AKeyNobodyServesEndsWithNoPeersFoundWithinTheTimeout) {
  const std::string boot = StartDht();
  const std::string url = "hyper://" + std::string(64, 'b');
  const auto started = Clock::now();
  auto run = RunCli(store_, {"cat", url + "/x", "--bootstrap", boot, "--timeout", "1"});
  const auto took = Clock::now() - started;
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.stderr_text.find("no peers found for " + std::string(64, 'b') + " within 1 s"),
            std::string::npos)
      << run.stderr_text;
  EXPECT_LT(took, std::chrono::seconds(8)) << "bounded by the timeout, never a hang";
  auto sync = RunCli(store_, {"sync", url, "--bootstrap", boot, "--timeout", "1"});
  EXPECT_EQ(sync.exit_code, 1);
  EXPECT_NE(sync.stderr_text.find("no peers found"), std::string::npos) << sync.stderr_text;
  // --offline never looks: the store's own answer.
  auto offline = RunCli(store_, {"cat", url + "/x", "--offline"});
  EXPECT_EQ(offline.exit_code, 1);
  EXPECT_EQ(offline.stderr_text.find("no peers found"), std::string::npos) << offline.stderr_text;
  // A bad bootstrap list is bad input, said clearly.
  const std::string untouched = tmp_.Sub("untouched");
  auto bad = RunCli(untouched, {"cat", url + "/x", "--bootstrap", "127.0.0.1:x"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.stderr_text.find("--bootstrap"), std::string::npos) << bad.stderr_text;
  EXPECT_FALSE(std::filesystem::exists(untouched)) << "said before the store is touched";
}

TEST_F(SwarmCli, ANodeHyperswarmSeedIsExportedByKeyAlone) {
  // Node's own persistent DHT node is the bootstrap here.
  hyper::testing::TempDir node_tmp;
  Background dht({"node", hyper::testing::InteropDir() + "/scripts/swarm_peer.js",
                  json{{"role", "dht"},
                       {"infofile", node_tmp.Sub("dht.json")},
                       {"stopfile", node_tmp.Sub("stop")},
                       {"lifetime", 60000}}
                      .dump()},
                 node_tmp.Sub("dht.out"), node_tmp.Sub("dht.err"));
  const std::string boot =
      "127.0.0.1:" + std::to_string(WaitForJson(node_tmp.Sub("dht.json"))["port"].get<int>());
  const std::map<std::string, std::string> files = {
      {"/hello.txt", Text("hello", 500)},
      {"/sub/data.txt", Text("data", 100000)}};  // two blocks (an argument
                                                 // holds at most 128 KiB)
  json jfiles = json::array();
  for (const auto& [path, data] : files)
    jfiles.push_back({{"path", path}, {"data", {{"text", data}}}});
  Background seed({"node", hyper::testing::InteropDir() + "/scripts/swarm_peer.js",
                   json{{"role", "seed"},
                        {"dir", node_tmp.Sub("drive")},
                        {"bootstrap", json::array({boot})},
                        {"files", jfiles},
                        {"infofile", node_tmp.Sub("seed.json")},
                        {"stopfile", node_tmp.Sub("stop")},
                        {"lifetime", 60000}}
                       .dump()},
                  node_tmp.Sub("seed.out"), node_tmp.Sub("seed.err"));
  const std::string key = WaitForJson(node_tmp.Sub("seed.json"))["key"];
  const std::string out = tmp_.Sub("out");
  ExpectSuccess(RunCli(store_, {"export", "hyper://" + key, out, "--bootstrap", boot}), {"export"});
  for (const auto& [path, data] : files) EXPECT_EQ(ReadFile(out + path), data) << path;
  std::ofstream(node_tmp.Sub("stop")).put('\n');
  EXPECT_TRUE(seed.WaitFor("uploadedBlocks")) << seed.err();
  EXPECT_GE(json::parse(seed.out())["connections"].get<int>(), 1);
}

TEST_F(SwarmCli, OurSeedIsFoundAndReadByANodeHyperswarmPeer) {
  // Our dht-node is the bootstrap of the Node peer too.
  const std::string boot = StartDht();
  const std::map<std::string, std::string> files = {{"/f.txt", Text("f", 70000)},
                                                    {"/g.txt", Text("g", 10)}};
  const std::string url = MakeDrive(store_, files);
  auto seed = Seed(store_, url, boot);
  hyper::testing::TempDir node_tmp;
  json paths = json::array();
  for (const auto& [path, data] : files) paths.push_back(path);
  auto read = hyper::testing::RunNode("swarm_peer", {json{{"role", "read"},
                                                          {"dir", node_tmp.Sub("replica")},
                                                          {"key", url.substr(8)},
                                                          {"bootstrap", json::array({boot})},
                                                          {"paths", paths},
                                                          {"lifetime", 20000}}
                                                         .dump()});
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  for (const auto& [path, data] : files) {
    EXPECT_EQ((*read)["files"][path]["size"].get<size_t>(), data.size()) << path;
  }
  // The same bytes: the Node side's FNV-1a of what it read against ours of what we wrote.
  auto fnv = [](const std::string& s) {
    uint32_t h = 0x811c9dc5;
    for (unsigned char c : s) {
      h ^= c;
      h *= 0x01000193;
    }
    return h;
  };
  for (const auto& [path, data] : files) {
    EXPECT_EQ((*read)["files"][path]["fnv"].get<uint32_t>(), fnv(data)) << path;
  }
  EXPECT_EQ(seed->Stop(SIGTERM), 0) << seed->err();
}

TEST_F(SwarmCli, OnTheLanAloneOursFindOursAndANodePeerFindsOurs) {
  // Multicast only inside a network namespace of this test's own (loopback only).
  ASSERT_TRUE(hyper::testing::EnterPrivateNetworkNamespace().ok());
  setenv("HYPERDRIVE_LAN", "1", 1);       // the processes started below use the LAN
  setenv("HYPERDRIVE_BOOTSTRAP", "", 1);  // and no DHT
  const std::map<std::string, std::string> files = {{"/lan.txt", Text("lan", 3000)}};
  const std::string url = MakeDrive(store_, files);
  Background seed({HYPERDRIVE_BINARY, "--storage", store_, "seed", url, "--listen", "127.0.0.1:0"},
                  tmp_.Sub("seed.out"), tmp_.Sub("seed.err"));
  ASSERT_TRUE(seed.WaitFor("listening on 127.0.0.1:")) << seed.err();
  auto cat = RunCli(tmp_.Sub("reader"), {"cat", url + "/lan.txt"});
  EXPECT_EQ(cat.exit_code, 0) << cat.stderr_text;
  EXPECT_EQ(cat.stdout_text, files.at("/lan.txt"));
  // A Node hyperswarm peer with no DHT finds our seed through its multicast DNS.
  hyper::testing::TempDir node_tmp;
  auto read = hyper::testing::RunNode("swarm_peer", {json{{"role", "read"},
                                                          {"lan", true},
                                                          {"dir", node_tmp.Sub("replica")},
                                                          {"key", url.substr(8)},
                                                          {"bootstrap", json::array()},
                                                          {"paths", json::array({"/lan.txt"})},
                                                          {"lifetime", 20000}}
                                                         .dump()});
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ((*read)["files"]["/lan.txt"]["size"].get<size_t>(), files.at("/lan.txt").size());
  EXPECT_EQ(seed.Stop(SIGTERM), 0) << seed.err();
}

}  // namespace
}  // namespace hyper::cli
