// A folder as the tests of import and export compare it: every entry's type, permission bits,
// mtime (milliseconds) and content (a file's bytes, a symlink's target).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <string>

namespace hyper::cli {

struct LocalNode {
  char type = '?';  // f file, d directory, l symlink
  uint32_t perms = 0;
  uint64_t mtime_ms = 0;
  std::string content;
  bool operator==(const LocalNode&) const = default;
};
using LocalTree = std::map<std::string, LocalNode>;

inline std::ostream& operator<<(std::ostream& os, const LocalNode& n) {
  return os << n.type << " " << std::oct << n.perms << std::dec << " " << n.mtime_ms << " ("
            << n.content.size() << " bytes)";
}

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

inline void SetMtime(const std::string& path, uint64_t ms) {
  struct timespec t[2];
  t[0].tv_sec = t[1].tv_sec = static_cast<time_t>(ms / 1000);
  t[0].tv_nsec = t[1].tv_nsec = static_cast<long>(ms % 1000) * 1000000;
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), t, AT_SYMLINK_NOFOLLOW), 0) << path;
}

// The tree under root (symlinks not followed; their times and modes left out, as drives keep
// neither). Directory mtimes are kept only when `dir_times`.
inline LocalTree ReadLocalTree(const std::string& root, bool dir_times = true) {
  namespace fs = std::filesystem;
  LocalTree tree;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    std::string rel = it->path().lexically_relative(root).generic_string();
    struct stat st;
    EXPECT_EQ(lstat(it->path().c_str(), &st), 0) << it->path();
    LocalNode n;
    n.perms = st.st_mode & 07777;
    n.mtime_ms = uint64_t(st.st_mtim.tv_sec) * 1000 + uint64_t(st.st_mtim.tv_nsec) / 1000000;
    if (S_ISLNK(st.st_mode)) {
      n.type = 'l';
      n.content = fs::read_symlink(it->path()).string();
      n.perms = 0;
      n.mtime_ms = 0;
    } else if (S_ISDIR(st.st_mode)) {
      n.type = 'd';
      if (!dir_times) n.mtime_ms = 0;
    } else {
      n.type = 'f';
      n.content = ReadAll(it->path());
    }
    tree[rel] = n;
  }
  return tree;
}

}  // namespace hyper::cli
