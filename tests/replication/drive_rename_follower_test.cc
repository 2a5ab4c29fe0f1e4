// A live follower of a drive's metadata feed never sees a rename half done: every length its
// replica takes (each one its append listener hears of, as blocks arrive over the wire) has
// either the old tree or the new one, never both and never neither.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "hyper/drive/drive.h"
#include "hyper/protocol/replicator.h"
#include "hyper/storage/file.h"

namespace hyper {
namespace {

// Moves bytes both ways, one buffer at a time, until quiet.
void Pump(protocol::ProtocolStream& a, protocol::ProtocolStream& b, protocol::FeedReplicator& ra,
          protocol::FeedReplicator& rb) {
  for (int round = 0; round < 100000; ++round) {
    bool moved = false;
    for (auto [from, to] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
      Bytes out = from->TakeOutput();
      if (out.empty()) continue;
      moved = true;
      ASSERT_TRUE(to->Recv(out).ok());
    }
    ra.Collect();
    rb.Collect();
    if (!moved) return;
  }
  FAIL() << "the streams never went quiet";
}

TEST(DriveRenameFollowerTest, EveryLengthTheFollowerTakesHasOneTree) {
  ASSERT_TRUE(crypto::Init().ok());
  storage::MemoryDirectory writer_dir;
  auto store = std::move(corestore::Corestore::Open(writer_dir.factory())).value();
  auto drive = std::move(drive::Drive::Open(*store)).value();
  for (int i = 0; i < 30; i++) {
    ASSERT_TRUE(drive->WriteFile("/a/f" + std::to_string(i), AsBytes(std::to_string(i))).ok());
  }
  ASSERT_TRUE(drive->Symlink("f0", "/a/link").ok());
  ASSERT_TRUE(drive->WriteFile("/single", AsBytes("s")).ok());

  storage::MemoryDirectory follower_dir;
  core::FeedOptions fo;
  fo.key = drive->key();
  std::shared_ptr<core::Feed> replica =
      std::move(core::Feed::Open(follower_dir.factory(), fo)).value();
  std::vector<uint64_t> lengths;
  replica->OnAppend([&lengths](uint64_t length) { lengths.push_back(length); });

  protocol::PeerOptions live;
  live.live = true;
  protocol::ProtocolStream a{protocol::StreamOptions{true, std::nullopt, {}}};
  protocol::ProtocolStream b{protocol::StreamOptions{false, std::nullopt, {}}};
  protocol::FeedReplicator seed(drive->metadata_feed().get(), live);
  protocol::FeedReplicator follower(replica.get(), live);
  a.Start();
  ASSERT_TRUE(seed.Attach(&a).ok());
  ASSERT_TRUE(follower.Attach(&b).ok());
  ASSERT_NO_FATAL_FAILURE(Pump(a, b, seed, follower));
  ASSERT_EQ(replica->length(), drive->version());
  lengths.clear();

  // Renames back and forth, each followed live.
  const std::vector<std::pair<std::string, std::string>> renames = {{"/a", "/b"},
                                                                    {"/single", "/b/single"},
                                                                    {"/b", "/c/d"},
                                                                    {"/c/d/single", "/single"},
                                                                    {"/c/d", "/a"}};
  for (const auto& [from, to] : renames) {
    ASSERT_TRUE(drive->Rename(from, to).ok()) << from;
    seed.OnLocalAppend(drive->metadata_feed()->length());
    ASSERT_NO_FATAL_FAILURE(Pump(a, b, seed, follower));
    ASSERT_EQ(replica->length(), drive->version());
  }
  ASSERT_FALSE(lengths.empty());

  // Read every length the follower took from its own replica.
  auto trie = std::move(trie::Trie::Open(replica)).value();
  const std::vector<std::string> where = {"a", "b", "c/d"};
  for (uint64_t length : lengths) {
    auto at = trie->Checkout(length);
    int trees = 0;
    for (const std::string& dir : where) {
      int found = 0;
      for (const std::string leaf : {"/f0", "/f29", "/link"}) {
        auto node = at->Get(dir + leaf);
        ASSERT_TRUE(node.ok()) << node.status().ToString();
        found += *node ? 1 : 0;
      }
      EXPECT_TRUE(found == 0 || found == 3)
          << "length " << length << ": " << dir << " is half there";
      trees += found == 3 ? 1 : 0;
    }
    EXPECT_EQ(trees, 1) << "length " << length << " has " << trees << " copies of the tree";
    int singles = 0;
    for (const std::string path : {"single", "b/single", "c/d/single"}) {
      auto node = at->Get(path);
      ASSERT_TRUE(node.ok()) << node.status().ToString();
      singles += *node ? 1 : 0;
    }
    EXPECT_EQ(singles, 1) << "length " << length;
  }
  // One length per rename: the batch arrived as one signed version.
  EXPECT_EQ(lengths.size(), renames.size());
}

}  // namespace
}  // namespace hyper
