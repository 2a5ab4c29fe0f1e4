#include "hyper/trie/extension.h"

#include <gtest/gtest.h>

#include <set>

#include "hyper/crypto/crypto.h"
#include "hyper/trie/trie.h"
#include "hyper/util/protobuf.h"

namespace hyper::trie {
namespace {

// A log that serves only some blocks of another (as a sparse replica would) and counts reads.
class PartialLog final : public Log {
 public:
  PartialLog(std::shared_ptr<Log> full, std::set<uint64_t> have)
      : full_(std::move(full)), have_(std::move(have)) {}
  uint64_t length() const override { return full_->length(); }
  bool writable() const override { return false; }
  Bytes key() const override { return full_->key(); }
  Result<Bytes> Get(uint64_t index) override {
    if (!have_.count(index)) return Status::NotFound("missing " + std::to_string(index));
    return full_->Get(index);
  }
  Result<uint64_t> Append(std::span<const ByteView>) override {
    return Status::InvalidArgument("read-only");
  }
  uint64_t OnAppend(AppendListener) override { return 0; }
  void RemoveListener(uint64_t) override {}

 private:
  std::shared_ptr<Log> full_;
  std::set<uint64_t> have_;
};

class TrieExtensionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::Init().ok());
    log_ = std::make_shared<MemoryLog>();
    trie_ = std::move(Trie::Open(log_).value());
    for (int i = 0; i < 3000; i++) {
      ASSERT_TRUE(trie_
                      ->Put("dir" + std::to_string(i % 37) + "/file" + std::to_string(i),
                            ToBytes("v" + std::to_string(i)))
                      .ok());
    }
  }
  // Reads of log_, only of the blocks `local` accepts.
  LocalRead Reader(std::function<bool(uint64_t)> local = [](uint64_t) { return true; }) {
    return [this, local](uint64_t seq) -> std::optional<Bytes> {
      if (!local(seq)) return std::nullopt;
      auto b = log_->Get(seq);
      if (!b.ok()) return std::nullopt;
      return std::move(*b);
    };
  }
  std::shared_ptr<MemoryLog> log_;
  std::unique_ptr<Trie> trie_;
};

TEST_F(TrieExtensionTest, TheSeqsOfAGetAreEnoughToRepeatItElsewhere) {
  const uint64_t head = trie_->HeadSeq();
  for (const std::string key : {"dir5/file1043", "/dir5/file1043/", "dir36/file35", "absent/x"}) {
    std::vector<uint64_t> seqs = SeqsOfGet(log_->length(), Reader(), head, key);
    ASSERT_FALSE(seqs.empty()) << key;
    EXPECT_EQ(seqs.front(), head) << key;
    // A replica holding only these blocks finds the same answer without any other block.
    std::set<uint64_t> have(seqs.begin(), seqs.end());
    EXPECT_LT(have.size(), 40u) << key;  // a path, not the trie
    auto partial = std::make_shared<PartialLog>(log_, have);
    auto replica = std::move(Trie::Open(partial).value());
    auto got = replica->Get(key);
    ASSERT_TRUE(got.ok()) << key << ": " << got.status().ToString();
    auto want = trie_->Get(key);
    ASSERT_TRUE(want.ok());
    EXPECT_EQ(*got == nullptr, *want == nullptr) << key;
    if (*got && *want) {
      EXPECT_EQ((*got)->seq(), (*want)->seq()) << key;
    }
  }
}

TEST_F(TrieExtensionTest, AnOlderHeadIsAnsweredAtThatVersion) {
  const uint64_t old_head = trie_->HeadSeq();
  ASSERT_TRUE(trie_->Put("dir5/file1043", ToBytes("newer")).ok());
  std::vector<uint64_t> seqs = SeqsOfGet(log_->length(), Reader(), old_head, "dir5/file1043");
  ASSERT_FALSE(seqs.empty());
  EXPECT_EQ(seqs.front(), old_head);
  for (uint64_t s : seqs) EXPECT_LE(s, old_head);
}

TEST_F(TrieExtensionTest, AMissingBlockEndsTheWalkAndIsListed) {
  const uint64_t head = trie_->HeadSeq();
  std::vector<uint64_t> full = SeqsOfGet(log_->length(), Reader(), head, "dir7/file7");
  ASSERT_GE(full.size(), 3u);
  const uint64_t hole = full[1];
  std::vector<uint64_t> cut =
      SeqsOfGet(log_->length(), Reader([&](uint64_t s) { return s != hole; }), head, "dir7/file7");
  EXPECT_EQ(cut, (std::vector<uint64_t>{full[0], hole}));
  // Heads out of range get nothing.
  EXPECT_TRUE(SeqsOfGet(log_->length(), Reader(), 0, "dir7/file7").empty());
  EXPECT_TRUE(SeqsOfGet(log_->length(), Reader(), log_->length(), "x").empty());
  EXPECT_TRUE(SeqsOfGet(log_->length(), Reader(), uint64_t{1} << 62, "x").empty());
}

TEST(TrieExtensionCodec, GetAndCacheRoundTrip) {
  auto get = DecodeExtension(EncodeExtensionGet(4242, "a/b"));
  ASSERT_TRUE(get.ok()) << get.status().ToString();
  ASSERT_TRUE(get->get.has_value());
  EXPECT_EQ(get->get->head, 4242u);
  EXPECT_EQ(get->get->key, "a/b");
  EXPECT_FALSE(get->cache.has_value());

  std::vector<uint64_t> seqs;
  for (uint64_t i = 0; i < 300; i++) seqs.push_back(1000 - 3 * i);
  std::vector<Bytes> messages = CacheMessages(seqs);
  ASSERT_EQ(messages.size(), 3u);  // 128 + 128 + 44
  std::vector<uint64_t> back;
  for (const Bytes& m : messages) {
    auto c = DecodeExtension(m);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    ASSERT_TRUE(c->cache.has_value());
    EXPECT_LE(c->cache->blocks.size(), kCacheBatch);
    EXPECT_EQ(c->cache->start, *std::min_element(c->cache->blocks.begin(), c->cache->blocks.end()));
    EXPECT_EQ(c->cache->end,
              *std::max_element(c->cache->blocks.begin(), c->cache->blocks.end()) + 1);
    back.insert(back.end(), c->cache->blocks.begin(), c->cache->blocks.end());
  }
  EXPECT_EQ(back, seqs);
}

TEST(TrieExtensionCodec, MalformedPayloadsAreErrorsAndBigCachesAreCut) {
  for (const Bytes& bad : {Bytes{0x0a}, Bytes{0x0a, 0x05, 0x08}, Bytes{0x08, 0x01},
                           Bytes{0x1a, 0x02, 0x12, 0x05}, Bytes{0x0a, 0x02, 0x08, 0x01}}) {
    EXPECT_FALSE(DecodeExtension(bad).ok()) << ToHex(bad);
  }
  // A cache claiming far more seqs than a reader acts upon keeps kMaxCacheBlocks of them.
  ExtensionCache huge;
  huge.start = 0;
  huge.end = 100000;
  for (uint64_t i = 0; i < 100000; i++) huge.blocks.push_back(i);
  auto c = DecodeExtension(EncodeExtensionCache(huge));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->cache->blocks.size(), kMaxCacheBlocks);
  // Unknown fields are skipped; the iterator is recognised.
  pb::Writer w;
  w.Varint(9, 1);
  pb::Writer it;
  it.String(2, "dir");
  w.Message(2, it);
  auto m = DecodeExtension(w.data());
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->iterator);
  EXPECT_FALSE(m->get.has_value());
}

}  // namespace
}  // namespace hyper::trie
