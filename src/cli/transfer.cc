// import (a folder into a drive) and export (a drive into a folder).
#include "transfer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <set>

#include "console.h"
#include "display_names.h"
#include "file_stream.h"
#include "progress.h"
#include "session.h"

namespace hyper::cli {
namespace {

namespace fs = std::filesystem;
// Bytes compared at a time by SameContent.
constexpr size_t kChunkBytes = 1 << 20;

uint64_t MillisOf(const struct timespec& ts) {
  return uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
}

void Warn(const std::string& line) { Err() << "hyperdrive: " << line << "\n"; }

// Writes to stdout; a failure is the command's error (main also checks stdout at the end).
Status PrintLine(const std::string& line) {
  std::string text = line + "\n";
  if (!Out().write(text.data(), static_cast<std::streamsize>(text.size()))) {
    return Status::FromErrno(errno, "writing to stdout");
  }
  return Status::Ok();
}

struct LocalEntry {
  std::string rel;  // "a/b.txt"
  struct stat st;
  std::string target;  // a symlink's
};

// An entry of the folder that a drive cannot hold, and why.
struct Refusal {
  std::string rel;
  std::string why;
};

// Everything under root, parents before children, symlinks not followed. Entries that are not
// files, folders or symlinks go to `special`; what a drive cannot hold goes to `refused` (what
// lies below a refused folder is left out): a name with a backslash, which drives read as a
// separator, and a link whose target has one (drives store targets with '/' for '\').
Result<std::vector<LocalEntry>> WalkFolder(const std::string& root,
                                           std::vector<std::string>* special,
                                           std::vector<Refusal>* refused) {
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
    if (S_ISLNK(e.st.st_mode)) {
      e.target = fs::read_symlink(it->path(), ec).string();
      if (ec) return Status::FromErrno(ec.value(), "reading the link " + it->path().string());
    }
    if (it->path().filename().string().find('\\') != std::string::npos) {
      refused->push_back({e.rel, "a drive reads '\\' in a name as a folder separator"});
      if (S_ISDIR(e.st.st_mode)) it.disable_recursion_pending();
    } else if (e.target.find('\\') != std::string::npos) {
      refused->push_back({e.rel, "a drive stores '\\' in a link's target as '/'"});
    } else if (S_ISREG(e.st.st_mode) || S_ISDIR(e.st.st_mode) || S_ISLNK(e.st.st_mode)) {
      out.push_back(std::move(e));
    } else {
      special->push_back(e.rel);
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.rel < b.rel; });
  return out;
}

std::string Join(const std::string& base, const std::string& rel) {
  return base == "/" ? "/" + rel : base + "/" + rel;
}

drive::WriteOptions OptionsOf(const struct stat& st, bool dedup) {
  drive::WriteOptions wo;
  wo.dedup = dedup;
  wo.mode = st.st_mode & 07777;
  wo.uid = st.st_uid;
  wo.gid = st.st_gid;
  wo.mtime = MillisOf(st.st_mtim);
  wo.ctime = MillisOf(st.st_ctim);
  return wo;
}

// Reads up to buf.size() bytes (fewer only at the end of the file).
Result<size_t> ReadFull(int fd, MutableByteView buf, const std::string& path) {
  size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = read(fd, buf.data() + done, buf.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "reading " + path);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

// Sets `deduplicated` when the file's Stat points at blocks the drive held.
Status WriteLocalFile(drive::Drive& d, const std::string& local, const std::string& path,
                      const struct stat& st, bool dedup, Progress& progress, uint64_t& done_bytes,
                      uint64_t done_files, bool& deduplicated) {
  int fd = open(local.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Status::FromErrno(errno, "opening " + local);
  auto writer = d.CreateWriter(path, OptionsOf(st, dedup));
  if (!writer.ok()) {
    close(fd);
    return writer.status();
  }
  Status status = CopyFromFd(fd, **writer, local, [&](uint64_t n) {
    done_bytes += n;
    progress.Update(done_bytes, done_files);
  });
  close(fd);
  RETURN_IF_ERROR(status);
  auto closed = (*writer)->Close();
  if (!closed.ok()) return closed.status();
  deduplicated = (*writer)->deduplicated();
  return Status::Ok();
}

// Small files go into the drive in batches (two signatures per batch instead of two per file),
// and so do new attributes of files whose content did not change (one signature per batch).
constexpr uint64_t kBatchFileBytes = 1 << 20;  // files up to this size are batched
constexpr size_t kBatchFiles = 2000;           // a batch holds at most this many files
constexpr uint64_t kBatchBytes = 32 << 20;     // and at most this many bytes

struct PendingWrites {
  std::deque<Bytes> data;  // a deque: the views in `files` point into its elements
  std::vector<drive::Drive::FileToWrite> files;
  std::vector<drive::Drive::AttributesUpdate> attributes;
  uint64_t bytes = 0;
  uint64_t deduplicated_bytes = 0;  // of the files written, those pointed at blocks held

  bool Full() const {
    return files.size() + attributes.size() >= kBatchFiles || bytes >= kBatchBytes;
  }
  Status Flush(drive::Drive& d) {
    if (!files.empty()) {
      // A file whose blocks start before the batch's, or at the blocks of a file before it in
      // the batch, was deduplicated.
      const uint64_t start = d.content_feed()->length();
      auto written = d.WriteFiles(files);
      files.clear();
      data.clear();
      bytes = 0;
      if (!written.ok()) return written.status();
      std::set<uint64_t> appended;
      for (const drive::Stat& st : *written) {
        if (st.offset < start || !appended.insert(st.offset).second) {
          deduplicated_bytes += st.size;
        }
      }
    }
    if (!attributes.empty()) {
      Status s = d.UpdateAttributes(attributes);
      attributes.clear();
      RETURN_IF_ERROR(s);
    }
    return Status::Ok();
  }
};

Result<Bytes> ReadSmallFile(const std::string& path, uint64_t expected) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Status::FromErrno(errno, "opening " + path);
  Bytes out(expected + 1);  // one more byte: a file that grew is seen
  auto got = ReadFull(fd, out, path);
  close(fd);
  if (!got.ok()) return got.status();
  if (*got != expected) return Status::IOError(path + " changed size while being read");
  out.resize(expected);
  return out;
}

// Whether the drive's file at `path` holds the same bytes as the local file `local` (both of
// `size` bytes), compared chunk by chunk. Bytes the drive cannot read here (not downloaded,
// damaged) compare as different: the file is then written again.
Result<bool> SameContent(const drive::Drive& d, const std::string& path, const std::string& local,
                         uint64_t size) {
  int fd = open(local.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Status::FromErrno(errno, "opening " + local);
  Bytes buf(std::min<uint64_t>(kChunkBytes, size));
  Result<bool> same = true;
  for (uint64_t pos = 0; pos < size;) {
    uint64_t want = std::min<uint64_t>(buf.size(), size - pos);
    auto got = ReadFull(fd, MutableByteView(buf).first(want), local);
    if (!got.ok()) {
      same = got.status();
      break;
    }
    auto theirs = d.ReadRange(path, pos, want);
    if (!theirs.ok() || *got != want || theirs->size() != want ||
        std::memcmp(theirs->data(), buf.data(), want) != 0) {
      same = false;
      break;
    }
    pos += want;
  }
  close(fd);
  return same;
}

// What one import did (or, with --dry-run, would do).
struct ImportCounts {
  uint64_t added = 0, changed = 0, attributes_only = 0, removed = 0, unchanged = 0;
  uint64_t bytes_appended = 0;
  uint64_t bytes_deduplicated = 0;  // of bytes_appended: pointed at blocks the drive held

  std::string Summary(bool dry_run) const {
    std::string s = dry_run ? "dry run, nothing written: would import " : "imported ";
    s += std::to_string(added) + " added, " + std::to_string(changed) + " changed";
    if (attributes_only) s += " (" + std::to_string(attributes_only) + " only in mode or mtime)";
    s += ", " + std::to_string(removed) + " removed, " + std::to_string(unchanged) + " unchanged; ";
    if (dry_run) return s + std::to_string(bytes_appended) + " bytes to append";
    s += std::to_string(bytes_appended - bytes_deduplicated) + " bytes appended";
    if (bytes_deduplicated > 0) {
      s += ", " + std::to_string(bytes_deduplicated) +
           " bytes deduplicated (files whose content the drive held)";
    }
    return s;
  }
};

uint64_t FileBytes(const std::vector<LocalEntry>& local) {
  uint64_t total = 0;
  for (const auto& e : local) {
    if (S_ISREG(e.st.st_mode)) total += static_cast<uint64_t>(e.st.st_size);
  }
  return total;
}

// The import of one folder into one drive. `d` is null for a dry run into a new drive.
class Importer {
 public:
  // `local`: the folder's entries (WalkFolder), to be imported by Run.
  Importer(drive::Drive* d, bool new_drive, std::string dir, std::string base,
           const ImportOptions& options, const std::vector<LocalEntry>& local)
      : d_(d),
        new_drive_(new_drive),
        dir_(std::move(dir)),
        base_(std::move(base)),
        options_(options),
        local_(local),
        progress_(options.dry_run ? "comparing" : "importing", FileBytes(local), local.size()) {}

  Status Run() {
    for (const auto& e : local_) {
      // The client of a forwarded import went away (Ctrl-C): stop between files, as the
      // signal stops a local import.
      if (Console::Current().cancelled()) return Status::Cancelled("interrupted");
      if (options_.stop && options_.stop()) {
        // Stopped: every file read so far goes in whole, the rest waits for the next import.
        if (!options_.dry_run) RETURN_IF_ERROR(pending_.Flush(*d_));
        return Status::Cancelled("stopped before the folder was all imported");
      }
      std::string path = Join(base_, e.rel);
      wanted_.insert(path);
      RETURN_IF_ERROR(ImportEntry(e, path));
      progress_.Update(done_bytes_, ++done_files_);
    }
    if (!options_.dry_run) RETURN_IF_ERROR(pending_.Flush(*d_).Annotate("importing " + dir_));
    counts_.bytes_deduplicated += pending_.deduplicated_bytes;
    RETURN_IF_ERROR(RemoveWhatIsGone());
    progress_.Finish();
    return Status::Ok();
  }

  const ImportCounts& counts() const { return counts_; }

 private:
  // Says (dry run) or counts what happens to `path`.
  Status Plan(const char* what, const std::string& path) {
    if (!options_.dry_run) return Status::Ok();
    return PrintLine(std::string(what) + " " + MessageName(path));
  }

  Status ImportEntry(const LocalEntry& e, const std::string& path) {
    // A drive created just now has nothing to compare with.
    Result<drive::Stat> existing =
        new_drive_ ? Result<drive::Stat>(Status::NotFound(path)) : d_->Lstat(path);
    if (!existing.ok() && existing.status().code() != Code::kNotFound) return existing.status();
    const drive::Stat* old = existing.ok() ? &*existing : nullptr;
    if (S_ISDIR(e.st.st_mode)) return ImportDirectory(e, path, old);
    if (S_ISLNK(e.st.st_mode)) return ImportSymlink(e, path, old);
    return ImportFile(e, path, old);
  }

  // Counts a new or replaced entry and removes what it replaces.
  Status Replace(const std::string& path, const drive::Stat* old) {
    if (old) {
      counts_.changed++;
      RETURN_IF_ERROR(Plan("change", path));
    } else {
      counts_.added++;
      RETURN_IF_ERROR(Plan("add", path));
    }
    if (options_.dry_run) return Status::Ok();
    RETURN_IF_ERROR(pending_.Flush(*d_));
    return old ? d_->Unlink(path) : Status::Ok();
  }

  Status ImportDirectory(const LocalEntry& e, const std::string& path, const drive::Stat* old) {
    if (old && old->IsDirectory()) {
      counts_.unchanged++;
      return Status::Ok();
    }
    RETURN_IF_ERROR(Replace(path, old));
    if (options_.dry_run) return Status::Ok();
    drive::WriteOptions wo;
    wo.mode = e.st.st_mode & 07777;
    wo.mtime = MillisOf(e.st.st_mtim);
    wo.ctime = MillisOf(e.st.st_ctim);
    return d_->Mkdir(path, wo);
  }

  Status ImportSymlink(const LocalEntry& e, const std::string& path, const drive::Stat* old) {
    const std::string& target = e.target;
    if (old && old->IsSymlink() && old->linkname == target) {
      counts_.unchanged++;
      return Status::Ok();
    }
    if (old && old->IsDirectory()) {
      return Status::IsADirectory(path +
                                  " is a directory in the drive and a symlink in the folder");
    }
    RETURN_IF_ERROR(Replace(path, old));
    return options_.dry_run ? Status::Ok() : d_->Symlink(target, path);
  }

  Status ImportFile(const LocalEntry& e, const std::string& path, const drive::Stat* old) {
    std::string full = dir_ + "/" + e.rel;
    const uint64_t size = static_cast<uint64_t>(e.st.st_size);
    done_bytes_ += size;
    if (old && old->IsDirectory()) {
      return Status::IsADirectory(path + " is a directory in the drive and a file in the folder");
    }
    if (old && old->IsFile() && !old->mount && old->size == size) {
      const bool same_mtime = old->mtime == MillisOf(e.st.st_mtim);
      const bool same_mode = (old->mode & 07777) == (e.st.st_mode & 07777);
      if (same_mtime && same_mode && !options_.checksum) {
        counts_.unchanged++;
        return Status::Ok();
      }
      // cp -r (new mtimes), chmod and touch change the attributes, not the bytes: compare them.
      ASSIGN_OR_RETURN(bool same, SameContent(*d_, path, full, size));
      if (same && same_mtime && same_mode) {
        counts_.unchanged++;
        return Status::Ok();
      }
      if (same) {
        counts_.changed++;
        counts_.attributes_only++;
        RETURN_IF_ERROR(Plan("change-attributes", path));
        if (options_.dry_run) return Status::Ok();
        drive::WriteOptions wo;
        wo.mode = e.st.st_mode & 07777;
        wo.mtime = MillisOf(e.st.st_mtim);
        wo.ctime = MillisOf(e.st.st_ctim);
        pending_.attributes.push_back({path, wo});
        if (pending_.Full()) RETURN_IF_ERROR(pending_.Flush(*d_).Annotate("importing " + dir_));
        return Status::Ok();
      }
    }
    counts_.bytes_appended += size;
    if (old && old->IsFile() && !old->mount) {
      // A new version of the file replaces the old one in the same write.
      counts_.changed++;
      RETURN_IF_ERROR(Plan("change", path));
      if (options_.dry_run) return Status::Ok();
    } else {
      RETURN_IF_ERROR(Replace(path, old));  // a symlink or mount becomes a file
      if (options_.dry_run) return Status::Ok();
    }
    if (size <= kBatchFileBytes) {
      ASSIGN_OR_RETURN(Bytes bytes, ReadSmallFile(full, size));
      pending_.data.push_back(std::move(bytes));
      pending_.files.push_back({path, pending_.data.back(), OptionsOf(e.st, !options_.no_dedup)});
      pending_.bytes += size;
      if (pending_.Full()) RETURN_IF_ERROR(pending_.Flush(*d_).Annotate("importing " + dir_));
      return Status::Ok();
    }
    RETURN_IF_ERROR(pending_.Flush(*d_));
    uint64_t written = done_bytes_ - size;
    bool deduplicated = false;
    RETURN_IF_ERROR(WriteLocalFile(*d_, full, path, e.st, !options_.no_dedup, progress_, written,
                                   done_files_, deduplicated)
                        .Annotate("importing " + full));
    if (deduplicated) counts_.bytes_deduplicated += size;
    return Status::Ok();
  }

  // What the folder no longer has leaves the drive (mounts are left alone; a new drive has
  // nothing else).
  Status RemoveWhatIsGone() {
    if (new_drive_) return Status::Ok();
    drive::ReaddirOptions ro;
    ro.recursive = true;
    ro.no_mounts = true;
    auto listed = d_->Readdir(base_, ro);
    if (!listed.ok() && listed.status().code() != Code::kNotFound) return listed.status();
    if (!listed.ok()) return Status::Ok();
    std::vector<drive::DirEntry> gone;
    for (auto& e : *listed) {
      if (!wanted_.count(e.path)) gone.push_back(std::move(e));
    }
    std::sort(gone.begin(), gone.end(),
              [](const auto& a, const auto& b) { return a.path > b.path; });
    for (const auto& e : gone) {
      auto st = d_->Lstat(e.path);
      if (!st.ok()) continue;  // an implicit directory, gone with its last entry
      if (st->mount) continue;
      counts_.removed++;
      RETURN_IF_ERROR(Plan("remove", e.path));
      if (options_.dry_run) continue;
      Status s = st->IsDirectory() ? d_->Rmdir(e.path) : d_->Unlink(e.path);
      if (!s.ok() && s.code() != Code::kNotFound) return s;
    }
    return Status::Ok();
  }

  drive::Drive* d_;
  bool new_drive_;
  std::string dir_, base_;
  ImportOptions options_;
  ImportCounts counts_;
  PendingWrites pending_;
  std::set<std::string> wanted_;
  const std::vector<LocalEntry>& local_;
  Progress progress_;
  uint64_t done_bytes_ = 0, done_files_ = 0;
};

// A drive entry's name as a path below the export folder, or an error for names that could
// escape it or that no filesystem can hold.
Result<std::string> SafeRelative(const std::string& name) {
  if (name.empty()) return Status::InvalidArgument("the drive holds an entry with an empty name");
  if (name.find('\0') != std::string::npos) {
    return Status::InvalidArgument(
        "refusing to export a name with a NUL byte (no filesystem can hold it)");
  }
  size_t pos = 0;
  while (pos <= name.size()) {
    size_t slash = name.find('/', pos);
    if (slash == std::string::npos) slash = name.size();
    std::string part = name.substr(pos, slash - pos);
    if (part.empty() || part == "." || part == "..") {
      return Status::InvalidArgument(
          "refusing to export '" + MessageName(name) +
          "': a name with '.', '..' or an empty part could escape the folder");
    }
    pos = slash + 1;
  }
  return name;
}

// Makes every missing parent of dir/rel (a drive may hold a file below a directory it never
// made), and checks that each is a real directory, never a symlink, so that a drive's symlink
// cannot redirect a later write outside the folder. On failure, *failed is the parent (relative
// to dir) that could not be made.
Status MakeParents(const std::string& dir, const std::string& rel, std::string* failed) {
  std::string path = dir;
  size_t pos = 0;
  while (true) {
    size_t slash = rel.find('/', pos);
    if (slash == std::string::npos) return Status::Ok();
    path += "/" + rel.substr(pos, slash - pos);
    *failed = rel.substr(0, slash);
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

struct timespec TimespecOf(uint64_t millis) {
  struct timespec t;
  t.tv_sec = static_cast<time_t>(millis / 1000);
  t.tv_nsec = static_cast<long>((millis % 1000) * 1000000);
  return t;
}

void SetTimes(const std::string& path, uint64_t mtime) {
  struct timespec times[2] = {TimespecOf(mtime), TimespecOf(mtime)};
  (void)utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

// The bytes of the drive's file `src` (of Stat `st`) into `fd`.
Status CopyContent(const drive::Drive& d, const std::string& src, const drive::Stat& st, int fd,
                   const std::string& dest, Progress& progress, uint64_t& done_bytes,
                   uint64_t done_files) {
  return CopyToFd(d, src, 0, st.size, fd, dest, [&](uint64_t n) {
    done_bytes += n;
    progress.Update(done_bytes, done_files);
  });
}

std::string ParentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

// Writes the file under a temporary name beside `dest` and renames it over `dest` once complete
// (replacing a file or symlink there, never following it): a failure leaves no partial file and
// keeps what `dest` held.
Status ExportFile(const drive::Drive& d, const std::string& src, const drive::Stat& st,
                  const std::string& dest, Progress& progress, uint64_t& done_bytes,
                  uint64_t done_files) {
  struct stat existing;
  if (lstat(dest.c_str(), &existing) == 0 && S_ISDIR(existing.st_mode)) {
    return Status::IsADirectory(dest + " is a directory");
  }
  std::string temp = ParentOf(dest) + "/.hyperdrive-export-XXXXXX";
  int fd = mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "creating a file in " + ParentOf(dest));
  Status status = CopyContent(d, src, st, fd, dest, progress, done_bytes, done_files);
  if (status.ok() && fchmod(fd, st.mode & 07777) != 0) status = Status::FromErrno(errno, dest);
  if (status.ok()) {
    struct timespec times[2] = {TimespecOf(st.mtime), TimespecOf(st.mtime)};
    (void)futimens(fd, times);
  }
  if (close(fd) != 0 && status.ok()) status = Status::FromErrno(errno, "writing " + dest);
  if (status.ok() && rename(temp.c_str(), dest.c_str()) != 0) {
    status = Status::FromErrno(errno, "creating " + dest);
  }
  if (!status.ok()) unlink(temp.c_str());
  return status;
}

Status ExportSymlink(const drive::Stat& st, const std::string& dest) {
  struct stat existing;
  if (lstat(dest.c_str(), &existing) == 0) {
    if (S_ISDIR(existing.st_mode)) {
      return Status::Exists("refusing to replace the directory " + dest + " with a symlink");
    }
    if (unlink(dest.c_str()) != 0) return Status::FromErrno(errno, "replacing " + dest);
  }
  if (symlink(st.linkname.c_str(), dest.c_str()) != 0) {
    return Status::FromErrno(errno, "creating the link " + dest);
  }
  SetTimes(dest, st.mtime);
  return Status::Ok();
}

Status ExportDirectory(const std::string& dest) {
  struct stat st;
  if (lstat(dest.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return Status::Exists(dest + " exists and is not a directory");
    return Status::Ok();
  }
  if (mkdir(dest.c_str(), 0700) != 0) return Status::FromErrno(errno, "creating " + dest);
  return Status::Ok();
}

// Errors after which no other entry could be written either.
bool StopsTheExport(const Status& s) {
  return s.code() == Code::kNoSpace || s.code() == Code::kNotWritable;
}

struct ExportItem {
  std::string rel;
  std::string src;
  drive::Stat stat;
};

// The longest proper ancestor of `rel` (a/b for a/b/c) found in `set`, or "".
std::string AncestorIn(const std::string& rel, const std::set<std::string>& set) {
  for (size_t slash = rel.find('/'); slash != std::string::npos; slash = rel.find('/', slash + 1)) {
    std::string up = rel.substr(0, slash);
    if (set.count(up)) return up;
  }
  return "";
}

}  // namespace

Status ImportFolder(const std::string& storage, const std::string& dir_arg, const std::string& url,
                    const ImportOptions& options, ImportOutcome* outcome) {
  // Relative to the working directory of the client when the daemon runs this (forward.h).
  const std::string dir = Console::Current().Path(dir_arg);
  struct stat root_st;
  if (stat(dir.c_str(), &root_st) != 0) return Status::FromErrno(errno, dir_arg);
  if (!S_ISDIR(root_st.st_mode)) return Status::NotADirectory(dir_arg + " is not a folder");
  std::vector<std::string> special;
  std::vector<Refusal> refused;
  ASSIGN_OR_RETURN(auto local, WalkFolder(dir, &special, &refused));
  for (const auto& s : special) {
    Warn("skipping " + MessageName(s) + " (not a file, folder or symlink)");
  }
  for (const auto& r : refused)
    Warn("cannot import " + MessageName(r.rel) + ": " + r.why + "; skipped");
  if (outcome) outcome->refused = !refused.empty();
  Status refusals = refused.empty()
                        ? Status::Ok()
                        : Status::InvalidArgument(std::to_string(refused.size()) +
                                                  " entries of the folder could not be imported "
                                                  "(named above)");

  if (options.dry_run && url.empty()) {
    Importer importer(nullptr, /*new_drive=*/true, dir, "/", options, local);
    RETURN_IF_ERROR(importer.Run());
    Warn(importer.counts().Summary(true));
    return refusals;
  }
  ASSIGN_OR_RETURN(auto session, Session::Open(ResolveStorageRoot(storage)));
  const bool created = url.empty();
  OpenedDrive od;
  drive::Drive* d = nullptr;
  std::string base = "/";
  if (created) {
    ASSIGN_OR_RETURN(od, session->CreateDrive());
    d = od.head;
    // Said first, so that an interrupted import leaves a drive the user can find and resume.
    Warn("importing into " + FormatUrl(d->key()) +
         " (if interrupted, resume with: hyperdrive import " + dir_arg + " " + FormatUrl(d->key()) +
         ")");
  } else {
    ASSIGN_OR_RETURN(od, session->OpenWritable(url));
    d = od.head;
    base = od.path;
  }
  if (outcome) outcome->url = FormatUrl(d->key());
  Importer importer(d, created, dir, base, options, local);
  RETURN_IF_ERROR(importer.Run());
  Warn(importer.counts().Summary(options.dry_run));
  if (!options.dry_run && options.print_url) RETURN_IF_ERROR(PrintLine(FormatUrl(d->key())));
  RETURN_IF_ERROR(session->Close());
  return refusals;
}

Status ExportDrive(const std::string& storage, const std::string& url, const std::string& dir_arg,
                   uint64_t* exported_version) {
  ASSIGN_OR_RETURN(auto session, Session::Open(ResolveStorageRoot(storage), Access::kRead));
  ASSIGN_OR_RETURN(OpenedDrive od, session->OpenUrl(url));
  drive::Drive& d = od.drive();
  if (exported_version) *exported_version = d.version();
  const std::string shown = dir_arg.empty() ? ToHex(d.key()) : dir_arg;  // as the user named it
  std::string dir = Console::Current().Path(shown);
  ASSIGN_OR_RETURN(drive::Stat top, d.GetStat(od.path));

  std::error_code ec;
  if (fs::is_directory(dir, ec) && !fs::is_empty(dir, ec)) {
    Warn("warning: " + shown +
         " is not empty: entries of the drive replace what has their names, the rest stays");
  }
  fs::create_directories(dir, ec);
  if (ec) return Status::FromErrno(ec.value(), "creating " + shown);

  std::vector<ExportItem> items;
  uint64_t skipped = 0;
  auto skip = [&skipped](const std::string& rel, const Status& why) {
    skipped++;
    Warn("skipped " + MessageName(rel) + ": " + why.ToString());
  };
  if (!top.IsDirectory()) {
    std::string name = od.path.substr(od.path.rfind('/') + 1);
    ASSIGN_OR_RETURN(drive::Stat lst, d.Lstat(od.path));
    items.push_back({name, od.path, lst});
  } else {
    drive::ReaddirOptions ro;
    ro.recursive = true;
    // As `ls -R`: a mount of a drive the walk is already inside is written as an empty folder
    // and not descended into; the rest is exported.
    ro.on_mount_cycle = [](const std::string& path) {
      Warn("warning: " + MessageName(path) +
           " mounts a drive that is already being exported (a mount cycle): written as an "
           "empty folder, not descended into");
    };
    ASSIGN_OR_RETURN(auto entries, d.Readdir(od.path, ro));
    for (auto& e : entries) {
      auto rel = SafeRelative(e.name);
      if (!rel.ok()) {
        skip(e.name, rel.status());
        continue;
      }
      auto lst = d.Lstat(e.path);
      if (!lst.ok()) {
        // A listing that walked through a symlink names paths the drive does not hold.
        if (lst.status().code() != Code::kNotFound) skip(*rel, lst.status());
        continue;
      }
      items.push_back({*rel, e.path, *lst});
    }
  }
  // A symlink is written as a link: what the drive holds below its name cannot be written there.
  std::set<std::string> links;
  for (const auto& it : items) {
    if (it.stat.IsSymlink()) links.insert(it.rel);
  }
  // Parents first; symlinks last, so that no link exists while files are written.
  std::sort(items.begin(), items.end(), [](const ExportItem& a, const ExportItem& b) {
    if (a.stat.IsSymlink() != b.stat.IsSymlink()) return b.stat.IsSymlink();
    return a.rel < b.rel;
  });
  uint64_t total = 0;
  for (const auto& it : items) {
    if (it.stat.IsFile()) total += it.stat.size;
  }
  Progress progress("exporting", total, items.size());
  uint64_t done_bytes = 0, done_files = 0;
  std::vector<const ExportItem*> dirs;
  std::set<std::string> failed_dirs;
  std::map<std::string, uint64_t> below_failed;
  for (const auto& it : items) {
    if (Console::Current().cancelled()) return Status::Cancelled("interrupted");
    std::string up = AncestorIn(it.rel, failed_dirs);
    if (!up.empty()) {
      below_failed[up]++;
      skipped++;
      continue;
    }
    std::string link = AncestorIn(it.rel, links);
    Status s;
    std::string dest = dir + "/" + it.rel;
    if (!link.empty()) {
      s = Status::Exists("refusing to write it below " + link + ", a symlink in the drive");
    } else {
      std::string parent;
      s = MakeParents(dir, it.rel, &parent);
      if (!s.ok() && !StopsTheExport(s)) {
        // A folder the drive never made explicitly: said once, with what lies below it.
        progress.Finish();
        skip(parent, s);
        failed_dirs.insert(parent);
        below_failed[parent]++;
        skipped++;
        progress.Update(done_bytes, ++done_files);
        continue;
      }
    }
    if (s.ok()) {
      if (it.stat.IsDirectory()) {
        s = ExportDirectory(dest);
        if (s.ok()) dirs.push_back(&it);
      } else if (it.stat.IsSymlink()) {
        s = ExportSymlink(it.stat, dest);
      } else {
        s = ExportFile(d, it.src, it.stat, dest, progress, done_bytes, done_files);
      }
    }
    if (!s.ok()) {
      if (StopsTheExport(s)) return s;
      progress.Finish();
      skip(it.rel, s);
      if (it.stat.IsDirectory()) failed_dirs.insert(it.rel);
    }
    progress.Update(done_bytes, ++done_files);
  }
  progress.Finish();
  for (const auto& [up, count] : below_failed) {
    Warn("skipped " + std::to_string(count) + " entries below " + MessageName(up));
  }
  // Directory modes and times last: writing inside a directory changes its mtime.
  std::reverse(dirs.begin(), dirs.end());
  for (const ExportItem* it : dirs) {
    std::string dest = dir + "/" + it->rel;
    if (chmod(dest.c_str(), (it->stat.mode & 07777) | 0700) != 0) {
      return Status::FromErrno(errno, "setting the mode of " + dest);
    }
    SetTimes(dest, it->stat.mtime);
  }
  RETURN_IF_ERROR(session->Close());
  if (skipped > 0) {
    return Status::IOError(std::to_string(skipped) +
                           " entries were not exported (named above); the others were");
  }
  return Status::Ok();
}

Result<ExportChangeCounts> ExportChanges(const drive::Drive& d, const std::string& prefix,
                                         uint64_t since, const std::string& dir) {
  ASSIGN_OR_RETURN(auto diff, d.Diff(since, prefix));
  // The trie key of `prefix` ("" for the root) and what lies below it.
  std::string below = prefix.substr(prefix.find_first_not_of('/') == std::string::npos
                                        ? prefix.size()
                                        : prefix.find_first_not_of('/'));
  while (!below.empty() && below.back() == '/') below.pop_back();
  if (!below.empty()) below += "/";
  ExportChangeCounts counts;
  auto skip = [&counts](const std::string& rel, const Status& why) {
    counts.skipped++;
    Warn("skipped " + MessageName(rel) + ": " + why.ToString());
  };
  std::vector<std::string> removed;
  std::vector<ExportItem> written;
  for (auto& e : diff) {
    if (e.name.compare(0, below.size(), below) != 0 || e.name.size() == below.size()) continue;
    auto rel = SafeRelative(e.name.substr(below.size()));
    if (!rel.ok()) {
      skip(e.name, rel.status());
      continue;
    }
    if (e.type == drive::DiffEntry::Type::kDel || e.type == drive::DiffEntry::Type::kUnmount) {
      removed.push_back(*rel);
    } else if (e.type == drive::DiffEntry::Type::kMount) {
      Warn("not following the drive mounted at " + MessageName(*rel) +
           " (export it by its own URL)");
    } else if (e.value) {
      written.push_back({*rel, "/" + e.name, *e.value});
    }
  }
  // Deepest first, so that a folder is empty when its turn comes.
  std::sort(removed.begin(), removed.end(), std::greater<>());
  for (const auto& rel : removed) {
    if (std::find_if(written.begin(), written.end(),
                     [&rel](const ExportItem& it) { return it.rel == rel; }) != written.end()) {
      continue;  // replaced in the same change: written below
    }
    const std::string dest = Join(dir, rel);
    struct stat st;
    if (lstat(dest.c_str(), &st) != 0) continue;  // not here: nothing to remove
    // A folder that still holds files of its own is left (a file the drive never had).
    if (S_ISDIR(st.st_mode) ? rmdir(dest.c_str()) != 0 && errno != ENOTEMPTY
                            : unlink(dest.c_str()) != 0) {
      skip(rel, Status::FromErrno(errno, "removing " + dest));
      continue;
    }
    counts.removed++;
  }
  // Parents first; symlinks last (as ExportDrive).
  std::sort(written.begin(), written.end(), [](const ExportItem& a, const ExportItem& b) {
    if (a.stat.IsSymlink() != b.stat.IsSymlink()) return b.stat.IsSymlink();
    return a.rel < b.rel;
  });
  uint64_t total = 0;
  for (const auto& it : written) {
    if (it.stat.IsFile()) total += it.stat.size;
  }
  Progress progress("exporting", total, written.size());
  uint64_t done_bytes = 0, done_files = 0;
  for (const auto& it : written) {
    const std::string dest = dir + "/" + it.rel;
    std::string parent;
    Status s = MakeParents(dir, it.rel, &parent);
    if (s.ok()) {
      if (it.stat.IsDirectory()) {
        s = ExportDirectory(dest);
      } else if (it.stat.IsSymlink()) {
        s = ExportSymlink(it.stat, dest);
      } else {
        s = ExportFile(d, it.src, it.stat, dest, progress, done_bytes, done_files);
      }
    }
    progress.Update(done_bytes, ++done_files);
    if (!s.ok()) {
      if (StopsTheExport(s)) return s;
      progress.Finish();
      skip(it.rel, s);
      continue;
    }
    counts.written++;
  }
  progress.Finish();
  return counts;
}

}  // namespace hyper::cli
