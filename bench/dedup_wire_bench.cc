// Deduplication across drives on the wire (docs/dedup.md): bytes on the wire to replicate a
// drive B of which 90 % of the content is already held by another drive A of the replica's
// store, with and without deduplication. Ours only: the reference downloads every block.
//   dedup_wire_bench [--mib M]   (default 64: B holds M MiB, A the first 90 % of its bytes)
// B (one file of 0.9 M MiB that A also holds, and one of 0.1 M MiB of its own) is served by one
// store over TCP on 127.0.0.1 and followed with DriveReplication by three replica stores: empty;
// holding A without the leaf index (no deduplication); holding A with it. For each it prints the
// content bytes downloaded and copied, every byte received on the connection, and the time, and
// checks that B reads back as written.
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "check.h"
#include "hyper/corestore/corestore.h"
#include "hyper/drive/drive.h"
#include "hyper/replication/drive_replication.h"
#include "hyper/replication/store_feeds.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace hyper;
using hyper::bench::Check;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

Bytes Body(uint64_t size, uint64_t seed) {
  Bytes b(size);
  uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (auto& c : b) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<uint8_t>(x >> 24);
  }
  return b;
}

struct Run {
  uint64_t downloaded = 0;
  uint64_t copied = 0;
  uint64_t received = 0;
  double seconds = 0;
};

Run Replicate(corestore::Corestore& store, const crypto::PublicKey& key, uint16_t port,
              const Bytes& shared, const Bytes& own) {
  auto client = Check(protocol::Replicator::Create(), "client");
  protocol::PeerOptions live;
  live.live = true;  // the connection (and its byte counts) stays after the download
  const auto start = Clock::now();
  auto follower = Check(replication::DriveReplication::Start(store, *client, key, live), "follow");
  Check(client->Connect("127.0.0.1", port), "connect");
  const uint64_t blocks = (shared.size() + own.size()) / drive::kContentBlockBytes;
  core::Feed* content = nullptr;
  uint64_t seen = client->events();
  const auto deadline = start + 600s;
  while (true) {
    drive::Drive* d = follower->drive(key);
    if (d != nullptr && d->content_feed()) {
      content = d->content_feed().get();
      auto st = client->stats(content);
      if (content->length() == blocks && content->Downloaded() == blocks && st.ok() &&
          st->downloaded_blocks + st->copied_blocks == blocks) {
        break;
      }
    }
    if (Clock::now() > deadline) Check(Status::Timeout("replication"), "replicate");
    client->WaitForEvent(seen, 100ms);
    seen = client->events();
  }
  Run r;
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  auto st = Check(client->stats(content), "stats");
  r.downloaded = st.downloaded_bytes;
  r.copied = st.copied_bytes;
  for (const auto& c : client->connections()) r.received += c.bytes_received;
  drive::Drive* d = follower->drive(key);
  if (Check(d->ReadFile("/shared.bin"), "read shared") != shared ||
      Check(d->ReadFile("/own.bin"), "read own") != own) {
    Check(Status::Corruption("B does not read back as written"), "check");
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t mib = 64;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--mib") == 0 && i + 1 < argc) {
      mib = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::cerr << "usage: dedup_wire_bench [--mib M]\n";
      return 2;
    }
  }
  if (mib < 10) mib = 10;
  Check(crypto::Init(), "crypto");
  const uint64_t block = drive::kContentBlockBytes;
  const uint64_t total_blocks = mib * (uint64_t{1} << 20) / block;
  const uint64_t shared_blocks = total_blocks * 9 / 10;
  const Bytes shared = Body(shared_blocks * block, 1);
  const Bytes own = Body((total_blocks - shared_blocks) * block, 2);

  testing::TempDir tmp;
  auto wstore = Check(corestore::Corestore::OpenDirectory(tmp.Sub("writer")), "writer store");
  auto b = Check(drive::Drive::Open(*wstore), "drive B");
  Check(b->WriteFile("/shared.bin", shared), "write shared");
  Check(b->WriteFile("/own.bin", own), "write own");
  replication::StoreFeeds served(*wstore, {});
  protocol::ReplicationOptions ro;
  ro.feed_provider = served.provider();
  auto server = Check(protocol::Replicator::Create(ro), "server");
  const uint16_t port = Check(server->Listen("127.0.0.1", 0), "listen");

  auto with_a = [&](const std::string& name, bool index) {
    corestore::CorestoreOptions o;
    o.leaf_index = index;
    auto store = Check(corestore::Corestore::OpenDirectory(tmp.Sub(name), o), "replica store");
    drive::DriveOptions a;
    a.namespace_name = "a";
    auto drive_a = Check(drive::Drive::Open(*store, a), "drive A");
    Check(drive_a->WriteFile("/copy-of-shared.bin", shared), "write A");
    return store;
  };
  std::cout << "B: " << total_blocks * block << " bytes of content in " << total_blocks
            << " blocks, " << shared_blocks << " of them also in A\n";
  auto print = [](const char* what, const Run& r) {
    std::cout << what << ": received " << r.received << " bytes on the wire (content downloaded "
              << r.downloaded << ", copied from the store " << r.copied << ") in " << r.seconds
              << " s\n";
  };
  {
    auto empty = Check(corestore::Corestore::OpenDirectory(tmp.Sub("empty")), "empty store");
    print("empty store          ", Replicate(*empty, b->key(), port, shared, own));
  }
  {
    auto store = with_a("a-no-dedup", false);
    print("holding A, no dedup  ", Replicate(*store, b->key(), port, shared, own));
  }
  {
    auto store = with_a("a-dedup", true);
    print("holding A, with dedup", Replicate(*store, b->key(), port, shared, own));
  }
  return 0;
}
