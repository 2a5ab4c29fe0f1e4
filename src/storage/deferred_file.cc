// Files created by their first write (storage::CreatedOnFirstWrite).
#include <atomic>
#include <mutex>

#include "hyper/storage/file.h"

namespace hyper::storage {
namespace {

// Reads as an empty file until something is written; then `inner` opens (creates) the real
// file and every call goes to it. The real file, once made, stays until Close, so readers load
// its pointer without a lock; creating it is serialized with a mutex (writes of a File are
// serialized by their callers anyway, but two different ones may come from two threads).
class DeferredFile final : public File {
 public:
  DeferredFile(FileFactory inner, std::string name)
      : inner_(std::move(inner)), name_(std::move(name)) {}

  Status Read(uint64_t offset, MutableByteView out) override {
    if (File* f = real_.load(std::memory_order_acquire)) return f->Read(offset, out);
    if (closed_.load(std::memory_order_acquire)) return Closed();
    if (offset == 0 && out.empty()) return Status::Ok();
    return Status::OutOfRange("read past the end of " + name_ + " (not created yet)");
  }
  Status Write(uint64_t offset, ByteView data) override {
    ASSIGN_OR_RETURN(File * f, Real());
    return f->Write(offset, data);
  }
  Status WriteV(uint64_t offset, std::span<const ByteView> parts) override {
    ASSIGN_OR_RETURN(File * f, Real());
    return f->WriteV(offset, parts);
  }
  Status Del(uint64_t offset, uint64_t length) override {
    if (File* f = real_.load(std::memory_order_acquire)) return f->Del(offset, length);
    return closed_.load(std::memory_order_acquire) ? Closed() : Status::Ok();  // nothing to free
  }
  Status Truncate(uint64_t size) override {
    if (size == 0 && real_.load(std::memory_order_acquire) == nullptr) {
      return closed_.load(std::memory_order_acquire) ? Closed() : Status::Ok();
    }
    ASSIGN_OR_RETURN(File * f, Real());
    return f->Truncate(size);
  }
  Result<uint64_t> Size() override {
    if (File* f = real_.load(std::memory_order_acquire)) return f->Size();
    if (closed_.load(std::memory_order_acquire)) return Closed();
    return uint64_t{0};
  }
  Status Sync() override {
    if (File* f = real_.load(std::memory_order_acquire)) return f->Sync();
    return closed_.load(std::memory_order_acquire) ? Closed() : Status::Ok();
  }
  Status Close() override {
    std::lock_guard lock(mu_);
    closed_.store(true, std::memory_order_release);
    return owned_ ? owned_->Close() : Status::Ok();
  }
  Status Unlink() override {
    std::lock_guard lock(mu_);
    return owned_ ? owned_->Unlink() : Status::Ok();
  }

 private:
  Status Closed() const { return Status::Cancelled(name_ + " is closed"); }

  Result<File*> Real() {
    if (File* f = real_.load(std::memory_order_acquire)) return f;
    std::lock_guard lock(mu_);
    if (closed_.load(std::memory_order_acquire)) return Closed();
    if (!owned_) {
      ASSIGN_OR_RETURN(owned_, inner_(name_));
      real_.store(owned_.get(), std::memory_order_release);
    }
    return owned_.get();
  }

  FileFactory inner_;
  std::string name_;
  std::mutex mu_;
  std::unique_ptr<File> owned_;  // guarded by mu_; never replaced once set
  std::atomic<File*> real_{nullptr};
  std::atomic<bool> closed_{false};
};

}  // namespace

FileFactory CreatedOnFirstWrite(FileFactory inner) {
  return [inner = std::move(inner)](const std::string& name) -> Result<std::unique_ptr<File>> {
    return std::unique_ptr<File>(new DeferredFile(inner, name));
  };
}

}  // namespace hyper::storage
