#include "drive_commands.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "console.h"
#include "daemon_seed.h"
#include "display_names.h"
#include "file_stream.h"
#include "live_transfer.h"
#include "mount_paths.h"
#include "net_commands.h"
#include "number_options.h"
#include "session.h"
#include "transfer.h"

namespace hyper::cli {
namespace {

std::string ModeString(uint32_t mode) {
  std::string s = (mode & drive::kModeTypeMask) == drive::kModeDirectory ? "d"
                  : (mode & drive::kModeTypeMask) == drive::kModeSymlink ? "l"
                                                                         : "-";
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; i++) s += (mode & (0400 >> i)) ? rwx[i] : '-';
  return s;
}

std::string FormatTime(uint64_t millis) {
  std::time_t t = static_cast<std::time_t>(millis / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// Metadata values print as text when they are valid UTF-8 without control bytes, hex otherwise.
nlohmann::json MetadataValue(const Bytes& v) {
  bool text = std::all_of(v.begin(), v.end(), [](uint8_t c) { return c >= 0x20 && c != 0x7f; });
  if (text) {
    std::string s(AsString(v));
    nlohmann::json j = s;
    // nlohmann rejects invalid UTF-8 only when dumping; check it now.
    try {
      (void)j.dump();
      return j;
    } catch (const nlohmann::json::exception&) {
    }
  }
  return nlohmann::json{{"hex", ToHex(v)}};
}

nlohmann::json StatJson(const drive::Stat& st) {
  nlohmann::json j = {{"mode", st.mode},
                      {"uid", st.uid},
                      {"gid", st.gid},
                      {"size", st.size},
                      {"blocks", st.blocks},
                      {"offset", st.offset},
                      {"byteOffset", st.byte_offset},
                      {"mtime", st.mtime},
                      {"ctime", st.ctime},
                      {"type", st.IsDirectory() ? "directory"
                               : st.IsSymlink() ? "symlink"
                                                : "file"}};
  if (!st.linkname.empty()) SetJsonText(j, "linkname", st.linkname);
  if (st.mount) {
    j["mount"] = {{"key", ToHex(st.mount->key)}};
    if (st.mount->version) j["mount"]["version"] = *st.mount->version;
  }
  nlohmann::json meta = nlohmann::json::object();
  for (const auto& [k, v] : st.metadata) {
    if (v) meta[k] = MetadataValue(*v);
  }
  j["metadata"] = meta;
  return j;
}

// JSON for scripts; text that is not UTF-8 was given as "...Hex" beside (SetJsonText).
std::string DumpJson(const nlohmann::json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Status Print(const std::string& text) {
  if (!Out().write(text.data(), static_cast<std::streamsize>(text.size()))) {
    return Status::FromErrno(errno, "writing to stdout");
  }
  return Status::Ok();
}

// A drive argument that is a path under the FUSE mountpoint (mount_paths.h); nullopt for a
// hyper:// URL or key.
Result<std::optional<MountPath>> MountPathOf(const std::string& storage, const std::string& arg) {
  if (!IsLocalPath(arg)) return std::optional<MountPath>();
  ASSIGN_OR_RETURN(DaemonMount mount, FindDaemonMount(ResolveStorageRoot(storage)));
  ASSIGN_OR_RETURN(MountPath path, ResolveMountPath(mount, arg));
  return std::optional<MountPath>(std::move(path));
}

// Where a drive is mounted with `mount <path>` or `create <path>`: a path of the root drive.
Result<MountPath> MountTargetOf(const std::string& storage, const std::string& arg,
                                const char* command) {
  ASSIGN_OR_RETURN(auto path, MountPathOf(storage, arg));
  if (!path) {
    return Status::InvalidArgument(std::string(command) + " takes a path under the mountpoint");
  }
  if (path->network) {
    return Status::NotWritable("'" + arg +
                               "' is under Network, which is read-only: mount drives elsewhere "
                               "in the root drive");
  }
  if (path->in_root == "/") {
    return Status::InvalidArgument("'" + arg + "' is the mountpoint of the root drive itself");
  }
  return std::move(path).value();
}

// Seeds `key` through the daemon (as `seed`) when asked; says so when no daemon runs.
Status SeedIfAsked(const crypto::PublicKey& key, bool seed) {
  if (!seed) return Status::Ok();
  if (ScopedDaemonHost::Current() == nullptr) {
    Out() << "not seeding: no daemon runs (`hyperdrive seed " << FormatUrl(key)
          << "` once it does)\n";
    return Status::Ok();
  }
  return SeedInDaemon(DaemonSeedArgs{{FormatUrl(key)}});
}

// Mounts `key` (a new drive when nullopt) at `where` in the root drive; prints what it did.
Status MountAt(const std::string& storage, const MountPath& where,
               std::optional<crypto::PublicKey> key, std::optional<uint64_t> version, bool seed) {
  ASSIGN_OR_RETURN(auto session, Session::Open(ResolveStorageRoot(storage)));
  if (!key) {
    ASSIGN_OR_RETURN(OpenedDrive created, session->CreateDrive());
    key = created.head->key();
  }
  {
    ASSIGN_OR_RETURN(OpenedDrive root, session->OpenWritable(where.url));
    if (*key == root.head->key()) return Status::Loop("a drive cannot be mounted inside itself");
    drive::MountOptions mo;
    mo.version = version;
    mo.uid = ::geteuid();
    mo.gid = ::getegid();
    RETURN_IF_ERROR(root.head->Mount(root.path, *key, mo));
  }
  Out() << FormatUrl(*key) << (version ? " (version " + std::to_string(*version) + ")" : "")
        << " is mounted at " << DisplayName(where.local, StdoutIsTerminal()) << "\n";
  RETURN_IF_ERROR(SeedIfAsked(*key, seed));
  return session->Close();
}

Status Create(const std::string& storage, const DriveArgs& a) {
  if (!a.url.empty()) {
    ASSIGN_OR_RETURN(MountPath where, MountTargetOf(storage, a.url, "create"));
    return MountAt(storage, where, std::nullopt, std::nullopt, !a.no_seed);
  }
  ASSIGN_OR_RETURN(auto session, Session::Open(ResolveStorageRoot(storage)));
  ASSIGN_OR_RETURN(OpenedDrive d, session->CreateDrive());
  Out() << FormatUrl(d.head->key()) << "\n";
  return session->Close();
}

// What `ls -R` adds to a recursive listing: the directories that hold entries but have no node
// of their own (implicit directories, which the drive's walk does not list).
Status AddImplicitDirectories(const drive::Drive& d, std::vector<drive::DirEntry>& entries) {
  std::set<std::string> names;
  for (const auto& e : entries) names.insert(e.name);
  std::vector<drive::DirEntry> added;
  for (const auto& e : entries) {
    for (size_t slash = e.name.find('/'); slash != std::string::npos;
         slash = e.name.find('/', slash + 1)) {
      std::string name = e.name.substr(0, slash);
      if (!names.insert(name).second) continue;
      std::string path = e.path.substr(0, e.path.size() - (e.name.size() - slash));
      ASSIGN_OR_RETURN(drive::Stat st, d.Lstat(path));
      added.push_back({std::move(name), std::move(path), std::move(st)});
    }
  }
  for (auto& e : added) entries.push_back(std::move(e));
  return Status::Ok();
}

Status Ls(const std::string& storage, const DriveArgs& a) {
  ASSIGN_OR_RETURN(auto session, Session::Open(ResolveStorageRoot(storage), Access::kRead));
  ASSIGN_OR_RETURN(OpenedDrive od, session->OpenUrl(a.url));
  drive::Drive& d = od.drive();
  ASSIGN_OR_RETURN(drive::Stat st, d.GetStat(od.path));
  std::vector<drive::DirEntry> entries;
  const bool terminal = StdoutIsTerminal();
  if (st.IsDirectory()) {
    drive::ReaddirOptions ro;
    ro.recursive = a.recursive;
    ro.on_mount_cycle = [terminal](const std::string& path) {
      Err() << "hyperdrive: warning: " << DisplayName(path, terminal)
            << " mounts a drive that is already being listed (a mount cycle): shown, not "
               "descended into\n";
    };
    ASSIGN_OR_RETURN(entries, d.Readdir(od.path, ro));
    if (a.recursive) RETURN_IF_ERROR(AddImplicitDirectories(d, entries));
    std::sort(entries.begin(), entries.end(),
              [](const auto& x, const auto& y) { return x.name < y.name; });
  } else {
    ASSIGN_OR_RETURN(drive::Stat lst, d.Lstat(od.path));
    std::string name = od.path.substr(od.path.rfind('/') + 1);
    entries.push_back({name, od.path, lst});
  }
  std::string out;
  if (a.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& e : entries) {
      nlohmann::json x = nlohmann::json::object();
      SetJsonText(x, "name", e.name);
      SetJsonText(x, "path", e.path);
      x["stat"] = StatJson(e.stat);
      j.push_back(std::move(x));
    }
    out = DumpJson(j);
  }
  for (const auto& e : a.json ? std::vector<drive::DirEntry>() : entries) {
    if (a.long_format) {
      char line[128];
      std::snprintf(line, sizeof line, "%s %5u %5u %12llu %s ", ModeString(e.stat.mode).c_str(),
                    e.stat.uid, e.stat.gid, static_cast<unsigned long long>(e.stat.size),
                    FormatTime(e.stat.mtime).c_str());
      out += line + DisplayName(e.name, terminal);
      if (e.stat.IsSymlink()) out += " -> " + DisplayName(e.stat.linkname, terminal);
      if (e.stat.mount) out += " (mount of hyper://" + ToHex(e.stat.mount->key) + ")";
      out += "\n";
    } else {
      out += DisplayName(e.name, terminal) + (e.stat.IsDirectory() ? "/" : "") + "\n";
    }
  }
  RETURN_IF_ERROR(Print(out));
  return session->Close();
}

Status Cat(const std::string& storage, const DriveArgs& a) {
  ASSIGN_OR_RETURN(auto session, Session::Open(ResolveStorageRoot(storage), Access::kRead));
  ASSIGN_OR_RETURN(OpenedDrive od, session->OpenUrl(a.url));
  drive::Drive& d = od.drive();
  ASSIGN_OR_RETURN(drive::Stat st, d.GetStat(od.path));
  if (st.IsDirectory()) return Status::IsADirectory(od.path + " is a directory");
  uint64_t start = a.start.value_or(0);
  uint64_t end = std::min(a.end.value_or(st.size), st.size);
  if (start > end) {
    return Status::InvalidArgument("--start " + std::to_string(start) + " is after --end " +
                                   std::to_string(end));
  }
  // Straight from the checked chunks to the descriptor, in large writes (nothing is buffered
  // in stdout before).
  if (!Console::Current().FlushOut()) return Status::FromErrno(errno, "writing to stdout");
  RETURN_IF_ERROR(
      CopyToFd(d, od.path, start, end - start, Console::Current().out_fd(), "to stdout"));
  return session->Close();
}

Status StatCommand(const std::string& storage, const DriveArgs& a) {
  ASSIGN_OR_RETURN(auto session, Session::Open(ResolveStorageRoot(storage), Access::kRead));
  ASSIGN_OR_RETURN(OpenedDrive od, session->OpenUrl(a.url));
  ASSIGN_OR_RETURN(drive::Stat st, od.drive().Lstat(od.path));
  nlohmann::json j = StatJson(st);
  if (a.json) {
    Out() << DumpJson(j);
  } else {
    const bool terminal = StdoutIsTerminal();
    Out() << "path:     " << DisplayName(od.path, terminal) << "\n"
          << "type:     " << j["type"].get<std::string>() << "\n"
          << "mode:     " << ModeString(st.mode) << " (0" << std::oct << (st.mode & 07777)
          << std::dec << ")\n"
          << "size:     " << st.size << "\n"
          << "blocks:   " << st.blocks << " (content blocks " << st.offset << ".."
          << st.offset + st.blocks << ", bytes from " << st.byte_offset << ")\n"
          << "uid/gid:  " << st.uid << "/" << st.gid << "\n"
          << "mtime:    " << FormatTime(st.mtime) << " UTC\n"
          << "ctime:    " << FormatTime(st.ctime) << " UTC\n";
    if (!st.linkname.empty()) {
      Out() << "target:   " << DisplayName(st.linkname, terminal) << "\n";
    }
    if (st.mount) Out() << "mount:    hyper://" << ToHex(st.mount->key) << "\n";
    for (const auto& [k, v] : j["metadata"].items()) {
      Out() << "meta:     " << DisplayName(k, terminal) << " = "
            << v.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace) << "\n";
    }
  }
  return session->Close();
}

Status Put(const std::string& storage, const DriveArgs& a) {
  drive::WriteOptions wo;
  wo.dedup = !a.no_dedup;
  std::string source = a.other.empty() ? "-" : a.other;
  const int stdin_fd = Console::Current().in_fd();
  int fd = stdin_fd;
  if (source != "-") {
    source = Console::Current().Path(source);
    struct stat st;
    if (::stat(source.c_str(), &st) != 0) return Status::FromErrno(errno, source);
    if (S_ISDIR(st.st_mode)) return Status::IsADirectory(source + " is a directory (use import)");
    wo.mode = st.st_mode & 07777;
    wo.mtime = uint64_t(st.st_mtim.tv_sec) * 1000 + uint64_t(st.st_mtim.tv_nsec) / 1000000;
    fd = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "opening " + source);
  }
  struct CloseFd {
    int fd, stdin_fd;
    ~CloseFd() {
      if (fd != stdin_fd) ::close(fd);
    }
  } close_fd{fd, stdin_fd};
  ASSIGN_OR_RETURN(auto session, Session::Open(ResolveStorageRoot(storage)));
  ASSIGN_OR_RETURN(OpenedDrive od, session->OpenWritable(a.url));
  if (od.path == "/") return Status::IsADirectory("give the path of the file inside the drive");
  ASSIGN_OR_RETURN(auto writer, od.head->CreateWriter(od.path, wo));
  RETURN_IF_ERROR(CopyFromFd(fd, *writer, source == "-" ? "stdin" : source, {},
                             od.lock.owns_lock() ? &od.lock : nullptr));
  // A client that went away (Ctrl-C) ended its stdin early: the file is not written, as when
  // the signal ends a local put.
  if (Console::Current().cancelled()) return Status::Cancelled("interrupted; nothing written");
  ASSIGN_OR_RETURN(drive::Stat st, writer->Close());
  (void)st;
  return session->Close();
}

Status RemoveTree(drive::Drive& d, const std::string& path) {
  drive::ReaddirOptions ro;
  ro.recursive = true;
  ASSIGN_OR_RETURN(auto entries, d.Readdir(path, ro));
  // Deepest first, so that every directory is empty when its turn comes.
  std::sort(entries.begin(), entries.end(),
            [](const auto& x, const auto& y) { return x.path > y.path; });
  for (const auto& e : entries) {
    ASSIGN_OR_RETURN(drive::Stat st, d.Lstat(e.path));
    if (st.mount) {
      RETURN_IF_ERROR(d.Unmount(e.path));
    } else if (st.IsDirectory()) {
      Status s = d.Rmdir(e.path);
      if (!s.ok() && s.code() != Code::kNotFound) return s;  // implicit directories vanish
    } else {
      RETURN_IF_ERROR(d.Unlink(e.path));
    }
  }
  Status s = d.Rmdir(path);
  return s.code() == Code::kNotFound ? Status::Ok() : s;
}

Status Rm(const std::string& storage, const DriveArgs& a) {
  ASSIGN_OR_RETURN(auto session, Session::Open(ResolveStorageRoot(storage)));
  ASSIGN_OR_RETURN(OpenedDrive od, session->OpenWritable(a.url));
  drive::Drive& d = *od.head;
  if (od.path == "/") return Status::InvalidArgument("refusing to remove the root of a drive");
  ASSIGN_OR_RETURN(drive::Stat st, d.Lstat(od.path));
  if (st.mount) {
    RETURN_IF_ERROR(d.Unmount(od.path));
  } else if (st.IsDirectory()) {
    if (!a.recursive) return Status::IsADirectory(od.path + " is a directory (use rm -r)");
    RETURN_IF_ERROR(RemoveTree(d, od.path));
  } else {
    RETURN_IF_ERROR(d.Unlink(od.path));
  }
  return session->Close();
}

Status Mkdir(const std::string& storage, const DriveArgs& a) {
  ASSIGN_OR_RETURN(auto session, Session::Open(ResolveStorageRoot(storage)));
  ASSIGN_OR_RETURN(OpenedDrive od, session->OpenWritable(a.url));
  drive::Drive& d = *od.head;
  if (!a.parents) {
    // As mkdir(1): the parent must be there (the drive itself would make it implicitly).
    const std::string parent = od.path.substr(0, std::max<size_t>(od.path.rfind('/'), 1));
    auto parent_st = d.GetStat(parent);
    if (!parent_st.ok() && parent_st.status().code() == Code::kNotFound) {
      return Status::NotFound("no directory " + parent + " (use mkdir -p to make it too)");
    }
    if (!parent_st.ok()) return parent_st.status();
    if (!parent_st->IsDirectory()) return Status::NotADirectory(parent + " is not a directory");
    RETURN_IF_ERROR(d.Mkdir(od.path));
    return session->Close();
  }
  // -p: every missing ancestor, and no error when the directory is there.
  std::string partial;
  size_t pos = 1;
  while (pos <= od.path.size()) {
    size_t slash = od.path.find('/', pos);
    if (slash == std::string::npos) slash = od.path.size();
    partial = od.path.substr(0, slash);
    pos = slash + 1;
    auto st = d.GetStat(partial);
    if (st.ok()) {
      if (!st->IsDirectory()) return Status::NotADirectory(partial + " is not a directory");
      continue;
    }
    if (st.status().code() != Code::kNotFound) return st.status();
    RETURN_IF_ERROR(d.Mkdir(partial));
  }
  return session->Close();
}

Status Rmdir(const std::string& storage, const DriveArgs& a) {
  ASSIGN_OR_RETURN(auto session, Session::Open(ResolveStorageRoot(storage)));
  ASSIGN_OR_RETURN(OpenedDrive od, session->OpenWritable(a.url));
  RETURN_IF_ERROR(od.head->Rmdir(od.path));
  return session->Close();
}

// mv <url> <url>: both name the same drive (the second may name no version).
Status Mv(const std::string& storage, const DriveArgs& a) {
  ASSIGN_OR_RETURN(HyperUrl to, ParseHyperUrl(a.other));
  if (to.version) {
    return Status::InvalidArgument("'" + a.other + "': the destination cannot name a version");
  }
  ASSIGN_OR_RETURN(auto session, Session::Open(ResolveStorageRoot(storage)));
  ASSIGN_OR_RETURN(OpenedDrive od, session->OpenWritable(a.url));
  if (to.key != od.head->key()) {
    return Status::InvalidArgument(
        "mv moves within one drive: both URLs must name the same drive (copy between drives "
        "with export and import)");
  }
  RETURN_IF_ERROR(od.head->Rename(od.path, to.path));
  return session->Close();
}

Status Ln(const std::string& storage, const DriveArgs& a) {
  if (!a.symbolic) return Status::Unsupported("drives have no hard links: use ln -s");
  ASSIGN_OR_RETURN(auto session, Session::Open(ResolveStorageRoot(storage)));
  // ln -s <target> <url>: `url` was parsed into a.other by position; see AddDriveCommands.
  ASSIGN_OR_RETURN(OpenedDrive od, session->OpenWritable(a.other));
  RETURN_IF_ERROR(od.head->Symlink(a.url, od.path));
  return session->Close();
}

Result<crypto::PublicKey> ParseKeyOrUrl(const std::string& text) {
  ASSIGN_OR_RETURN(HyperUrl url, ParseHyperUrl(text));
  if (url.path != "/" || url.version) {
    return Status::InvalidArgument(
        "'" + text +
        "': give the drive's key (or its hyper:// URL) alone; use --version for a version");
  }
  return url.key;
}

Status MountCommand(const std::string& storage, const DriveArgs& a) {
  if (IsLocalPath(a.url)) {
    // mount <path> [key]: a new drive when no key is given (as the reference's CLI).
    std::optional<crypto::PublicKey> key;
    if (!a.other.empty()) {
      ASSIGN_OR_RETURN(key, ParseKeyOrUrl(a.other));
    }
    ASSIGN_OR_RETURN(MountPath where, MountTargetOf(storage, a.url, "mount"));
    return MountAt(storage, where, key, a.version, a.seed);
  }
  if (a.other.empty()) {
    return Status::InvalidArgument("mount " + a.url + ": give the key of the drive to mount");
  }
  if (a.seed) return Status::InvalidArgument("--seed is for mount <path> (under the mountpoint)");
  ASSIGN_OR_RETURN(crypto::PublicKey key, ParseKeyOrUrl(a.other));
  ASSIGN_OR_RETURN(auto session, Session::Open(ResolveStorageRoot(storage)));
  ASSIGN_OR_RETURN(OpenedDrive od, session->OpenWritable(a.url));
  if (key == od.head->key()) return Status::Loop("a drive cannot be mounted inside itself");
  drive::MountOptions mo;
  mo.version = a.version;
  RETURN_IF_ERROR(od.head->Mount(od.path, key, mo));
  return session->Close();
}

Status Unmount(const std::string& storage, const DriveArgs& a) {
  ASSIGN_OR_RETURN(auto local, MountPathOf(storage, a.url));
  if (local && !local->network && local->in_root == "/") {
    return Status::InvalidArgument("'" + a.url +
                                   "' is the mountpoint of the root drive: `hyperdrive stop` "
                                   "unmounts it");
  }
  ASSIGN_OR_RETURN(auto session, Session::Open(ResolveStorageRoot(storage)));
  {
    ASSIGN_OR_RETURN(OpenedDrive od, session->OpenWritable(local ? local->url : a.url));
    RETURN_IF_ERROR(od.head->Unmount(od.path));
  }
  if (local) Out() << "unmounted " << DisplayName(local->local, StdoutIsTerminal()) << "\n";
  return session->Close();
}

// Where a path under the mountpoint lies: the drive it is in (the innermost mount at or above
// it) and where that drive is mounted.
struct PathDrive {
  std::string url;     // the drive (and version) the path lies in
  std::string local;   // where that drive shows on this machine
  bool mount = false;  // the path is a mount point (or the root drive's mountpoint)
};

Result<PathDrive> DriveOfPath(const std::string& storage, const MountPath& where) {
  PathDrive out;
  if (where.network) {
    // Network/<key>[+version][/path]: that drive, shown at Network/<name>.
    ASSIGN_OR_RETURN(HyperUrl url, ParseHyperUrl(where.url));
    out.url = FormatUrl(url.key) + (url.version ? "+" + *url.version : "");
    out.local = where.local.substr(0, where.local.size() - (url.path == "/" ? 0 : url.path.size()));
    out.mount = url.path == "/";
    return out;
  }
  ASSIGN_OR_RETURN(auto session, Session::Open(ResolveStorageRoot(storage), Access::kRead));
  const std::string root_url = where.url.substr(0, 8 + 64);
  ASSIGN_OR_RETURN(OpenedDrive root, session->OpenUrl(root_url));
  std::string prefix = where.in_root;
  while (prefix != "/") {
    auto st = root.drive().Lstat(prefix);
    if (!st.ok() && st.status().code() != Code::kNotFound) return st.status();
    if (st.ok() && st->mount) {
      out.url = "hyper://" + ToHex(st->mount->key) +
                (st->mount->version ? "+" + std::to_string(*st->mount->version) : "");
      out.local =
          where.local.substr(0, where.local.size() - (where.in_root.size() - prefix.size()));
      out.mount = prefix == where.in_root;
      RETURN_IF_ERROR(session->Close());
      return out;
    }
    prefix = prefix.substr(0, std::max<size_t>(1, prefix.rfind('/')));
  }
  out.url = root_url;
  out.local =
      where.local.substr(0, where.local.size() - (where.in_root == "/" ? 0 : where.in_root.size()));
  out.mount = where.in_root == "/";
  RETURN_IF_ERROR(session->Close());
  return out;
}

Status Info(const std::string& storage, const DriveArgs& a) {
  ASSIGN_OR_RETURN(auto local, MountPathOf(storage, a.url));
  std::optional<PathDrive> at;
  if (local) {
    ASSIGN_OR_RETURN(at, DriveOfPath(storage, *local));
  }
  ASSIGN_OR_RETURN(auto session, Session::Open(ResolveStorageRoot(storage), Access::kRead));
  ASSIGN_OR_RETURN(OpenedDrive od, session->OpenUrl(at ? at->url : a.url));
  drive::Drive& d = od.drive();
  drive::ReaddirOptions ro;
  ro.recursive = true;
  ro.no_mounts = true;
  ASSIGN_OR_RETURN(auto entries, d.Readdir("/", ro));
  uint64_t files = 0, bytes = 0;
  for (const auto& e : entries) {
    if (!e.stat.IsDirectory() && !e.stat.IsSymlink()) {
      files++;
      bytes += e.stat.size;
    }
  }
  ASSIGN_OR_RETURN(auto mounts, d.GetAllMounts());
  ASSIGN_OR_RETURN(auto tags, od.head->GetAllTags());
  nlohmann::json j = {{"url", FormatUrl(d.key())},
                      {"key", ToHex(d.key())},
                      {"discoveryKey", ToHex(d.discovery_key())},
                      {"version", d.version()},
                      {"writable", d.writable() && !d.is_checkout()},
                      {"files", files},
                      {"bytes", bytes}};
  j["contentKey"] = d.content_key() ? nlohmann::json(ToHex(*d.content_key())) : nlohmann::json();
  j["mounts"] = nlohmann::json::array();
  for (const auto& m : mounts) {
    if (m.path == "/") continue;
    nlohmann::json x = {{"key", ToHex(m.metadata_key)}};
    SetJsonText(x, "path", m.path);
    j["mounts"].push_back(std::move(x));
  }
  j["tags"] = nlohmann::json::object();
  for (const auto& [name, version] : tags) j["tags"][name] = version;
  if (at) {
    SetJsonText(j, "mountpoint", at->local);
    j["isMount"] = at->mount;
  }
  if (a.json) {
    Out() << DumpJson(j);
  } else {
    Out() << "url:           " << j["url"].get<std::string>() << "\n"
          << "discovery key: " << j["discoveryKey"].get<std::string>() << "\n"
          << "content key:   "
          << (j["contentKey"].is_null() ? "(not local)" : j["contentKey"].get<std::string>())
          << "\n"
          << "version:       " << d.version() << "\n"
          << "writable:      " << (j["writable"].get<bool>() ? "yes" : "no") << "\n"
          << "files:         " << files << "\n"
          << "bytes:         " << bytes << "\n";
    if (at) {
      Out() << "mounted at:    " << DisplayName(at->local, StdoutIsTerminal())
            << (at->mount ? "" : " (the path lies inside it)") << "\n";
    }
    for (const auto& m : j["mounts"]) {
      Out() << "mount:         " << DisplayName(m["path"].get<std::string>(), StdoutIsTerminal())
            << " -> hyper://" << m["key"].get<std::string>() << "\n";
    }
    for (const auto& [name, version] : tags) {
      Out() << "tag:           " << DisplayName(name, StdoutIsTerminal()) << " = " << version
            << "\n";
    }
  }
  return session->Close();
}

std::string ShowPath(const std::string& key) { return "/" + key; }

// '+' for what the newer version has (a put, a mount), '-' for what it lost.
const char* ChangeSign(const drive::DiffEntry& e) {
  return e.type == drive::DiffEntry::Type::kPut || e.type == drive::DiffEntry::Type::kMount ? "+ "
                                                                                            : "- ";
}

std::string Describe(const drive::DiffEntry& e) {
  if (e.type == drive::DiffEntry::Type::kUnmount) return "unmount";
  if (e.type == drive::DiffEntry::Type::kDel || !e.value) return "del";
  const drive::Stat& st = *e.value;
  if (st.mount || e.type == drive::DiffEntry::Type::kMount) return "mount";
  if (st.IsDirectory()) return "mkdir";
  if (st.IsSymlink()) return "symlink";
  return "put " + std::to_string(st.size);
}

nlohmann::json ChangeJson(const drive::DiffEntry& e) {
  nlohmann::json x = {{"type", e.type_name()}};
  SetJsonText(x, "name", ShowPath(e.name));
  if (e.value) x["stat"] = StatJson(*e.value);
  return x;
}

// Drops the puts (and mounts) whose Stat is the one `older` already has: hypertrie records a
// deletion by writing a copy of a neighbouring node, which a trie diff reports as a change of
// that key (a copied mount node as a mount).
Result<std::vector<drive::DiffEntry>> RealChanges(const drive::Drive& older,
                                                  std::vector<drive::DiffEntry> diff) {
  std::vector<drive::DiffEntry> out;
  for (auto& e : diff) {
    const bool adds =
        e.type == drive::DiffEntry::Type::kPut || e.type == drive::DiffEntry::Type::kMount;
    if (adds && e.value) {
      auto before = older.Lstat(ShowPath(e.name));
      if (before.ok() && *before == *e.value) continue;
    }
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.name < y.name; });
  return out;
}

