// import (a folder into a drive) and export (a drive into a folder).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include "drive_commands.h"
#include "progress.h"
#include "session.h"

namespace hyper::cli {
namespace {

namespace fs = std::filesystem;
constexpr size_t kChunkBytes = 1 << 20;

uint64_t MillisOf(const struct timespec& ts) {
  return uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
}

struct LocalEntry {
  std::string rel;  // "a/b.txt"
  struct stat st;
};

// Everything under root, parents before children, symlinks not followed.
Result<std::vector<LocalEntry>> WalkFolder(const std::string& root, std::vector<std::string>* skipped) {
  std::vector<LocalEntry> out;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end;
  if (ec) return Status::FromErrno(ec.value(), "reading " + root);
  for (; it != end; it.increment(ec)) {
    if (ec) return Status::FromErrno(ec.value(), "reading " + root);
    LocalEntry e;
    // Lexically: fs::relative would resolve symlinks.
    e.rel = it->path().lexically_relative(root).generic_string();
    if (lstat(it->path().c_str(), &e.st) != 0) return Status::FromErrno(errno, it->path().string());
    if (S_ISREG(e.st.st_mode) || S_ISDIR(e.st.st_mode) || S_ISLNK(e.st.st_mode)) {
      out.push_back(std::move(e));
    } else {
      skipped->push_back(e.rel);
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.rel < b.rel; });
  return out;
}

std::string Join(const std::string& base, const std::string& rel) {
  return base == "/" ? "/" + rel : base + "/" + rel;
}

drive::WriteOptions OptionsOf(const struct stat& st) {
  drive::WriteOptions wo;
  wo.mode = st.st_mode & 07777;
  wo.uid = st.st_uid;
  wo.gid = st.st_gid;
  wo.mtime = MillisOf(st.st_mtim);
  wo.ctime = MillisOf(st.st_ctim);
  return wo;
}

Status WriteLocalFile(drive::Drive& d, const std::string& local, const std::string& path,
                      const struct stat& st, Progress& progress, uint64_t& done_bytes,
                      uint64_t done_files) {
  int fd = open(local.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Status::FromErrno(errno, "opening " + local);
  auto writer = d.CreateWriter(path, OptionsOf(st));
  if (!writer.ok()) {
    close(fd);
    return writer.status();
  }
  Bytes buf(kChunkBytes);
  Status status;
  while (true) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      status = Status::FromErrno(errno, "reading " + local);
      break;
    }
    if (n == 0) break;
    status = (*writer)->Write(ByteView(buf).first(static_cast<size_t>(n)));
    if (!status.ok()) break;
    done_bytes += static_cast<uint64_t>(n);
    progress.Update(done_bytes, done_files);
  }
  close(fd);
  RETURN_IF_ERROR(status);
  auto closed = (*writer)->Close();
  return closed.ok() ? Status::Ok() : closed.status();
}

// Small files go into the drive in batches (two signatures per batch instead of two per file).
constexpr uint64_t kBatchFileBytes = 1 << 20;   // files up to this size are batched
constexpr size_t kBatchFiles = 2000;            // a batch holds at most this many files
constexpr uint64_t kBatchBytes = 32 << 20;      // and at most this many bytes

struct PendingFiles {
  std::deque<Bytes> data;  // a deque: the views in `files` point into its elements
  std::vector<drive::Drive::FileToWrite> files;
  uint64_t bytes = 0;

  bool Full() const { return files.size() >= kBatchFiles || bytes >= kBatchBytes; }
  Status Flush(drive::Drive& d) {
    if (files.empty()) return Status::Ok();
    auto written = d.WriteFiles(files);
    files.clear();
    data.clear();
    bytes = 0;
    return written.ok() ? Status::Ok() : written.status();
  }
};

Result<Bytes> ReadSmallFile(const std::string& path, uint64_t expected) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Status::FromErrno(errno, "opening " + path);
  Bytes out(expected);
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  int err = errno;
  close(fd);
  if (done != out.size()) {
    return done < out.size() && err ? Status::FromErrno(err, "reading " + path)
                                    : Status::IOError(path + " changed size while being read");
  }
  return out;
}


