// The File contract, checked the same way on every implementation.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <thread>
#include <vector>

#include "hyper/storage/file.h"
#include "tests/support/temp_dir.h"

namespace hyper::storage {
namespace {

struct Impl {
  std::string name;
  std::function<FileFactory(const std::string& tmp)> make;
};

class FileContract : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    switch (GetParam()) {
      case 0: factory_ = PosixDirectory(tmp_.path()); break;
      case 1: factory_ = memory_.factory(); break;
      case 2: factory_ = faulty_dir_.factory(); break;
    }
  }
  std::unique_ptr<File> Open(const std::string& name) {
    auto f = factory_(name);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return std::move(f).value();
  }
  hyper::testing::TempDir tmp_;
  MemoryDirectory memory_;
  FaultInjector injector_;
  FaultyDirectory faulty_dir_{injector_};
  FileFactory factory_;
};

TEST_P(FileContract, WriteReadSize) {
  auto f = Open("a/b/tree");
  EXPECT_EQ(*f->Size(), 0u);
  ASSERT_TRUE(f->Write(0, AsBytes("hello")).ok());
  ASSERT_TRUE(f->Write(10, AsBytes("world")).ok());  // leaves a hole
  EXPECT_EQ(*f->Size(), 15u);
  auto all = ReadBytes(*f, 0, 15);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(AsString(ByteView(*all).first(5)), "hello");
  EXPECT_EQ((*all)[7], 0);  // the hole reads as zeros
  EXPECT_EQ(AsString(ByteView(*all).subspan(10)), "world");
}

TEST_P(FileContract, WriteVIsOneWriteOfTheConcatenation) {
  auto f = Open("data");
  ASSERT_TRUE(f->Write(0, AsBytes("0123456789")).ok());
  Bytes big(70000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 31);
  std::vector<ByteView> parts = {AsBytes("ab"), ByteView(), big, AsBytes("c")};
  ASSERT_TRUE(f->WriteV(4, parts).ok());
  Bytes want = ToBytes(AsBytes("0123ab"));
  want.insert(want.end(), big.begin(), big.end());
  want.push_back('c');
  EXPECT_EQ(*f->Size(), want.size());
  EXPECT_EQ(*ReadBytes(*f, 0, want.size()), want);
  // More parts than one pwritev takes (IOV_MAX is 1024 on Linux), some of them empty.
  std::vector<Bytes> many;
  std::vector<ByteView> views;
  Bytes expect;
  for (size_t i = 0; i < 3000; ++i) {
    many.push_back(Bytes(i % 5, static_cast<uint8_t>(i)));
    expect.insert(expect.end(), many.back().begin(), many.back().end());
  }
  for (const auto& m : many) views.emplace_back(m);
  ASSERT_TRUE(f->WriteV(100, views).ok());
  EXPECT_EQ(*ReadBytes(*f, 100, expect.size()), expect);
  ASSERT_TRUE(f->WriteV(0, {}).ok());
}

TEST_P(FileContract, ReadPastEndIsAnError) {
  auto f = Open("data");
  ASSERT_TRUE(f->Write(0, AsBytes("abc")).ok());
  Bytes out(4);
  EXPECT_EQ(f->Read(0, out).code(), Code::kOutOfRange);
  EXPECT_EQ(f->Read(100, MutableByteView(out).first(1)).code(), Code::kOutOfRange);
  EXPECT_EQ(ReadBytes(*f, 2, 2).status().code(), Code::kOutOfRange);
  EXPECT_TRUE(f->Read(3, MutableByteView(out).first(0)).ok());
}

TEST_P(FileContract, DelAndTruncate) {
  auto f = Open("data");
  ASSERT_TRUE(f->Write(0, AsBytes("0123456789")).ok());
  ASSERT_TRUE(f->Del(2, 3).ok());  // inside: zeroed, size kept
  EXPECT_EQ(*f->Size(), 10u);
  auto b = ReadBytes(*f, 0, 10);
  EXPECT_EQ(AsString(*b), std::string("01\0\0\0" "56789", 10));
  ASSERT_TRUE(f->Del(7, 100).ok());  // reaches the end: truncated
  EXPECT_EQ(*f->Size(), 7u);
  ASSERT_TRUE(f->Truncate(3).ok());
  EXPECT_EQ(*f->Size(), 3u);
  ASSERT_TRUE(f->Truncate(5).ok());
  EXPECT_EQ(AsString(*ReadBytes(*f, 0, 5)), std::string("01\0\0\0", 5));
  ASSERT_TRUE(f->Sync().ok());
}