// A hypertrie deletion is written as a copy of a neighbouring node, so the log compares each
// version with the one before it instead of reading the nodes themselves.
Status Log(const std::string& storage, const DriveArgs& a) {
  ASSIGN_OR_RETURN(auto session, Session::Open(ResolveStorageRoot(storage), Access::kRead));
  ASSIGN_OR_RETURN(OpenedDrive od, session->OpenUrl(a.url));
  drive::Drive& d = od.drive();
  const bool terminal = StdoutIsTerminal();
  std::string out;
  nlohmann::json j = nlohmann::json::array();
  ASSIGN_OR_RETURN(auto before, d.Checkout(1));
  for (uint64_t v = 2; v <= d.version(); v++) {
    ASSIGN_OR_RETURN(auto at, d.Checkout(v));
    ASSIGN_OR_RETURN(auto raw, at->Diff(v - 1, od.path));
    ASSIGN_OR_RETURN(auto diff, RealChanges(*before, std::move(raw)));
    before = std::move(at);
    for (const auto& e : diff) {
      if (a.json) {
        nlohmann::json x = ChangeJson(e);
        x["version"] = v;
        j.push_back(std::move(x));
        continue;
      }
      out += std::to_string(v) + " " + Describe(e) + " " + DisplayName(ShowPath(e.name), terminal) +
             "\n";
    }
    if (out.size() > (1 << 16)) {
      RETURN_IF_ERROR(Print(out));
      out.clear();
    }
  }
  if (a.json) out = DumpJson(j);
  RETURN_IF_ERROR(Print(out));
  return session->Close();
}

