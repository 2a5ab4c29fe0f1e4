#include "mount_paths.h"

#include <filesystem>

#include "console.h"
#include "daemon/root.h"
#include "fuse/network_paths.h"
#include "fuse/paths.h"
#include "hyper/daemon/state_db.h"
#include "store.h"

namespace hyper::cli {

bool IsLocalPath(const std::string& arg) {
  if (arg.rfind("hyper://", 0) == 0) return false;
  return !ParseHyperUrl(arg).ok();
}

Result<DaemonMount> FindDaemonMount(const std::string& storage_root) {
  const std::string how =
      "paths are taken under the mountpoint of the root drive: `hyperdrive fuse-setup` then "
      "`hyperdrive start`, or `hyperdrive start --mountpoint DIR`; or give a hyper:// URL";
  if (ScopedDaemonHost::Current() != nullptr) {
    if (const DaemonMount* m = ScopedDaemonHost::Mount()) return *m;
    return Status::NotFound("the daemon of " + storage_root + " mounted no root drive: " + how);
  }
  if (storage_root.empty()) return Status::InvalidArgument("no storage root: give --storage DIR");
  auto state = daemon::StateDb::Open(daemon::Root{storage_root}.db_dir());
  if (!state.ok()) return state.status().Annotate("reading where the root drive is mounted");
  ASSIGN_OR_RETURN(auto record, (*state)->RootDrive());
  if (!record || record->mountpoint.empty() || !record->key) {
    return Status::NotFound("no root drive is mounted for " + storage_root + ": " + how);
  }
  return DaemonMount{record->mountpoint, *record->key};
}

Result<MountPath> ResolveMountPath(const DaemonMount& mount, const std::string& arg) {
  if (arg.empty()) return Status::InvalidArgument("an empty path");
  if (arg.find('\0') != std::string::npos) {
    return Status::InvalidArgument("a path with a NUL byte");
  }
  std::string local = Console::Current().Path(arg);
  std::error_code ec;
  local = std::filesystem::absolute(local, ec).lexically_normal().string();
  if (ec) return Status::InvalidArgument("'" + arg + "': " + ec.message());
  if (local.size() > 1 && local.back() == '/') local.pop_back();
  const std::string& mnt = mount.mountpoint;
  if (!fuse::IsAtOrBelow(local, mnt)) {
    return Status::InvalidArgument("'" + arg + "' (" + local +
                                   ") is not under the mountpoint of the root drive, " + mnt);
  }
  MountPath out;
  out.local = local;
  const std::string rel = fuse::Rebase(local, mnt, "/");
  const std::string network = "/Network";
  if (rel == network || rel.rfind(network + "/", 0) == 0) {
    auto where = fuse::ParseNetworkPath(rel);
    if (!where.ok() || where->kind != fuse::NetworkPath::Kind::kDrive) {
      return Status::NotFound("'" + arg + "' is not a drive under " + mnt +
                              "/Network (Network/<key>[+version][/path])");
    }
    out.network = true;
    std::string url = FormatUrl(where->key);
    if (where->version) url += "+" + std::to_string(*where->version);
    out.url = url + (where->inner == "/" ? "" : where->inner);
    return out;
  }
  out.in_root = rel;
  out.url = FormatUrl(mount.root_drive, rel == "/" ? "" : rel);
  return out;
}

}  // namespace hyper::cli
