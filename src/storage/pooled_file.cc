// PooledPosixDirectory: many Files, a bounded number of open descriptors.
#include <list>
#include <memory>
#include <mutex>

#include "hyper/storage/file.h"

namespace hyper::storage {
namespace {

class PooledFile;

// The LRU of PooledFiles whose descriptor is open. Guarded by mu.
struct Pool {
  std::mutex mu;
  size_t max_open;
  std::list<PooledFile*> lru;  // front = most recently used
};

class PooledFile final : public File {
 public:
  PooledFile(std::shared_ptr<Pool> pool, std::string path, OpenOptions options)
      : pool_(std::move(pool)), path_(std::move(path)), options_(options) {}
  ~PooledFile() override { (void)Close(); }

  Status Read(uint64_t offset, MutableByteView out) override {
    return With([&](File& f) { return f.Read(offset, out); });
  }
  Status Write(uint64_t offset, ByteView data) override {
    return With([&](File& f) { return f.Write(offset, data); });
  }
  Status WriteV(uint64_t offset, std::span<const ByteView> parts) override {
    return With([&](File& f) { return f.WriteV(offset, parts); });
  }
  Status Del(uint64_t offset, uint64_t length) override {
    return With([&](File& f) { return f.Del(offset, length); });
  }
  Status Truncate(uint64_t size) override {
    return With([&](File& f) { return f.Truncate(size); });
  }
  Result<uint64_t> Size() override {
    uint64_t size = 0;
    Status s = With([&](File& f) -> Status {
      ASSIGN_OR_RETURN(size, f.Size());
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return size;
  }
  Status Sync() override {
    return With([&](File& f) { return f.Sync(); });
  }
  Status Close() override {
    std::lock_guard lock(pool_->mu);
    closed_ = true;
    return Evict();
  }
  Status Unlink() override {
    RETURN_IF_ERROR(Close());
    return With([&](File& f) { return f.Unlink(); }, /*allow_closed=*/true);
  }

  // REQUIRES: pool_->mu held. Drops the descriptor from the pool (the File stays usable). It is
  // closed when the last reference goes: here, or at the end of an operation still running on
  // it (through the reference count, which orders that operation before the close; a close(2)
  // error is not reported then).
  Status Evict() {
    if (!file_) return Status::Ok();
    pool_->lru.erase(pos_);
    file_.reset();
    return Status::Ok();
  }

 private:
  // Runs fn on the open descriptor, opening it (and evicting the oldest) as needed. The pool's
  // mutex is held only to find the descriptor (and take a reference to it): operations on
  // different files, and reads of the same one, run in parallel. An evicted descriptor stays
  // open until the operations using it end (so the pool may briefly exceed max_open).
  template <typename Fn>
  Status With(Fn fn, bool allow_closed = false) {
    std::shared_ptr<File> file;
    {
      std::lock_guard lock(pool_->mu);
      if (closed_ && !allow_closed) return Status::IOError(path_ + " is closed");
      if (!file_) {
        while (!pool_->lru.empty() && pool_->lru.size() >= pool_->max_open) {
          RETURN_IF_ERROR(pool_->lru.back()->Evict());
        }
        auto opened = OpenPosixFile(path_, options_);
        if (!opened.ok()) return opened.status();
        file_ = std::move(opened).value();
        pool_->lru.push_front(this);
        pos_ = pool_->lru.begin();
      } else if (pos_ != pool_->lru.begin()) {
        pool_->lru.splice(pool_->lru.begin(), pool_->lru, pos_);
      }
      file = file_;
      if (allow_closed) (void)Evict();
    }
    return fn(*file);
  }

  std::shared_ptr<Pool> pool_;
  std::string path_;
  OpenOptions options_;
  std::shared_ptr<File> file_;  // the open descriptor, when in the LRU (guarded by pool mu)
  std::list<PooledFile*>::iterator pos_;
  bool closed_ = false;
};

}  // namespace

FileFactory PooledPosixDirectory(std::string root, size_t max_open, OpenOptions options) {
  auto pool = std::make_shared<Pool>();
  pool->max_open = max_open < 1 ? 1 : max_open;
  options.lock = false;
  return [pool, root = std::move(root), options](const std::string& name)
             -> Result<std::unique_ptr<File>> {
    std::string path = root + "/" + name;
    // Without `create`, open once now so that a missing file fails here, not at first use.
    if (!options.create || options.read_only) {
      auto probe = OpenPosixFile(path, options);
      if (!probe.ok()) return probe.status();
      RETURN_IF_ERROR((*probe)->Close());
    }
    return std::unique_ptr<File>(new PooledFile(pool, path, options));
  };
}

}  // namespace hyper::storage
