#include "filesystem.h"

#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <utility>

#include "errno_map.h"
#include "network_stats.h"
#include "paths.h"

namespace hyper::fuse {

namespace {

// Bytes moved per step between the drive and a spool file.
constexpr size_t kCopyChunk = 4u << 20;

uint64_t MillisOf(const struct timespec& ts) {
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

struct timespec TimespecOf(uint64_t ms) {
  struct timespec ts {};
  ts.tv_sec = static_cast<time_t>(ms / 1000);
  ts.tv_nsec = static_cast<long>((ms % 1000) * 1000000);
  return ts;
}

ByteView ViewOf(const char* data, size_t size) {
  return {reinterpret_cast<const uint8_t*>(data), size};
}

bool WantsWrite(int flags) { return (flags & O_ACCMODE) != O_RDONLY; }

// Extended attributes of the namespaces the kernel and security modules own: not stored.
bool IsUnstoredXattr(std::string_view name) {
  return name.starts_with("security.") || name.starts_with("system.");
}

// A symlink that became a mount, for the getattr libfuse makes on the same thread right after
// the symlink call to build its reply: the kernel checks that the new entry is a symlink (EIO
// otherwise), so that one answer is the link's; the entry is dropped right after
// (FilesystemOptions::invalidate_entry) and the next lookup sees the mounted drive.
struct LinkAnswer {
  std::string path;
  size_t target_size = 0;
};
std::optional<LinkAnswer>& PendingLinkAnswer() {
  thread_local std::optional<LinkAnswer> answer;
  return answer;
}

// `path` ('/'-separated, absolute) with "." and ".." resolved and no empty names.
std::string Normalize(std::string_view path) {
  std::vector<std::string_view> names;
  size_t at = 0;
  while (at <= path.size()) {
    size_t end = path.find('/', at);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view name = path.substr(at, end - at);
    if (name == "..") {
      if (!names.empty()) names.pop_back();
    } else if (!name.empty() && name != ".") {
      names.push_back(name);
    }
    at = end + 1;
  }
  std::string out;
  for (const auto& name : names) {
    out += '/';
    out += name;
  }
  return out.empty() ? "/" : out;
}

}  // namespace

struct Filesystem::Handle {
  std::shared_ptr<OpenFile> file;  // null for a file under Network
  // Under Network: the drive (its checkout when not null) and the path in it...
  std::shared_ptr<service::HostedDrive> network;
  std::shared_ptr<drive::Drive> network_checkout;
  std::string network_path;
  // ...or the bytes of a Stats file, made at open.
  std::optional<std::string> virtual_contents;
  bool writes = false;
  // Wrote (or truncated) since the file's last version: its next flush writes one. A flush
  // of a handle that wrote nothing (the shell's close of the descriptor it dup'ed onto
  // stdout, before the program writes) leaves the file to the flush after the writes.
  std::atomic<bool> wrote{false};
};

class Filesystem::Gate {
 public:
  explicit Gate(Filesystem& fs) : lock_(fs.alive_mu_), open_(!fs.closed_) {}
  explicit operator bool() const { return open_; }

