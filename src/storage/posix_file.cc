#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

#include "hyper/storage/file.h"

namespace hyper::storage {
namespace {

// Reads of at most this many bytes are served from a read-only memory map of the file (no
// system call: the small reads of tree nodes and metadata blocks); larger ones use pread.
constexpr size_t kMapReadMax = 64 * 1024;
// A map reserves address space past the file's end so that a growing file is remapped rarely.
constexpr uint64_t kMinMapBytes = uint64_t{1} << 20;
// The pages a map touches count in the process's resident size (they are the kernel's page
// cache, but mapped), and random reads through a big file would touch all of them. So the maps
// of all files together keep at most this many bytes mapped: reads mark the 64 KiB chunks they
// touch (the kernel maps a faulting page's whole aligned 64 KiB around it), and when the marks
// pass the budget every map's pages are unmapped (MADV_DONTNEED: the next read of them faults
// them in again from the page cache; safe under concurrent readers).
// A file bigger than kMaxMapFileBytes is not mapped at all (pread only): its random reads would
// keep faulting pages in and releasing them, which costs more than pread.
constexpr uint64_t kChunkShift = 16;
constexpr int64_t kMappedBudgetChunks = (int64_t{96} << 20) >> kChunkShift;
constexpr uint64_t kMaxMapFileBytes = uint64_t{96} << 20;

class PosixFile;

// Every PosixFile that may hold a map, and the number of chunks marked in their maps.
struct MapRegistry {
  std::mutex mu;  // guards files; held while releasing
  std::vector<PosixFile*> files;
  std::atomic<int64_t> marked{0};  // may dip below zero for a moment under races
};

MapRegistry& Registry() {
  static auto* registry = new MapRegistry();  // never destroyed: files may close at exit
  return *registry;
}

class PosixFile final : public File {
 public:
  PosixFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {
    std::lock_guard lock(Registry().mu);
    Registry().files.push_back(this);
  }
  ~PosixFile() override { (void)Close(); }

  Status Read(uint64_t offset, MutableByteView out) override {
    if (fd_ < 0) return Closed();
    if (out.size() <= kMapReadMax && !out.empty() && ReadMapped(offset, out)) return Status::Ok();
    return ReadDirect(offset, out);
  }

  Status ReadDirect(uint64_t offset, MutableByteView out) {
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno(errno, "reading " + path_);
      }
      if (n == 0) {
        return Status::OutOfRange("read of " + std::to_string(out.size()) + " bytes at " +
                                  std::to_string(offset) + " is past the end of " + path_);
      }
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  Status Write(uint64_t offset, ByteView data) override {
    if (fd_ < 0) return Closed();
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno(errno, "writing " + path_);
      }
      done += static_cast<size_t>(n);
    }
    Written(offset + data.size());
    return Status::Ok();
  }

  // pwritev in runs of at most IOV_MAX parts, resuming after short writes.
  Status WriteV(uint64_t offset, std::span<const ByteView> parts) override {
    if (fd_ < 0) return Closed();
    std::vector<iovec> iov;
    iov.reserve(std::min<size_t>(parts.size(), IOV_MAX));
    size_t part = 0;  // first part not completely written
    size_t skip = 0;  // bytes of it already written
    while (true) {
      while (part < parts.size() && parts[part].size() == skip) {
        ++part;
        skip = 0;
      }
      if (part == parts.size()) {
        Written(offset);
        return Status::Ok();
      }
      iov.clear();
      for (size_t p = part; p < parts.size() && iov.size() < IOV_MAX; ++p) {
        size_t from = p == part ? skip : 0;
        if (parts[p].size() == from) continue;
        iov.push_back({const_cast<uint8_t*>(parts[p].data() + from), parts[p].size() - from});
      }
      ssize_t n =
          pwritev(fd_, iov.data(), static_cast<int>(iov.size()), static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno(errno, "writing " + path_);
      }
      if (n == 0) return Status::IOError("writing " + path_ + ": no progress");
      offset += static_cast<uint64_t>(n);
      // Advance over what was written.
      auto left = static_cast<size_t>(n);
      while (left > 0) {
        size_t avail = parts[part].size() - skip;
        if (left < avail) {
          skip += left;
          left = 0;
        } else {
          left -= avail;
          ++part;
          skip = 0;
        }
      }
    }
  }

