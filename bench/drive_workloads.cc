// Side by side: the same drive workloads through our C++ and through the Node reference, in the
// same run, on the same machine. Prints both figures and our ratio, and writes them as JSON.
//   drive_workloads [--full] [--out FILE]
// See docs/performance.md.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <algorithm>

#include "hyper/drive/drive.h"
#include "drive_builder.h"
#include "side_by_side.h"
#include "tests/support/node_harness.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace hyper;
using hyper::bench::Clock;
using hyper::bench::Machine;
using hyper::bench::Seconds;

#define CHECK_OK(expr)                                                        \
  do {                                                                        \
    const auto& _s = (expr);                                                  \
    if (!_s.ok()) {                                                           \
      std::cerr << #expr << ": " << _s.status().ToString() << "\n";          \
      std::exit(1);                                                           \
    }                                                                         \
  } while (0)

// Workloads 3 and 4 read a drive of `files` small files in 100 folders, built here with the
// batched writer (the reference has none: its writeFile loop would take a minute). Both sides
// then open that same drive from disk (the formats are the same) and read random paths in it.
struct ReadDrive {
  hyper::testing::TempDir dir;
  crypto::PublicKey key;
  std::string key_hex;
  std::string Path(uint64_t i) const {
    return "/d" + std::to_string(i % 100) + "/f" + std::to_string(i) + ".txt";
  }
};

void BuildReadDrive(ReadDrive& rd, uint64_t files) {
  auto store = std::move(corestore::Corestore::OpenDirectory(rd.dir.Sub("store"))).value();
  auto drive = std::move(drive::Drive::Open(*store)).value();
  rd.key = drive->key();
  rd.key_hex = ToHex(ByteView(rd.key));
  Status written = hyper::bench::WriteManyFiles(*drive, files, [&](uint64_t j) { return rd.Path(j); },
                                               [](uint64_t j) {
                                                 std::string body =
                                                     "file number " + std::to_string(j) + "\n";
                                                 body.resize(100, '.');
                                                 return ToBytes(body);
                                               });
  if (!written.ok()) {
    std::cerr << "building the read drive: " << written.ToString() << "\n";
    std::exit(1);
  }
  // Written back before the timed reads start (the kernel's writeback would run under them).
  ::sync();
}

nlohmann::json RunOurs(const nlohmann::json& cfg, const ReadDrive& rd) {
  nlohmann::json out;
  const uint64_t read_files = cfg["readFiles"], stats = cfg["stats"], reads = cfg["reads"];
  {
    // A fresh process-like start: open the store and the drive, caches cold.
    auto store = std::move(corestore::Corestore::OpenDirectory(rd.dir.Sub("store"))).value();
    drive::DriveOptions options;
    options.key = rd.key;
    auto drive = std::move(drive::Drive::Open(*store, options)).value();
    std::minstd_rand rng(1);
    auto t = Clock::now();
    for (uint64_t i = 0; i < stats; i++) CHECK_OK(drive->GetStat(rd.Path(rng() % read_files)));
    out["stat"] = {{"value", stats / Seconds(t)}, {"unit", "ops/s"}};

    rng.seed(2);
    t = Clock::now();
    for (uint64_t i = 0; i < reads; i++) {
      auto got = drive->ReadFile(rd.Path(rng() % read_files));
      CHECK_OK(got);
      if (got->size() != 100) std::exit(1);
    }
    out["readFile"] = {{"value", reads / Seconds(t)}, {"unit", "ops/s"}};
  }

  hyper::testing::TempDir tmp;
  auto store = std::move(corestore::Corestore::OpenDirectory(tmp.Sub("store"))).value();
  auto drive = std::move(drive::Drive::Open(*store)).value();
  const uint64_t files = cfg["files"];
  const uint64_t big = cfg["bigBytes"], random_reads = cfg["randomReads"];
  Bytes body(100, 'x');

  auto t = Clock::now();
  for (uint64_t i = 0; i < files; i++) {
    CHECK_OK(drive->WriteFile("/small/" + std::to_string(i) + ".txt", body));
  }
  out["writeFile"] = {{"value", files / Seconds(t)}, {"unit", "files/s"}};

  t = Clock::now();
  auto names = drive->Readdir("/small", {.stats = false});
  CHECK_OK(names);
  if (names->size() != files) std::exit(1);
  out["readdir"] = {{"value", Seconds(t) * 1000}, {"unit", "ms"}};

  Bytes chunk(65536, 7);
  t = Clock::now();
  {
    auto writer = drive->CreateWriter("/big.bin");
    CHECK_OK(writer);
    for (uint64_t done = 0; done < big; done += chunk.size()) {
      Status s = (*writer)->Write(chunk);
      if (!s.ok()) std::exit(1);
    }
    CHECK_OK((*writer)->Close());
  }
  out["writeBig"] = {{"value", big / Seconds(t) / 1e6}, {"unit", "MB/s"}};

  t = Clock::now();
  uint64_t total = 0;
  for (uint64_t pos = 0; pos < big; pos += drive::kContentBlockBytes) {
    auto got = drive->ReadRange("/big.bin", pos, drive::kContentBlockBytes);
    CHECK_OK(got);
    total += got->size();
  }
  if (total != big) std::exit(1);
  out["readBig"] = {{"value", big / Seconds(t) / 1e6}, {"unit", "MB/s"}};

  std::minstd_rand rng(3);
  t = Clock::now();
  for (uint64_t i = 0; i < random_reads; i++) {
    uint64_t pos = (rng() % (big / 4096)) * 4096;
    CHECK_OK(drive->ReadRange("/big.bin", pos, 4096));
  }
  out["randomRead4k"] = {{"value", random_reads / Seconds(t)}, {"unit", "ops/s"}};
  return out;
}