TEST_P(FileContract, ReopenSeesTheSameBytes) {
  {
    auto f = Open("key");
    ASSERT_TRUE(f->Write(0, AsBytes("persist")).ok());
    ASSERT_TRUE(f->Sync().ok());
    ASSERT_TRUE(f->Close().ok());
    EXPECT_FALSE(f->Write(0, AsBytes("x")).ok());  // closed
  }
  auto g = Open("key");
  EXPECT_EQ(AsString(*ReadBytes(*g, 0, 7)), "persist");
}

INSTANTIATE_TEST_SUITE_P(AllFiles, FileContract, ::testing::Values(0, 1, 2),
                         [](const auto& info) {
                           return std::string(info.param == 0   ? "Posix"
                                              : info.param == 1 ? "Memory"
                                                                : "Faulty");
                         });

TEST(PosixFile, MissingWithoutCreateIsNotFound) {
  hyper::testing::TempDir tmp;
  OpenOptions o;
  o.create = false;
  EXPECT_EQ(OpenPosixFile(tmp.Sub("nope"), o).status().code(), Code::kNotFound);
}

TEST(PosixFile, LockIsExclusive) {
  hyper::testing::TempDir tmp;
  OpenOptions o;
  o.lock = true;
  auto first = OpenPosixFile(tmp.Sub("LOCK"), o);
  ASSERT_TRUE(first.ok());
  auto second = OpenPosixFile(tmp.Sub("LOCK"), o);
  EXPECT_EQ(second.status().code(), Code::kBusy);
  ASSERT_TRUE((*first)->Close().ok());
  EXPECT_TRUE(OpenPosixFile(tmp.Sub("LOCK"), o).ok());
}

TEST(PosixFile, DelPunchesAHole) {
  hyper::testing::TempDir tmp;
  auto f = std::move(OpenPosixFile(tmp.Sub("big"))).value();
  Bytes block(1 << 20, 0xab);
  for (int i = 0; i < 4; i++) ASSERT_TRUE(f->Write(uint64_t(i) << 20, block).ok());
  ASSERT_TRUE(f->Sync().ok());
  auto used = [&] {
    struct stat st;
    ::stat(tmp.Sub("big").c_str(), &st);
    return st.st_blocks * 512;
  };
  auto before = used();
  ASSERT_TRUE(f->Del(1 << 20, 2 << 20).ok());
  EXPECT_EQ(*f->Size(), 4u << 20);
  auto mid = ReadBytes(*f, (1 << 20) + 5, 1);
  EXPECT_EQ((*mid)[0], 0);
  // The filesystem this runs on may not punch holes; the bytes must be zero either way,
  // and where it can, the space is released.
  EXPECT_LE(used(), before);
}

