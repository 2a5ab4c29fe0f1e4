#include "hyper/replication/drive_replication.h"

#include <gtest/gtest.h>

#include "hyper/replication/store_feeds.h"
#include "tests/support/temp_dir.h"

namespace hyper::replication {
namespace {

using namespace std::chrono_literals;

// Waits on the replicator's events (no polling) until `done` holds; false after 10 s.
bool WaitUntil(protocol::Replicator& rep, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  uint64_t seen = rep.events();
  while (!done()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) return false;
    rep.WaitForEvent(seen, left);
    seen = rep.events();
  }
  return true;
}

std::string Local(drive::Drive* d, const std::string& path) {
  if (d == nullptr) return "";
  auto st = d->GetStat(path);
  if (!st.ok() || !d->content_feed()) return "";
  if (!d->content_feed()->Has(BlockIndex(st->offset), BlockIndex(st->offset + st->blocks))) {
    return "";
  }
  auto bytes = d->ReadFile(path);
  return bytes.ok() ? std::string(AsString(*bytes)) : "";
}

// A follower picks up, from the append that writes them, the content feed and a drive mounted
// after it started: nothing re-scans on a timer.
TEST(DriveReplication, FollowsTheContentAndAMountMadeLater) {
  testing::TempDir tmp;
  auto wstore = corestore::Corestore::OpenDirectory(tmp.Sub("writer")).value();
  auto a = drive::Drive::Open(*wstore).value();
  ASSERT_TRUE(a->WriteFile("/a.txt", AsBytes("in a")).ok());
  StoreFeedsOptions so;
  so.peer.live = true;
  StoreFeeds served(*wstore, so);
  protocol::ReplicationOptions ro;
  ro.feed_provider = served.provider();
  auto server = protocol::Replicator::Create(ro).value();
  uint16_t port = server->Listen("127.0.0.1", 0).value();

  auto rstore = corestore::Corestore::OpenDirectory(tmp.Sub("reader")).value();
  auto client = protocol::Replicator::Create().value();
  protocol::PeerOptions live;
  live.live = true;
  auto follower = DriveReplication::Start(*rstore, *client, a->key(), live).value();
  EXPECT_EQ(follower->feeds().size(), 1u);  // the metadata; the content once its header is here
  ASSERT_TRUE(client->Connect("127.0.0.1", port).ok());
  ASSERT_TRUE(WaitUntil(*client, [&] { return Local(follower->drive(a->key()), "/a.txt") != ""; }));
  EXPECT_EQ(Local(follower->drive(a->key()), "/a.txt"), "in a");
  EXPECT_EQ(follower->feeds().size(), 2u);

  // A drive mounted now, with a file: its feeds are added as the mount arrives.
  drive::DriveOptions other;
  other.namespace_name = "b";
  auto b = drive::Drive::Open(*wstore, other).value();
  ASSERT_TRUE(b->WriteFile("/b.txt", AsBytes("in b")).ok());
  ASSERT_TRUE(a->Mount("/m", b->key()).ok());
  ASSERT_TRUE(WaitUntil(*client, [&] { return Local(follower->drive(b->key()), "/b.txt") != ""; }));
  EXPECT_EQ(Local(follower->drive(b->key()), "/b.txt"), "in b");
  EXPECT_EQ(follower->feeds().size(), 4u);
  follower.reset();  // removes its feeds from the replicator
  EXPECT_EQ(client->feed_count(), 0u);
}

}  // namespace
}  // namespace hyper::replication
