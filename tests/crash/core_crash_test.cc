// Crash and corruption tests of the core on the fault-injecting storage.
//
// For a fixed sequence of appends and every operation number N: crash at N (either every
// operation after N dies, or operation N is torn), throw away what was not synced, reopen,
// and check that the reopened length L is a length we appended, that blocks 0..L-1 are exactly
// what was appended, and (durable mode) that L covers every append that returned Ok.
// Then the same with bit flips and truncations of every file: Open fails cleanly or gives a
// shorter length, and no Get ever returns wrong bytes.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "hyper/core/feed.h"

namespace hyper::core {
namespace {

Bytes BlockBytes(uint64_t i, uint64_t size) {
  Bytes b(size);
  for (uint64_t j = 0; j < size; ++j) b[j] = static_cast<uint8_t>((i * 131 + j * 7 + 3) & 0xff);
  return b;
}

using Batches = std::vector<std::vector<uint64_t>>;

const Batches& Workload() {
  static const Batches b = {{10}, {0},  {300, 1, 2}, {4096}, {5, 5, 5, 5},
                            {1},  {77}, {9000, 1},   {3},    {1, 2, 3, 4, 5, 6, 7, 8, 9},
                            {12}};
  return b;
}

FeedOptions Options(bool durable) {
  static const auto kp = crypto::KeyPairFromSeed(Bytes(32, 42));
  FeedOptions o;
  o.key = kp.public_key;
  o.secret_key = kp.secret_key;
  o.durable = durable;
  return o;
}

struct RunResult {
  uint64_t acked_blocks = 0;      // blocks of appends that returned Ok
  std::vector<uint64_t> sizes;    // sizes of all blocks in the workload order
  std::set<uint64_t> boundaries;  // lengths after each batch (and 0)
};

// Runs the workload until the first failure. `flush_every` > 0 calls Flush() every so many
// batches.
RunResult RunWorkload(storage::FileFactory files, bool durable, int flush_every) {
  RunResult r;
  r.boundaries.insert(0);
  uint64_t len = 0;
  for (const auto& b : Workload()) {
    r.sizes.insert(r.sizes.end(), b.begin(), b.end());
    len += b.size();
    r.boundaries.insert(len);
  }
  auto feed = Feed::Open(files, Options(durable));
  if (!feed.ok()) return r;
  uint64_t done = 0;
  int batches = 0;
  for (const auto& sizes : Workload()) {
    std::vector<Bytes> blocks;
    for (size_t k = 0; k < sizes.size(); ++k) blocks.push_back(BlockBytes(done + k, sizes[k]));
    std::vector<ByteView> views(blocks.begin(), blocks.end());
    auto res = (*feed)->Append(std::span<const ByteView>(views));
    if (!res.ok()) break;
    done += sizes.size();
    r.acked_blocks = done;
    if (flush_every > 0 && ++batches % flush_every == 0 && !(*feed)->Flush().ok()) break;
  }
  return r;  // the feed's destructor tries to close: it fails after a crash
}

// Reopens and checks the store. Returns the reopened length.
uint64_t CheckReopened(storage::FileFactory files, bool durable, const RunResult& r,
                       const std::string& what) {
  auto feed = Feed::Open(files, Options(durable));
  EXPECT_TRUE(feed.ok()) << what << ": " << feed.status().ToString();
  if (!feed.ok()) return 0;
  Feed& f = **feed;
  uint64_t len = f.length();
  EXPECT_TRUE(r.boundaries.count(len)) << what << ": length " << len << " is not a batch end";
  if (durable) {
    EXPECT_GE(len, r.acked_blocks) << what;
  }
  uint64_t bytes = 0;
  for (uint64_t i = 0; i < len && i < r.sizes.size(); ++i) {
    auto b = f.Get(BlockIndex(i));
    EXPECT_TRUE(b.ok()) << what << ": block " << i << ": " << b.status().ToString();
    if (b.ok()) {
      EXPECT_EQ(*b, BlockBytes(i, r.sizes[i])) << what << ": block " << i;
    }
    bytes += r.sizes[i];
  }
  EXPECT_EQ(f.byte_length(), bytes) << what;
  auto audit = f.Audit();
  EXPECT_TRUE(audit.ok()) << what;
  if (audit.ok()) {
    EXPECT_EQ(audit->invalid, 0u) << what;
  }
  // The recovered store keeps working: one more append survives a clean reopen.
  auto more = f.Append(BlockBytes(len, 33));
  EXPECT_TRUE(more.ok()) << what << ": " << more.status().ToString();
  EXPECT_TRUE(f.Close().ok()) << what;
  auto again = Feed::Open(files, Options(durable));
  EXPECT_TRUE(again.ok()) << what;
  if (again.ok()) {
    EXPECT_EQ((*again)->length(), len + 1) << what;
    auto last = (*again)->Get(BlockIndex(len));
    EXPECT_TRUE(last.ok() && *last == BlockBytes(len, 33)) << what;
  }
  return len;
}

uint64_t CountOperations(bool durable, int flush_every) {
  storage::FaultInjector inj;
  storage::FaultyDirectory dir(inj);
  RunWorkload(dir.factory(), durable, flush_every);
  return inj.operations();
}

void CrashEverywhere(bool durable, int flush_every) {
  uint64_t total = CountOperations(durable, flush_every);
  ASSERT_GT(total, 20u);
  uint64_t full_lengths = 0;
  for (uint64_t n = 0; n <= total + 1; ++n) {
    for (int mode = 0; mode < 3; ++mode) {
      if (mode > 0 && (n == 0 || n > total)) continue;
      storage::FaultInjector inj;
      storage::FaultyDirectory dir(inj);
      std::string what = "durable=" + std::to_string(durable) + " op=" + std::to_string(n) +
                         " mode=" + std::to_string(mode);
      if (mode == 0 && n > 0) inj.CrashAfterOperation(n);
      if (mode == 1) inj.TearOperation(n, 1);
      if (mode == 2) inj.TearOperation(n, 37);
      RunResult r = RunWorkload(dir.factory(), durable, flush_every);
      inj.SimulateCrash();
      uint64_t len = CheckReopened(dir.factory(), durable, r, what);
      if (len == r.sizes.size()) ++full_lengths;
      if (::testing::Test::HasFailure()) return;
    }
  }
  // With no crash at all the whole workload is there.
  EXPECT_GT(full_lengths, 0u);
}

TEST(CoreCrash, DurableAppendsSurviveACrashAtEveryOperation) { CrashEverywhere(true, 0); }

TEST(CoreCrash, NonDurableStoreIsConsistentAfterACrashAtEveryOperation) {
  CrashEverywhere(false, 0);
}

TEST(CoreCrash, NonDurableWithFlushesIsConsistent) { CrashEverywhere(false, 2); }

// A single failed write (the disk says no, the process goes on): the failing call returns an
// error, and the store reopens consistently without any crash.
TEST(CoreCrash, FailedWriteThenReopen) {
  for (bool durable : {true, false}) {
    uint64_t total = CountOperations(durable, 0);
    for (uint64_t n = 1; n <= total; ++n) {
      storage::FaultInjector inj;
      storage::FaultyDirectory dir(inj);
      inj.FailOperation(n);
      RunResult r = RunWorkload(dir.factory(), durable, 0);
      std::string what = "fail op " + std::to_string(n) + " durable=" + std::to_string(durable);
      CheckReopened(dir.factory(), durable, r, what);
      if (::testing::Test::HasFailure()) return;
    }
  }
}

// ---- corruption ----

// Builds the workload in a fresh memory directory and closes it cleanly.
void Build(storage::MemoryDirectory& dir) {
  auto r = RunWorkload(dir.factory(), false, 0);
  ASSERT_EQ(r.acked_blocks, r.sizes.size());
}

void ExpectNoWrongBlock(storage::MemoryDirectory& dir, const std::string& what) {
  RunResult ref;
  for (const auto& b : Workload()) ref.sizes.insert(ref.sizes.end(), b.begin(), b.end());
  auto feed = Feed::Open(dir.factory());  // keys from the store
  if (!feed.ok()) {
    Code c = feed.status().code();
    EXPECT_TRUE(c == Code::kCorruption || c == Code::kInvalidArgument ||
                c == Code::kInvalidSignature)
        << what << ": " << feed.status().ToString();
    return;
  }
  Feed& f = **feed;
  EXPECT_LE(f.length(), ref.sizes.size()) << what;
  for (uint64_t i = 0; i < f.length() && i < ref.sizes.size(); ++i) {
    auto b = f.Get(BlockIndex(i));
    if (b.ok()) {
      EXPECT_EQ(*b, BlockBytes(i, ref.sizes[i])) << what << ": wrong bytes for block " << i;
    } else {
      Code c = b.status().code();
      EXPECT_TRUE(c == Code::kCorruption || c == Code::kNotFound)
          << what << ": " << b.status().ToString();
    }
  }
  (void)f.Audit();
  (void)f.Seek(ByteOffset(f.byte_length() / 2));
}

TEST(CoreCorruption, BitFlipsNeverYieldAWrongBlock) {
  const char* files[] = {"key", "secret_key", "tree", "data", "signatures", "bitfield"};
  uint64_t cases = 0;
  for (const char* name : files) {
    storage::MemoryDirectory probe;
    Build(probe);
    auto file = probe.factory()(name);
    ASSERT_TRUE(file.ok());
    uint64_t size = *(*file)->Size();
    uint64_t step = std::max<uint64_t>(1, size / 150);
    for (uint64_t pos = 0; pos < size; pos += (pos < 64 ? 1 : step)) {
      for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}}) {
        storage::MemoryDirectory dir;
        Build(dir);
        auto f = dir.factory()(name);
        ASSERT_TRUE(f.ok());
        uint8_t byte;
        ASSERT_TRUE((*f)->Read(pos, MutableByteView(&byte, 1)).ok());
        byte ^= mask;
        ASSERT_TRUE((*f)->Write(pos, ByteView(&byte, 1)).ok());
        ExpectNoWrongBlock(dir, std::string(name) + " flip at " + std::to_string(pos));
        ++cases;
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
  EXPECT_GT(cases, 500u);
}

TEST(CoreCorruption, TruncatedFilesNeverYieldAWrongBlock) {
  const char* files[] = {"key", "secret_key", "tree", "data", "signatures", "bitfield"};
  for (const char* name : files) {
    storage::MemoryDirectory probe;
    Build(probe);
    uint64_t size = *(*probe.factory()(name))->Size();
    for (uint64_t cut = 0; cut < size; cut += std::max<uint64_t>(1, size / 60)) {
      storage::MemoryDirectory dir;
      Build(dir);
      auto f = dir.factory()(name);
      ASSERT_TRUE(f.ok());
      ASSERT_TRUE((*f)->Truncate(cut).ok());
      ExpectNoWrongBlock(dir, std::string(name) + " cut to " + std::to_string(cut));
      if (::testing::Test::HasFailure()) return;
    }
  }
}

}  // namespace
}  // namespace hyper::core