// Small reads go through a memory map of the file: it must follow the file as it grows (by
// this handle or another), past the map's first reservation, and as it shrinks.
TEST(PosixFile, MappedReadsFollowTheFile) {
  hyper::testing::TempDir tmp;
  auto f = std::move(OpenPosixFile(tmp.Sub("m"))).value();
  ASSERT_TRUE(f->Write(0, ToBytes("hello")).ok());
  EXPECT_EQ(AsString(*ReadBytes(*f, 0, 5)), "hello");
  // Grown by this handle, far past the first map.
  ASSERT_TRUE(f->Write(3 << 20, ToBytes("far")).ok());
  EXPECT_EQ(AsString(*ReadBytes(*f, 3 << 20, 3)), "far");
  EXPECT_EQ((*ReadBytes(*f, 1 << 20, 1))[0], 0);  // the hole between
  // Grown by another handle: seen at the next read.
  {
    auto other = std::move(OpenPosixFile(tmp.Sub("m"))).value();
    ASSERT_TRUE(other->Write((3 << 20) + 3, ToBytes("ther")).ok());
  }
  Bytes got(7);
  ASSERT_TRUE(f->Read(3 << 20, got).ok());
  EXPECT_EQ(AsString(got), "farther");
  // Shrunk: a read past the new end is OutOfRange, not a fault.
  ASSERT_TRUE(f->Truncate(4).ok());
  Bytes one(1);
  EXPECT_EQ(f->Read(3 << 20, one).code(), Code::kOutOfRange);
  EXPECT_EQ(f->Read(4, one).code(), Code::kOutOfRange);
  ASSERT_TRUE(f->Read(3, one).ok());
  EXPECT_EQ(one[0], 'l');
  // A file cut short by another handle before this one reads there: OutOfRange.
  auto fresh = std::move(OpenPosixFile(tmp.Sub("m"))).value();
  ASSERT_TRUE(f->Write(0, Bytes(100, 'x')).ok());
  ASSERT_TRUE(f->Truncate(50).ok());
  Bytes ten(10);
  EXPECT_EQ(fresh->Read(45, ten).code(), Code::kOutOfRange);
  ASSERT_TRUE(fresh->Read(40, ten).ok());
  EXPECT_EQ(ten, Bytes(10, 'x'));
}

// More mapped reads than the maps' budget (two 64 MiB files, one read per 64 KiB chunk, over
// and over: their pages are released and faulted in again), and a file too big to map: every
// read still returns the file's bytes.
TEST(PosixFile, MappedBudgetAndBigFiles) {
  hyper::testing::TempDir tmp;
  constexpr uint64_t kChunk = 64 * 1024;
  constexpr uint64_t kChunks = 1024;  // 64 MiB each (sparse)
  std::vector<std::unique_ptr<File>> files;
  for (int i = 0; i < 2; i++) {
    files.push_back(std::move(OpenPosixFile(tmp.Sub("f" + std::to_string(i)))).value());
    for (uint64_t c = 0; c < kChunks; c++) {
      uint8_t mark[2] = {static_cast<uint8_t>(c), static_cast<uint8_t>(i)};
      ASSERT_TRUE(files[i]->Write(c * kChunk, ByteView(mark, 2)).ok());
    }
  }
  int wrong = 0;
  for (int round = 0; round < 3; round++) {
    for (uint64_t c = 0; c < kChunks; c++) {
      for (int i = 0; i < 2; i++) {
        uint8_t got[2] = {};
        if (!files[i]->Read(c * kChunk, MutableByteView(got, 2)).ok() ||
            got[0] != static_cast<uint8_t>(c) || got[1] != i) {
          wrong++;
        }
      }
    }
  }
  EXPECT_EQ(wrong, 0);
  auto big = std::move(OpenPosixFile(tmp.Sub("big"))).value();
  ASSERT_TRUE(big->Write(5, ToBytes("small")).ok());
  EXPECT_EQ(AsString(*ReadBytes(*big, 5, 5)), "small");  // mapped while small
  ASSERT_TRUE(big->Write(uint64_t{100} << 20, ToBytes("big")).ok());
  EXPECT_EQ(AsString(*ReadBytes(*big, uint64_t{100} << 20, 3)), "big");
  EXPECT_EQ(AsString(*ReadBytes(*big, 5, 5)), "small");
  Bytes past(4);
  EXPECT_EQ(big->Read(uint64_t{100} << 20, past).code(), Code::kOutOfRange);
}

