#include "hyper/drive/file_reader.h"

#include <gtest/gtest.h>

#include <random>

#include "hyper/storage/file.h"
#include "tests/support/memory_drive.h"

namespace hyper::drive {
namespace {

Bytes RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

class FileReaderTest : public hyper::testing::MemoryDriveTest {
 protected:
  // Everything a reader of [start, start + length) of `path` returns, or its first error.
  Result<Bytes> ReadAll(std::string_view path, uint64_t start = 0, uint64_t length = UINT64_MAX) {
    ASSIGN_OR_RETURN(auto reader, FileReader::Open(*drive_, path, start, length));
    Bytes out;
    uint64_t left = reader->remaining();
    while (true) {
      ASSIGN_OR_RETURN(ByteView chunk, reader->Next());
      if (chunk.empty()) break;
      out.insert(out.end(), chunk.begin(), chunk.end());
    }
    EXPECT_EQ(out.size(), left);
    EXPECT_EQ(reader->remaining(), 0u);
    return out;
  }
};

TEST_F(FileReaderTest, StreamsAnyRangeOfABigFileAsReadRangeReturnsIt) {
  // Another file first, so that this one's blocks do not start at 0.
  ASSERT_TRUE(drive_->WriteFile("/before", RandomBytes(1000, 1)).ok());
  const Bytes big = RandomBytes((19 << 20) + 12345, 2);  // 39 blocks, three chunks
  auto writer = std::move(drive_->CreateWriter("/big.bin")).value();
  // Writes of many sizes: small ones grouped, large ones appended from the caller's bytes.
  size_t pos = 0;
  for (size_t n : {size_t{100}, size_t{5} << 20, size_t{1} << 20, size_t{9} << 20, size_t{7}}) {
    ASSERT_TRUE(writer->Write(ByteView(big).subspan(pos, n)).ok());
    pos += n;
  }
  ASSERT_TRUE(writer->Write(ByteView(big).subspan(pos)).ok());
  ASSERT_TRUE(writer->Close().ok());
  ASSERT_TRUE(drive_->Symlink("big.bin", "/link").ok());

  const uint64_t size = big.size();
  for (auto [start, length] :
       std::vector<std::pair<uint64_t, uint64_t>>{{0, UINT64_MAX},
                                                  {0, size},
                                                  {1, size - 2},
                                                  {524288, 524288},
                                                  {524287, 2},
                                                  {(8 << 20) - 3, (9 << 20) + 11},
                                                  {size - 1, 100},
                                                  {size, 10},
                                                  {size + 5, 10},
                                                  {3, 0}}) {
    auto got = ReadAll("/big.bin", start, length);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    const uint64_t from = std::min(start, size);
    const uint64_t to = from + std::min(length, size - from);
    EXPECT_EQ(*got, Bytes(big.begin() + static_cast<ptrdiff_t>(from),
                          big.begin() + static_cast<ptrdiff_t>(to)))
        << start << "+" << length;
    if (to - from <= (64 << 20)) {
      EXPECT_EQ(*got, *drive_->ReadRange("/big.bin", start, length));
    }
  }
  auto via_link = ReadAll("/link");
  ASSERT_TRUE(via_link.ok()) << via_link.status().ToString();
  EXPECT_EQ(*via_link, big);
  EXPECT_EQ(*ReadAll("/before"), RandomBytes(1000, 1));
}

TEST_F(FileReaderTest, EmptyFilesDirectoriesAndMissingPaths) {
  ASSERT_TRUE(drive_->WriteFile("/empty", Bytes()).ok());
  ASSERT_TRUE(drive_->Mkdir("/dir").ok());
  auto empty = ReadAll("/empty");
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ(FileReader::Open(*drive_, "/dir").status().code(), Code::kIsADirectory);
  EXPECT_EQ(FileReader::Open(*drive_, "/nothing").status().code(), Code::kNotFound);
  auto reader = std::move(FileReader::Open(*drive_, "/empty")).value();
  EXPECT_EQ(reader->stat().size, 0u);
  EXPECT_TRUE(reader->Next()->empty());
}

TEST_F(FileReaderTest, ALargeWriteGivesTheBlocksOfSmallWrites) {
  const Bytes data = RandomBytes((6 << 20) + 3, 3);
  auto large = std::move(drive_->CreateWriter("/large")).value();
  ASSERT_TRUE(large->Write(data).ok());  // appended from `data` itself
  Stat a = std::move(large->Close()).value();
  auto small = std::move(drive_->CreateWriter("/small")).value();
  for (size_t pos = 0; pos < data.size(); pos += 1 << 20) {
    ASSERT_TRUE(
        small->Write(ByteView(data).subspan(pos, std::min<size_t>(1 << 20, data.size() - pos)))
            .ok());
  }
  Stat b = std::move(small->Close()).value();
  EXPECT_EQ(a.blocks, 13u);
  EXPECT_EQ(b.blocks, a.blocks);
  EXPECT_EQ(a.size, b.size);
  for (uint64_t k = 0; k < a.blocks; ++k) {
    EXPECT_EQ(*drive_->content_feed()->Get(BlockIndex(a.offset + k)),
              *drive_->content_feed()->Get(BlockIndex(b.offset + k)));
  }
  EXPECT_EQ(*ReadAll("/large"), data);
}

}  // namespace
}  // namespace hyper::drive
