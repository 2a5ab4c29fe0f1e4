#include <map>
#include <mutex>

#include "hyper/storage/file.h"
#include "memory_bytes.h"

namespace hyper::storage {

// The simulated disk of one injector: every file's current bytes and its last synced bytes.
struct FaultInjector::Shared {
  struct FileState {
    Bytes current;
    Bytes synced;
  };
  std::mutex mu;
  std::map<std::string, std::shared_ptr<FileState>> files;

  uint64_t TotalBytes() const {
    uint64_t total = 0;
    for (const auto& [name, f] : files) total += f->current.size();
    return total;
  }
};

FaultInjector::FaultInjector() : shared_(std::make_shared<Shared>()) {}

void FaultInjector::SimulateCrash() {
  std::lock_guard lock(shared_->mu);
  for (auto& [name, f] : shared_->files) f->current = f->synced;
  crashed_ = false;
  fail_at_ = tear_at_ = crash_after_ = 0;
  ops_ = 0;
}

FaultInjector::Decision FaultInjector::NextOperation() {
  if (crashed_) return Decision::kDead;
  ops_++;
  if (ops_ == fail_at_) return Decision::kFail;
  if (ops_ == tear_at_) {
    crashed_ = true;
    return Decision::kTear;
  }
  if (crash_after_ != 0 && ops_ > crash_after_) {
    crashed_ = true;
    return Decision::kDead;
  }
  return Decision::kProceed;
}

class FaultyFileImpl final : public File {
 public:
  using FileState = FaultInjector::Shared::FileState;
  FaultyFileImpl(FaultInjector& injector, std::shared_ptr<FileState> state, std::string name)
      : injector_(injector), state_(std::move(state)), name_(std::move(name)) {}

  Status Read(uint64_t offset, MutableByteView out) override {
    std::lock_guard lock(injector_.shared_->mu);
    if (closed_) return Closed();
    if (injector_.crashed_) return Dead();
    return internal::ReadAt(state_->current, offset, out);
  }

  Status Write(uint64_t offset, ByteView data) override {
    std::lock_guard lock(injector_.shared_->mu);
    if (closed_) return Closed();
    uint64_t grows = offset + data.size() > state_->current.size()
                         ? offset + data.size() - state_->current.size()
                         : 0;
    if (grows && injector_.shared_->TotalBytes() + grows > injector_.byte_limit_) {
      return Status::NoSpace("simulated disk is full writing " + name_);
    }
    switch (injector_.NextOperation()) {
      case FaultInjector::Decision::kProceed:
        internal::WriteAt(state_->current, offset, data);
        return Status::Ok();
      case FaultInjector::Decision::kFail:
        return Status::IOError("injected failure writing " + name_);
      case FaultInjector::Decision::kTear:
        internal::WriteAt(state_->current, offset,
                          data.first(std::min<uint64_t>(injector_.tear_keep_, data.size())));
        return Dead();
      case FaultInjector::Decision::kDead:
        return Dead();
    }
    return Status::Internal("unreachable");
  }

  Status Del(uint64_t offset, uint64_t length) override {
    return Mutate("deleting in", [&] { internal::DelAt(state_->current, offset, length); });
  }

  Status Truncate(uint64_t size) override {
    return Mutate("truncating", [&] { state_->current.resize(size); });
  }

  Result<uint64_t> Size() override {
    std::lock_guard lock(injector_.shared_->mu);
    if (closed_) return Closed();
    if (injector_.crashed_) return Dead();
    return static_cast<uint64_t>(state_->current.size());
  }

  Status Sync() override {
    std::lock_guard lock(injector_.shared_->mu);
    if (closed_) return Closed();
    if (injector_.crashed_) return Dead();
    state_->synced = state_->current;
    return Status::Ok();
  }

  Status Close() override {
    std::lock_guard lock(injector_.shared_->mu);
    closed_ = true;
    return Status::Ok();
  }

  // Removing a file is durable at once (as a rename or unlink followed by a directory sync).
  Status Unlink() override {
    std::lock_guard lock(injector_.shared_->mu);
    closed_ = true;
    if (injector_.crashed_) return Dead();
    state_->current.clear();
    state_->synced.clear();
    return Status::Ok();
  }

 private:
  template <typename Fn>
  Status Mutate(const char* what, Fn fn) {
    std::lock_guard lock(injector_.shared_->mu);
    if (closed_) return Closed();
    switch (injector_.NextOperation()) {
      case FaultInjector::Decision::kProceed:
        fn();
        return Status::Ok();
      case FaultInjector::Decision::kFail:
        return Status::IOError(std::string("injected failure ") + what + " " + name_);
      case FaultInjector::Decision::kTear:  // nothing to tear: the operation is lost
      case FaultInjector::Decision::kDead:
        return Dead();
    }
    return Status::Internal("unreachable");
  }
  Status Closed() const { return Status::IOError(name_ + " is closed"); }
  Status Dead() const { return Status::IOError("simulated crash: " + name_ + " is gone"); }

  FaultInjector& injector_;
  std::shared_ptr<FileState> state_;
  std::string name_;
  bool closed_ = false;  // guarded by the injector's mutex
};

FaultyDirectory::FaultyDirectory(FaultInjector& injector) : injector_(injector) {}

FileFactory FaultyDirectory::factory() {
  return [&injector = injector_](const std::string& name) -> Result<std::unique_ptr<File>> {
    auto shared = injector.shared();
    std::shared_ptr<FaultInjector::Shared::FileState> state;
    {
      std::lock_guard lock(shared->mu);
      auto& slot = shared->files[name];
      if (!slot) slot = std::make_shared<FaultInjector::Shared::FileState>();
      state = slot;
      if (injector.crashed()) return Status::IOError("simulated crash: cannot open " + name);
    }
    return std::unique_ptr<File>(new FaultyFileImpl(injector, state, name));
  };
}

}  // namespace hyper::storage
