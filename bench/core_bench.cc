// Core benchmarks on real files in a temporary directory: appends of 64 KiB blocks (one at a
// time, non-durable and durable, and in 4 MiB batches as the drive's FileWriter sends them),
// reads of them back, and random reads (Get, Seek) of small blocks in a feed of 1,000,000
// blocks (a drive of a million files has a metadata feed like it). Prints MB/s or ops/s.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "hyper/core/feed.h"

namespace {

using hyper::Bytes;
using hyper::core::Feed;
using hyper::core::FeedOptions;

std::string FreshDir() {
  static int n = 0;
  auto dir = std::filesystem::temp_directory_path() /
             ("hyper_core_bench_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
  std::filesystem::remove_all(dir);
  return dir.string();
}

void BM_Append64K(benchmark::State& state) {
  bool durable = state.range(0) != 0;
  std::string dir = FreshDir();
  FeedOptions o;
  o.durable = durable;
  auto feed = Feed::Open(hyper::storage::PosixDirectory(dir), o);
  if (!feed.ok()) {
    state.SkipWithError(feed.status().ToString().c_str());
    return;
  }
  Bytes block(64 * 1024, 0x5a);
  for (auto _ : state) {
    block[0]++;
    auto r = (*feed)->Append(block);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 64 * 1024);
  (void)(*feed)->Close();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_Append64K)->Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_Get64K(benchmark::State& state) {
  std::string dir = FreshDir();
  auto feed = Feed::Open(hyper::storage::PosixDirectory(dir));
  if (!feed.ok()) {
    state.SkipWithError(feed.status().ToString().c_str());
    return;
  }
  constexpr uint64_t kBlocks = 2048;  // 128 MiB
  Bytes block(64 * 1024, 0x33);
  for (uint64_t i = 0; i < kBlocks; ++i) {
    block[0] = static_cast<uint8_t>(i);
    (void)(*feed)->Append(block);
  }
  uint64_t i = 0;
  for (auto _ : state) {
    auto r = (*feed)->Get(hyper::BlockIndex(i++ % kBlocks));
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 64 * 1024);
  (void)(*feed)->Close();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_Get64K)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_AppendSmall(benchmark::State& state) {
  std::string dir = FreshDir();
  auto feed = Feed::Open(hyper::storage::PosixDirectory(dir));
  if (!feed.ok()) {
    state.SkipWithError(feed.status().ToString().c_str());
    return;
  }
  Bytes block(100, 0x11);
  for (auto _ : state) {
    auto r = (*feed)->Append(block);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  (void)(*feed)->Close();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_AppendSmall)->UseRealTime()->Unit(benchmark::kMicrosecond);

// 4 MiB batches of 64 blocks of 64 KiB under one signature each: what the drive's FileWriter
// sends for a big file written in 64 KiB chunks. 256 batches = 1 GiB per run.
void BM_AppendBatch4M(benchmark::State& state) {
  std::string dir = FreshDir();
  auto feed = Feed::Open(hyper::storage::PosixDirectory(dir));
  if (!feed.ok()) {
    state.SkipWithError(feed.status().ToString().c_str());
    return;
  }
  constexpr size_t kBlock = 64 * 1024, kBlocks = 64;
  Bytes buffer(kBlock * kBlocks, 0x42);
  std::vector<hyper::ByteView> batch;
  for (size_t i = 0; i < kBlocks; ++i) batch.emplace_back(buffer.data() + i * kBlock, kBlock);
  uint8_t n = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < kBlocks; ++i) buffer[i * kBlock] = n++;
    auto r = (*feed)->Append(batch);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * buffer.size()));
  (void)(*feed)->Close();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_AppendBatch4M)->Iterations(256)->UseRealTime()->Unit(benchmark::kMillisecond);

// A feed of 1,000,000 blocks of 90..110 bytes, built once (in batches of 1,000) and removed at
// exit; each benchmark opens it again, as a drive is opened.
constexpr uint64_t kSmallBlocks = 1000000;

Bytes SmallBlock(uint64_t i) {
  Bytes b(90 + i % 21, static_cast<uint8_t>(i));
  for (size_t k = 0; k < 8 && k < b.size(); ++k) b[k] = static_cast<uint8_t>(i >> (8 * k));
  return b;
}

const std::string& SmallFeedDir() {
  static const std::string dir = [] {
    std::string d = FreshDir();
    auto feed = std::move(Feed::Open(hyper::storage::PosixDirectory(d))).value();
    std::vector<Bytes> blocks;
    std::vector<hyper::ByteView> views;
    for (uint64_t i = 0; i < kSmallBlocks; i += 1000) {
      blocks.clear();
      views.clear();
      for (uint64_t j = i; j < i + 1000; ++j) blocks.push_back(SmallBlock(j));
      for (const auto& b : blocks) views.emplace_back(b);
      if (!feed->Append(views).ok()) std::abort();
    }
    if (!feed->Close().ok()) std::abort();
    std::atexit([] { std::filesystem::remove_all(SmallFeedDir()); });
    return d;
  }();
  return dir;
}

// Random Get in the feed of a million small blocks. Arg 0: just opened (the first read of a
// block finds its position and checks its hash); Arg 1: every block read once beforehand.
void BM_GetSmallRandom(benchmark::State& state) {
  auto feed = Feed::Open(hyper::storage::PosixDirectory(SmallFeedDir()));
  if (!feed.ok()) {
    state.SkipWithError(feed.status().ToString().c_str());
    return;
  }
  if (state.range(0) != 0) {
    for (uint64_t i = 0; i < kSmallBlocks; ++i) (void)(*feed)->Get(hyper::BlockIndex(i));
  }
  std::mt19937_64 rng(7);
  for (auto _ : state) {
    auto r = (*feed)->Get(hyper::BlockIndex(rng() % kSmallBlocks));
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_GetSmallRandom)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// Random Seek (byte offset to block) in the same feed, every block read once beforehand.
void BM_SeekSmallRandom(benchmark::State& state) {
  auto feed = Feed::Open(hyper::storage::PosixDirectory(SmallFeedDir()));
  if (!feed.ok()) {
    state.SkipWithError(feed.status().ToString().c_str());
    return;
  }
  for (uint64_t i = 0; i < kSmallBlocks; ++i) (void)(*feed)->Get(hyper::BlockIndex(i));
  const uint64_t bytes = (*feed)->byte_length();
  std::mt19937_64 rng(9);
  for (auto _ : state) {
    auto r = (*feed)->Seek(hyper::ByteOffset(rng() % bytes));
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_SeekSmallRandom)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