Status Diff(const std::string& storage, const DriveArgs& a) {
  ASSIGN_OR_RETURN(auto session, Session::Open(ResolveStorageRoot(storage), Access::kRead));
  ASSIGN_OR_RETURN(OpenedDrive od, session->OpenUrl(a.url));
  drive::Drive* newer = &od.drive();
  std::unique_ptr<drive::Drive> to;
  if (a.to) {
    if (*a.to == 0 || *a.to > od.head->version()) {
      return Status::OutOfRange("--to " + std::to_string(*a.to) +
                                " does not exist (the drive is at " +
                                std::to_string(od.head->version()) + ")");
    }
    ASSIGN_OR_RETURN(to, od.head->Checkout(*a.to));
    newer = to.get();
  }
  if (!a.from || *a.from > od.head->version()) {
    return Status::OutOfRange("--from must be a version of the drive (1.." +
                              std::to_string(od.head->version()) + ")");
  }
  ASSIGN_OR_RETURN(auto raw, newer->Diff(*a.from, od.path));
  ASSIGN_OR_RETURN(auto older, od.head->Checkout(*a.from == 0 ? 1 : *a.from));
  ASSIGN_OR_RETURN(auto diff, RealChanges(*older, std::move(raw)));
  std::string out;
  if (a.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& e : diff) j.push_back(ChangeJson(e));
    out = DumpJson(j);
  } else {
    const bool terminal = StdoutIsTerminal();
    for (const auto& e : diff) {
      out += std::string(ChangeSign(e)) + Describe(e) + " " +
             DisplayName(ShowPath(e.name), terminal) + "\n";
    }
  }
  RETURN_IF_ERROR(Print(out));
  return session->Close();
}