// Workload 2: a folder of small files, imported by our CLI (its batched path) and by the
// reference's writeFile loop. Returns files/s for ours.
std::string MakeSmallFilesFolder(const std::string& dir, uint64_t files) {
  std::filesystem::create_directories(dir);
  for (uint64_t i = 0; i < files; i++) {
    std::string sub = dir + "/d" + std::to_string(i % 100);
    if (i < 100) std::filesystem::create_directories(sub);
    std::ofstream(sub + "/f" + std::to_string(i) + ".txt") << "file number " << i << "\n";
  }
  return dir;
}

double ImportOurs(const std::string& folder, uint64_t files) {
  hyper::testing::TempDir store;
  auto t = Clock::now();
  auto run = hyper::testing::RunProcess({HYPERDRIVE_BINARY, "--storage", store.Sub("s"), "import", folder});
  double seconds = Seconds(t);
  if (!run.ok() || run->exit_code != 0) {
    std::cerr << "import failed: " << (run.ok() ? run->stderr_text : run.status().ToString()) << "\n";
    std::exit(1);
  }
  return files / seconds;
}

// Workload 10: a drive of `files` files (ours only: the reference has no batched writer and
// would take hours at its writeFile rate). Build time, reopen time, stat latency percentiles
// and peak RSS.
nlohmann::json LargeDrive(uint64_t files) {
  hyper::testing::TempDir tmp;
  nlohmann::json out;
  crypto::PublicKey key;
  auto t = Clock::now();
  {
    auto store = std::move(corestore::Corestore::OpenDirectory(tmp.Sub("store"))).value();
    auto drive = std::move(drive::Drive::Open(*store)).value();
    key = drive->key();
    Status written = hyper::bench::WriteManyFiles(
        *drive, files,
        [](uint64_t j) { return "/d" + std::to_string(j % 1000) + "/f" + std::to_string(j); },
        [](uint64_t) { return ToBytes("x"); });
    if (!written.ok()) {
      std::cerr << "building the drive: " << written.ToString() << "\n";
      std::exit(1);
    }
  }
  out["buildSeconds"] = Seconds(t);
  t = Clock::now();
  auto store = std::move(corestore::Corestore::OpenDirectory(tmp.Sub("store"))).value();
  drive::DriveOptions options;
  options.key = key;
  auto drive = std::move(drive::Drive::Open(*store, options)).value();
  CHECK_OK(drive->GetStat("/d0/f0"));
  out["openMs"] = Seconds(t) * 1000;
  std::minstd_rand rng(7);
  std::vector<double> micros;
  for (int i = 0; i < 100000; i++) {
    uint64_t j = rng() % files;
    std::string path = "/d" + std::to_string(j % 1000) + "/f" + std::to_string(j);
    auto s = Clock::now();
    CHECK_OK(drive->GetStat(path));
    micros.push_back(Seconds(s) * 1e6);
  }
  std::sort(micros.begin(), micros.end());
  out["statP50Us"] = micros[micros.size() / 2];
  out["statP99Us"] = micros[micros.size() * 99 / 100];
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  out["peakRssMiB"] = ru.ru_maxrss / 1024.0;
  out["files"] = files;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  bool full = false;
  bool ours_only = false;
  uint64_t large_drive = 0;
  std::string out_path = "bench-results.json";
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--full") {
      full = true;
    } else if (a == "--out" && i + 1 < argc) {
      out_path = argv[++i];
    } else if (a == "--ours-only") {
      ours_only = true;
    } else if (a == "--large-drive" && i + 1 < argc) {
      large_drive = std::stoull(argv[++i]);
    } else {
      std::cerr << "usage: drive_workloads [--full] [--out FILE] [--ours-only] | --large-drive FILES\n";
      return 2;
    }
  }
  if (large_drive) {
    // Workload 10 alone (run in its own process so that its peak RSS is its own).
    nlohmann::json r = LargeDrive(large_drive);
    r["machine"] = Machine();
    std::cout << r.dump(2) << "\n";
    return 0;
  }
  // The sizes with --full; a quicker run by default.
  nlohmann::json cfg = {{"files", 10000},
                        {"readFiles", 100000},
                        {"stats", full ? 100000 : 20000},
                        {"reads", full ? 20000 : 5000},
                        {"bigBytes", full ? (uint64_t{1} << 30) : (uint64_t{256} << 20)},
                        {"randomReads", 10000}};

  std::cerr << "running the workloads through hyperdrive-cpp...\n";
  ReadDrive read_drive;
  BuildReadDrive(read_drive, cfg["readFiles"]);
  cfg["readStore"] = read_drive.dir.Sub("store");
  cfg["readKey"] = read_drive.key_hex;
  nlohmann::json ours = RunOurs(cfg, read_drive);
  if (ours_only) {
    // For profiling our side alone (no comparison, no import: it runs in a child process).
    std::cout << ours.dump(2) << "\n";
    return 0;
  }
  hyper::testing::TempDir folder_dir;
  const uint64_t import_files = full ? 100000 : 20000;
  cfg["importFiles"] = import_files;
  cfg["importDir"] = MakeSmallFilesFolder(folder_dir.Sub("small-files"), import_files);
  ours["import"] = {{"value", ImportOurs(cfg["importDir"], import_files)}, {"unit", "files/s"}};
  std::cerr << "running the same workloads through Node hyperdrive 10.21...\n";
  nlohmann::json node = hyper::bench::RunNodeTwin("drive_workloads.js", cfg);
  hyper::bench::Report(ours, node, cfg, out_path);
  return 0;
}
