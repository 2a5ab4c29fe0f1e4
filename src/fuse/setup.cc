#include "hyper/fuse/setup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string_view>

namespace hyper::fuse {

namespace {

SetupCheck CheckDevice(const SetupProbe& p) {
  SetupCheck c{.what = p.device};
  struct stat st {};
  if (::stat(p.device.c_str(), &st) != 0) {
    c.detail = "missing (" + std::string(std::strerror(errno)) +
               "): load the kernel module (`modprobe fuse`); in a container, give it the device "
               "(docker run --device /dev/fuse --cap-add SYS_ADMIN)";
    return c;
  }
  if (!S_ISCHR(st.st_mode)) {
    c.detail = "is not a character device: remove it and load the kernel module (`modprobe fuse`)";
    return c;
  }
  const int fd = ::open(p.device.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    c.detail = "cannot be opened for reading and writing (" + std::string(std::strerror(errno)) +
               "): `chmod 666 " + p.device + "` as root (Debian's fuse3 package sets that mode)";
    return c;
  }
  ::close(fd);
  c.ok = true;
  c.detail = "present and usable";
  return c;
}

// The first executable `name` in the ':'-separated `path_env`; empty when none.
std::string FindInPath(const std::string& path_env, const std::string& name) {
  std::string_view rest = path_env;
  while (true) {
    const size_t colon = rest.find(':');
    std::string candidate(rest.substr(0, colon));
    if (candidate.empty()) candidate = ".";
    candidate += "/";
    candidate += name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) return "";
    rest.remove_prefix(colon + 1);
  }
}

SetupCheck CheckHelper(const SetupProbe& p) {
  SetupCheck c{.what = "fusermount3"};
  const std::string found = FindInPath(p.path_env, "fusermount3");
  if (found.empty()) {
    c.ok = p.euid == 0;
    c.detail = p.euid == 0
                   ? "not installed (root mounts with mount(2) and needs no helper; for a user: "
                     "`apt-get install fuse3`)"
                   : "not found in $PATH: install the fuse3 package (`sudo apt-get install fuse3`)";
    return c;
  }
  struct stat st {};
  if (p.euid != 0 &&
      (::stat(found.c_str(), &st) != 0 || st.st_uid != 0 || (st.st_mode & S_ISUID) == 0)) {
    c.detail = found + " is not setuid root, so a user cannot mount: `sudo chown root " + found +
               " && sudo chmod u+s " + found + "` (or reinstall the fuse3 package)";
    return c;
  }
  c.ok = true;
  c.detail = found + (p.euid == 0 ? "" : " (setuid root)");
  return c;
}

bool ConfAllowsOther(const std::string& path) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    const size_t end = line.find_last_not_of(" \t\r");
    if (line.substr(start, end - start + 1) == "user_allow_other") return true;
  }
  return false;
}

SetupCheck CheckAllowOther(const SetupProbe& p) {
  SetupCheck c{.what = "user_allow_other"};
  const bool allowed = ConfAllowsOther(p.fuse_conf);
  if (!p.allow_other || p.euid == 0) {
    c.ok = true;
    c.detail = std::string(allowed ? "set" : "not set") + " in " + p.fuse_conf +
               "; not needed: the mount is " +
               (p.euid == 0 ? "root's" : "this user's alone (other users cannot look into it)");
    return c;
  }
  c.ok = allowed;
  c.detail = allowed ? "set in " + p.fuse_conf
                     : "needed for other users to see the mount: add the line `user_allow_other` "
                       "to " +
                           p.fuse_conf + " (as root)";
  return c;
}

}  // namespace

SetupProbe SetupProbe::ThisMachine() {
  SetupProbe p;
  const char* path = std::getenv("PATH");
  p.path_env = path != nullptr ? path : "/usr/bin:/bin";
  p.euid = ::geteuid();
  return p;
}

std::vector<SetupCheck> CheckSetup(const SetupProbe& probe) {
  return {CheckDevice(probe), CheckHelper(probe), CheckAllowOther(probe)};
}

bool SetupOk(const std::vector<SetupCheck>& checks) {
  for (const auto& c : checks) {
    if (!c.ok) return false;
  }
  return true;
}

}  // namespace hyper::fuse