// A drive entry's name as a path below the export folder, or an error for names that could
// escape it or that no filesystem can hold.
Result<std::string> SafeRelative(const std::string& name) {
  if (name.empty()) return Status::InvalidArgument("the drive holds an entry with an empty name");
  if (name.find('\0') != std::string::npos) {
    return Status::InvalidArgument("the drive holds a name with a NUL byte");
  }
  size_t pos = 0;
  while (pos <= name.size()) {
    size_t slash = name.find('/', pos);
    if (slash == std::string::npos) slash = name.size();
    std::string part = name.substr(pos, slash - pos);
    if (part.empty() || part == "." || part == "..") {
      return Status::InvalidArgument("refusing to export '" + name +
                                     "': a name with '.', '..' or an empty part could escape the folder");
    }
    pos = slash + 1;
  }
  return name;
}

// Makes every missing parent of dir/rel (a drive may hold a file below a directory it never
// made), and checks that each is a real directory, never a symlink, so that a drive's symlink
// cannot redirect a later write outside the folder.
Status MakeParents(const std::string& dir, const std::string& rel) {
  std::string path = dir;
  size_t pos = 0;
  while (true) {
    size_t slash = rel.find('/', pos);
    if (slash == std::string::npos) return Status::Ok();
    path += "/" + rel.substr(pos, slash - pos);
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) {
      if (errno != ENOENT) return Status::FromErrno(errno, path);
      if (mkdir(path.c_str(), 0755) != 0) return Status::FromErrno(errno, "creating " + path);
      st.st_mode = S_IFDIR;
    }
    if (!S_ISDIR(st.st_mode)) {
      return Status::InvalidArgument("refusing to write below " + path + ": it is not a directory");
    }
    pos = slash + 1;
  }
}

void SetTimes(int dirfd, const std::string& path, uint64_t mtime, int flags) {
  struct timespec times[2];
  times[0].tv_sec = times[1].tv_sec = static_cast<time_t>(mtime / 1000);
  times[0].tv_nsec = times[1].tv_nsec = static_cast<long>((mtime % 1000) * 1000000);
  (void)utimensat(dirfd, path.c_str(), times, flags);
}

Status ExportFile(drive::Drive& d, const std::string& src, const drive::Stat& st,
                  const std::string& dest, Progress& progress, uint64_t& done_bytes,
                  uint64_t done_files) {
  // Never follow a symlink at the destination; replace whatever is there.
  struct stat existing;
  if (lstat(dest.c_str(), &existing) == 0 && !S_ISREG(existing.st_mode)) {
    if (S_ISDIR(existing.st_mode)) return Status::IsADirectory(dest + " is a directory");
    if (unlink(dest.c_str()) != 0) return Status::FromErrno(errno, "replacing " + dest);
  }
  int fd = open(dest.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status::FromErrno(errno, "creating " + dest);
  Status status;
  for (uint64_t pos = 0; pos < st.size;) {
    auto chunk = d.ReadRange(src, pos, std::min<uint64_t>(kChunkBytes, st.size - pos));
    if (!chunk.ok()) {
      status = chunk.status();
      break;
    }
    if (chunk->empty()) {
      status = Status::Corruption(src + " is shorter than its Stat says");
      break;
    }
    size_t off = 0;
    while (off < chunk->size()) {
      ssize_t n = write(fd, chunk->data() + off, chunk->size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        status = Status::FromErrno(errno, "writing " + dest);
        break;
      }
      off += static_cast<size_t>(n);
    }
    if (!status.ok()) break;
    pos += chunk->size();
    done_bytes += chunk->size();
    progress.Update(done_bytes, done_files);
  }
  if (status.ok() && fchmod(fd, st.mode & 07777) != 0) status = Status::FromErrno(errno, dest);
  if (close(fd) != 0 && status.ok()) status = Status::FromErrno(errno, "closing " + dest);
  RETURN_IF_ERROR(status);
  SetTimes(AT_FDCWD, dest, st.mtime, AT_SYMLINK_NOFOLLOW);
  return Status::Ok();
}

}  // namespace