// A tag is used in URLs (hyper://<key>+<tag>/path), which are not escaped: letters, digits and
// . _ ~ - only, not all digits (that reads as a version), at most 100 characters.
Status CheckTagName(const std::string& name) {
  if (name.empty()) return Status::InvalidArgument("a tag needs a name");
  if (name.size() > 100) return Status::InvalidArgument("a tag name has at most 100 characters");
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '~' || c == '-';
    if (!ok) {
      return Status::InvalidArgument(
          "tag " + DisplayName(name, false) +
          " cannot be used in a URL: use letters, digits and . _ ~ - only");
    }
  }
  if (std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Status::InvalidArgument("a tag name cannot be a number (it would read as a version)");
  }
  return Status::Ok();
}

Status Tag(const std::string& storage, const DriveArgs& a) {
  RETURN_IF_ERROR(CheckTagName(a.other));
  ASSIGN_OR_RETURN(auto session, Session::Open(ResolveStorageRoot(storage)));
  ASSIGN_OR_RETURN(OpenedDrive od, session->OpenWritable(a.url));
  if (a.version && (*a.version == 0 || *a.version > od.head->version())) {
    return Status::OutOfRange("version " + std::to_string(*a.version) +
                              " does not exist (the drive is at " +
                              std::to_string(od.head->version()) + ")");
  }
  const uint64_t version = a.version.value_or(od.head->version());
  auto existing = od.head->GetTaggedVersion(a.other);
  if (existing.ok()) {
    if (*existing == version) return session->Close();  // already so
    if (!a.force) {
      return Status::Exists("tag " + a.other + " is version " + std::to_string(*existing) +
                            " (use --force to move it to " + std::to_string(version) + ")");
    }
  } else if (existing.status().code() != Code::kNotFound) {
    return existing.status();
  }
  RETURN_IF_ERROR(od.head->CreateTag(a.other, version));
  return session->Close();
}