// Readers on several threads while one thread appends (the way a feed is used): every read of
// a range already written sees its bytes.
TEST(PosixFile, ConcurrentReadsWhileAppending) {
  hyper::testing::TempDir tmp;
  auto f = std::move(OpenPosixFile(tmp.Sub("c"))).value();
  constexpr uint64_t kRecord = 1000;
  constexpr uint64_t kRecords = 3000;  // 3 MB: several remaps
  std::atomic<uint64_t> written{0};
  std::atomic<int> wrong{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; t++) {
    readers.emplace_back([&, t] {
      Bytes buf(kRecord);
      uint64_t seed = t + 1;
      while (written.load() < kRecords) {
        uint64_t n = written.load();
        if (n == 0) continue;
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t r = (seed >> 33) % n;
        if (!f->Read(r * kRecord, buf).ok() || buf[0] != static_cast<uint8_t>(r) ||
            buf[kRecord - 1] != static_cast<uint8_t>(r)) {
          wrong++;
        }
      }
    });
  }
  for (uint64_t r = 0; r < kRecords; r++) {
    ASSERT_TRUE(f->Write(r * kRecord, Bytes(kRecord, static_cast<uint8_t>(r))).ok());
    written.store(r + 1);
  }
  for (auto& th : readers) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(PosixFile, UnlinkRemoves) {
  hyper::testing::TempDir tmp;
  auto f = std::move(OpenPosixFile(tmp.Sub("gone"))).value();
  ASSERT_TRUE(f->Unlink().ok());
  EXPECT_FALSE(std::filesystem::exists(tmp.Sub("gone")));
}

}  // namespace
}  // namespace hyper::storage

namespace hyper::storage {
namespace {

size_t OpenDescriptors() {
  size_t n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/fd")) n++;
  return n;
}

TEST(PooledPosixDirectory, ThousandsOfFilesWithFewDescriptors) {
  hyper::testing::TempDir tmp;
  FileFactory dir = PooledPosixDirectory(tmp.path(), 16);
  size_t before = OpenDescriptors();
  std::vector<std::unique_ptr<File>> files;
  for (int i = 0; i < 2000; i++) {
    auto f = dir("core" + std::to_string(i % 100) + "/file" + std::to_string(i));
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    ASSERT_TRUE((*f)->Write(0, AsBytes("block " + std::to_string(i))).ok());
    files.push_back(std::move(f).value());
  }
  EXPECT_LE(OpenDescriptors(), before + 16);
  // Every file still reads back, in any order, through reopened descriptors.
  for (int i = 1999; i >= 0; i -= 7) {
    std::string want = "block " + std::to_string(i);
    auto got = ReadBytes(*files[i], 0, want.size());
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(AsString(*got), want);
  }
  EXPECT_LE(OpenDescriptors(), before + 16);
  ASSERT_TRUE(files[5]->Close().ok());
  EXPECT_FALSE(files[5]->Write(0, AsBytes("x")).ok());
  ASSERT_TRUE(files[6]->Unlink().ok());
  EXPECT_FALSE(std::filesystem::exists(tmp.Sub("core6/file6")));
  files.clear();
  EXPECT_EQ(OpenDescriptors(), before);
}

// Reads and writes from several threads through a pool of two descriptors for six files: the
// operations run outside the pool's lock while descriptors are evicted and reopened under them;
// every read sees its file's bytes, and no descriptor is left open at the end.
TEST(PooledPosixDirectory, ConcurrentOperationsWhileEvicting) {
  hyper::testing::TempDir tmp;
  FileFactory dir = PooledPosixDirectory(tmp.path(), 2);
  size_t before = OpenDescriptors();
  std::vector<std::unique_ptr<File>> files;
  for (int i = 0; i < 6; i++) {
    files.push_back(std::move(dir("f" + std::to_string(i))).value());
    ASSERT_TRUE(files[i]->Write(0, Bytes(4096, static_cast<uint8_t>(i))).ok());
  }
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      Bytes buf(100);
      for (int n = 0; n < 2000; n++) {
        int i = (n * 5 + t) % 6;
        if (t == 3 && n % 10 == 0) {  // a writer too, past the bytes the readers check
          if (!files[i]->Write(8192 + n, Bytes(1, 1)).ok()) wrong++;
          continue;
        }
        if (!files[i]->Read((n * 37) % 3996, buf).ok() || buf[0] != i || buf[99] != i) wrong++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  files.clear();
  EXPECT_EQ(OpenDescriptors(), before);
}

TEST(PooledPosixDirectory, MissingWithoutCreate) {
  hyper::testing::TempDir tmp;
  OpenOptions o;
  o.create = false;
  EXPECT_EQ(PooledPosixDirectory(tmp.path(), 4, o)("x").status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace hyper::storage
