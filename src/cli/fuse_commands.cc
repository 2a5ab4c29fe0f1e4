#include "fuse_commands.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "daemon/root.h"
#include "hyper/daemon/state_db.h"
#include "hyper/fuse/mount.h"
#include "hyper/fuse/setup.h"
#include "store.h"

namespace hyper::cli {

namespace {

// The directory the root drive is mounted at by default, as the reference's ~/Hyperdrive.
Result<std::string> MountpointOf(const std::string& flag) {
  std::string dir = flag;
  if (dir.empty()) {
    const char* home = std::getenv("HOME");
    if (home == nullptr || *home == '\0') {
      return Status::InvalidArgument("HOME is not set: give the mountpoint (--mountpoint DIR)");
    }
    dir = std::string(home) + "/Hyperdrive";
  }
  std::error_code ec;
  dir = std::filesystem::absolute(dir, ec).lexically_normal().string();
  if (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

// Checks FUSE on this machine and, when it works, records `mountpoint` in the root's state
// database: the daemon's next start (without --mountpoint) mounts the root drive there.
Status FuseSetup(const std::string& storage, const std::string& mountpoint_flag) {
  const std::string root = ResolveStorageRoot(storage);
  if (root.empty()) {
    return Status::InvalidArgument(
        "no daemon root: HOME is not set; give --storage DIR or set HYPERDRIVE_STORAGE");
  }
  ASSIGN_OR_RETURN(std::string mountpoint, MountpointOf(mountpoint_flag));
  const auto checks = fuse::CheckSetup(fuse::SetupProbe::ThisMachine());
  for (const auto& c : checks) {
    std::printf("%s %s: %s\n", c.ok ? "ok " : "FIX", c.what.c_str(), c.detail.c_str());
  }
  if (!fuse::SetupOk(checks)) {
    return Status::Unsupported(
        "FUSE cannot be used here yet: do what the lines marked FIX say, then run "
        "`hyperdrive fuse-setup` again (nothing was recorded)");
  }
  std::error_code ec;
  if (fuse::IsStaleMount(mountpoint)) {
    return Status::Busy(mountpoint + " is a mount left by a daemon that died: " +
                        "`hyperdrive force-unmount " + mountpoint + "` clears it");
  }
  if (std::filesystem::exists(mountpoint, ec) && !std::filesystem::is_directory(mountpoint, ec)) {
    return Status::NotADirectory(mountpoint +
                                 " exists and is not a directory: give another "
                                 "place with --mountpoint DIR");
  }
  std::filesystem::create_directories(mountpoint, ec);
  if (ec) return Status::IOError("creating " + mountpoint + ": " + ec.message());
  // The root holds keys: its owner's alone, as the daemon makes it.
  if (!std::filesystem::exists(root, ec)) {
    std::filesystem::create_directories(root, ec);
    if (ec) return Status::IOError("creating " + root + ": " + ec.message());
    (void)::chmod(root.c_str(), 0700);
  }
  auto state = daemon::StateDb::Open(daemon::Root{root}.db_dir());
  if (!state.ok()) {
    if (state.status().code() == Code::kBusy) {
      return Status::Busy("a daemon runs on " + root +
                          " and holds its state: `hyperdrive stop`, run fuse-setup again, then "
                          "`hyperdrive start` (or start it with --mountpoint " +
                          mountpoint + ")");
    }
    return state.status();
  }
  ASSIGN_OR_RETURN(auto record, (*state)->RootDrive());
  daemon::RootDriveRecord r = record.value_or(daemon::RootDriveRecord{});
  r.mountpoint = mountpoint;
  RETURN_IF_ERROR((*state)->PutRootDrive(r));
  std::printf("FUSE is set up: the daemon of %s mounts its root drive at %s when it next starts\n",
              root.c_str(), mountpoint.c_str());
  std::printf("if the mountpoint ever stops answering, `hyperdrive force-unmount` detaches it\n");
  return Status::Ok();
}

}  // namespace

void AddFuseCommands(CLI::App& app, const std::string& storage, FuseArgs& a, Action* action) {
  CLI::App* setup = app.add_subcommand(
      "fuse-setup",
      "Check that FUSE works here (/dev/fuse, the fuse3 package's fusermount3, user_allow_other "
      "when needed) and say exactly what to fix; when it works, record the mountpoint in the "
      "root (--storage) so that the daemon's next `start` mounts the root drive there. A root "
      "never set up (nor started with --mountpoint) mounts nothing. Run it with the daemon "
      "stopped");
  setup->add_option("--mountpoint", a.setup_mountpoint,
                    "Where the root drive is mounted (default ~/Hyperdrive)");
  setup->callback([&storage, &a, action] {
    *action = [&storage, &a] { return FuseSetup(storage, a.setup_mountpoint); };
  });
}

}  // namespace hyper::cli