Status Tags(const std::string& storage, const DriveArgs& a) {
  ASSIGN_OR_RETURN(auto session, Session::Open(ResolveStorageRoot(storage), Access::kRead));
  ASSIGN_OR_RETURN(OpenedDrive od, session->OpenUrl(a.url));
  ASSIGN_OR_RETURN(auto tags, od.head->GetAllTags());
  std::string out;
  if (a.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& [name, version] : tags) {
      nlohmann::json x = nlohmann::json::object();
      SetJsonText(x, "name", name);
      x["version"] = version;
      j.push_back(std::move(x));
    }
    out = DumpJson(j);
  } else {
    const bool terminal = StdoutIsTerminal();
    for (const auto& [name, version] : tags) {
      out += DisplayName(name, terminal) + " " + std::to_string(version) + "\n";
    }
  }
  RETURN_IF_ERROR(Print(out));
  return session->Close();
}

Status Drives(const std::string& storage, bool json) {
  ASSIGN_OR_RETURN(auto session, Session::Open(ResolveStorageRoot(storage), Access::kRead));
  ASSIGN_OR_RETURN(auto keys, session->ListDrives());
  std::string out;
  if (json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& k : keys) j.push_back({{"url", FormatUrl(k)}, {"key", ToHex(k)}});
    out = DumpJson(j);
  } else {
    for (const auto& k : keys) out += FormatUrl(k) + "\n";
  }
  RETURN_IF_ERROR(Print(out));
  return session->Close();
}

}  // namespace