  Status Del(uint64_t offset, uint64_t length) override {
    if (fd_ < 0) return Closed();
    ASSIGN_OR_RETURN(uint64_t size, Size());
    if (offset >= size) return Status::Ok();
    if (offset + length >= size) return Truncate(offset);
    if (fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                  static_cast<off_t>(length)) == 0) {
      return Status::Ok();
    }
    // No hole punching here (tmpfs on old kernels, some network filesystems): write zeros.
    std::vector<uint8_t> zeros(std::min<uint64_t>(length, 1 << 20));
    for (uint64_t done = 0; done < length;) {
      uint64_t n = std::min<uint64_t>(zeros.size(), length - done);
      RETURN_IF_ERROR(Write(offset + done, ByteView(zeros.data(), n)));
      done += n;
    }
    return Status::Ok();
  }

  Status Truncate(uint64_t size) override {
    if (fd_ < 0) return Closed();
    // Under the map's lock, so that no reader learns the old size between the two steps.
    std::lock_guard lock(map_mu_);
    ShrinkReadable(size);
    if (ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      return Status::FromErrno(errno, "truncating " + path_);
    }
    return Status::Ok();
  }

  Result<uint64_t> Size() override {
    if (fd_ < 0) return Closed();
    struct stat st;
    if (fstat(fd_, &st) != 0) return Status::FromErrno(errno, "stat of " + path_);
    return static_cast<uint64_t>(st.st_size);
  }

  Status Sync() override {
    if (fd_ < 0) return Closed();
    if (fdatasync(fd_) != 0) return Status::FromErrno(errno, "syncing " + path_);
    return Status::Ok();
  }

  Status Close() override {
    if (fd_ < 0) return Status::Ok();
    Unmap();
    int fd = fd_;
    fd_ = -1;
    if (close(fd) != 0) return Status::FromErrno(errno, "closing " + path_);
    return Status::Ok();
  }

  Status Unlink() override {
    RETURN_IF_ERROR(Close());
    if (unlink(path_.c_str()) != 0 && errno != ENOENT) {
      return Status::FromErrno(errno, "removing " + path_);
    }
    return Status::Ok();
  }

 private:
  // A read-only shared map of the file's first `length` bytes (the file may be shorter: only
  // the first `readable_` bytes, known to exist, are ever touched).
  struct Map {
    uint8_t* base = nullptr;
    uint64_t length = 0;
    std::unique_ptr<std::atomic<uint64_t>[]> marks;  // one bit per 64 KiB chunk touched
    size_t mark_words = 0;
  };

  // Copies [offset, offset + out.size()) from the map when the range is known to lie inside the
  // file; false when it cannot (then the caller preads, which also reports a short file).
  bool ReadMapped(uint64_t offset, MutableByteView out) {
    if (offset > UINT64_MAX - out.size() || unmappable_.load(std::memory_order_relaxed)) {
      return false;
    }
    const uint64_t end = offset + out.size();
    const Map* map = map_.load(std::memory_order_acquire);
    // (The map read may be older than readable_, which may have grown with a newer map: the
    // range must lie inside both.)
    if (map == nullptr || end > readable_.load(std::memory_order_acquire) || end > map->length) {
      map = Remap(end);
      if (map == nullptr) return false;
    }
    std::memcpy(out.data(), map->base + offset, out.size());
    Mark(*map, offset >> kChunkShift);
    Mark(*map, (end - 1) >> kChunkShift);
    return true;
  }

  // Notes that chunk c of the map was touched; past the budget, releases every map's pages.
  static void Mark(const Map& map, uint64_t c) {
    std::atomic<uint64_t>& word = map.marks[c / 64];
    const uint64_t bit = uint64_t{1} << (c % 64);
    if ((word.load(std::memory_order_relaxed) & bit) != 0) return;
    if ((word.fetch_or(bit, std::memory_order_relaxed) & bit) != 0) return;
    if (Registry().marked.fetch_add(1, std::memory_order_relaxed) + 1 > kMappedBudgetChunks) {
      ReleaseAll();
    }
  }

  // Unmaps the pages of a map (they stay in the page cache) and clears its marks.
  static void Release(const Map& map) {
    int64_t cleared = 0;
    for (size_t w = 0; w < map.mark_words; w++) {
      const uint64_t bits = map.marks[w].exchange(0, std::memory_order_relaxed);
      if (bits == 0) continue;
      cleared += std::popcount(bits);
      // The marked chunks of this word, in runs.
      for (uint64_t rest = bits; rest != 0;) {
        const int first = std::countr_zero(rest);
        const int run = std::countr_one(rest >> first);
        const uint64_t from = (uint64_t{w} * 64 + static_cast<uint64_t>(first)) << kChunkShift;
        const uint64_t len = std::min(static_cast<uint64_t>(run) << kChunkShift, map.length - from);
        madvise(map.base + from, len, MADV_DONTNEED);
        rest = run == 64 ? 0 : rest & ~(((uint64_t{1} << run) - 1) << first);
      }
    }
    Registry().marked.fetch_sub(cleared, std::memory_order_relaxed);
  }

  static void ReleaseAll() {
    MapRegistry& r = Registry();
    std::lock_guard lock(r.mu);
    if (r.marked.load(std::memory_order_relaxed) <= kMappedBudgetChunks) return;  // done already
    for (PosixFile* f : r.files) {
      // Superseded maps too (a reader still copying from one may have marked it since).
      std::lock_guard file_lock(f->map_mu_);
      for (const auto& map : f->maps_) Release(*map);
    }
  }

  // The map to read [0, end) through, after learning the file's size (and mapping it again
  // when it grew past the map); nullptr when the file is shorter than `end` or cannot be
  // mapped. Earlier maps stay until Close: a reader may still be copying from one.
  const Map* Remap(uint64_t end) {
    std::lock_guard lock(map_mu_);
    if (map_failed_) return nullptr;
    struct stat st;
    if (fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) return nullptr;
    const auto size = static_cast<uint64_t>(st.st_size);
    if (end > size) return nullptr;
    const Map* map = map_.load(std::memory_order_relaxed);
    if (size > kMaxMapFileBytes) {
      unmappable_.store(true, std::memory_order_relaxed);
      map_.store(nullptr, std::memory_order_release);
      readable_.store(0, std::memory_order_release);
      if (map != nullptr) Release(*map);  // it stays mapped (unused) until Close
      return nullptr;
    }
    if (map == nullptr || map->length < end) {
      const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
      uint64_t length = std::max(size + size / 2, kMinMapBytes);
      length = (length + page - 1) / page * page;
      void* base = mmap(nullptr, length, PROT_READ, MAP_SHARED, fd_, 0);
      if (base == MAP_FAILED) {
        map_failed_ = true;  // e.g. a filesystem without mmap: pread from now on
        return nullptr;
      }
      auto fresh = std::make_unique<Map>();
      fresh->base = static_cast<uint8_t*>(base);
      fresh->length = length;
      fresh->mark_words = static_cast<size_t>(((length - 1) >> kChunkShift) / 64 + 1);
      fresh->marks = std::make_unique<std::atomic<uint64_t>[]>(fresh->mark_words);
      if (map != nullptr) Release(*map);  // superseded: its pages go (it stays mapped until Close)
      maps_.push_back(std::move(fresh));
      map = maps_.back().get();
      map_.store(map, std::memory_order_release);
    }
    readable_.store(std::min(size, map->length), std::memory_order_release);
    return map;
  }

  // After a write that ended at `end`: the file now holds at least that many bytes.
  void Written(uint64_t end) {
    const Map* map = map_.load(std::memory_order_acquire);
    if (map == nullptr) return;
    end = std::min(end, map->length);
    uint64_t cur = readable_.load(std::memory_order_relaxed);
    while (cur < end && !readable_.compare_exchange_weak(cur, end, std::memory_order_release,
                                                         std::memory_order_relaxed)) {
    }
  }

  // Before the file shrinks to `size`: reads past it must not touch the map (the pages there
  // would fault). Reads concurrent with a shrinking Truncate/Del of their range are not allowed.
  void ShrinkReadable(uint64_t size) {
    uint64_t cur = readable_.load(std::memory_order_relaxed);
    while (cur > size && !readable_.compare_exchange_weak(cur, size, std::memory_order_acq_rel,
                                                          std::memory_order_relaxed)) {
    }
  }

  void Unmap() {
    {
      // Out of the registry first, so that no release is working on these maps.
      MapRegistry& r = Registry();
      std::lock_guard lock(r.mu);
      r.files.erase(std::remove(r.files.begin(), r.files.end(), this), r.files.end());
    }
    std::lock_guard lock(map_mu_);
    for (const auto& m : maps_) {
      int64_t marked = 0;
      for (size_t w = 0; w < m->mark_words; w++) {
        marked += std::popcount(m->marks[w].exchange(0, std::memory_order_relaxed));
      }
      Registry().marked.fetch_sub(marked, std::memory_order_relaxed);
    }
    map_.store(nullptr, std::memory_order_release);
    readable_.store(0, std::memory_order_release);
    for (const auto& m : maps_) munmap(m->base, m->length);
    maps_.clear();
  }

  Status Closed() const { return Status::IOError(path_ + " is closed"); }
  int fd_;
  std::string path_;
  std::atomic<const Map*> map_{nullptr};
  std::atomic<uint64_t> readable_{0};  // bytes of the map known to be inside the file
  std::mutex map_mu_;                  // guards maps_, map_failed_ and changes of map_
  std::vector<std::unique_ptr<Map>> maps_;
  bool map_failed_ = false;
  std::atomic<bool> unmappable_{false};  // grew past kMaxMapFileBytes: pread only
};

}  // namespace

