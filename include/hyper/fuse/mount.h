// hyper::fuse::Mount — a hosted drive as a folder of this machine, through the kernel's FUSE
// and libfuse3 (docs/fuse.md). Mounting and unmounting go through fusermount3 for a user and
// mount(2)/umount2(2) for root, as libfuse does, so no sudo is needed.
//
//   auto m = fuse::Mount::Start(drive, {.mountpoint = "/home/me/Hyperdrive",
//                                       .spool_dir = root + "/fuse-spool"}).value();
//   ...               // programs use the folder; a multi-threaded loop answers them
//   m.reset();        // unmounts (lazily when busy) and stops the loop
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "hyper/service/host.h"
#include "hyper/util/status.h"

namespace hyper::fuse {

struct MountOptions {
  std::string mountpoint;  // created when missing
  std::string spool_dir;   // where files open for writing keep their bytes
  std::string statfs_dir;  // the disk statfs reports (default: spool_dir)
  // Told what the mount does and what fails in it. May be empty.
  std::function<void(const std::string&)> log;
  // Opens any drive by key: Network/<key> in the mount is that drive, read-only (EROFS for
  // writes). Empty: no Network directory.
  std::function<Result<std::shared_ptr<service::HostedDrive>>(const crypto::PublicKey&)> open_drive;
  // The host, for Network/Stats and Network/Active (counters, peers, what is announced). May be
  // null: those directories are then empty.
  service::Host* host = nullptr;
};

// A mountpoint left by a process that died ("Transport endpoint is not connected").
bool IsStaleMount(const std::string& mountpoint);
// Detaches whatever is mounted at `mountpoint` (lazy: processes still inside keep what they
// hold): umount2(MNT_DETACH) as root, `fusermount3 -u -z` otherwise.
Status ForceUnmount(const std::string& mountpoint);

class Mount {
 public:
  // Mounts `drive` read-write (read-only when it is not writable here) at options.mountpoint,
  // clearing a stale mount there first, and starts answering. Busy when something is mounted
  // there already.
  static Result<std::unique_ptr<Mount>> Start(std::shared_ptr<service::HostedDrive> drive,
                                              MountOptions options);
  // Unmounts and stops the loop (waits for the calls running).
  ~Mount();
  Mount(const Mount&) = delete;
  Mount& operator=(const Mount&) = delete;

  const std::string& mountpoint() const;

  struct Impl;

 private:
  explicit Mount(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hyper::fuse
