#include "operations.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "filesystem.h"

namespace hyper::fuse {

namespace {

Filesystem& Fs() { return *static_cast<Filesystem*>(fuse_get_context()->private_data); }

uint64_t Fh(const fuse_file_info* fi) { return fi != nullptr ? fi->fh : 0; }

void* Init(fuse_conn_info* conn, fuse_config* cfg) {
  // An unlinked file open elsewhere is the open handles' alone (not renamed to .fuse_hidden*:
  // that name would land in the drive).
  cfg->hard_remove = 1;
  cfg->use_ino = 0;
  cfg->entry_timeout = 1.0;
  cfg->attr_timeout = 1.0;
  cfg->negative_timeout = 0;
  // A file's pages stay cached across opens while its mtime and size are those cached
  // (libfuse checks at each open); changes made other than through the mount are told to the
  // kernel as they come (change_notifier.h).
  cfg->auto_cache = 1;
  // Writes and reads of up to 1 MiB per call (the kernel's default is 128 KiB).
  conn->max_write = 1u << 20;
  conn->max_readahead = 1u << 20;
  return fuse_get_context()->private_data;
}

int Getattr(const char* path, struct stat* st, fuse_file_info* fi) {
  return Fs().Getattr(path, st, Fh(fi));
}

int Readlink(const char* path, char* buf, size_t size) { return Fs().Readlink(path, buf, size); }

int Mkdir(const char* path, mode_t mode) { return Fs().Mkdir(path, mode); }

int Unlink(const char* path) { return Fs().Unlink(path); }

int Rmdir(const char* path) { return Fs().Rmdir(path); }

int Symlink(const char* target, const char* link) { return Fs().Symlink(target, link); }

int Rename(const char* from, const char* to, unsigned int flags) {
  return Fs().Rename(from, to, flags);
}

int Chmod(const char* path, mode_t mode, fuse_file_info* fi) {
  return Fs().Chmod(path, mode, Fh(fi));
}

int Chown(const char* path, uid_t uid, gid_t gid, fuse_file_info* fi) {
  const fuse_context* ctx = fuse_get_context();
  Filesystem::Caller caller;
  caller.uid = ctx->uid;
  caller.gid = ctx->gid;
  if (caller.uid != 0) {
    caller.groups.resize(64);
    const int n = fuse_getgroups(static_cast<int>(caller.groups.size()), caller.groups.data());
    if (n > static_cast<int>(caller.groups.size())) {
      caller.groups.resize(static_cast<size_t>(n));
      (void)fuse_getgroups(n, caller.groups.data());
    }
    caller.groups.resize(static_cast<size_t>(std::max(n, 0)));
  }
  return Fs().Chown(path, uid, gid, Fh(fi), caller);
}

int Link(const char* from, const char* to) { return Fs().Link(from, to); }

int Setxattr(const char* path, const char* name, const char* value, size_t size, int flags) {
  return Fs().Setxattr(path, name, value, size, flags);
}

int Getxattr(const char* path, const char* name, char* value, size_t size) {
  return Fs().Getxattr(path, name, value, size);
}

int Listxattr(const char* path, char* list, size_t size) {
  return Fs().Listxattr(path, list, size);
}

int Removexattr(const char* path, const char* name) { return Fs().Removexattr(path, name); }

int Truncate(const char* path, off_t size, fuse_file_info* fi) {
  return Fs().Truncate(path, size, Fh(fi));
}

int Open(const char* path, fuse_file_info* fi) {
  bool direct_io = false;
  const int r = Fs().Open(path, fi->flags, &fi->fh, &direct_io);
  if (direct_io) fi->direct_io = 1;
  return r;
}

int Read(const char*, char* buf, size_t size, off_t offset, fuse_file_info* fi) {
  return Fs().Read(fi->fh, buf, size, offset);
}

int Write(const char*, const char* buf, size_t size, off_t offset, fuse_file_info* fi) {
  return Fs().Write(fi->fh, buf, size, offset);
}

int Statfs(const char* path, struct statvfs* st) { return Fs().Statfs(path, st); }

int Flush(const char*, fuse_file_info* fi) { return Fs().Flush(fi->fh); }

int Release(const char*, fuse_file_info* fi) { return Fs().Release(fi->fh); }

int Fsync(const char*, int, fuse_file_info* fi) { return Fs().Fsync(fi->fh); }

int Readdir(const char* path, void* buf, fuse_fill_dir_t filler, off_t, fuse_file_info*,
            fuse_readdir_flags flags) {
  const auto fill_flags =
      (flags & FUSE_READDIR_PLUS) != 0 ? FUSE_FILL_DIR_PLUS : static_cast<fuse_fill_dir_flags>(0);
  return Fs().Readdir(path, [&](const char* name, const struct stat* st) {
    return filler(buf, name, st, 0, fill_flags) != 0;
  });
}

int Access(const char* path, int mask) { return Fs().Access(path, mask); }

int Create(const char* path, mode_t mode, fuse_file_info* fi) {
  return Fs().Create(path, mode, fi->flags, &fi->fh);
}

int Utimens(const char* path, const struct timespec tv[2], fuse_file_info* fi) {
  return Fs().Utimens(path, tv, Fh(fi));
}

fuse_operations MakeOperations() {
  fuse_operations ops{};
  ops.init = Init;
  ops.getattr = Getattr;
  ops.readlink = Readlink;
  ops.mkdir = Mkdir;
  ops.unlink = Unlink;
  ops.rmdir = Rmdir;
  ops.symlink = Symlink;
  ops.rename = Rename;
  ops.chmod = Chmod;
  ops.chown = Chown;
  ops.link = Link;
  ops.setxattr = Setxattr;
  ops.getxattr = Getxattr;
  ops.listxattr = Listxattr;
  ops.removexattr = Removexattr;
  ops.truncate = Truncate;
  ops.open = Open;
  ops.read = Read;
  ops.write = Write;
  ops.statfs = Statfs;
  ops.flush = Flush;
  ops.release = Release;
  ops.fsync = Fsync;
  ops.readdir = Readdir;
  ops.access = Access;
  ops.create = Create;
  ops.utimens = Utimens;
  return ops;
}

}  // namespace

const fuse_operations& Operations() {
  static const fuse_operations ops = MakeOperations();
  return ops;
}

}  // namespace hyper::fuse
