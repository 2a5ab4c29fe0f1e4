// Mounts as mountable-hypertrie 2.8 stores them (docs/formats/mountable-hypertrie.md): a
// mount at path P is two nodes written in one batch, the hidden "mounts/P" (user flag 1, value
// = a Mount record) and the visible "P" (user flag 1, value = the caller's bytes). MountView
// reads through mounts: it opens the mounted tries with a caller-supplied resolver, and
// detects cycles.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hyper/trie/trie.h"

namespace hyper::trie {

// The user flag that marks both nodes of a mount.
constexpr uint64_t kMountFlag = 1;
// Where the mount records live (hidden keys).
constexpr std::string_view kMountPrefix = "mounts";

// The Mount record (mountable-hypertrie's schema.proto).
struct MountInfo {
  Bytes key;               // the mounted trie's feed key
  std::string local_path;  // where it is mounted ("" for the root trie itself)
  std::optional<uint64_t> version;
  std::optional<std::string> remote_path;
  std::optional<Bytes> hash;

  Bytes Encode() const;
  static Result<MountInfo> Decode(ByteView block);
};

struct MountOptions {
  std::optional<uint64_t> version;
  std::optional<std::string> remote_path;
  // The value of the visible node (hyperdrive puts a Stat here); empty when not given.
  std::optional<Bytes> value;
};

// mountable-hypertrie's path normalization: one leading '/' removed.
std::string NormalizeMountPath(std::string_view path);
// Node's path.posix.join of the parts (collapses "//", ".", ".."; "" for an empty result).
std::string PosixJoin(std::string_view a, std::string_view b);
// Whether the node is a mount node (user flags exactly kMountFlag, as the reference tests).
bool IsMountNode(const Node& node);

// Writes a mount at `path` of `trie` (not inside another mount), as the reference's mount().
// The key must be 32 bytes.
Status WriteMount(Trie& trie, std::string_view path, ByteView key,
                  const MountOptions& options = {});
// Removes the mount at `path` (both nodes), as the reference's unmount().
Status WriteUnmount(Trie& trie, std::string_view path);

// Opens the trie a mount refers to: the trie of info.key, checked out at info.version when set.
// The returned trie must stay alive as long as the MountView.
using MountResolver = std::function<Result<const Trie*>(const MountInfo& info)>;

struct MountGetOptions {
  bool hidden = false;
  bool closest = false;
};

struct MountIterateOptions {
  bool recursive = true;
  bool gt = false;
  bool hidden = false;
  bool no_mounts = false;  // do not descend into mounts
  // A recursive walk meets a mount of a trie it is already inside (a cycle) or nested deeper
  // than the view's limit: the mount node is listed, not descended into, and this is called
  // (when set) with the node's key. Resolving a path never meets a cycle: it is finite.
  std::function<void(std::string_view key)> on_cycle;
};

// A node seen through mounts: `key` is its path in the outer trie; `trie` the trie holding it
// and `mount` the mount it came through (local_path "" for the outer trie).
using MountInfoPtr = std::shared_ptr<const MountInfo>;

struct MountedNode {
  NodePtr node;
  std::string key;
  const Trie* trie = nullptr;
  MountInfoPtr mount;  // never null in what the view returns
};

class MountView {
 public:
  // REQUIRES: root and whatever the resolver returns outlive the view.
  MountView(const Trie& root, MountResolver resolver, size_t max_depth = 32);
  MountView(const MountView&) = delete;
  MountView& operator=(const MountView&) = delete;

  // The node at `path`, looking inside mounts. Null node when absent. A path may pass through
  // the same trie twice (A/b/a where A mounts B at b and B mounts A at a is A's root); nesting
  // deeper than max_depth is a Loop error.
  Result<MountedNode> Get(std::string_view path, MountGetOptions options = {}) const;
  // Get's node alone, and the trie holding it in *holder (when not null): a path outside
  // mounts costs one lookup and no copies.
  Result<NodePtr> GetNode(std::string_view path, const Trie** holder,
                          MountGetOptions options = {}) const;
  // The nodes below `prefix`, descending into mounts, in the reference's order.
  Result<std::vector<MountedNode>> List(std::string_view prefix,
                                        const MountIterateOptions& options = {}) const;
  // The same nodes, handed to `fn` one at a time as they are found instead of collected: `key`
  // (the node's path in the outer trie) is valid during the call only. An error from fn stops
  // the walk and is returned. Below the first mount met, the walk collects as List does (the
  // order and the mount records are the same).
  using VisitFn = std::function<Status(const NodePtr& node, std::string_view key, const Trie* trie,
                                       const MountInfoPtr& mount)>;
  Status ForEach(std::string_view prefix, const MountIterateOptions& options,
                 const VisitFn& fn) const;
  // The trie (and mount) that holds `path`.
  Result<std::pair<const Trie*, MountInfo>> Resolve(std::string_view path) const;

 private:
  // The mounts being read, outermost first (for cycle detection).
  using Chain = std::vector<MountInfoPtr>;
  Result<MountedNode> GetIn(const Trie& trie, const MountInfoPtr& self, std::string_view path,
                            const MountGetOptions& options, Chain& chain) const;
  Status ListIn(const Trie& trie, const MountInfoPtr& self, std::string_view prefix,
                const MountIterateOptions& options, Chain& chain, const VisitFn& out) const;
  // The trie holding `path`. With check_cycle (descending a walk), a mount of a trie already
  // in `chain` is a Loop error; resolving a path only checks the depth.
  Result<std::pair<const Trie*, MountInfoPtr>> SubtrieOf(const Trie& trie, const MountInfoPtr& self,
                                                         std::string_view path, Chain& chain,
                                                         bool check_cycle = false) const;

  const Trie& root_;
  MountResolver resolver_;
  size_t max_depth_;
  MountInfoPtr root_info_;  // the root trie as its own mount
};

}  // namespace hyper::trie