void AddDriveCommands(CLI::App& app, const std::string& storage, DriveArgs& a, Action* action) {
  auto set = [action](const Action& act) { return [action, act] { *action = act; }; };
  const std::string url_help = "hyper://<key>[+version|+tag]/path";
  // --peer HOST:PORT: fetch what the command reads from a peer first (net_commands.cc).
  auto peer_options = [&a](CLI::App* cmd) {
    cmd->add_option("--peer", a.peer,
                    "Fetch what is read from this peer (HOST:PORT) first and store it (refused "
                    "while another process writes to the store, such as a seed of it). Without "
                    "it, a drive not held whole here is looked up on the DHT by its key")
        ->check(PeerAddressValidator());
    AddSecondsOption(cmd, "--timeout", a.timeout,
                     "Seconds to find a peer, and that a peer may stay silent (default 10)");
    AddDiscoveryOptions(cmd, a.discovery);
  };
  auto with_peer = [&storage, &a](PeerFetch::For what, const Action& act) -> Action {
    return [&storage, &a, what, act]() -> Status {
      if (ScopedDaemonHost::Current() != nullptr) {
        // In the daemon: its own swarm fetches what a read needs from the peers of drives it
        // has on the network (`hyperdrive seed`); it dials no peer for one command.
        if (!a.peer.empty()) {
          return Status::Unsupported(
              "--peer does not work while a daemon runs on the store: the daemon fetches from "
              "the peers it finds (`hyperdrive seed URL` puts a drive on its network), or "
              "`hyperdrive stop` it first");
        }
        return act();
      }
      // Without --peer: the DHT, for a drive not held whole here (when there is a DHT to ask).
      const bool discover = a.peer.empty() && DiscoveryConfigured(a.discovery) &&
                            NeedsPeers(ResolveStorageRoot(storage), a.url);
      if (!a.peer.empty() || discover) {
        PeerFetch f;
        f.what = what;
        f.peer = a.peer;
        f.discovery = a.discovery;
        f.timeout = a.timeout;
        f.start = a.start;
        f.end = a.end;
        RETURN_IF_ERROR(FetchFromPeer(storage, a.url, f));
      }
      return act();
    };
  };

  auto create = app.add_subcommand(
      "create",
      "Create a new empty drive; print its URL. With a path under the mountpoint of the root "
      "drive: mount it there too, and seed it through the daemon (unless --no-seed)");
  create->add_option("path", a.url, "Where to mount it (under the mountpoint)");
  create->add_flag("--no-seed", a.no_seed, "With a path: do not seed the new drive");
  create->callback(set([&storage, &a] { return Create(storage, a); }));

  auto imp = app.add_subcommand(
      "import",
      "Copy a folder into a new drive (or into the writable drive at <url>): only what changed is "
      "written, and what was removed from the folder is removed from the drive");
  imp->add_option("dir", a.other, "The folder")->required();
  imp->add_option("url", a.url, "A writable drive (and a folder inside it)");
  imp->add_flag("--dry-run", a.dry_run,
                "List what would be added, changed and removed; write nothing");
  imp->add_flag("--checksum", a.checksum,
                "Compare the content of every file of the same size, even when its mtime matches");
  imp->add_flag("--no-dedup", a.no_dedup,
                "Append every file's content, even when the drive already holds the same bytes "
                "(by default such a file points at the blocks it has: docs/dedup.md)");
  imp->add_flag("--watch", a.watch,
                "After the import, keep watching the folder (inotify) and import each burst of "
                "changes (new, changed and removed entries) once it settles, printing a summary "
                "line each time, until Ctrl-C (exit 0; an import in progress stops between two "
                "files). With a daemon running, the daemon imports and Ctrl-C stops it there");
  imp->callback(set([&storage, &a] {
    ImportOptions options;
    options.dry_run = a.dry_run;
    options.checksum = a.checksum;
    options.no_dedup = a.no_dedup;
    if (a.watch) return WatchImport(storage, a.other, a.url, options);
    return ImportFolder(storage, a.other, a.url, options);
  }));

  auto exp =
      app.add_subcommand("export", "Copy a drive (or a folder of it, at any version) to a folder");
  exp->add_option("url", a.url, url_help)->required();
  exp->add_option("dir", a.other, "The destination folder (default: ./<key>)");
  exp->add_flag("--follow", a.follow,
                "After the export, follow the drive: write what is added or changed (atomically: "
                "a temporary file renamed into place) and remove what is removed, at each new "
                "version, until Ctrl-C (exit 0). New versions come from other commands and "
                "clients of a running daemon, or from peers: when the daemon has the drive on the "
                "network (`hyperdrive seed URL`), or, without a daemon, for a drive written "
                "elsewhere, from --peer or the peers found by its key. The URL names no version");
  peer_options(exp);
  exp->callback(set(with_peer(PeerFetch::For::kExport, [&storage, &a] {
    if (a.follow) return FollowExport(storage, a.url, a.other, {a.peer, a.discovery, a.timeout});
    return ExportDrive(storage, a.url, a.other);
  })));

  auto ls = app.add_subcommand("ls", "List a directory");
  ls->add_option("url", a.url, url_help)->required();
  ls->add_flag("-l", a.long_format, "Long format: mode, uid, gid, size, mtime");
  ls->add_flag("-R", a.recursive,
               "Recursive: everything below, implicit directories included; symlinks are listed, "
               "not followed; a mount cycle is shown, not descended into (with a warning)");
  ls->add_flag("--json", a.json,
               "Print JSON (an array of {name, path, stat}): the exact names, for scripts");
  peer_options(ls);
  ls->callback(set(with_peer(PeerFetch::For::kLs, [&storage, &a] { return Ls(storage, a); })));

  auto cat = app.add_subcommand("cat", "Write a file (or a byte range of it) to stdout");
  cat->add_option("url", a.url, url_help)->required();
  AddNumberOption(cat, "--start", a.start, "First byte (default 0)");
  AddNumberOption(cat, "--end", a.end, "Byte after the last (default: the end)");
  peer_options(cat);
  cat->callback(set(with_peer(PeerFetch::For::kCat, [&storage, &a] { return Cat(storage, a); })));

  auto stat = app.add_subcommand("stat", "Show every Stat field of a path (symlinks not followed)");
  stat->add_option("url", a.url, url_help)->required();
  stat->add_flag("--json", a.json, "Print JSON");
  peer_options(stat);
  stat->callback(
      set(with_peer(PeerFetch::For::kStat, [&storage, &a] { return StatCommand(storage, a); })));

  auto put = app.add_subcommand("put", "Write a file (or stdin) to a path of a writable drive");
  put->add_option("url", a.url, url_help)->required();
  put->add_option("file", a.other, "The file to read, - for stdin (default)");
  put->add_flag("--no-dedup", a.no_dedup,
                "Append the content even when the drive already holds a file of the same bytes "
                "(by default the new file points at its blocks: docs/dedup.md)");
  put->callback(set([&storage, &a] { return Put(storage, a); }));

  auto rm =
      app.add_subcommand("rm", "Remove a file, symlink or mount (-r: a directory and all in it)");
  rm->add_option("url", a.url, url_help)->required();
  rm->add_flag("-r", a.recursive, "Recursive");
  rm->callback(set([&storage, &a] { return Rm(storage, a); }));

  auto mkdir = app.add_subcommand("mkdir", "Make a directory");
  mkdir->add_option("url", a.url, url_help)->required();
  mkdir->add_flag("-p", a.parents,
                  "Make parents as needed; no error if it exists (without -p the parent must "
                  "exist)");
  mkdir->callback(set([&storage, &a] { return Mkdir(storage, a); }));

  auto rmdir = app.add_subcommand("rmdir", "Remove an empty directory");
  rmdir->add_option("url", a.url, url_help)->required();
  rmdir->callback(set([&storage, &a] { return Rmdir(storage, a); }));

  auto mv = app.add_subcommand(
      "mv",
      "Move a file, symlink, mount or directory within a drive, in one version (as rename(2): a "
      "file replaces a file, a directory an empty directory)");
  mv->add_option("from", a.url, "What to move: hyper://<key>/path")->required();
  mv->add_option("to", a.other, "Where: hyper://<same key>/path")->required();
  mv->callback(set([&storage, &a] { return Mv(storage, a); }));

  auto ln = app.add_subcommand("ln", "Make a symbolic link: ln -s <target> <url>");
  ln->add_flag("-s", a.symbolic, "Symbolic (the only kind drives have)");
  ln->add_option("target", a.url, "What the link points to")->required();
  ln->add_option("link", a.other, "The link: " + url_help)->required();
  ln->callback(set([&storage, &a] { return Ln(storage, a); }));

  auto mount = app.add_subcommand(
      "mount",
      "Mount another drive at a path of a writable drive: a URL, or a path under the mountpoint "
      "of the root drive (then a new drive when no key is given)");
  mount->add_option("url", a.url, "Where: " + url_help + ", or a path under the mountpoint")
      ->required();
  mount->add_option("key", a.other, "The drive to mount: its key or hyper:// URL");
  mount->add_flag("--seed", a.seed, "With a path: seed the mounted drive through the daemon");
  AddNumberOption(mount, "--version", a.version,
                  "Mount this version (default: live); it must exist", 1);
  mount->callback(set([&storage, &a] { return MountCommand(storage, a); }));

  auto unmount =
      app.add_subcommand("unmount", "Remove a mount (a URL, or a path under the mountpoint)");
  unmount->add_option("url", a.url, url_help + ", or a path under the mountpoint")->required();
  unmount->callback(set([&storage, &a] { return Unmount(storage, a); }));

  auto info = app.add_subcommand(
      "info",
      "Key, discovery key, version, files, bytes, content key, mounts, tags; for a path under "
      "the mountpoint, of the drive it lies in and where that drive is mounted");
  info->add_option("url", a.url, url_help + ", or a path under the mountpoint")->required();
  info->add_flag("--json", a.json, "Print JSON");
  info->callback(set([&storage, &a] { return Info(storage, a); }));

  auto log = app.add_subcommand("log", "What each version changed");
  log->add_option("url", a.url, url_help)->required();
  log->add_flag("--json", a.json, "Print JSON (an array of {version, type, name, stat})");
  log->callback(set([&storage, &a] { return Log(storage, a); }));

  auto diff =
      app.add_subcommand("diff", "What changed between two versions (below the URL's path)");
  diff->add_option("url", a.url, url_help)->required();
  AddNumberOption(diff, "--from", a.from, "The older version")->required();
  AddNumberOption(diff, "--to", a.to, "The newer version (default: the latest)", 1);
  diff->add_flag("--json", a.json, "Print JSON");
  diff->callback(set([&storage, &a] { return Diff(storage, a); }));

  auto tag = app.add_subcommand("tag", "Name a version (use it as hyper://<key>+<name>)");
  tag->add_option("url", a.url, url_help)->required();
  tag->add_option("name", a.other,
                  "The tag: letters, digits and . _ ~ - (it is used in URLs), not a number")
      ->required();
  tag->add_flag("--force", a.force, "Move the tag when it already names another version");
  AddNumberOption(tag, "--version", a.version, "The version to tag (default: the latest)", 1);
  tag->callback(set([&storage, &a] { return Tag(storage, a); }));

  auto tags = app.add_subcommand("tags", "Every tag of a drive and its version");
  tags->add_option("url", a.url, url_help)->required();
  tags->add_flag("--json", a.json, "Print JSON (an array of {name, version})");
  tags->callback(set([&storage, &a] { return Tags(storage, a); }));

  auto drives = app.add_subcommand("drives", "The drives in the store, one URL a line");
  drives->add_flag("--json", a.json, "Print JSON (an array of {url, key})");
  drives->callback(set([&storage, &a] { return Drives(storage, a.json); }));
}

}  // namespace hyper::cli
