// Renaming a directory of many entries (Drive::Rename: one trie batch of a put and a delete per
// entry) in a drive stored on disk. Ours only: the reference has no rename (its FUSE layer
// refuses it), so there is no Node figure to put beside it.
//   rename_bench [--entries N]   (default 100,000)
// Prints the time to build the drive, the time of each rename, the nodes appended and the
// metadata bytes they took, and checks that the tree moved. See docs/performance.md.
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "drive_builder.h"
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

}  // namespace

int main(int argc, char** argv) {
  uint64_t entries = 100000;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--entries") == 0 && i + 1 < argc) {
      entries = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::cerr << "usage: rename_bench [--entries N]\n";
      return 2;
    }
  }
  if (entries == 0) {
    std::cerr << "rename_bench: --entries must be a positive number\n";
    return 2;
  }
  hyper::testing::TempDir dir;
  auto store = std::move(corestore::Corestore::OpenDirectory(dir.Sub("store"))).value();
  auto drive = std::move(drive::Drive::Open(*store)).value();
  // 100 subdirectories of files, so the directory holds nested entries as real trees do.
  auto path = [](const std::string& root, uint64_t j) {
    return root + "/d" + std::to_string(j % 100) + "/f" + std::to_string(j) + ".txt";
  };
  auto start = Clock::now();
  Check(bench::WriteManyFiles(
            *drive, entries, [&](uint64_t j) { return path("/big", j); },
            [](uint64_t j) { return ToBytes("file " + std::to_string(j)); }),
        "building the drive");
  const double build = Since(start);
  const uint64_t bytes_before = drive->metadata_feed()->byte_length();
  const uint64_t version_before = drive->version();

  start = Clock::now();
  Check(drive->Rename("/big", "/moved/here"), "rename");
  const double first = Since(start);
  const uint64_t nodes = drive->version() - version_before;
  const uint64_t bytes = drive->metadata_feed()->byte_length() - bytes_before;

  start = Clock::now();
  Check(drive->Rename("/moved/here", "/big"), "rename back");
  const double second = Since(start);

  // The tree moved and back: a few files read as written.
  for (uint64_t j : {uint64_t{0}, entries / 2, entries - 1}) {
    auto data = drive->ReadFile(path("/big", j));
    Check(data.status(), "reading after the renames");
    if (AsString(*data) != "file " + std::to_string(j)) {
      std::cerr << "wrong bytes in " << path("/big", j) << "\n";
      return 1;
    }
    if (drive->Exists(path("/moved/here", j))) {
      std::cerr << path("/moved/here", j) << " is still there\n";
      return 1;
    }
  }
  std::cout << "rename of a directory of " << entries << " files (built in " << build << " s):\n"
            << "  rename   " << first << " s (" << static_cast<double>(entries) / first
            << " entries/s), " << nodes << " trie nodes, " << bytes << " metadata bytes\n"
            << "  back     " << second << " s (" << static_cast<double>(entries) / second
            << " entries/s)\n";
  return 0;
}