 private:
  std::shared_lock<std::shared_mutex> lock_;
  bool open_;
};

// Runs `f` on the target's drive, or on its checkout (under the drive's lock: a checkout shares
// the drive's feeds).
template <typename F>
auto RunOn(const std::shared_ptr<service::HostedDrive>& hosted,
           const std::shared_ptr<drive::Drive>& checkout, F&& f) {
  return hosted->Run([&](drive::Drive& d) { return f(checkout ? *checkout : d); });
}

mode_t ReadOnlyDirectoryMode() { return S_IFDIR | 0555; }

// "." and ".." of a listing. libfuse passes their attributes through as they are (it looks up
// only the other names), and readdir(3) hides an entry whose inode number is 0.
bool FillDots(const Filesystem::Filler& fill, struct stat dir) {
  dir.st_ino = 1;
  return fill(".", &dir) || fill("..", &dir);
}

#define HYPER_FUSE_GATE() \
  Gate gate(*this);       \
  if (!gate) return -EIO;

Filesystem::Filesystem(std::shared_ptr<service::HostedDrive> drive, FilesystemOptions options)
    : drive_(std::move(drive)), options_(std::move(options)), started_ms_(drive::NowMillis()) {}

Filesystem::~Filesystem() = default;

void Filesystem::Close() {
  std::unique_lock<std::shared_mutex> lock(alive_mu_);
  closed_ = true;
}

bool Filesystem::IsNetwork(const char* path) const {
  return path != nullptr && options_.open_drive && IsAtOrBelow(path, kNetworkDir);
}

Result<std::shared_ptr<service::HostedDrive>> Filesystem::NetworkDrive(
    const crypto::PublicKey& key) {
  {
    std::lock_guard<std::mutex> lock(network_mu_);
    auto it = network_.find(key);
    if (it != network_.end()) return it->second;
  }
  // Opened without our lock: it may wait for the network.
  ASSIGN_OR_RETURN(auto drive, options_.open_drive(key));
  // Its header, from peers when the store does not hold it. A key no peer sent is not kept:
  // not listed in Network or Stats, no longer looked up (the host looks up a drive it opens for
  // reading; a configuration someone else gave is left alone), nothing of it in the store.
  Status here = drive->Run([](drive::Drive&) { return Status::Ok(); });
  if (!here.ok()) {
    if (options_.host != nullptr &&
        options_.host->NetworkConfigOf(key) == service::NetworkConfig{.lookup = true}) {
      (void)options_.host->ConfigureNetwork(key, service::NetworkConfig{});
    }
    return here;
  }
  bool added = false;
  std::shared_ptr<service::HostedDrive> kept;
  {
    std::lock_guard<std::mutex> lock(network_mu_);
    auto [it, inserted] = network_.emplace(key, drive);
    added = inserted;
    kept = it->second;
  }
  if (added && options_.watch_drive) {
    options_.watch_drive(kept, std::string(kNetworkDir) + "/" + ToHex(key));
  }
  return kept;
}

Result<Filesystem::NetworkTarget> Filesystem::RouteNetwork(const std::string& path) {
  NetworkTarget t;
  ASSIGN_OR_RETURN(t.where, ParseNetworkPath(path));
  using Kind = NetworkPath::Kind;
  const Kind kind = t.where.kind;
  if (kind != Kind::kDrive && kind != Kind::kStatsDrive && kind != Kind::kStatsFile) return t;
  ASSIGN_OR_RETURN(t.drive, NetworkDrive(t.where.key));
  if (kind != Kind::kDrive || !t.where.version) return t;
  const auto id = std::make_pair(t.where.key, *t.where.version);
  {
    std::lock_guard<std::mutex> lock(network_mu_);
    auto it = checkouts_.find(id);
    if (it != checkouts_.end()) {
      t.checkout = it->second;
      return t;
    }
  }
  auto checkout = t.drive->Run([&](drive::Drive& d) -> Result<std::shared_ptr<drive::Drive>> {
    if (*t.where.version == 0 || *t.where.version > d.version()) {
      return Status::NotFound("drive " + ToHex(t.where.key) + " has no version " +
                              std::to_string(*t.where.version) + " (its latest is " +
                              std::to_string(d.version()) + ")");
    }
    ASSIGN_OR_RETURN(auto c, d.Checkout(*t.where.version));
    return std::shared_ptr<drive::Drive>(std::move(c));
  });
  if (!checkout.ok()) return checkout.status();
  std::lock_guard<std::mutex> lock(network_mu_);
  t.checkout = checkouts_.emplace(id, std::move(checkout).value()).first->second;
  return t;
}

std::vector<crypto::PublicKey> Filesystem::Announced() const {
  std::vector<crypto::PublicKey> keys;
  if (options_.host == nullptr || !options_.host->options().announce) return keys;
  for (const auto& [key, config] : options_.host->NetworkConfigs()) {
    if (config.announce) keys.push_back(key);
  }
  return keys;
}

Result<std::string> Filesystem::StatsFile(const NetworkTarget& t) {
  if (t.where.inner == kStorageJson) {
    return t.drive->Run([](drive::Drive& d) { return StorageJson(d); });
  }
  if (options_.host == nullptr) return NetworkingJson({}, {});
  // The drive's header first (the counters do not wait for the network).
  RETURN_IF_ERROR(t.drive->Run([](drive::Drive&) { return Status::Ok(); }));
  ASSIGN_OR_RETURN(auto mounts, options_.host->Stats(*t.drive, /*recursive=*/true));
  return NetworkingJson(mounts, options_.host->Peers());
}

int Filesystem::GetattrNetwork(const char* path, struct stat* st, uint64_t fh) {
  Result<drive::Stat> s = Status::NotFound("");
  if (fh != 0) {
    Handle* h = HandleOf(fh);
    if (h->virtual_contents) {
      drive::Stat file;
      file.mode = drive::kModeFile | 0444;
      file.size = h->virtual_contents->size();
      s = file;
    } else {
      s = RunOn(h->network, h->network_checkout,
                [&](drive::Drive& d) { return d.Lstat(h->network_path); });
    }
    path = "(open file)";
  } else {
    auto t = RouteNetwork(path);
    if (!t.ok()) return Fail(t.status(), "getattr", path, ErrnoOf(t.status()));
    using Kind = NetworkPath::Kind;
    switch (t->where.kind) {
      case Kind::kDrive:
        s = RunOn(t->drive, t->checkout, [&](drive::Drive& d) { return d.Lstat(t->where.inner); });
        break;
      case Kind::kStatsFile: {
        auto text = StatsFile(*t);
        if (!text.ok()) return Fail(text.status(), "getattr", path, ErrnoOf(text.status()));
        drive::Stat file;
        file.mode = drive::kModeFile | 0444;
        file.size = text->size();
        s = file;
        break;
      }
      case Kind::kActiveLink: {
        const auto active = Announced();
        if (std::find(active.begin(), active.end(), t->where.key) == active.end()) return -ENOENT;
        drive::Stat link;
        link.mode = drive::kModeSymlink | 0777;
        link.linkname =
            std::string("../") + kStatsName + "/" + ToHex(t->where.key) + "/" + kNetworkingJson;
        s = link;
        break;
      }
      default: {
        drive::Stat dir;
        dir.mode = drive::kModeDirectory | 0555;
        dir.mtime = dir.ctime = started_ms_;
        s = dir;
      }
    }
  }
  if (!s.ok()) return Fail(s.status(), "getattr", path, ErrnoOf(s.status()));
  FillFromStat(*s, st);
  st->st_mode &= ~static_cast<mode_t>(0222);  // read-only
  return 0;
}

int Filesystem::ReaddirNetwork(const char* path, const Filler& fill) {
  auto t = RouteNetwork(path);
  if (!t.ok()) return Fail(t.status(), "readdir", path, ErrnoOf(t.status()));
  using Kind = NetworkPath::Kind;
  struct stat dir {};
  drive::Stat dir_stat;
  dir_stat.mode = drive::kModeDirectory | 0555;
  dir_stat.mtime = dir_stat.ctime = started_ms_;
  FillFromStat(dir_stat, &dir);
  dir.st_mode = ReadOnlyDirectoryMode();
  if (t->where.kind != Kind::kDrive) {
    std::vector<std::string> names;
    struct stat entry = dir;
    switch (t->where.kind) {
      case Kind::kRoot: {
        names = {kStatsName, kActiveName};
        std::lock_guard<std::mutex> lock(network_mu_);
        for (const auto& [key, drive] : network_) names.push_back(NetworkName(key, std::nullopt));
        for (const auto& [id, c] : checkouts_) names.push_back(NetworkName(id.first, id.second));
        break;
      }
      case Kind::kStatsDir: {
        std::set<crypto::PublicKey> keys;
        if (options_.host != nullptr) {
          for (const auto& d : options_.host->OpenDrives()) keys.insert(d->key());
        }
        std::lock_guard<std::mutex> lock(network_mu_);
        for (const auto& [key, drive] : network_) keys.insert(key);
        for (const auto& key : keys) names.push_back(ToHex(key));
        break;
      }
      case Kind::kStatsDrive:
        names = {kNetworkingJson, kStorageJson};
        entry.st_mode = S_IFREG | 0444;
        break;
      case Kind::kActiveDir:
        for (const auto& key : Announced()) names.push_back(ToHex(key) + ".json");
        entry.st_mode = S_IFLNK | 0444;
        break;
      default:
        return -ENOTDIR;
    }
    if (FillDots(fill, dir)) return 0;
    for (const auto& name : names) {
      if (fill(name.c_str(), &entry)) return 0;
    }
    return 0;
  }
  auto entries = RunOn(t->drive, t->checkout, [&](drive::Drive& d) {
    return d.Readdir(t->where.inner, drive::ReaddirOptions{});
  });
  if (!entries.ok()) return Fail(entries.status(), "readdir", path, ErrnoOf(entries.status()));
  if (FillDots(fill, dir)) return 0;
  struct stat st {};
  for (const drive::DirEntry& e : *entries) {
    FillFromStat(e.stat, &st);
    st.st_mode &= ~static_cast<mode_t>(0222);
    if (fill(e.name.c_str(), &st)) return 0;
  }
  return 0;
}

Filesystem::Handle* Filesystem::HandleOf(uint64_t fh) const {
  return reinterpret_cast<Handle*>(
      static_cast<uintptr_t>(fh));  // NOLINT(performance-no-int-to-ptr)
}

int Filesystem::Fail(const Status& status, const char* what, const std::string& path, int err) {
  // Expected answers (no such file, exists...) are not logged; failures of the store are.
  if (options_.log && (err == EIO || err == ENOSPC)) {
    options_.log(std::string("fuse ") + what + " " + path + ": " + status.ToString());
  }
  return -err;
}

void Filesystem::FillFromStat(const drive::Stat& in, struct stat* st) const {
  std::memset(st, 0, sizeof(*st));
  uint32_t type = in.mode & drive::kModeTypeMask;
  if (in.mount) type = drive::kModeDirectory;
  if (type != drive::kModeDirectory && type != drive::kModeSymlink) type = drive::kModeFile;
  uint32_t perms = in.mode & 07777;
  if (perms == 0) perms = type == drive::kModeDirectory ? 0755 : 0644;
  if (type == drive::kModeSymlink) perms = 0777;  // as Linux shows every link
  st->st_mode = type | perms;
  st->st_nlink = type == drive::kModeDirectory ? 2 : 1;
  st->st_uid = options_.uid;
  st->st_gid = options_.gid;
  st->st_size = static_cast<off_t>(type == drive::kModeSymlink ? in.linkname.size() : in.size);
  if (type == drive::kModeDirectory) st->st_size = 4096;
  st->st_blksize = 65536;
  st->st_blocks = static_cast<blkcnt_t>((in.size + 511) / 512);
  st->st_mtim = TimespecOf(in.mtime);
  st->st_atim = st->st_mtim;
  st->st_ctim = TimespecOf(std::max(in.ctime, in.mtime));
}

void Filesystem::FillFromOpenFile(const OpenFile& file, struct stat* st) const {
  drive::Stat s = file.base;
  s.mode = drive::kModeFile | (file.mode & 07777);
  s.size = file.spool ? file.spool->size() : 0;
  if (file.mtime) s.mtime = *file.mtime;
  FillFromStat(s, st);
}

Result<bool> Filesystem::Exists(const std::string& path) {
  if (files_.Find(path)) return true;
  auto st = drive_->Run([&](drive::Drive& d) { return d.Lstat(path); });
  if (st.ok()) return true;
  if (st.status().code() == Code::kNotFound) return false;
  return st.status();
}

Status Filesystem::CheckParentDirectory(const std::string& path) {
  auto parent = drive_->Run([&](drive::Drive& d) { return d.GetStat(ParentOf(path)); });
  if (!parent.ok()) return parent.status();
  if (!parent->IsDirectory() && !parent->mount) {
    return Status::NotADirectory(ParentOf(path) + " is not a directory");
  }
  if (!drive_->writable()) return Status::NotWritable("the drive is read-only here");
  return Status::Ok();
}

Status Filesystem::CheckNewEntry(const std::string& path) {
  RETURN_IF_ERROR(CheckParentDirectory(path));
  ASSIGN_OR_RETURN(bool exists, Exists(path));
  return exists ? Status::Exists(path + " exists") : Status::Ok();
}

// --- attributes and listings ---

int Filesystem::Getattr(const char* path, struct stat* st, uint64_t fh) {
  HYPER_FUSE_GATE();
  if (path == nullptr && fh == 0) return -ENOENT;  // libfuse names the file one way or the other
  if (auto& answer = PendingLinkAnswer(); answer && path != nullptr && answer->path == path) {
    drive::Stat link;
    link.mode = drive::kModeSymlink | 0777;
    link.mtime = link.ctime = drive::NowMillis();
    FillFromStat(link, st);
    st->st_size = static_cast<off_t>(answer->target_size);
    answer.reset();
    return 0;
  }
  if (fh != 0 && HandleOf(fh)->network) return GetattrNetwork(nullptr, st, fh);
  if (IsNetwork(path)) return GetattrNetwork(path, st, 0);
  std::shared_ptr<OpenFile> file = fh != 0 ? HandleOf(fh)->file : files_.Find(path);
  if (file) {
    std::lock_guard<std::mutex> lock(file->mu);
    if (file->dirty || !file->in_drive) {
      FillFromOpenFile(*file, st);
      return 0;
    }
  }
  auto s = drive_->Run([&](drive::Drive& d) { return d.Lstat(path); });
  if (!s.ok()) return Fail(s.status(), "getattr", path, ErrnoOf(s.status()));
  FillFromStat(*s, st);
  return 0;
}

int Filesystem::Readdir(const char* path, const Filler& fill) {
  HYPER_FUSE_GATE();
  if (IsNetwork(path)) return ReaddirNetwork(path, fill);
  drive::ReaddirOptions ro;
  auto entries = drive_->Run([&](drive::Drive& d) { return d.Readdir(path, ro); });
  if (!entries.ok()) return Fail(entries.status(), "readdir", path, ErrnoOf(entries.status()));
  struct stat st {};
  drive::Stat dir;
  dir.mode = drive::kModeDirectory | 0755;
  FillFromStat(dir, &st);
  if (FillDots(fill, st)) return 0;
  std::set<std::string> names;
  for (const drive::DirEntry& e : *entries) {
    names.insert(e.name);
    FillFromStat(e.stat, &st);
    if (fill(e.name.c_str(), &st)) return 0;
  }
  if (options_.open_drive && std::string_view(path) == "/" &&
      names.count(std::string(NameOf(kNetworkDir))) == 0) {
    drive::Stat dir;
    dir.mode = drive::kModeDirectory | 0555;
    dir.mtime = dir.ctime = started_ms_;
    FillFromStat(dir, &st);
    if (fill(NameOf(kNetworkDir).data(), &st)) return 0;
  }
  // Files created here whose first version is not written yet.
  for (const auto& [name, file] : files_.ChildrenOf(path)) {
    if (file->in_drive || names.count(name) != 0) continue;
    std::lock_guard<std::mutex> lock(file->mu);
    FillFromOpenFile(*file, &st);
    if (fill(name.c_str(), &st)) return 0;
  }
  return 0;
}

int Filesystem::Readlink(const char* path, char* buf, size_t size) {
  HYPER_FUSE_GATE();
  if (size == 0) return -EINVAL;
  Result<std::string> target = Status::NotFound("");
  if (IsNetwork(path)) {
    auto t = RouteNetwork(path);
    if (!t.ok()) return Fail(t.status(), "readlink", path, ErrnoOf(t.status()));
    if (t->where.kind == NetworkPath::Kind::kActiveLink) {
      target = std::string("../") + kStatsName + "/" + ToHex(t->where.key) + "/" + kNetworkingJson;
    } else if (t->where.kind == NetworkPath::Kind::kDrive) {
      target =
          RunOn(t->drive, t->checkout, [&](drive::Drive& d) { return d.Readlink(t->where.inner); });
    } else {
      return -EINVAL;
    }
  } else {
    target = drive_->Run([&](drive::Drive& d) { return d.Readlink(path); });
    if (!target.ok() && target.status().code() == Code::kInvalidArgument) {
      // A symlink that became a mount, read while the kernel still holds the entry as a link:
      // its target (which leads to the same drive).
      auto st = drive_->Run([&](drive::Drive& d) { return d.Lstat(path); });
      std::lock_guard<std::mutex> lock(links_mu_);
      auto it = mount_links_.find(path);
      if (st.ok() && st->mount && it != mount_links_.end() &&
          std::equal(st->mount->key.begin(), st->mount->key.end(), it->second.second.begin(),
                     it->second.second.end())) {
        target = it->second.first;
      }
    }
  }
  if (!target.ok()) {
    // readlink(2) of something that is not a link.
    const int err =
        target.status().code() == Code::kInvalidArgument ? EINVAL : ErrnoOf(target.status());
    return Fail(target.status(), "readlink", path, err);
  }
  const size_t n = std::min(size - 1, target->size());
  std::memcpy(buf, target->data(), n);
  buf[n] = '\0';
  return 0;
}

int Filesystem::Statfs(const char* path, struct statvfs* st) {
  HYPER_FUSE_GATE();
  (void)path;
  if (::statvfs(options_.statfs_dir.c_str(), st) != 0) return -errno;
  st->f_namemax = 255;
  if (!drive_->writable()) st->f_flag |= ST_RDONLY;
  return 0;
}

int Filesystem::Access(const char* path, int mask) {
  HYPER_FUSE_GATE();
  if (IsNetwork(path)) {
    auto t = RouteNetwork(path);
    if (!t.ok()) return Fail(t.status(), "access", path, ErrnoOf(t.status()));
    if (t->where.kind == NetworkPath::Kind::kDrive) {
      auto s =
          RunOn(t->drive, t->checkout, [&](drive::Drive& d) { return d.Lstat(t->where.inner); });
      if (!s.ok()) return Fail(s.status(), "access", path, ErrnoOf(s.status()));
    }
    return (mask & W_OK) != 0 ? -EROFS : 0;
  }
  auto exists = Exists(path);
  if (!exists.ok()) return Fail(exists.status(), "access", path, ErrnoOf(exists.status()));
  if (!*exists) return -ENOENT;
  if ((mask & W_OK) != 0 && !drive_->writable()) return -EROFS;
  return 0;
}

// --- files ---

Status Filesystem::Load(OpenFile& file, bool keep) {
  if (file.spool) return Status::Ok();
  ASSIGN_OR_RETURN(auto spool, Spool::Create(options_.spool_dir));
  if (keep && file.in_drive) {
    auto path = files_.PathOf(&file);
    if (!path) return Status::NotFound("the file was removed");
    ASSIGN_OR_RETURN(drive::Stat st,
                     drive_->Run([&](drive::Drive& d) { return d.GetStat(*path); }));
    uint64_t copied = 0;
    while (copied < st.size) {
      const uint64_t n = std::min<uint64_t>(kCopyChunk, st.size - copied);
      ASSIGN_OR_RETURN(Bytes chunk,
                       drive_->Run([&](drive::Drive& d) { return d.ReadRange(*path, copied, n); }));
      if (chunk.empty()) break;
      RETURN_IF_ERROR(spool->Write(copied, chunk));
      copied += chunk.size();
    }
  }
  file.spool = std::move(spool);
  return Status::Ok();
}

Status Filesystem::Commit(OpenFile& file) {
  if (!file.dirty) return Status::Ok();
  auto path = files_.PathOf(&file);
  if (!path) {
    // Unlinked or replaced while open: nothing of it goes to the drive.
    file.dirty = false;
    return Status::Ok();
  }
  drive::WriteOptions wo;
  wo.mode = file.mode & 07777;
  wo.uid = file.base.uid;
  wo.gid = file.base.gid;
  const uint64_t now = drive::NowMillis();
  wo.mtime = file.mtime.value_or(now);
  wo.ctime = file.in_drive ? now : wo.mtime;
  wo.metadata = file.base.metadata;
  {
    auto writes = drive_->LockWrites();
    std::unique_ptr<drive::FileWriter> w;
    RETURN_IF_ERROR(drive_->Run([&](drive::Drive& d) -> Status {
      ASSIGN_OR_RETURN(w, d.CreateWriter(*path, wo));
      return Status::Ok();
    }));
    if (file.spool) {
      Bytes buf(std::min<uint64_t>(kCopyChunk, file.spool->size()));
      uint64_t done = 0;
      while (done < file.spool->size()) {
        ASSIGN_OR_RETURN(size_t n, file.spool->Read(done, buf));
        if (n == 0) return Status::IOError("the spool file of " + *path + " ended early");
        RETURN_IF_ERROR(
            drive_->Run([&](drive::Drive&) -> Status { return w->Write(ByteView(buf).first(n)); }));
        done += n;
      }
    }
    ASSIGN_OR_RETURN(drive::Stat written, drive_->Run([&](drive::Drive&) { return w->Close(); }));
    file.base = written;
  }
  file.dirty = false;
  file.in_drive = true;
  file.mtime.reset();
  return Status::Ok();
}

int Filesystem::Open(const char* path, int flags, uint64_t* fh, bool* direct_io) {
  HYPER_FUSE_GATE();
  if (IsNetwork(path)) return OpenNetwork(path, flags, fh, direct_io);
  return OpenGated(path, flags, fh);
}

int Filesystem::OpenNetwork(const char* path, int flags, uint64_t* fh, bool* direct_io) {
  if (WantsWrite(flags)) return -EROFS;
  auto t = RouteNetwork(path);
  if (!t.ok()) return Fail(t.status(), "open", path, ErrnoOf(t.status()));
  auto handle = std::make_unique<Handle>();
  handle->network = t->drive;
  if (t->where.kind == NetworkPath::Kind::kStatsFile) {
    // The counters as they are now, for the length of this open.
    auto text = StatsFile(*t);
    if (!text.ok()) return Fail(text.status(), "open", path, ErrnoOf(text.status()));
    handle->virtual_contents = std::move(text).value();
    *direct_io = true;
  } else if (t->where.kind == NetworkPath::Kind::kDrive) {
    auto s =
        RunOn(t->drive, t->checkout, [&](drive::Drive& d) { return d.GetStat(t->where.inner); });
    if (!s.ok()) return Fail(s.status(), "open", path, ErrnoOf(s.status()));
    if (s->IsDirectory() || s->mount) return -EISDIR;
    handle->network_checkout = t->checkout;
    handle->network_path = t->where.inner;
  } else {
    return -EISDIR;
  }
  *fh = reinterpret_cast<uintptr_t>(handle.release());
  return 0;
}

int Filesystem::OpenGated(const char* path, int flags, uint64_t* fh) {
  std::shared_ptr<OpenFile> file = files_.Find(path);
  drive::Stat st;
  if (!file) {
    auto s = drive_->Run([&](drive::Drive& d) { return d.GetStat(path); });
    if (!s.ok()) return Fail(s.status(), "open", path, ErrnoOf(s.status()));
    st = std::move(s).value();
    if (st.IsDirectory() || st.mount) return -EISDIR;
  }
  if (WantsWrite(flags) && !drive_->writable()) return -EROFS;
  file = files_.Acquire(path, [&] {
    auto f = std::make_shared<OpenFile>();
    f->mode = st.mode & 07777;
    f->base = st;
    return f;
  });
  auto handle = std::make_unique<Handle>();
  handle->file = file;
  handle->writes = WantsWrite(flags);
  if (handle->writes && (flags & O_TRUNC) != 0) {
    std::shared_lock<std::shared_mutex> ns(ns_mu_);
    std::lock_guard<std::mutex> lock(file->mu);
    Status s = Load(*file, /*keep=*/false);
    if (s.ok()) s = file->spool->Truncate(0);
    if (!s.ok()) {
      files_.Release(file);
      return Fail(s, "open", path, ErrnoOf(s));
    }
    file->dirty = true;
  }
  *fh = reinterpret_cast<uintptr_t>(handle.release());
  return 0;
}

int Filesystem::Create(const char* path, mode_t mode, int flags, uint64_t* fh) {
  HYPER_FUSE_GATE();
  if (IsNetwork(path)) return -EROFS;
  auto exists = Exists(path);
  if (!exists.ok()) return Fail(exists.status(), "create", path, ErrnoOf(exists.status()));
  if (*exists) {
    if ((flags & O_EXCL) != 0) return -EEXIST;
    return OpenGated(path, flags, fh);
  }
  Status parent = CheckParentDirectory(path);
  if (!parent.ok()) return Fail(parent, "create", path, ErrnoOf(parent));
  auto file = files_.Acquire(path, [&] {
    auto f = std::make_shared<OpenFile>();
    f->mode = mode & 07777;
    f->base.mode = drive::kModeFile | (mode & 07777);
    f->base.uid = options_.uid;
    f->base.gid = options_.gid;
    f->base.mtime = f->base.ctime = drive::NowMillis();
    f->dirty = true;  // an empty file is a version too
    f->in_drive = false;
    return f;
  });
  auto handle = std::make_unique<Handle>();
  handle->file = file;
  handle->writes = true;
  *fh = reinterpret_cast<uintptr_t>(handle.release());
  return 0;
}

int Filesystem::Read(uint64_t fh, char* buf, size_t size, off_t offset) {
  HYPER_FUSE_GATE();
  Handle* h = HandleOf(fh);
  if (h->virtual_contents) {
    const std::string& text = *h->virtual_contents;
    if (offset < 0 || static_cast<uint64_t>(offset) >= text.size()) return 0;
    const size_t n = std::min(size, text.size() - static_cast<size_t>(offset));
    text.copy(buf, n, static_cast<size_t>(offset));
    return static_cast<int>(n);
  }
  if (h->network) {
    auto bytes = RunOn(h->network, h->network_checkout, [&](drive::Drive& d) {
      return d.ReadRange(h->network_path, static_cast<uint64_t>(offset), size);
    });
    if (!bytes.ok()) {
      return Fail(bytes.status(), "read", h->network_path, ErrnoOf(bytes.status(), Call::kRead));
    }
    std::memcpy(buf, bytes->data(), bytes->size());
    return static_cast<int>(bytes->size());
  }
  OpenFile& file = *h->file;
  std::optional<std::string> path;
  {
    std::lock_guard<std::mutex> lock(file.mu);
    if (file.spool) {
      auto n =
          file.spool->Read(static_cast<uint64_t>(offset), {reinterpret_cast<uint8_t*>(buf), size});
      if (!n.ok()) return Fail(n.status(), "read", "(spool)", EIO);
      return static_cast<int>(*n);
    }
    if (!file.in_drive) return 0;  // created, nothing written
    path = files_.PathOf(&file);
  }
  if (!path) return -EIO;
  // The drive's lock (and a wait for peers) is taken without ours.
  auto bytes = drive_->Run(
      [&](drive::Drive& d) { return d.ReadRange(*path, static_cast<uint64_t>(offset), size); });
  if (!bytes.ok()) return Fail(bytes.status(), "read", *path, ErrnoOf(bytes.status(), Call::kRead));
  std::memcpy(buf, bytes->data(), bytes->size());
  return static_cast<int>(bytes->size());
}

int Filesystem::Write(uint64_t fh, const char* buf, size_t size, off_t offset) {
  HYPER_FUSE_GATE();
  Handle* h = HandleOf(fh);
  if (!h->writes) return -EBADF;
  OpenFile& file = *h->file;
  std::shared_lock<std::shared_mutex> ns(ns_mu_);
  std::lock_guard<std::mutex> lock(file.mu);
  Status s = Load(file, /*keep=*/true);
  if (s.ok()) s = file.spool->Write(static_cast<uint64_t>(offset), ViewOf(buf, size));
  if (!s.ok()) return Fail(s, "write", "(open file)", ErrnoOf(s));
  h->wrote = true;
  file.dirty = true;
  file.mtime.reset();
  return static_cast<int>(size);
}

int Filesystem::Truncate(const char* path, off_t size, uint64_t fh) {
  HYPER_FUSE_GATE();
  if (size < 0) return -EINVAL;
  if (IsNetwork(path) || (fh != 0 && HandleOf(fh)->network)) return -EROFS;
  std::shared_ptr<OpenFile> file = fh != 0 ? HandleOf(fh)->file : files_.Find(path);
  if (fh != 0) HandleOf(fh)->wrote = true;
  if (file) {
    std::shared_lock<std::shared_mutex> ns(ns_mu_);
    std::lock_guard<std::mutex> lock(file->mu);
    Status s = Load(*file, /*keep=*/size > 0);
    if (s.ok()) s = file->spool->Truncate(static_cast<uint64_t>(size));
    if (!s.ok()) return Fail(s, "truncate", path ? path : "(open file)", ErrnoOf(s));
    file->dirty = true;
    file->mtime.reset();
    if (fh == 0) {
      // truncate(2) on a path: its own version, as any other call on a path.
      s = Commit(*file);
      if (!s.ok()) return Fail(s, "truncate", path, ErrnoOf(s));
    }
    return 0;
  }
  auto st = drive_->Run([&](drive::Drive& d) { return d.GetStat(path); });
  if (!st.ok()) return Fail(st.status(), "truncate", path, ErrnoOf(st.status()));
  if (st->IsDirectory() || st->mount) return -EISDIR;
  auto writes = drive_->LockWrites();
  Status s =
      drive_->Run([&](drive::Drive& d) { return d.Truncate(path, static_cast<uint64_t>(size)); });
  return s.ok() ? 0 : Fail(s, "truncate", path, ErrnoOf(s));
}

int Filesystem::CommitHandle(uint64_t fh, const char* what, bool always) {
  HYPER_FUSE_GATE();
  Handle* h = HandleOf(fh);
  if (h->network) return 0;
  if (!always && !h->wrote.exchange(false)) return 0;
  OpenFile& file = *h->file;
  std::shared_lock<std::shared_mutex> ns(ns_mu_);
  std::lock_guard<std::mutex> lock(file.mu);
  Status s = Commit(file);
  return s.ok() ? 0 : Fail(s, what, "(open file)", ErrnoOf(s));
}

int Filesystem::Flush(uint64_t fh) { return CommitHandle(fh, "flush", /*always=*/false); }

int Filesystem::Fsync(uint64_t fh) { return CommitHandle(fh, "fsync", /*always=*/true); }

void Filesystem::CommitAll() {
  for (const auto& file : files_.AtOrBelow("/")) {
    std::shared_lock<std::shared_mutex> ns(ns_mu_);
    std::lock_guard<std::mutex> lock(file->mu);
    Status s = Commit(*file);
    if (!s.ok() && options_.log)
      options_.log("fuse: writing an open file at unmount: " + s.ToString());
  }
}

int Filesystem::Release(uint64_t fh) {
  std::unique_ptr<Handle> h(HandleOf(fh));
  int r = 0;
  {
    Gate gate(*this);
    if (!gate) return -EIO;
    if (h->network) return 0;
    OpenFile& file = *h->file;
    std::shared_lock<std::shared_mutex> ns(ns_mu_);
    std::lock_guard<std::mutex> lock(file.mu);
    Status s = Commit(file);
    if (!s.ok()) r = Fail(s, "release", "(open file)", ErrnoOf(s));
  }
  files_.Release(h->file);
  return r;
}

// --- names ---

int Filesystem::Unlink(const char* path) {
  HYPER_FUSE_GATE();
  if (IsNetwork(path)) return -EROFS;
  std::unique_lock<std::shared_mutex> ns(ns_mu_);
  std::shared_ptr<OpenFile> file = files_.Find(path);
  const bool pending = file && !file->in_drive;
  if (!pending) {
    auto writes = drive_->LockWrites();
    Status s = drive_->Run([&](drive::Drive& d) { return d.Unlink(path); });
    if (!s.ok()) return Fail(s, "unlink", path, ErrnoOf(s));
  }
  files_.Forget(path);
  return 0;
}

int Filesystem::Mkdir(const char* path, mode_t mode) {
  HYPER_FUSE_GATE();
  if (IsNetwork(path)) return -EROFS;
  Status s = CheckNewEntry(path);
  if (s.ok()) {
    drive::WriteOptions wo;
    wo.mode = mode & 07777;
    wo.uid = options_.uid;
    wo.gid = options_.gid;
    auto writes = drive_->LockWrites();
    s = drive_->Run([&](drive::Drive& d) { return d.Mkdir(path, wo); });
  }
  return s.ok() ? 0 : Fail(s, "mkdir", path, ErrnoOf(s));
}

int Filesystem::Rmdir(const char* path) {
  HYPER_FUSE_GATE();
  if (IsNetwork(path)) return -EROFS;
  std::unique_lock<std::shared_mutex> ns(ns_mu_);
  if (!files_.ChildrenOf(path).empty()) return -ENOTEMPTY;
  auto writes = drive_->LockWrites();
  Status s = drive_->Run([&](drive::Drive& d) { return d.Rmdir(path); });
  if (s.code() == Code::kInvalidArgument) return -EBUSY;  // the root
  return s.ok() ? 0 : Fail(s, "rmdir", path, ErrnoOf(s));
}

std::optional<std::string> Filesystem::NetworkTargetOf(const std::string& link,
                                                       const std::string& target) const {
  if (!options_.open_drive || target.empty()) return std::nullopt;
  std::string path;
  if (target[0] == '/') {
    const std::string& mnt = options_.mountpoint;
    if (mnt.empty() || !IsAtOrBelow(target, mnt)) return std::nullopt;
    path = Normalize(std::string_view(target).substr(mnt == "/" ? 0 : mnt.size()));
  } else {
    path = Normalize(ParentOf(link) + "/" + target);
  }
  if (!IsAtOrBelow(path, kNetworkDir)) return std::nullopt;
  return path;
}

int Filesystem::SymlinkMount(const std::string& target, const std::string& link,
                             const std::string& network_path) {
  Status s = CheckNewEntry(link);
  if (!s.ok()) return Fail(s, "symlink", link, ErrnoOf(s));
  // The drive (its header from peers when the store lacks it) and the version, as
  // Network/<key>[+version] would show them.
  auto t = RouteNetwork(network_path);
  if (!t.ok()) return Fail(t.status(), "symlink", link, ErrnoOf(t.status()));
  if (t->where.key == drive_->key()) return -ELOOP;
  drive::MountOptions mo;
  mo.version = t->where.version;
  mo.uid = options_.uid;
  mo.gid = options_.gid;
  {
    std::shared_lock<std::shared_mutex> ns(ns_mu_);
    auto writes = drive_->LockWrites();
    s = drive_->Run([&](drive::Drive& d) { return d.Mount(link, t->where.key, mo); });
  }
  if (!s.ok()) return Fail(s, "symlink", link, ErrnoOf(s));
  {
    std::lock_guard<std::mutex> lock(links_mu_);
    mount_links_[link] = {target, t->where.key};
  }
  if (options_.log) {
    options_.log("fuse: the symlink " + link + " -> " + target + " is a mount of " +
                 NetworkName(t->where.key, t->where.version));
  }
  PendingLinkAnswer() = LinkAnswer{link, target.size()};
  if (options_.invalidate_entry) options_.invalidate_entry(link);
  return 0;
}

int Filesystem::Symlink(const char* target, const char* link) {
  HYPER_FUSE_GATE();
  PendingLinkAnswer().reset();
  if (IsNetwork(link)) return -EROFS;
  if (auto network = NetworkTargetOf(link, target)) {
    auto where = ParseNetworkPath(*network);
    if (where.ok() && where->kind == NetworkPath::Kind::kDrive && where->inner == "/") {
      return SymlinkMount(target, link, *network);
    }
  }
  Status s = CheckNewEntry(link);
  if (s.ok()) {
    auto writes = drive_->LockWrites();
    s = drive_->Run([&](drive::Drive& d) { return d.Symlink(target, link); });
  }
  return s.ok() ? 0 : Fail(s, "symlink", link, ErrnoOf(s));
}

int Filesystem::Rename(const char* from_c, const char* to_c, unsigned int flags) {
  HYPER_FUSE_GATE();
  const std::string from = from_c;
  const std::string to = to_c;
  if ((flags & RENAME_EXCHANGE) != 0) return -EINVAL;
  if (IsNetwork(from_c) || IsNetwork(to_c)) return -EROFS;
  std::unique_lock<std::shared_mutex> ns(ns_mu_);
  // What is open below `from` goes to the drive first: the rename moves the drive's nodes.
  for (const auto& file : files_.AtOrBelow(from)) {
    std::lock_guard<std::mutex> lock(file->mu);
    Status s = Commit(*file);
    if (!s.ok()) return Fail(s, "rename", from, ErrnoOf(s));
  }
  if ((flags & RENAME_NOREPLACE) != 0) {
    auto exists = Exists(to);
    if (!exists.ok()) return Fail(exists.status(), "rename", to, ErrnoOf(exists.status()));
    if (*exists) return -EEXIST;
  }
  {
    auto writes = drive_->LockWrites();
    Status s = drive_->Run([&](drive::Drive& d) { return d.Rename(from, to); });
    if (s.code() == Code::kInvalidArgument) {
      // rename(2): a directory into itself, or the root.
      return IsAtOrBelow(to, from) ? -EINVAL : -EBUSY;
    }
    if (!s.ok()) return Fail(s, "rename", from, ErrnoOf(s, Call::kRename));
  }
  if (from != to) {
    files_.Forget(to);  // a replaced file's handles keep it, out of the drive
    files_.Move(from, to);
  }
  return 0;
}

int Filesystem::Chmod(const char* path, mode_t mode, uint64_t fh) {
  HYPER_FUSE_GATE();
  if (IsNetwork(path) || (fh != 0 && HandleOf(fh)->network)) return -EROFS;
  std::shared_ptr<OpenFile> file = fh != 0 ? HandleOf(fh)->file : files_.Find(path);
  if (file) {
    std::lock_guard<std::mutex> lock(file->mu);
    file->mode = mode & 07777;
    if (file->dirty || !file->in_drive) return 0;  // the next version has it
  }
  drive::WriteOptions options;
  options.mode = mode & 07777;
  return UpdateAttributes(path, file.get(), options, "chmod");
}

int Filesystem::Utimens(const char* path, const struct timespec tv[2], uint64_t fh) {
  HYPER_FUSE_GATE();
  if (IsNetwork(path) || (fh != 0 && HandleOf(fh)->network)) return -EROFS;
  // Only mtime is stored (a drive has no atime).
  std::optional<uint64_t> mtime;
  if (tv == nullptr || tv[1].tv_nsec == UTIME_NOW) {
    mtime = drive::NowMillis();
  } else if (tv[1].tv_nsec != UTIME_OMIT) {
    mtime = MillisOf(tv[1]);
  }
  if (!mtime) return 0;
  std::shared_ptr<OpenFile> file = fh != 0 ? HandleOf(fh)->file : files_.Find(path);
  if (file) {
    std::lock_guard<std::mutex> lock(file->mu);
    if (file->dirty || !file->in_drive) {
      file->mtime = mtime;
      return 0;
    }
  }
  drive::WriteOptions options;
  options.mtime = mtime;
  return UpdateAttributes(path, file.get(), options, "utimens");
}

int Filesystem::UpdateAttributes(const char* path, const OpenFile* file,
                                 const drive::WriteOptions& options, const char* what) {
  std::string target;
  if (path != nullptr) {
    target = path;
  } else if (auto p = files_.PathOf(file)) {
    target = *p;
  } else {
    return 0;
  }
  std::vector<drive::Drive::AttributesUpdate> update(1);
  update[0].path = target;
  update[0].options = options;
  auto writes = drive_->LockWrites();
  Status s = drive_->Run([&](drive::Drive& d) { return d.UpdateAttributes(update); });
  if (s.code() == Code::kInvalidArgument) {
    // A symlink's owner and times are not stored (a drive updates those of files and
    // directories only): lchown and lutimes succeed without a version, so that `cp -a`,
    // `rsync -a` and `tar x` copy links. Anything else (a mount point, the root) is EPERM.
    auto st = drive_->Run([&](drive::Drive& d) { return d.Lstat(target); });
    if (st.ok() && st->IsSymlink() && !options.mode) return 0;
    return -EPERM;
  }
  return s.ok() ? 0 : Fail(s, what, target, ErrnoOf(s));
}

int Filesystem::Chown(const char* path, uid_t uid, gid_t gid, uint64_t fh, const Caller& caller) {
  HYPER_FUSE_GATE();
  if (IsNetwork(path) || (fh != 0 && HandleOf(fh)->network)) return -EROFS;
  const bool set_uid = uid != static_cast<uid_t>(-1);
  const bool set_gid = gid != static_cast<gid_t>(-1);
  if (caller.uid != 0) {
    // Every file shows the mount's owner (FillFromStat); only that user may change it, and only
    // to itself and to one of its groups.
    if (caller.uid != options_.uid) return -EPERM;
    if (set_uid && uid != caller.uid) return -EPERM;
    if (set_gid && gid != caller.gid &&
        std::find(caller.groups.begin(), caller.groups.end(), gid) == caller.groups.end()) {
      return -EPERM;
    }
  }
  if (!set_uid && !set_gid) return 0;
  std::shared_ptr<OpenFile> file = fh != 0 ? HandleOf(fh)->file : files_.Find(path);
  if (file) {
    std::lock_guard<std::mutex> lock(file->mu);
    if (set_uid) file->base.uid = uid;
    if (set_gid) file->base.gid = gid;
    if (file->dirty || !file->in_drive) return 0;  // the next version has them
  }
  drive::WriteOptions options;
  if (set_uid) options.uid = uid;
  if (set_gid) options.gid = gid;
  return UpdateAttributes(path, file.get(), options, "chown");
}

int Filesystem::Link(const char* from, const char* to) {
  HYPER_FUSE_GATE();
  (void)from;
  return IsNetwork(to) ? -EROFS : -EPERM;
}

// --- extended attributes (the Stat's metadata) ---

Result<drive::MetadataMap> Filesystem::MetadataOf(const char* path) {
  if (IsNetwork(path)) {
    ASSIGN_OR_RETURN(NetworkTarget t, RouteNetwork(path));
    if (t.where.kind != NetworkPath::Kind::kDrive) return drive::MetadataMap{};
    ASSIGN_OR_RETURN(drive::Stat st, RunOn(t.drive, t.checkout, [&](drive::Drive& d) {
                       return d.Lstat(t.where.inner);
                     }));
    return std::move(st.metadata);
  }
  if (std::shared_ptr<OpenFile> file = files_.Find(path)) {
    std::lock_guard<std::mutex> lock(file->mu);
    if (file->dirty || !file->in_drive) return file->base.metadata;
  }
  ASSIGN_OR_RETURN(drive::Stat st, drive_->Run([&](drive::Drive& d) { return d.Lstat(path); }));
  return std::move(st.metadata);
}

int Filesystem::ChangeMetadata(const char* path, const std::string& key, std::optional<Bytes> value,
                               int flags, const char* what) {
  // setxattr(2)'s flags, and removexattr's ENODATA for a name that is not there.
  auto refusal = [&](const drive::MetadataMap& map) {
    const std::optional<Bytes>* old = drive::FindMetadataEntry(map, key);
    const bool has = old != nullptr && old->has_value();
    if ((flags & XATTR_CREATE) != 0 && has) return EEXIST;
    if (((flags & XATTR_REPLACE) != 0 || !value) && !has) return ENODATA;
    return 0;
  };
  std::shared_lock<std::shared_mutex> ns(ns_mu_);
  std::shared_ptr<OpenFile> file = files_.Find(path);
  std::unique_lock<std::mutex> file_lock;
  if (file) {
    file_lock = std::unique_lock<std::mutex>(file->mu);
    if (file->dirty || !file->in_drive) {
      // The next version carries it.
      if (const int err = refusal(file->base.metadata)) return -err;
      drive::SetMetadataEntry(file->base.metadata, key, std::move(value));
      return 0;
    }
  }
  int refused = 0;
  auto writes = drive_->LockWrites();
  Status s = drive_->Run([&](drive::Drive& d) -> Status {
    ASSIGN_OR_RETURN(drive::Stat st, d.Lstat(path));
    refused = refusal(st.metadata);
    if (refused != 0) return Status::Ok();
    return value ? d.SetMetadata(path, key, *value) : d.RemoveMetadata(path, key);
  });
  if (refused != 0) return -refused;
  if (s.code() == Code::kInvalidArgument) return -ENOTSUP;  // the root, a mount point
  if (!s.ok()) return Fail(s, what, path, ErrnoOf(s));
  // An open file's next version keeps it.
  if (file) drive::SetMetadataEntry(file->base.metadata, key, std::move(value));
  return 0;
}

int Filesystem::Setxattr(const char* path, const char* name, const char* value, size_t size,
                         int flags) {
  HYPER_FUSE_GATE();
  if (path == nullptr) return -ENOENT;
  if (IsNetwork(path)) return -EROFS;
  if (IsUnstoredXattr(name)) return -ENOTSUP;
  const auto* bytes = reinterpret_cast<const uint8_t*>(value);
  return ChangeMetadata(path, name, Bytes(bytes, bytes + size), flags, "setxattr");
}

int Filesystem::Removexattr(const char* path, const char* name) {
  HYPER_FUSE_GATE();
  if (path == nullptr) return -ENOENT;
  if (IsNetwork(path)) return -EROFS;
  if (IsUnstoredXattr(name)) return -ENODATA;
  return ChangeMetadata(path, name, std::nullopt, 0, "removexattr");
}

int Filesystem::Getxattr(const char* path, const char* name, char* value, size_t size) {
  HYPER_FUSE_GATE();
  if (path == nullptr) return -ENOENT;
  if (IsUnstoredXattr(name)) return -ENODATA;  // without a look-up: asked on every write
  auto map = MetadataOf(path);
  if (!map.ok()) return Fail(map.status(), "getxattr", path, ErrnoOf(map.status()));
  const std::optional<Bytes>* entry = drive::FindMetadataEntry(*map, name);
  if (entry == nullptr || !entry->has_value()) return -ENODATA;
  const Bytes& bytes = **entry;
  if (size == 0) return static_cast<int>(bytes.size());
  if (size < bytes.size()) return -ERANGE;
  std::memcpy(value, bytes.data(), bytes.size());
  return static_cast<int>(bytes.size());
}

int Filesystem::Listxattr(const char* path, char* list, size_t size) {
  HYPER_FUSE_GATE();
  if (path == nullptr) return -ENOENT;
  auto map = MetadataOf(path);
  if (!map.ok()) return Fail(map.status(), "listxattr", path, ErrnoOf(map.status()));
  std::string names;  // each name ends with a NUL, as listxattr(2) gives them
  for (const auto& [key, value] : *map) {
    if (!value || key.empty() || IsUnstoredXattr(key)) continue;
    names += key;
    names += '\0';
  }
  if (size == 0) return static_cast<int>(names.size());
  if (size < names.size()) return -ERANGE;
  std::copy(names.begin(), names.end(), list);
  return static_cast<int>(names.size());
}

}  // namespace hyper::fuse