Status ImportFolder(const std::string& storage, const std::string& dir, const std::string& url) {
  struct stat root_st;
  if (stat(dir.c_str(), &root_st) != 0) return Status::FromErrno(errno, dir);
  if (!S_ISDIR(root_st.st_mode)) return Status::NotADirectory(dir + " is not a folder");
  std::vector<std::string> skipped;
  ASSIGN_OR_RETURN(auto local, WalkFolder(dir, &skipped));
  for (const auto& s : skipped) std::cerr << "hyperdrive: skipping " << s << " (not a file, folder or symlink)\n";

  ASSIGN_OR_RETURN(auto session, Session::Open(ResolveStorageDir(storage)));
  std::unique_ptr<drive::Drive> created;
  OpenedDrive od;
  drive::Drive* d = nullptr;
  std::string base = "/";
  if (url.empty()) {
    ASSIGN_OR_RETURN(created, session->CreateDrive());
    d = created.get();
  } else {
    ASSIGN_OR_RETURN(od, session->OpenWritable(url));
    d = od.head.get();
    base = od.path;
  }

  uint64_t total_bytes = 0;
  for (const auto& e : local) {
    if (S_ISREG(e.st.st_mode)) total_bytes += static_cast<uint64_t>(e.st.st_size);
  }
  Progress progress("importing", total_bytes, local.size());
  uint64_t done_bytes = 0, done_files = 0;
  std::set<std::string> wanted;
  PendingFiles pending;
  for (const auto& e : local) {
    std::string path = Join(base, e.rel);
    wanted.insert(path);
    std::string full = dir + "/" + e.rel;
    // A drive created just now has nothing to compare with.
    Result<drive::Stat> existing = created ? Result<drive::Stat>(Status::NotFound(path))
                                           : d->Lstat(path);
    if (!existing.ok() && existing.status().code() != Code::kNotFound) return existing.status();
    if (S_ISDIR(e.st.st_mode)) {
      if (existing.ok() && existing->IsDirectory()) {
        // unchanged
      } else {
        RETURN_IF_ERROR(pending.Flush(*d));
        if (existing.ok()) RETURN_IF_ERROR(d->Unlink(path));
        drive::WriteOptions wo;
        wo.mode = e.st.st_mode & 07777;
        wo.mtime = MillisOf(e.st.st_mtim);
        wo.ctime = MillisOf(e.st.st_ctim);
        RETURN_IF_ERROR(d->Mkdir(path, wo));
      }
    } else if (S_ISLNK(e.st.st_mode)) {
      std::error_code ec;
      std::string target = fs::read_symlink(full, ec).string();
      if (ec) return Status::FromErrno(ec.value(), "reading the link " + full);
      if (!(existing.ok() && existing->IsSymlink() && existing->linkname == target)) {
        if (existing.ok() && existing->IsDirectory()) {
          return Status::IsADirectory(path + " is a directory in the drive and a symlink in the folder");
        }
        RETURN_IF_ERROR(pending.Flush(*d));
        if (existing.ok()) RETURN_IF_ERROR(d->Unlink(path));
        RETURN_IF_ERROR(d->Symlink(target, path));
      }
    } else {
      bool same = existing.ok() && existing->IsFile() && !existing->mount &&
                  existing->size == static_cast<uint64_t>(e.st.st_size) &&
                  existing->mtime == MillisOf(e.st.st_mtim) &&
                  (existing->mode & 07777) == (e.st.st_mode & 07777);
      if (!same) {
        if (existing.ok() && existing->IsDirectory()) {
          return Status::IsADirectory(path + " is a directory in the drive and a file in the folder");
        }
        uint64_t size = static_cast<uint64_t>(e.st.st_size);
        if (existing.ok() && !existing->IsFile()) {  // a symlink or mount becomes a file
          RETURN_IF_ERROR(pending.Flush(*d));
          RETURN_IF_ERROR(d->Unlink(path));
        }
        if (size <= kBatchFileBytes) {
          ASSIGN_OR_RETURN(Bytes bytes, ReadSmallFile(full, size));
          pending.data.push_back(std::move(bytes));
          pending.files.push_back({path, pending.data.back(), OptionsOf(e.st)});
          pending.bytes += size;
          done_bytes += size;
          if (pending.Full()) RETURN_IF_ERROR(pending.Flush(*d).Annotate("importing " + dir));
        } else {
          RETURN_IF_ERROR(pending.Flush(*d));
          RETURN_IF_ERROR(WriteLocalFile(*d, full, path, e.st, progress, done_bytes, done_files)
                              .Annotate("importing " + full));
        }
      } else {
        done_bytes += static_cast<uint64_t>(e.st.st_size);
      }
    }
    progress.Update(done_bytes, ++done_files);
  }
  RETURN_IF_ERROR(pending.Flush(*d).Annotate("importing " + dir));
  // What the folder no longer has leaves the drive (mounts are left alone; a new drive has
  // nothing else).
  if (created) {
    progress.Finish();
    std::cout << FormatUrl(d->key()) << "\n";
    return session->Close();
  }
  drive::ReaddirOptions ro;
  ro.recursive = true;
  ro.no_mounts = true;
  auto listed = d->Readdir(base, ro);
  if (!listed.ok() && listed.status().code() != Code::kNotFound) return listed.status();
  if (listed.ok()) {
    std::vector<drive::DirEntry> gone;
    for (auto& e : *listed) {
      if (!wanted.count(e.path)) gone.push_back(std::move(e));
    }
    std::sort(gone.begin(), gone.end(), [](const auto& a, const auto& b) { return a.path > b.path; });
    for (const auto& e : gone) {
      auto st = d->Lstat(e.path);
      if (!st.ok()) continue;  // an implicit directory, gone with its last entry
      if (st->mount) continue;
      Status s = st->IsDirectory() ? d->Rmdir(e.path) : d->Unlink(e.path);
      if (!s.ok() && s.code() != Code::kNotFound) return s;
    }
  }
  progress.Finish();
  std::cout << FormatUrl(d->key()) << "\n";
  return session->Close();
}

