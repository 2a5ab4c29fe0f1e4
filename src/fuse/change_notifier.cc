#include "change_notifier.h"

#include <utility>

#include "paths.h"

namespace hyper::fuse {

struct ChangeNotifier::Watched {
  std::shared_ptr<service::HostedDrive> drive;
  std::string prefix;
  uint64_t version = 0;  // the last version told (only the loop thread uses it after Watch)
  std::unique_ptr<drive::DriveWatcher> watcher;
  bool changed = false;  // guarded by the notifier's mu_
};

ChangeNotifier::ChangeNotifier(Callbacks callbacks)
    : callbacks_(std::move(callbacks)), thread_([this] { Loop(); }) {}

ChangeNotifier::~ChangeNotifier() {
  std::vector<std::shared_ptr<Watched>> watched;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    watched = watched_;
  }
  cv_.notify_all();
  thread_.join();
  for (const auto& w : watched) {
    // Stopped under the drive's lock (a watcher must not outlive its drive's calls).
    (void)w->drive->Run([&](drive::Drive&) -> Status {
      w->watcher.reset();
      return Status::Ok();
    });
  }
}

Status ChangeNotifier::Watch(std::shared_ptr<service::HostedDrive> drive,
                             const std::string& prefix) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& w : watched_) {
      if (w->drive == drive) return Status::Ok();
    }
  }
  auto w = std::make_shared<Watched>();
  w->drive = std::move(drive);
  w->prefix = prefix;
  std::weak_ptr<Watched> weak = w;
  RETURN_IF_ERROR(w->drive->Run([&](drive::Drive& d) -> Status {
    w->version = d.version();
    ASSIGN_OR_RETURN(w->watcher, d.Watch("/", [this, weak] {
      auto self = weak.lock();
      if (!self) return;
      std::lock_guard<std::mutex> lock(mu_);
      self->changed = true;
      cv_.notify_all();
    }));
    return Status::Ok();
  }));
  std::lock_guard<std::mutex> lock(mu_);
  watched_.push_back(std::move(w));
  return Status::Ok();
}

uint64_t ChangeNotifier::notified() const {
  std::lock_guard<std::mutex> lock(mu_);
  return notified_;
}

std::vector<std::pair<std::string, bool>> ChangeNotifier::Changes(Watched& w) {
  // The path, and whether its name went away (a removal, an unmount).
  std::vector<std::pair<std::string, bool>> paths;
  auto diff = w.drive->Run(
      [&](drive::Drive& d) -> Result<std::pair<uint64_t, std::vector<drive::DiffEntry>>> {
        const uint64_t now = d.version();
        if (now == w.version) return std::make_pair(now, std::vector<drive::DiffEntry>{});
        ASSIGN_OR_RETURN(auto entries, d.Diff(w.version));
        return std::make_pair(now, std::move(entries));
      });
  if (!diff.ok()) return paths;
  w.version = diff->first;
  for (const drive::DiffEntry& e : diff->second) {
    const bool gone =
        e.type == drive::DiffEntry::Type::kDel || e.type == drive::DiffEntry::Type::kUnmount;
    paths.emplace_back(w.prefix + "/" + e.name, gone);
  }
  return paths;
}

void ChangeNotifier::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    std::vector<std::shared_ptr<Watched>> due;
    cv_.wait(lock, [&] {
      if (stop_) return true;
      for (const auto& w : watched_) {
        if (w->changed) return true;
      }
      return false;
    });
    if (stop_) return;
    for (const auto& w : watched_) {
      if (w->changed) {
        w->changed = false;
        due.push_back(w);
      }
    }
    lock.unlock();
    uint64_t told = 0;
    for (const auto& w : due) {
      for (const auto& [path, gone] : Changes(*w)) {
        if (callbacks_.invalidate_path) {
          callbacks_.invalidate_path(path);
          callbacks_.invalidate_path(ParentOf(path));
        }
        // Only a name that went away loses its entry: dropping the entry of a directory that
        // just appeared (a mkdir through the mount) would cut a shell already inside it off
        // its cwd (getcwd: ENOENT). A new name needs nothing (no negative entries are kept).
        if (gone && callbacks_.invalidate_entry) callbacks_.invalidate_entry(path);
        told++;
      }
    }
    lock.lock();
    notified_ += told;
  }
}

}  // namespace hyper::fuse
