#include "hyper/core/block_reader.h"

#include <gtest/gtest.h>

#include <random>

namespace hyper::core {
namespace {

Bytes RandomBlock(std::mt19937_64& rng, size_t size) {
  Bytes b(size);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

// A feed of blocks of many sizes (empty ones, tiny ones, whole MiBs): more than two chunks.
struct Fixture {
  storage::MemoryDirectory dir;
  std::vector<Bytes> blocks;
  Bytes all;  // every block's bytes back to back

  Fixture() {
    std::mt19937_64 rng(7);
    const size_t sizes[] = {0,      1, 700,   524288,  0,  1 << 20, 3 << 20, 12345, 8 << 20,
                            524288, 0, 65536, 5 << 20, 77, 2 << 20, 524288,  1};
    for (size_t s : sizes) blocks.push_back(RandomBlock(rng, s));
    auto feed = std::move(Feed::Open(dir.factory())).value();
    std::vector<ByteView> views(blocks.begin(), blocks.end());
    EXPECT_TRUE(feed->Append(std::span<const ByteView>(views).first(9)).ok());
    EXPECT_TRUE(feed->Append(std::span<const ByteView>(views).subspan(9)).ok());
    for (const auto& b : blocks) all.insert(all.end(), b.begin(), b.end());
  }
  uint64_t OffsetOf(uint64_t block) const {
    uint64_t at = 0;
    for (uint64_t i = 0; i < block; ++i) at += blocks[i].size();
    return at;
  }
  std::unique_ptr<Feed> Reopen() { return std::move(Feed::Open(dir.factory())).value(); }
};

// Everything the reader returns, or its first error.
Result<Bytes> ReadAll(BlockReader& reader, size_t* chunks = nullptr) {
  Bytes out;
  while (true) {
    ASSIGN_OR_RETURN(ByteView chunk, reader.Next());
    if (chunk.empty()) return out;
    EXPECT_LE(chunk.size(), BlockReader::kChunkBytes);
    if (chunks) ++*chunks;
    out.insert(out.end(), chunk.begin(), chunk.end());
  }
}

TEST(BlockReader, StreamsEveryRangeOfAFreshlyOpenedFeedAsGetReturnsIt) {
  Fixture fx;
  const uint64_t n = fx.blocks.size();
  for (auto [first, end] : std::vector<std::pair<uint64_t, uint64_t>>{
           {0, n}, {3, 9}, {8, 9}, {4, 5}, {5, 14}, {16, 17}, {6, 6}}) {
    auto feed = fx.Reopen();  // cold: nothing verified since open
    BlockReader reader(*feed, BlockIndex(first), BlockIndex(end));
    size_t chunks = 0;
    auto got = ReadAll(reader, &chunks);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    Bytes want(fx.all.begin() + static_cast<ptrdiff_t>(fx.OffsetOf(first)),
               fx.all.begin() + static_cast<ptrdiff_t>(fx.OffsetOf(end)));
    EXPECT_EQ(*got, want) << first << ".." << end;
    if (first == 0 && end == n) {
      EXPECT_GE(chunks, 3u) << "more than two buffers' worth";
    }
    // And read again from the same feed (now remembered as verified): the same bytes.
    BlockReader again(*feed, BlockIndex(first), BlockIndex(end));
    auto second = ReadAll(again);
    ASSERT_TRUE(second.ok()) << second.status().ToString();
    EXPECT_EQ(*second, want);
    // Single blocks afterwards read as Get returns them.
    for (uint64_t b = first; b < end; ++b) EXPECT_EQ(*feed->Get(BlockIndex(b)), fx.blocks[b]);
  }
}

TEST(BlockReader, ABlockChangedOnDiskIsCorruptionAndNoneOfItsChunkIsReturned) {
  Fixture fx;
  // Flip one byte inside block 12 (5 MiB), behind the feed's back.
  const uint64_t at = fx.OffsetOf(12) + 4321;
  auto data = std::move(fx.dir.factory()("data")).value();
  uint8_t b = 0;
  ASSERT_TRUE(data->Read(at, MutableByteView(&b, 1)).ok());
  b ^= 0x01;
  ASSERT_TRUE(data->Write(at, ByteView(&b, 1)).ok());

  auto feed = fx.Reopen();
  BlockReader reader(*feed, BlockIndex(0), BlockIndex(fx.blocks.size()));
  Bytes good;
  Status failed;
  while (true) {
    auto chunk = reader.Next();
    if (!chunk.ok()) {
      failed = chunk.status();
      break;
    }
    ASSERT_FALSE(chunk->empty()) << "the reader ended without noticing the changed block";
    good.insert(good.end(), chunk->begin(), chunk->end());
  }
  EXPECT_EQ(failed.code(), Code::kCorruption) << failed.ToString();
  EXPECT_NE(failed.ToString().find("block 12"), std::string::npos) << failed.ToString();
  // What came before is exact and stops before the changed block.
  ASSERT_LE(good.size(), fx.OffsetOf(12));
  EXPECT_EQ(good, Bytes(fx.all.begin(), fx.all.begin() + static_cast<ptrdiff_t>(good.size())));
  // The reader stays failed; the block is still refused by Get; a range without it still reads.
  EXPECT_EQ(reader.Next().status().code(), Code::kCorruption);
  EXPECT_EQ(feed->Get(BlockIndex(12)).status().code(), Code::kCorruption);
  BlockReader after(*feed, BlockIndex(13), BlockIndex(fx.blocks.size()));
  auto rest = ReadAll(after);
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  EXPECT_EQ(rest->size(), fx.all.size() - fx.OffsetOf(13));
  // Starting right at the changed block fails at once.
  BlockReader direct(*feed, BlockIndex(12), BlockIndex(13));
  EXPECT_EQ(direct.Next().status().code(), Code::kCorruption);
}

TEST(BlockReader, ABlockThatIsNotLocalGoesThroughGetAndItsFetcher) {
  Fixture fx;
  {
    auto feed = fx.Reopen();
    ASSERT_TRUE(feed->Clear(BlockIndex(7), BlockIndex(8)).ok());
  }
  auto feed = fx.Reopen();
  {  // Without waiting: the bytes before it, then NotFound.
    BlockReader reader(*feed, BlockIndex(5), BlockIndex(10), GetOptions{.wait = false});
    Bytes got;
    Status failed;
    while (true) {
      auto chunk = reader.Next();
      if (!chunk.ok()) {
        failed = chunk.status();
        break;
      }
      ASSERT_FALSE(chunk->empty());
      got.insert(got.end(), chunk->begin(), chunk->end());
    }
    EXPECT_EQ(failed.code(), Code::kNotFound) << failed.ToString();
    EXPECT_EQ(got, Bytes(fx.all.begin() + static_cast<ptrdiff_t>(fx.OffsetOf(5)),
                         fx.all.begin() + static_cast<ptrdiff_t>(fx.OffsetOf(7))));
  }
  // A fetcher that delivers nothing but says so is asked once for the block.
  int asked = 0;
  feed->SetBlockFetcher([&](BlockIndex index, std::chrono::milliseconds) {
    EXPECT_EQ(index.value, 7u);
    ++asked;
    return Status::Timeout("no peer");
  });
  BlockReader reader(*feed, BlockIndex(7), BlockIndex(8));
  EXPECT_EQ(reader.Next().status().code(), Code::kTimeout);
  EXPECT_EQ(asked, 1);
}

TEST(BlockReader, ReadRunReadsWholeBlocksThatFitAndSaysWhatToCheck) {
  Fixture fx;
  auto feed = fx.Reopen();
  Bytes buffer(2 << 20);
  // Blocks 0..4 are 0, 1, 700, 512 KiB, 0 bytes; block 5 is 1 MiB, block 6 is 3 MiB (too big).
  auto run = feed->ReadRun(BlockIndex(0), BlockIndex(100), buffer);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->count(), 6u);
  EXPECT_EQ(run->bytes, fx.OffsetOf(6));
  EXPECT_EQ(Bytes(buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(run->bytes)),
            Bytes(fx.all.begin(), fx.all.begin() + static_cast<ptrdiff_t>(run->bytes)));
  for (uint64_t k = 0; k < run->count(); ++k) {
    EXPECT_EQ(run->leaf_hashes[k], crypto::LeafHash(fx.blocks[k]));
    EXPECT_FALSE(run->verified[k]) << "nothing was checked since open";
  }
  EXPECT_EQ(feed->ReadRun(BlockIndex(6), BlockIndex(7), buffer).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(feed->ReadRun(BlockIndex(17), BlockIndex(18), buffer).status().code(),
            Code::kOutOfRange);
  // A block read through Get is verified: a run says so and needs no hash of it.
  ASSERT_TRUE(feed->Get(BlockIndex(3)).ok());
  auto again = feed->ReadRun(BlockIndex(2), BlockIndex(5), buffer);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->verified[0]);
  EXPECT_TRUE(again->verified[1]);
}

}  // namespace
}  // namespace hyper::core