Result<std::unique_ptr<File>> OpenPosixFile(const std::string& path, OpenOptions options) {
  if (options.create && !options.read_only) {
    std::error_code ec;
    auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) return Status::FromErrno(ec.value(), "creating directory " + parent.string());
  }
  int flags = O_CLOEXEC | (options.read_only ? O_RDONLY : O_RDWR);
  if (options.create && !options.read_only) flags |= O_CREAT;
  int fd = open(path.c_str(), flags, 0644);
  if (fd < 0) return Status::FromErrno(errno, "opening " + path);
  if (options.lock && flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    close(fd);
    if (err == EWOULDBLOCK) return Status::Busy(path + " is locked by another process");
    return Status::FromErrno(err, "locking " + path);
  }
  return std::unique_ptr<File>(new PosixFile(fd, path));
}

FileFactory PosixDirectory(std::string root, OpenOptions options) {
  return [root = std::move(root), options](const std::string& name) {
    return OpenPosixFile(root + "/" + name, options);
  };
}

Status File::WriteV(uint64_t offset, std::span<const ByteView> parts) {
  if (parts.size() == 1) return Write(offset, parts[0]);
  size_t total = 0;
  for (const auto& p : parts) total += p.size();
  Bytes all;
  all.reserve(total);
  for (const auto& p : parts) all.insert(all.end(), p.begin(), p.end());
  return Write(offset, all);
}

Result<Bytes> ReadBytes(File& file, uint64_t offset, uint64_t length) {
  ASSIGN_OR_RETURN(uint64_t size, file.Size());
  if (offset > size || length > size - offset) {
    return Status::OutOfRange("read of " + std::to_string(length) + " bytes at " +
                              std::to_string(offset) + " is past the end (" + std::to_string(size) +
                              " bytes)");
  }
  Bytes out(length);
  RETURN_IF_ERROR(file.Read(offset, out));
  return out;
}

}  // namespace hyper::storage
