// Core benchmarks: append 64 KiB blocks (non-durable and durable) and read them back, on real
// files in a temporary directory. Prints MB/s (bytes_per_second) per case.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>

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

}  // namespace

BENCHMARK_MAIN();
