// Micro-benchmarks of the drive's read paths on a drive stored on disk (the shape of the
// side-by-side workloads 3, 4, 5 and 10): GetStat and ReadFile of random paths, Readdir of a
// 10,000-entry directory. The drive is built with the batched writer, closed and reopened, so
// the caches start cold and fill as the benchmark runs.
//   lookup_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <map>
#include <random>

#include "drive_builder.h"
#include "hyper/drive/drive.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace hyper;

// One drive of `files` 100-byte files in `dirs` folders, per (files, dirs), kept for the run.
struct OnDiskDrive {
  hyper::testing::TempDir dir;
  std::unique_ptr<corestore::Corestore> store;
  std::unique_ptr<drive::Drive> drive;
  std::vector<std::string> paths;

  crypto::PublicKey key{};

  OnDiskDrive(uint64_t files, uint64_t dirs) {
    {
      auto s = std::move(corestore::Corestore::OpenDirectory(dir.Sub("store"))).value();
      auto d = std::move(drive::Drive::Open(*s)).value();
      key = d->key();
      for (uint64_t i = 0; i < files; i++) {
        paths.push_back("/d" + std::to_string(i % dirs) + "/f" + std::to_string(i) + ".txt");
      }
      Status written = hyper::bench::WriteManyFiles(
          *d, files, [&](uint64_t i) { return paths[i]; },
          [](uint64_t) { return Bytes(100, 'x'); });
      if (!written.ok()) std::abort();
    }
    Reopen();
  }

  // Closes the drive and the store and opens them again: every cache of ours starts cold (the
  // kernel's page cache stays warm, as in drive_workloads).
  void Reopen() {
    drive.reset();
    store.reset();
    store = std::move(corestore::Corestore::OpenDirectory(dir.Sub("store"))).value();
    drive::DriveOptions options;
    options.key = key;
    drive = std::move(drive::Drive::Open(*store, options)).value();
  }

  static OnDiskDrive& Get(uint64_t files, uint64_t dirs) {
    static std::map<std::pair<uint64_t, uint64_t>, std::unique_ptr<OnDiskDrive>> drives;
    auto& d = drives[{files, dirs}];
    if (!d) d = std::make_unique<OnDiskDrive>(files, dirs);
    return *d;
  }
};

void BM_Stat(benchmark::State& state) {
  auto& d = OnDiskDrive::Get(state.range(0), 100);
  std::minstd_rand rng(1);
  for (auto _ : state) {
    auto st = d.drive->GetStat(d.paths[rng() % d.paths.size()]);
    if (!st.ok()) state.SkipWithError(st.status().ToString().c_str());
    benchmark::DoNotOptimize(st);
  }
}
BENCHMARK(BM_Stat)->Arg(10000)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMicrosecond);

// Stats of random paths on a drive just opened (drive_workloads' workload 3 on a store of
// state.range(0) files): each iteration reopens the drive (not timed), then times
// state.range(1) stats, many of which read trie nodes for the first time.
void BM_StatJustOpened(benchmark::State& state) {
  auto& d = OnDiskDrive::Get(state.range(0), 100);
  const int64_t stats = state.range(1);
  std::minstd_rand rng(3);
  for (auto _ : state) {
    state.PauseTiming();
    d.Reopen();
    state.ResumeTiming();
    for (int64_t i = 0; i < stats; i++) {
      auto st = d.drive->GetStat(d.paths[rng() % d.paths.size()]);
      if (!st.ok()) state.SkipWithError(st.status().ToString().c_str());
      benchmark::DoNotOptimize(st);
    }
  }
  state.SetItemsProcessed(state.iterations() * stats);
}
BENCHMARK(BM_StatJustOpened)
    ->Args({100000, 100000})
    ->Args({1000000, 100000})
    ->Unit(benchmark::kMillisecond);

void BM_ReadFile(benchmark::State& state) {
  auto& d = OnDiskDrive::Get(state.range(0), 100);
  std::minstd_rand rng(2);
  for (auto _ : state) {
    auto data = d.drive->ReadFile(d.paths[rng() % d.paths.size()]);
    if (!data.ok()) state.SkipWithError(data.status().ToString().c_str());
    benchmark::DoNotOptimize(data);
  }
}
BENCHMARK(BM_ReadFile)->Arg(10000)->Arg(100000)->Unit(benchmark::kMicrosecond);

void BM_Readdir10k(benchmark::State& state) {
  auto& d = OnDiskDrive::Get(10000, 1);
  for (auto _ : state) {
    auto names = d.drive->Readdir("/d0", {.stats = false});
    if (!names.ok() || names->size() != 10000) state.SkipWithError("readdir");
    benchmark::DoNotOptimize(names);
  }
}
BENCHMARK(BM_Readdir10k)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
