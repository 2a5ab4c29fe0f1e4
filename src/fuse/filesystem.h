// The FUSE operations over one hosted drive, by path (libfuse's high-level API; operations.cc
// binds them). Each returns 0 (or a byte count) or a negative errno.
//
// Reads go to the drive (only the blocks that hold the range). Writes go to a spool file per
// open file (spool.h) and become one version of the drive when the file is closed (the flush
// of a handle that wrote), fsynced or released: streamed into the drive's content feed, never
// held in memory. Every
// drive call runs through the host (HostedDrive::Run, writes under LockWrites); no lock of
// ours is held while a call may wait for the network.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "hyper/service/host.h"
#include "network_paths.h"
#include "open_files.h"

namespace hyper::fuse {

struct FilesystemOptions {
  // Where spool files are made (the daemon's root).
  std::string spool_dir;
  // statfs reports the disk holding this directory (the store).
  std::string statfs_dir;
  // The owner shown for every file (the drive's uid and gid mean nothing on this machine).
  uid_t uid = 0;
  gid_t gid = 0;
  // Told about failures a program only sees as an errno. May be empty.
  std::function<void(const std::string&)> log;
  // Opens any drive by key, for Network/<key> (read-only). Empty: no Network directory.
  std::function<Result<std::shared_ptr<service::HostedDrive>>(const crypto::PublicKey&)> open_drive;
  // For Network/Stats and Network/Active. May be null (they are empty then).
  service::Host* host = nullptr;
  // The mount's absolute path: a symlink made in the drive whose target leads to
  // Network/<key>[+version] (given under this path, or relative to the link) becomes a mount of
  // that drive. Empty: only relative targets are recognised.
  std::string mountpoint;
  // Drops the kernel's cached entry for `path` from outside the call being answered (the
  // kernel then looks the name up again). Called when a symlink became a mount: the kernel was
  // told a symlink, the drive now has a directory. May be empty.
  std::function<void(const std::string& path)> invalidate_entry;
  // Called with each drive opened under Network (latest versions) and where it is shown
  // ("/Network/<key>"), so that its new versions drop what the kernel caches of it. May be empty.
  std::function<void(const std::shared_ptr<service::HostedDrive>& drive, const std::string& prefix)>
      watch_drive;
};

// The magic directory at the root of the mount (network_paths.h: Network/<key>[+version],
// Network/Stats, Network/Active).
inline constexpr char kNetworkDir[] = "/Network";

class Filesystem {
 public:
  Filesystem(std::shared_ptr<service::HostedDrive> drive, FilesystemOptions options);
  ~Filesystem();
  Filesystem(const Filesystem&) = delete;
  Filesystem& operator=(const Filesystem&) = delete;

  using Filler = std::function<bool(const char* name, const struct stat* st)>;

  int Getattr(const char* path, struct stat* st, uint64_t fh);
  int Readdir(const char* path, const Filler& fill);
  // `direct_io` is set for files whose size is not known before they are read (the JSON of
  // Network/Stats): the kernel then reads until a short read.
  int Open(const char* path, int flags, uint64_t* fh, bool* direct_io);
  int Create(const char* path, mode_t mode, int flags, uint64_t* fh);
  int Read(uint64_t fh, char* buf, size_t size, off_t offset);
  int Write(uint64_t fh, const char* buf, size_t size, off_t offset);
  int Truncate(const char* path, off_t size, uint64_t fh);
  int Flush(uint64_t fh);
  int Fsync(uint64_t fh);
  int Release(uint64_t fh);
  int Unlink(const char* path);
  int Mkdir(const char* path, mode_t mode);
  int Rmdir(const char* path);
  int Symlink(const char* target, const char* link);
  int Readlink(const char* path, char* buf, size_t size);
  int Rename(const char* from, const char* to, unsigned int flags);
  int Chmod(const char* path, mode_t mode, uint64_t fh);
  // Who makes a call (libfuse's context), for chown's permission check.
  struct Caller {
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;  // supplementary groups
  };
  // Stores uid and gid ((uid_t)-1: unchanged) in the Stat. As POSIX: only root gives a file
  // away; the owner may set its own uid and a group it is in (EPERM otherwise).
  int Chown(const char* path, uid_t uid, gid_t gid, uint64_t fh, const Caller& caller);
  // A drive has no hard links: EPERM, as link(2) says of a filesystem without them.
  int Link(const char* from, const char* to);
  // Extended attributes are the entries of the Stat's metadata map (as the reference): the
  // name is the key ("user.x"), the value its bytes. security.* and system.* are not stored
  // (ENOTSUP to set, ENODATA to read: the kernel asks for security.capability on writes).
  int Setxattr(const char* path, const char* name, const char* value, size_t size, int flags);
  int Getxattr(const char* path, const char* name, char* value, size_t size);
  int Listxattr(const char* path, char* list, size_t size);
  int Removexattr(const char* path, const char* name);
  int Utimens(const char* path, const struct timespec tv[2], uint64_t fh);
  int Statfs(const char* path, struct statvfs* st);
  int Access(const char* path, int mask);

