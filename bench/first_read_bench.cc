// The first-touch shapes of drive_workloads' workloads 4 and 5, ours only, repeated so that one
// process gives several samples (wall and CPU time of each):
//   first_read_bench readdir [trials]   a fresh drive, 10,000 WriteFile into /small, then the
//                                       first Readdir (names) and a second one
//   first_read_bench readfile [trials]  a 100,000-file drive (100 folders) reopened from disk:
//                                       100,000 GetStat, then 20,000 ReadFile of random files
// Workload 5 runs right after the writes, workload 4 on a just-opened drive, as in
// drive_workloads (bench/drive_workloads.cc); nothing here warms what those time.
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "check.h"
#include "drive_builder.h"
#include "hyper/drive/drive.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace hyper;
using hyper::bench::Check;

double CpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double WallMs() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void Readdir(int trials) {
  for (int t = 0; t < trials; t++) {
    hyper::testing::TempDir tmp;
    auto store = Check(corestore::Corestore::OpenDirectory(tmp.Sub("store")), "store");
    auto drive = Check(drive::Drive::Open(*store), "drive");
    Bytes body(100, 'x');
    for (int i = 0; i < 10000; i++) {
      Check(drive->WriteFile("/small/" + std::to_string(i) + ".txt", body), "write");
    }
    double w0 = WallMs(), c0 = CpuMs();
    auto names = Check(drive->Readdir("/small", {.stats = false}), "readdir");
    double w1 = WallMs(), c1 = CpuMs();
    if (names.size() != 10000) std::exit(1);
    auto again = Check(drive->Readdir("/small", {.stats = false}), "readdir");
    double w2 = WallMs(), c2 = CpuMs();
    if (again.size() != 10000) std::exit(1);
    std::printf("readdir first %.2f ms (cpu %.2f)  second %.2f ms (cpu %.2f)\n", w1 - w0, c1 - c0,
                w2 - w1, c2 - c1);
  }
}

void ReadFile(int trials) {
  hyper::testing::TempDir tmp;
  const uint64_t files = 100000;
  auto path = [](uint64_t i) {
    return "/d" + std::to_string(i % 100) + "/f" + std::to_string(i) + ".txt";
  };
  crypto::PublicKey key{};
  {
    auto store = Check(corestore::Corestore::OpenDirectory(tmp.Sub("store")), "store");
    auto drive = Check(drive::Drive::Open(*store), "drive");
    key = drive->key();
    Status written = hyper::bench::WriteManyFiles(*drive, files, path, [](uint64_t j) {
      std::string body = "file number " + std::to_string(j) + "\n";
      body.resize(100, '.');
      return ToBytes(body);
    });
    if (!written.ok()) std::exit(1);
  }
  ::sync();
  for (int t = 0; t < trials; t++) {
    auto store = Check(corestore::Corestore::OpenDirectory(tmp.Sub("store")), "store");
    drive::DriveOptions options;
    options.key = key;
    auto drive = Check(drive::Drive::Open(*store, options), "drive");
    std::minstd_rand rng(1);
    double w0 = WallMs(), c0 = CpuMs();
    for (int i = 0; i < 100000; i++) Check(drive->GetStat(path(rng() % files)), "stat");
    double w1 = WallMs(), c1 = CpuMs();
    rng.seed(2);
    const int reads = 20000;
    for (int i = 0; i < reads; i++) {
      auto got = Check(drive->ReadFile(path(rng() % files)), "read");
      if (got.size() != 100) std::exit(1);
    }
    double w2 = WallMs(), c2 = CpuMs();
    std::printf("stat %.0f ops/s (cpu %.2f us/op)  readFile %.0f ops/s (cpu %.2f us/op)\n",
                100000 / (w1 - w0) * 1e3, (c1 - c0) * 1e3 / 100000, reads / (w2 - w1) * 1e3,
                (c2 - c1) * 1e3 / reads);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: first_read_bench readdir|readfile [trials]\n");
    return 2;
  }
  const int trials = argc > 2 ? std::atoi(argv[2]) : 5;
  const std::string mode = argv[1];
  if (mode == "readdir") {
    Readdir(trials);
  } else if (mode == "readfile") {
    ReadFile(trials);
  } else {
    return 2;
  }
  return 0;
}
