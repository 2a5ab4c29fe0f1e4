#include "store.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <vector>

#include "hyper/corestore/storage_root.h"
#include "hyper/drive/drive.h"

namespace hyper::cli {

std::string ResolveStorageRoot(const std::string& flag) {
  if (!flag.empty()) return flag;
  // Set but empty is unset, as for HOME, TMPDIR and most variables that name a folder: an
  // `export HYPERDRIVE_STORAGE=` clears it.
  if (const char* env = std::getenv("HYPERDRIVE_STORAGE"); env && *env) return env;
  const char* home = std::getenv("HOME");
  if (!home || !*home) return "";
  return std::string(home) + "/.hyperdrive";
}

std::string CheckStorageFlag(const std::string& value) {
  if (value.empty())
    return "the storage root must not be empty (leave --storage out for the default)";
  return "";
}

namespace {

// "hyperdrive seed hyper://…": how this process was started, for the Busy errors of others.
std::string CommandLine() {
  constexpr size_t kMax = 200;
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (size_t i = 0; i < raw.size();) {
    size_t end = raw.find('\0', i);
    if (end == std::string::npos) end = raw.size();
    args.push_back(raw.substr(i, end - i));
    i = end + 1;
  }
  if (args.empty()) return "hyperdrive";
  args[0] = args[0].substr(args[0].rfind('/') + 1);
  std::string out;
  for (const auto& a : args) {
    if (!out.empty()) out += ' ';
    for (char c : a) out += (c == '\n' || c == '\r' || c == '\0') ? ' ' : c;
  }
  if (out.size() > kMax) out = out.substr(0, kMax) + "...";
  return out;
}

}  // namespace

Result<std::unique_ptr<corestore::Corestore>> OpenStore(const std::string& root, Access access) {
  if (root.empty()) {
    // Never a store in the working directory by surprise.
    return Status::InvalidArgument(
        "no storage root: HOME is not set; give --storage DIR or set HYPERDRIVE_STORAGE");
  }
  const std::string dir = corestore::CoresDirectory(root);
  auto moved = corestore::MoveLegacyStore(root);
  if (!moved.ok()) return moved.status().Annotate("moving the store into " + dir);
  if (!moved->entries.empty()) {
    const size_t cores = moved->entries.size() - 1;  // the last entry is the master key
    std::fprintf(stderr,
                 "hyperdrive: moved the store laid out before in %s into %s (%zu core%s and its "
                 "master key)\n",
                 moved->from.c_str(), dir.c_str(), cores, cores == 1 ? "" : "s");
  }
  corestore::CorestoreOptions options;
  options.access = access;
  options.holder = CommandLine();
  auto store = corestore::Corestore::OpenDirectory(dir, options);
  if (!store.ok()) return store.status().Annotate("opening the store " + dir);
  // A damaged dedup index was rebuilt (docs/dedup.md): say so, it is a sign of disk trouble.
  if ((*store)->leaf_index_load_status().code() == Code::kCorruption) {
    std::fprintf(stderr, "hyperdrive: %s\n", (*store)->leaf_index_load_status().message().c_str());
  }
  return store;
}

Result<std::string> NormalizePath(std::string_view path) {
  // The drive's normalisation stops `..` at the root without a word; on the command line a
  // path that climbs above the root is a mistake worth saying so.
  int64_t depth = 0;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find_first_of("/\\", i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view part = path.substr(i, j - i);
    if (part == "..") {
      if (--depth < 0) {
        return Status::InvalidArgument("path " + std::string(path) + " climbs above the root");
      }
    } else if (!part.empty() && part != ".") {
      depth++;
    }
    i = j + 1;
  }
  return drive::NormalizePath(path);
}

Result<HyperUrl> ParseHyperUrl(std::string_view text) {
  std::string_view rest = text;
  constexpr std::string_view kScheme = "hyper://";
  if (rest.substr(0, kScheme.size()) == kScheme) rest.remove_prefix(kScheme.size());
  if (rest.size() < 64) {
    return Status::InvalidArgument("'" + std::string(text) +
                                   "' is not a drive URL: expected hyper://<64 hex digits>[/path]");
  }
  auto key = FromHex(rest.substr(0, 64));
  if (!key.ok()) {
    return Status::InvalidArgument("'" + std::string(text) + "': the key must be 64 hex digits");
  }
  HyperUrl url;
  std::copy(key->begin(), key->end(), url.key.begin());
  rest.remove_prefix(64);
  if (!rest.empty() && rest[0] == '+') {
    size_t slash = rest.find('/');
    std::string_view version =
        rest.substr(1, slash == std::string_view::npos ? rest.npos : slash - 1);
    if (version.empty()) {
      return Status::InvalidArgument("'" + std::string(text) + "': empty version after '+'");
    }
    url.version = std::string(version);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  }
  if (!rest.empty() && rest[0] != '/') {
    return Status::InvalidArgument("'" + std::string(text) + "': the key must be 64 hex digits");
  }
  ASSIGN_OR_RETURN(url.path, NormalizePath(rest));
  return url;
}

std::string FormatUrl(const crypto::PublicKey& key, std::string_view path) {
  std::string out = "hyper://" + ToHex(key);
  if (!path.empty() && path != "/") out += path;
  return out;
}

}  // namespace hyper::cli