Status ExportDrive(const std::string& storage, const std::string& url, const std::string& dir_arg) {
  ASSIGN_OR_RETURN(auto session, Session::Open(ResolveStorageDir(storage)));
  ASSIGN_OR_RETURN(OpenedDrive od, session->OpenUrl(url));
  drive::Drive& d = od.drive();
  std::string dir = dir_arg.empty() ? ToHex(d.key()) : dir_arg;
  ASSIGN_OR_RETURN(drive::Stat top, d.GetStat(od.path));

  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::FromErrno(ec.value(), "creating " + dir);

  struct Item {
    std::string rel;
    std::string src;
    drive::Stat stat;
  };
  std::vector<Item> items;
  if (!top.IsDirectory()) {
    std::string name = od.path.substr(od.path.rfind('/') + 1);
    ASSIGN_OR_RETURN(drive::Stat lst, d.Lstat(od.path));
    items.push_back({name, od.path, lst});
  } else {
    drive::ReaddirOptions ro;
    ro.recursive = true;
    ASSIGN_OR_RETURN(auto entries, d.Readdir(od.path, ro));
    for (auto& e : entries) {
      ASSIGN_OR_RETURN(std::string rel, SafeRelative(e.name));
      ASSIGN_OR_RETURN(drive::Stat lst, d.Lstat(e.path));
      items.push_back({rel, e.path, lst});
    }
  }
  // Parents first; symlinks last, so that no link exists while files are written.
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    if (a.stat.IsSymlink() != b.stat.IsSymlink()) return b.stat.IsSymlink();
    return a.rel < b.rel;
  });
  uint64_t total = 0;
  for (const auto& it : items) {
    if (it.stat.IsFile()) total += it.stat.size;
  }
  Progress progress("exporting", total, items.size());
  uint64_t done_bytes = 0, done_files = 0;
  std::vector<const Item*> dirs;
  for (const auto& it : items) {
    RETURN_IF_ERROR(MakeParents(dir, it.rel));
    std::string dest = dir + "/" + it.rel;
    if (it.stat.IsDirectory()) {
      struct stat st;
      if (lstat(dest.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) return Status::Exists(dest + " exists and is not a directory");
      } else if (mkdir(dest.c_str(), 0700) != 0) {
        return Status::FromErrno(errno, "creating " + dest);
      }
      dirs.push_back(&it);
    } else if (it.stat.IsSymlink()) {
      struct stat st;
      if (lstat(dest.c_str(), &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
          return Status::Exists("refusing to replace the directory " + dest +
                                " with a symlink (the drive holds entries below the link)");
        }
        if (unlink(dest.c_str()) != 0) return Status::FromErrno(errno, "replacing " + dest);
      }
      if (symlink(it.stat.linkname.c_str(), dest.c_str()) != 0) {
        return Status::FromErrno(errno, "creating the link " + dest);
      }
      SetTimes(AT_FDCWD, dest, it.stat.mtime, AT_SYMLINK_NOFOLLOW);
    } else {
      RETURN_IF_ERROR(ExportFile(d, it.src, it.stat, dest, progress, done_bytes, done_files));
    }
    progress.Update(done_bytes, ++done_files);
  }
  // Directory modes and times last: writing inside a directory changes its mtime.
  std::reverse(dirs.begin(), dirs.end());
  for (const Item* it : dirs) {
    std::string dest = dir + "/" + it->rel;
    if (chmod(dest.c_str(), (it->stat.mode & 07777) | 0700) != 0) {
      return Status::FromErrno(errno, "setting the mode of " + dest);
    }
    SetTimes(AT_FDCWD, dest, it->stat.mtime, AT_SYMLINK_NOFOLLOW);
  }
  progress.Finish();
  return session->Close();
}

}  // namespace hyper::cli
