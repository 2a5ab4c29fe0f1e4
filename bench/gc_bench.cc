// Garbage collection of a drive whose content was all overwritten once (Drive::ClearUntagged),
// in a drive stored on disk. Ours only: the reference has no garbage collection.
//   gc_bench [--files N] [--mib M] [--every K]   (default 10,000 files, 1,024 MiB in all, K = 1)
// Builds the drive (N files of M/N MiB each through the batched writer), writes every K-th file
// again with other bytes (K = 2: the freed blocks are N/2 runs between kept ones), then times
// ClearUntagged and prints the blocks and bytes it freed and the content data file's disk use
// (st_blocks * 512) before and after; checks that the latest version reads as written and that the
// old one says its content is not available locally. See docs/performance.md.
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "drive_builder.h"
#include "hyper/corestore/corestore.h"
#include "hyper/drive/drive.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace hyper;
using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void Check(const Status& s, const char* what) {
  if (s.ok()) return;
  std::cerr << what << ": " << s.ToString() << "\n";
  std::exit(1);
}

Bytes Body(uint64_t file, uint64_t round, size_t size) {
  Bytes b(size);
  uint64_t x = file * 0x9e3779b97f4a7c15ULL + round + 1;
  for (size_t i = 0; i < size; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    for (size_t k = 0; k < 8 && i + k < size; k++) b[i + k] = static_cast<uint8_t>(x >> (8 * k));
  }
  return b;
}

uint64_t DiskBytes(const std::string& store_dir, const drive::Drive& d) {
  const std::string path = store_dir + "/" +
                           corestore::Corestore::CoreDirectory(d.content_feed()->discovery_key()) +
                           "/data";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t files = 10000;
  uint64_t mib = 1024;
  uint64_t every = 1;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--files") == 0 && i + 1 < argc) {
      files = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--mib") == 0 && i + 1 < argc) {
      mib = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--every") == 0 && i + 1 < argc) {
      every = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::cerr << "usage: gc_bench [--files N] [--mib M] [--every K]\n";
      return 2;
    }
  }
  if (files == 0 || mib == 0 || every == 0) {
    std::cerr << "gc_bench: --files, --mib and --every must be positive numbers\n";
    return 2;
  }
  const size_t size = static_cast<size_t>((mib << 20) / files);
  hyper::testing::TempDir dir;
  const std::string store_dir = dir.Sub("store");
  auto store = std::move(corestore::Corestore::OpenDirectory(store_dir)).value();
  auto drive = std::move(drive::Drive::Open(*store)).value();
  auto path = [](uint64_t j) {
    return "/d" + std::to_string(j % 100) + "/f" + std::to_string(j) + ".bin";
  };
  auto start = Clock::now();
  Check(bench::WriteManyFiles(*drive, files, path, [&](uint64_t j) { return Body(j, 0, size); }),
        "building the drive");
  const uint64_t old_version = drive->version();
  // File j is overwritten when j % every == 0: the k-th file written again is file k * every.
  const uint64_t rewritten = (files + every - 1) / every;
  Check(bench::WriteManyFiles(
            *drive, rewritten, [&](uint64_t k) { return path(k * every); },
            [&](uint64_t k) { return Body(k * every, 1, size); }),
        "overwriting the files");
  auto round_of = [&](uint64_t j) { return j % every == 0 ? 1 : 0; };
  const double build = Since(start);
  // Reopened, as `hyperdrive gc` finds it: nothing of the drive in memory (the page cache is
  // warm).
  const crypto::PublicKey key = drive->key();
  drive.reset();
  Check(store->Close(), "closing the store");
  store = std::move(corestore::Corestore::OpenDirectory(store_dir)).value();
  drive::DriveOptions reopen;
  reopen.key = key;
  drive = std::move(drive::Drive::Open(*store, reopen)).value();
  const uint64_t before = DiskBytes(store_dir, *drive);

  drive::GcOptions dry;
  dry.dry_run = true;
  start = Clock::now();
  auto planned = drive->ClearUntagged(dry);
  const double dry_time = Since(start);
  Check(planned.status(), "gc --dry-run");
  start = Clock::now();
  auto report = drive->ClearUntagged();
  Check(report.status(), "gc");
  Check(drive->content_feed()->Flush(), "flushing");
  const double gc_time = Since(start);
  const uint64_t after = DiskBytes(store_dir, *drive);

  for (uint64_t j : {uint64_t{0}, files / 2, files - 1}) {
    auto data = drive->ReadFile(path(j));
    Check(data.status(), "reading after gc");
    if (*data != Body(j, round_of(j), size)) {
      std::cerr << "wrong bytes in " << path(j) << "\n";
      return 1;
    }
    auto old = drive->Checkout(old_version);
    Check(old.status(), "checkout");
    auto old_data = (*old)->ReadFile(path(j));
    if (round_of(j) == 1 ? old_data.status().code() != Code::kNotFound
                         : !old_data.ok() || *old_data != Body(j, 0, size)) {
      std::cerr << "the old " << path(j) << " does not read as it should after gc\n";
      return 1;
    }
  }
  const double freed_mib = static_cast<double>(report->bytes) / (1 << 20);
  std::cout << "gc of a drive of " << files << " files of " << size << " bytes, " << rewritten
            << " of them overwritten once (built in " << build << " s):\n"
            << "  dry run  " << dry_time << " s\n"
            << "  gc       " << gc_time << " s: " << report->files << " files, " << report->blocks
            << " blocks, " << report->bytes << " bytes freed (" << freed_mib / gc_time
            << " MiB/s)\n"
            << "  disk     " << before << " bytes before, " << after << " after ("
            << (before - after) << " given back)\n";
  return 0;
}
