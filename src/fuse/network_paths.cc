#include "network_paths.h"

#include <algorithm>
#include <charconv>

#include "hyper/util/bytes.h"

namespace hyper::fuse {

namespace {

constexpr std::string_view kNetworkPrefix = "/Network";

Result<crypto::PublicKey> KeyOf(std::string_view name) {
  crypto::PublicKey key{};
  auto bytes = FromHex(name);
  if (name.size() != 2 * key.size() || !bytes.ok()) {
    return Status::NotFound(std::string(name) + " is not a drive key");
  }
  std::copy(bytes->begin(), bytes->end(), key.begin());
  return key;
}

// The next component of `rest` (which starts after a '/'), and what follows it.
std::pair<std::string_view, std::string_view> Split(std::string_view rest) {
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return {rest, {}};
  return {rest.substr(0, slash), rest.substr(slash + 1)};
}

}  // namespace

Result<NetworkPath> ParseNetworkPath(std::string_view path) {
  NetworkPath p;
  if (path == kNetworkPrefix) return p;
  std::string_view rest = path.substr(kNetworkPrefix.size() + 1);
  auto [name, below] = Split(rest);
  if (name == kStatsName || name == kActiveName) {
    const bool stats = name == kStatsName;
    if (below.empty()) {
      p.kind = stats ? NetworkPath::Kind::kStatsDir : NetworkPath::Kind::kActiveDir;
      return p;
    }
    auto [entry, deeper] = Split(below);
    if (!stats) {
      // Active/<key>.json, a symlink: nothing below it.
      constexpr std::string_view kSuffix = ".json";
      if (!deeper.empty() || entry.size() <= kSuffix.size() ||
          entry.substr(entry.size() - kSuffix.size()) != kSuffix) {
        return Status::NotFound(std::string(path) + " is not in Active");
      }
      ASSIGN_OR_RETURN(p.key, KeyOf(entry.substr(0, entry.size() - kSuffix.size())));
      p.kind = NetworkPath::Kind::kActiveLink;
      return p;
    }
    ASSIGN_OR_RETURN(p.key, KeyOf(entry));
    if (deeper.empty()) {
      p.kind = NetworkPath::Kind::kStatsDrive;
      return p;
    }
    if (deeper != kNetworkingJson && deeper != kStorageJson) {
      return Status::NotFound(std::string(path) + ": Stats has networking.json and storage.json");
    }
    p.kind = NetworkPath::Kind::kStatsFile;
    p.inner = std::string(deeper);
    return p;
  }
  std::string_view key_text = name;
  if (const size_t plus = name.find('+'); plus != std::string_view::npos) {
    key_text = name.substr(0, plus);
    const std::string_view v = name.substr(plus + 1);
    uint64_t version = 0;
    auto [end, err] = std::from_chars(v.data(), v.data() + v.size(), version);
    if (v.empty() || err != std::errc() || end != v.data() + v.size()) {
      return Status::NotFound(std::string(name) + ": a version is a number (<key>+<version>)");
    }
    p.version = version;
  }
  ASSIGN_OR_RETURN(p.key, KeyOf(key_text));
  p.kind = NetworkPath::Kind::kDrive;
  p.inner = below.empty() ? "/" : "/" + std::string(below);
  return p;
}

std::string NetworkName(const crypto::PublicKey& key, std::optional<uint64_t> version) {
  std::string name = ToHex(key);
  if (version) name += "+" + std::to_string(*version);
  return name;
}

}  // namespace hyper::fuse
