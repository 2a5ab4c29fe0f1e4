// Tells the kernel when a drive shown in the mount changes other than through it (a `put`
// through the daemon, a peer's new version of a drive under Network): for each path the new
// versions changed, its cached attributes and pages and its parent's attributes are dropped
// (and, for a name that went away, its entry), so nothing stale is served.
//
// Drive::Watch calls come on the appending thread, often under the drive's lock; the work
// (a Diff from the last version seen, then the notifications) runs on a thread of its own,
// never holding a drive's lock while it notifies: the kernel may wait, for an invalidation,
// on a read that waits for that lock.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hyper/service/host.h"

namespace hyper::fuse {

class ChangeNotifier {
 public:
  struct Callbacks {
    // Drops the kernel's attributes and pages of the path (under the mount, '/'-rooted).
    std::function<void(const std::string& path)> invalidate_path;
    // Drops the kernel's entry of the path (its parent looks the name up again).
    std::function<void(const std::string& path)> invalidate_entry;
  };
  explicit ChangeNotifier(Callbacks callbacks);
  // Stops the thread and the watches (under each drive's lock).
  ~ChangeNotifier();
  ChangeNotifier(const ChangeNotifier&) = delete;
  ChangeNotifier& operator=(const ChangeNotifier&) = delete;

  // Watches `drive`, shown in the mount at `prefix` ("" for the mount's root, else
  // "/Network/<key>"), from its version now on. A drive watched already is left alone.
  Status Watch(std::shared_ptr<service::HostedDrive> drive, const std::string& prefix);

  // The number of paths told to the kernel so far (for tests and logs).
  uint64_t notified() const;

 private:
  struct Watched;
  void Loop();
  // The paths the drive's versions since the last one seen changed. No lock of ours held.
  std::vector<std::pair<std::string, bool>> Changes(Watched& w);

  const Callbacks callbacks_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<Watched>> watched_;  // guarded by mu_
  bool stop_ = false;                              // guarded by mu_
  uint64_t notified_ = 0;                          // guarded by mu_
  std::thread thread_;
};

}  // namespace hyper::fuse
