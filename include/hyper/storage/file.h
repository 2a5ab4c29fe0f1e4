// storage::File is the only door to the disk: every layer above reads and writes through it.
// Three implementations: PosixFile (real files: sparse, positional I/O, advisory lock),
// MemoryFile (tests, in-memory stores) and FaultyFile (crash and error injection).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "hyper/util/bytes.h"

namespace hyper::storage {

// A random-access file. Implementations are thread-safe for concurrent reads; writes need
// external synchronization with other writes to overlapping ranges.
class File {
 public:
  virtual ~File() = default;
  File() = default;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  // Reads exactly out.size() bytes at offset. A range reaching past the end of the file is
  // OutOfRange; a hole inside the file reads as zeros.
  virtual Status Read(uint64_t offset, MutableByteView out) = 0;
  // Writes data at offset, growing the file (with a hole) as needed.
  virtual Status Write(uint64_t offset, ByteView data) = 0;
  // Writes `parts` one after the other from offset: the same bytes, and the same single
  // operation for the fault injector, as one Write of their concatenation. The default copies
  // them into one buffer and calls Write; PosixFile writes them in place (pwritev).
  virtual Status WriteV(uint64_t offset, std::span<const ByteView> parts);
  // Frees a range (hypercore's clear()). As the reference's random-access-file does, a range
  // that reaches the end of the file truncates the file to `offset`; a range inside the file
  // reads as zeros afterwards (disk space is released where the filesystem can punch holes).
  virtual Status Del(uint64_t offset, uint64_t length) = 0;
  virtual Status Truncate(uint64_t size) = 0;
  virtual Result<uint64_t> Size() = 0;
  // Makes every write so far durable.
  virtual Status Sync() = 0;
  // Releases the underlying resource; every later call is an error. Idempotent.
  virtual Status Close() = 0;
  // Removes the file from its directory (after Close). Missing is not an error.
  virtual Status Unlink() = 0;
};

// Convenience: read `length` bytes into a new buffer.
Result<Bytes> ReadBytes(File& file, uint64_t offset, uint64_t length);

struct OpenOptions {
  bool create = true;        // create the file (and its parent directories) when missing
  bool read_only = false;
  bool lock = false;         // take an exclusive advisory lock (flock); Busy if held elsewhere
};

// A file on disk. Opening a missing file without `create` is NotFound.
// Reads of up to 64 KiB are copied from a read-only shared memory map of the file (no system
// call; larger reads use pread). The map follows the file as this File writes, truncates or
// learns its size (a read past what it knows checks the size first, so a file found shorter is
// OutOfRange as with pread). Mapped pages count in the process's resident size, so the maps of
// all PosixFiles together keep at most 96 MiB mapped (past that their pages are released, to be
// faulted in again from the page cache), and a file over 96 MiB is read with pread only.
// What a map cannot survive: the file shrunk under it by another process or another File of the
// same path after this File read near its end, or a Truncate/Del of this File concurrent with a
// read of the range it removes; such a read may fault (SIGBUS) instead of failing. A store is
// opened by one File per path and locked against other processes, and the feed never truncates
// while reading.
Result<std::unique_ptr<File>> OpenPosixFile(const std::string& path, OpenOptions options = {});

// An in-memory file; its bytes live as long as the returned object.
std::unique_ptr<File> NewMemoryFile();

// Makes the File for a name inside a store ("tree", "data", "ab/cd/abcd.../bitfield").
using FileFactory = std::function<Result<std::unique_ptr<File>>(const std::string& name)>;

// Files under a directory on disk.
FileFactory PosixDirectory(std::string root, OpenOptions options = {});

// Files under a directory on disk that together keep at most `max_open` file descriptors:
// each File opens its descriptor on first use, and the least recently used descriptors are
// closed (and transparently reopened on next use) when the limit is reached. Thousands of
// cores can be open at once this way. Locking (OpenOptions::lock) is not available here.
FileFactory PooledPosixDirectory(std::string root, size_t max_open, OpenOptions options = {});

// Files that do not exist until written: each File reads as empty (Size 0) and `inner` is not
// asked for it until its first Write, WriteV or Truncate to a nonzero size, which opens (so
// creates) the real file; from then on every call goes to that. For files known not to exist
// yet (an existing file would be hidden): a corestore's new replica, which leaves nothing on
// disk until a verified block arrives.
FileFactory CreatedOnFirstWrite(FileFactory inner);

// An in-memory directory: the same name gives back a File over the same bytes, so a store can
// be closed and reopened within one process.
class MemoryDirectory {
 public:
  MemoryDirectory();
  FileFactory factory();
  bool Exists(const std::string& name) const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// ---------------------------------------------------------------------------------------------
// Fault injection. A FaultInjector is shared by every FaultyFile of a simulated machine.
//
// Every Write/Del/Truncate is one "operation", numbered from 1 across all files of the
// injector. The injector can:
//   - fail operation N (it returns IOError and changes nothing),
//   - tear operation N (only a prefix of the write reaches the file, then everything fails:
//     the machine has crashed),
//   - crash after operation N (every later call fails),
// and at any time SimulateCrash() throws away every byte not made durable by Sync().
class FaultInjector {
 public:
  FaultInjector();
  FaultInjector(const FaultInjector&) = delete;
  FaultInjector& operator=(const FaultInjector&) = delete;

  void FailOperation(uint64_t n) { fail_at_ = n; }
  // Tear operation n: it writes `keep_bytes` of its data (clamped to its length), then crash.
  void TearOperation(uint64_t n, uint64_t keep_bytes) { tear_at_ = n; tear_keep_ = keep_bytes; }
  void CrashAfterOperation(uint64_t n) { crash_after_ = n; }
  // Fail every operation with NoSpace once the files together would hold more than this.
  void LimitBytes(uint64_t limit) { byte_limit_ = limit; }

  uint64_t operations() const { return ops_; }
  bool crashed() const { return crashed_; }

  // Brings every FaultyFile back to the state of its last Sync(), and clears the crash so
  // the store can be reopened ("power comes back").
  void SimulateCrash();

  // Files attached to this injector (kept as weak handles; internal use by FaultyFile).
  struct Shared;
  std::shared_ptr<Shared> shared() const { return shared_; }

 private:
  friend class FaultyFileImpl;
  enum class Decision { kProceed, kFail, kTear, kDead };
  Decision NextOperation();

  uint64_t ops_ = 0;
  uint64_t fail_at_ = 0;
  uint64_t tear_at_ = 0;
  uint64_t tear_keep_ = 0;
  uint64_t crash_after_ = 0;
  uint64_t byte_limit_ = UINT64_MAX;
  bool crashed_ = false;
  std::shared_ptr<Shared> shared_;
};

// A directory of faulty in-memory files, all governed by one injector. Files keep both their
// current bytes and their last synced bytes; SimulateCrash() on the injector reverts to the
// synced bytes.
class FaultyDirectory {
 public:
  explicit FaultyDirectory(FaultInjector& injector);
  FileFactory factory();
  FaultInjector& injector() { return injector_; }

 private:
  FaultInjector& injector_;
};

}  // namespace hyper::storage