  // Writes every open file that has bytes the drive does not (at unmount, after the loop
  // ended: a release the kernel did not send).
  void CommitAll();

  // From now on every call fails with EIO without touching the drive (waits for the calls
  // running). For a mount whose loop cannot be stopped (a process keeps it busy).
  void Close();

 private:
  struct Handle;
  // A live Filesystem (shared hold of alive_mu_) for the length of a call; false once closed.
  class Gate;

  int OpenGated(const char* path, int flags, uint64_t* fh);  // Open, inside a Gate
  int OpenNetwork(const char* path, int flags, uint64_t* fh, bool* direct_io);
  Handle* HandleOf(uint64_t fh) const;
  // Where a path under Network leads (network_paths.h), with the drive it names open (and its
  // checkout, for <key>+<version>). NotFound for a name that is not there.
  struct NetworkTarget {
    NetworkPath where;
    std::shared_ptr<service::HostedDrive> drive;
    std::shared_ptr<drive::Drive> checkout;  // null: the latest version
  };
  Result<NetworkTarget> RouteNetwork(const std::string& path);
  Result<std::shared_ptr<service::HostedDrive>> NetworkDrive(const crypto::PublicKey& key);
  // The contents of a Stats file of the target's drive.
  Result<std::string> StatsFile(const NetworkTarget& t);
  // The keys of the drives announced now (Network/Active).
  std::vector<crypto::PublicKey> Announced() const;
  int GetattrNetwork(const char* path, struct stat* st, uint64_t fh);
  int ReaddirNetwork(const char* path, const Filler& fill);
  bool IsNetwork(const char* path) const;
  int Fail(const Status& status, const char* what, const std::string& path, int err);
  // The Network path (paths.h's form) a symlink at `link` with `target` leads to, when it
  // leads into Network.
  std::optional<std::string> NetworkTargetOf(const std::string& link,
                                             const std::string& target) const;
  // A symlink into Network/<key>[+version]: mounts that drive at `link` instead.
  int SymlinkMount(const std::string& target, const std::string& link,
                   const std::string& network_path);
  // The file's bytes in its spool (copied from the drive unless `keep` is false).
  // REQUIRES: file.mu held.
  Status Load(OpenFile& file, bool keep);
  // Writes the file's spool as its next version when dirty. REQUIRES: ns_mu_ (shared or
  // not) and file.mu held.
  Status Commit(OpenFile& file);
  // Commit of the handle's file; unless `always`, only when the handle wrote since.
  int CommitHandle(uint64_t fh, const char* what, bool always);
  // The file's attributes from its OpenFile when it differs from the drive. REQUIRES: file.mu.
  void FillFromOpenFile(const OpenFile& file, struct stat* st) const;
  void FillFromStat(const drive::Stat& in, struct stat* st) const;
  // Whether `path` exists (in the drive, or as a file created here).
  Result<bool> Exists(const std::string& path);
  Status CheckParentDirectory(const std::string& path);
  // Where a new entry may be made: the parent is a directory of a writable drive and `path`
  // does not exist yet (Exists otherwise).
  Status CheckNewEntry(const std::string& path);
  // Writes `options`' attributes (mode or mtime) to `path`, or to the path `file` is open at
  // when path is null (a call by handle); `what` names the call in errors.
  int UpdateAttributes(const char* path, const OpenFile* file, const drive::WriteOptions& options,
                       const char* what);
  // The metadata map of the file at `path` (its next version's when open and not written yet).
  Result<drive::MetadataMap> MetadataOf(const char* path);
  // Sets (or, with no value, removes) one metadata entry with setxattr's flags
  // (XATTR_CREATE, XATTR_REPLACE); a negative errno or 0.
  int ChangeMetadata(const char* path, const std::string& key, std::optional<Bytes> value,
                     int flags, const char* what);

  std::shared_ptr<service::HostedDrive> drive_;
  const FilesystemOptions options_;
  const uint64_t started_ms_;  // the time of the Network directories
  // Renames and unlinks hold it alone; writes and commits share it, so no commit writes a
  // file at a path a rename is changing.
  std::shared_mutex ns_mu_;
  OpenFiles files_;
  std::mutex network_mu_;
  // The drives opened under Network, kept open until unmount, and their checkouts.
  std::map<crypto::PublicKey, std::shared_ptr<service::HostedDrive>> network_;
  std::map<std::pair<crypto::PublicKey, uint64_t>, std::shared_ptr<drive::Drive>> checkouts_;
  // The symlinks that became mounts, by path: their targets (readlink answers with it while
  // the kernel still holds the entry as a link) and the drive mounted.
  std::mutex links_mu_;
  std::map<std::string, std::pair<std::string, crypto::PublicKey>> mount_links_;
  std::shared_mutex alive_mu_;
  bool closed_ = false;  // guarded by alive_mu_
};

}  // namespace hyper::fuse
