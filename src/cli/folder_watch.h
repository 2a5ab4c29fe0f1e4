// A local folder watched for changes with inotify (import --watch): every folder below it is
// watched, including those created later. It says that something changed, not what: the
// import that follows compares the folder with the drive again, which also covers what the
// kernel's queue dropped (IN_Q_OVERFLOW).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "hyper/util/status.h"

namespace hyper::cli {

class FolderWatch {
 public:
  // Watches `root` and every folder below it (symlinks are not followed).
  static Result<std::unique_ptr<FolderWatch>> Start(const std::string& root);
  ~FolderWatch();
  FolderWatch(const FolderWatch&) = delete;
  FolderWatch& operator=(const FolderWatch&) = delete;

  // Readable when events wait (for CommandStop::Wait).
  int fd() const { return fd_; }
  // Reads the events that wait, without blocking, and watches the folders they created; true
  // when any of them changed something below the root.
  Result<bool> Drain();

 private:
  explicit FolderWatch(int fd, std::string root) : fd_(fd), root_(std::move(root)) {}
  // Watches `path` and the folders below it.
  Status AddTree(const std::string& path);
  Status Add(const std::string& path);

  int fd_;
  std::string root_;
  std::map<int, std::string> folders_;  // watch descriptor -> its folder
};

}  // namespace hyper::cli
