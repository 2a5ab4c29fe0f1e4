#include "hyper/corestore/storage_root.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <system_error>

#include "hyper/corestore/leaf_index.h"
#include "store_lock.h"

namespace hyper::corestore {
namespace {

namespace fs = std::filesystem;

constexpr char kMasterKey[] = "master_key";

bool IsHex(const std::string& name, size_t length) {
  if (name.size() != length) return false;
  for (char c : name) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool IsRegularFile(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::FromErrno(errno, "reading " + path);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::IOError("reading " + path);
  return bytes;
}

// "a/b": one allocation.
std::string JoinPath(std::string a, std::string_view b) {
  a += '/';
  a += b;
  return a;
}

Status FsError(const std::error_code& ec, const std::string& what) {
  return Status::FromErrno(ec.value(), what);
}

// The core folders "ab/cd/<64 hex>" under `dir`, as the corestore lays them out; anything
// else there is not ours and stays.
Result<std::vector<std::string>> CoreFolders(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator a(dir, ec), end; !ec && a != end; a.increment(ec)) {
    const std::string an = a->path().filename().string();
    if (!IsHex(an, 2) || !a->is_directory()) continue;
    for (fs::directory_iterator b(a->path(), ec); !ec && b != end; b.increment(ec)) {
      const std::string bn = b->path().filename().string();
      if (!IsHex(bn, 2) || !b->is_directory()) continue;
      for (fs::directory_iterator c(b->path(), ec); !ec && c != end; c.increment(ec)) {
        const std::string cn = c->path().filename().string();
        if (IsHex(cn, 64) && cn.compare(0, 2, an) == 0 && cn.compare(2, 2, bn) == 0 &&
            c->is_directory()) {
          out.push_back(JoinPath(JoinPath(an, bn), cn));
        }
      }
      if (ec) break;
    }
    if (ec) break;
  }
  if (ec) return FsError(ec, "listing the store " + dir);
  return out;
}

Status Rename(const std::string& from, const std::string& to) {
  if (std::rename(from.c_str(), to.c_str()) != 0) {
    return Status::FromErrno(errno, "moving " + from + " to " + to);
  }
  return Status::Ok();
}

}  // namespace

std::string CoresDirectory(const std::string& root) { return root + "/storage/cores"; }
std::string StateDbDirectory(const std::string& root) { return root + "/storage/db"; }
std::string ConfigFile(const std::string& root) { return root + "/config.json"; }

Result<LegacyMove> MoveLegacyStore(const std::string& root) {
  const std::string cores = CoresDirectory(root);
  std::vector<std::string> found;
  for (const std::string& dir : {root, root + "/storage"}) {
    if (IsRegularFile(dir + "/" + kMasterKey)) found.push_back(dir);
  }
  if (found.empty()) return LegacyMove{};
  // A root that is itself the cores folder of another root (".../storage/cores", as a user who
  // gave the store's folder before might): its store is in place already, for that root.
  fs::path given = fs::path(root).lexically_normal();
  if (!given.has_filename()) given = given.parent_path();
  if (found[0] == root && given.filename() == "cores" &&
      given.parent_path().filename() == "storage") {
    const std::string outer = given.parent_path().parent_path().string();
    return Status::InvalidArgument(root + " is the store of the storage root " + outer +
                                   ": give --storage " + outer);
  }
  if (found.size() > 1) {
    return Status::Exists("two stores laid out before, in " + found[0] + " and " + found[1] +
                          ": move one of them away (each holds its own master key)");
  }
  LegacyMove move;
  move.from = found[0];
  const std::string holder = "moving this store into " + cores;
  // No process may use either place while the cores change places.
  ASSIGN_OR_RETURN(auto old_lock, StoreLock::Acquire(move.from, Access::kWrite, holder));
  std::error_code ec;
  fs::create_directories(cores, ec);
  if (ec) return FsError(ec, "creating " + cores);
  ASSIGN_OR_RETURN(auto new_lock, StoreLock::Acquire(cores, Access::kWrite, holder));
  // Another process may have finished the move while this one waited for nothing (the locks
  // never wait): look again.
  const std::string old_key = move.from + "/" + kMasterKey;
  if (!IsRegularFile(old_key)) return LegacyMove{};

  // Cores named in one store derive their keys from its master key: never mix two stores.
  const std::string new_key = cores + "/" + kMasterKey;
  if (IsRegularFile(new_key)) {
    ASSIGN_OR_RETURN(std::string a, ReadSmallFile(old_key));
    ASSIGN_OR_RETURN(std::string b, ReadSmallFile(new_key));
    if (a != b) {
      return Status::Exists("the store laid out before in " + move.from + " and the store in " +
                            cores + " have different master keys: move one of them away");
    }
  }
  ASSIGN_OR_RETURN(std::vector<std::string> folders, CoreFolders(move.from));
  for (const std::string& folder : folders) {
    if (fs::exists(JoinPath(cores, folder), ec)) {
      std::string message = "the core " + folder;
      message += " is both in " + move.from;
      message += " and in " + cores;
      message += ": move one of them away";
      return Status::Exists(std::move(message));
    }
  }
  for (const std::string& folder : folders) {
    const std::string to = JoinPath(cores, folder);
    fs::create_directories(fs::path(to).parent_path(), ec);
    if (ec) return FsError(ec, "creating " + fs::path(to).parent_path().string());
    RETURN_IF_ERROR(Rename(JoinPath(move.from, folder), to));
    move.entries.push_back(folder);
    // The emptied "ab/cd" and "ab" folders go; one that still holds something stays.
    fs::path parent = fs::path(JoinPath(move.from, folder)).parent_path();
    ::rmdir(parent.c_str());
    ::rmdir(parent.parent_path().c_str());
  }
  // The old place's dedup index goes: cores it does not cover are indexed when opened, and a
  // store without one rebuilds it (docs/dedup.md).
  fs::remove(JoinPath(move.from, kLeafIndexFile), ec);
  // Last: until this rename the old place still says there is something to move.
  RETURN_IF_ERROR(Rename(old_key, new_key));
  move.entries.emplace_back(kMasterKey);
  return move;
}

}  // namespace hyper::corestore
