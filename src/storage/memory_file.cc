#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <shared_mutex>

#include "hyper/storage/file.h"
#include "memory_bytes.h"

namespace hyper::storage {
namespace internal {

Status ReadAt(const Bytes& bytes, uint64_t offset, MutableByteView out) {
  if (offset > bytes.size() || out.size() > bytes.size() - offset) {
    return Status::OutOfRange("read of " + std::to_string(out.size()) + " bytes at " +
                              std::to_string(offset) + " is past the end (" +
                              std::to_string(bytes.size()) + " bytes)");
  }
  if (!out.empty()) std::memcpy(out.data(), bytes.data() + offset, out.size());
  return Status::Ok();
}

void WriteAt(Bytes& bytes, uint64_t offset, ByteView data) {
  if (offset + data.size() > bytes.size()) bytes.resize(offset + data.size());
  if (!data.empty()) std::memcpy(bytes.data() + offset, data.data(), data.size());
}

void DelAt(Bytes& bytes, uint64_t offset, uint64_t length) {
  if (offset >= bytes.size()) return;
  if (offset + length >= bytes.size()) {
    bytes.resize(offset);
    return;
  }
  std::fill(bytes.begin() + static_cast<ptrdiff_t>(offset),
            bytes.begin() + static_cast<ptrdiff_t>(offset + length), 0);
}

}  // namespace internal

namespace {

struct SharedBytes {
  std::shared_mutex mu;
  Bytes bytes;
};

class MemoryFile final : public File {
 public:
  explicit MemoryFile(std::shared_ptr<SharedBytes> state) : state_(std::move(state)) {}

  Status Read(uint64_t offset, MutableByteView out) override {
    std::shared_lock lock(state_->mu);
    if (closed_) return Closed();
    return internal::ReadAt(state_->bytes, offset, out);
  }
  Status Write(uint64_t offset, ByteView data) override {
    std::unique_lock lock(state_->mu);
    if (closed_) return Closed();
    internal::WriteAt(state_->bytes, offset, data);
    return Status::Ok();
  }
  Status Del(uint64_t offset, uint64_t length) override {
    std::unique_lock lock(state_->mu);
    if (closed_) return Closed();
    internal::DelAt(state_->bytes, offset, length);
    return Status::Ok();
  }
  Status Truncate(uint64_t size) override {
    std::unique_lock lock(state_->mu);
    if (closed_) return Closed();
    state_->bytes.resize(size);
    return Status::Ok();
  }
  Result<uint64_t> Size() override {
    std::shared_lock lock(state_->mu);
    if (closed_) return Closed();
    return static_cast<uint64_t>(state_->bytes.size());
  }
  Status Sync() override { return closed_ ? Closed() : Status::Ok(); }
  Status Close() override {
    closed_ = true;
    return Status::Ok();
  }
  Status Unlink() override {
    std::unique_lock lock(state_->mu);
    closed_ = true;
    state_->bytes.clear();
    return Status::Ok();
  }

 private:
  static Status Closed() { return Status::IOError("memory file is closed"); }
  std::shared_ptr<SharedBytes> state_;
  std::atomic<bool> closed_{false};
};

}  // namespace

std::unique_ptr<File> NewMemoryFile() {
  return std::make_unique<MemoryFile>(std::make_shared<SharedBytes>());
}

struct MemoryDirectory::State {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<SharedBytes>> files;
};

MemoryDirectory::MemoryDirectory() : state_(std::make_shared<State>()) {}

FileFactory MemoryDirectory::factory() {
  return [state = state_](const std::string& name) -> Result<std::unique_ptr<File>> {
    std::lock_guard lock(state->mu);
    auto& slot = state->files[name];
    if (!slot) slot = std::make_shared<SharedBytes>();
    return std::unique_ptr<File>(new MemoryFile(slot));
  };
}

bool MemoryDirectory::Exists(const std::string& name) const {
  std::lock_guard lock(state_->mu);
  return state_->files.count(name) > 0;
}

}  // namespace hyper::storage
