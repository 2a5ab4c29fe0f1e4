// hyper::fuse::CheckSetup — whether this machine can mount drives through FUSE, and what to fix
// when it cannot (`hyperdrive fuse-setup`, docs/fuse.md).
//
//   for (const auto& c : fuse::CheckSetup(fuse::SetupProbe::ThisMachine())) ...
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace hyper::fuse {

// What the checks look at; ThisMachine() is the real one, tests give other paths.
struct SetupProbe {
  std::string device = "/dev/fuse";
  std::string fuse_conf = "/etc/fuse.conf";
  std::string path_env;  // $PATH, where fusermount3 is looked for
  uid_t euid = 0;
  // Whether other users (root included) must see into the mount: then a user's mount needs
  // `user_allow_other` in fuse.conf. Our mounts are the daemon user's alone by default.
  bool allow_other = false;
  static SetupProbe ThisMachine();
};

struct SetupCheck {
  std::string what;  // "/dev/fuse", "fusermount3", "user_allow_other"
  bool ok = false;
  std::string detail;  // what was found; when !ok, exactly what to do about it
};

// Every check, in order: the device, the mount helper, fuse.conf.
std::vector<SetupCheck> CheckSetup(const SetupProbe& probe);

// Whether every check passed.
bool SetupOk(const std::vector<SetupCheck>& checks);

}  // namespace hyper::fuse
