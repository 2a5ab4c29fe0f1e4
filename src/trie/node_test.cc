#include "hyper/trie/node.h"

#include <gtest/gtest.h>

#include "hyper/crypto/crypto.h"

namespace hyper::trie {
namespace {

TEST(TrieKey, NormalizeAndSplit) {
  EXPECT_EQ(NormalizeKey("/a/b"), "a/b");
  EXPECT_EQ(NormalizeKey("//a"), "/a");
  EXPECT_EQ(NormalizeKey(""), "");
  EXPECT_EQ(SplitKey("a/b/"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(SplitKey("/a//b"), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_TRUE(SplitKey("").empty());
  EXPECT_TRUE(SplitKey("/").empty());
}

TEST(TrieKey, HashPathDigits) {
  ASSERT_TRUE(crypto::Init().ok());
  Node n("a/b", std::nullopt, kFlagHidden);
  ASSERT_EQ(n.hash().size(), 16u);
  EXPECT_EQ(n.length(), 16u * 4 + 2);
  EXPECT_EQ(n.path(0), 1u);
  EXPECT_EQ(n.path(n.length() - 1), 4u);
  // Digit 1 is the two low bits of the first hash byte.
  EXPECT_EQ(n.path(1), n.hash()[0] & 3u);
  EXPECT_EQ(n.path(4), (n.hash()[0] >> 6) & 3u);
  EXPECT_EQ(n.path(5), n.hash()[1] & 3u);
  // Same segments hash the same.
  Node m("/a/b/", std::nullopt, 0);
  EXPECT_EQ(ToBytes(m.hash()), ToBytes(n.hash()));
  EXPECT_TRUE(m.Collides(n, m.length() - 1));  // "a/b/" vs "a/b"
  EXPECT_FALSE(m.Collides(n, 32));             // same first segment
}

TEST(TrieIndex, EncodeDecodeRoundTrip) {
  TrieIndex idx;
  ASSERT_TRUE(idx.Push(0, 1, 5).ok());
  ASSERT_TRUE(idx.Push(3, 2, 7).ok());
  ASSERT_TRUE(idx.Push(3, 2, 9).ok());  // collision slot 7
  ASSERT_TRUE(idx.Push(3, 2, 9).ok());  // duplicate ignored
  Bytes enc = EncodeTrieIndex(idx);
  // len=4, [0: bits 0b10, 5], [3: bits (1<<2)|(1<<7) = 132 -> varint 0x84 0x01, 7, 9]
  EXPECT_EQ(ToHex(enc), "040002050384010709");
  auto dec = DecodeTrieIndex(enc);
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(dec->declared_length, 4u);
  ASSERT_EQ(dec->bucket_count(), 2u);
  Bucket three = dec->at(3);
  EXPECT_EQ(std::vector<uint64_t>(three.begin(), three.end()),
            (std::vector<uint64_t>{0, 0, 7, 0, 0, 0, 0, 9}));
  EXPECT_TRUE(dec->at(1).empty());
  EXPECT_EQ(EncodeTrieIndex(*dec), enc);
}

TEST(TrieIndex, DecoderLimits) {
  // Truncated varint.
  EXPECT_FALSE(DecodeTrieIndex(*FromHex("0480")).ok());
  // Bitfield wider than 32 slots.
  EXPECT_FALSE(DecodeTrieIndex(*FromHex("01008080808010")).ok());
  // Missing seq for a set bit.
  EXPECT_FALSE(DecodeTrieIndex(*FromHex("010001")).ok());
  // Huge position.
  EXPECT_FALSE(DecodeTrieIndex(*FromHex("01ffffffff0f0101")).ok());
}

TEST(TrieNode, EncodeMatchesReferenceLayout) {
  ASSERT_TRUE(crypto::Init().ok());
  Node n("/hello", ToBytes("world"), 0);
  n.set_seq(1);
  // key, value, trie (empty index: a single 0), seq, flags — always in this order.
  EXPECT_EQ(ToHex(n.Encode()),
            "0a0568656c6c6f1205776f726c641a0100200128"
            "00");
  Node empty("k", std::nullopt, kFlagHidden | (3 << kUserFlagsShift));
  empty.set_seq(2);
  EXPECT_EQ(ToHex(empty.Encode()),
            "0a016b1a010020022881"
            "06");
  auto dec = Node::Decode(empty.Encode(), 2);
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(dec->key(), "k");
  EXPECT_FALSE(dec->value().has_value());
  EXPECT_TRUE(dec->hidden());
  EXPECT_EQ(dec->flags(), 3u);
}

TEST(TrieNode, DecodeRejectsBadInput) {
  EXPECT_FALSE(Node::Decode(*FromHex(""), 1).ok());            // no key
  EXPECT_FALSE(Node::Decode(*FromHex("0a05616263"), 1).ok());  // truncated key
  EXPECT_FALSE(Node::Decode(*FromHex("08011a00"), 1).ok());    // key with the wrong wire type
  // A trie entry pointing at itself or forward.
  EXPECT_FALSE(Node::Decode(*FromHex("0a01611a0402010105"), 5).ok());
  EXPECT_TRUE(Node::Decode(*FromHex("0a01611a0402010104"), 5).ok());
}

TEST(TrieHeader, RoundTrip) {
  Header h;
  h.metadata = ToBytes("meta");
  Bytes enc = h.Encode();
  EXPECT_EQ(ToHex(enc),
            "0a09687970657274726965"
            "12046d657461");
  auto dec = Header::Decode(enc);
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(dec->type, "hypertrie");
  EXPECT_EQ(*dec->metadata, ToBytes("meta"));
  EXPECT_FALSE(dec->subtype.has_value());
}

}  // namespace
}  // namespace hyper::trie
