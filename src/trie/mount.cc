#include "hyper/trie/mount.h"

#include "hyper/util/protobuf.h"

namespace hyper::trie {

// ---------------------------------------------------------------------------------------------
// Mount record

Bytes MountInfo::Encode() const {
  pb::Writer w;
  w.BytesField(1, key);
  w.String(2, local_path);
  if (version) w.Varint(3, *version);
  if (remote_path) w.String(4, *remote_path);
  if (hash) w.BytesField(5, *hash);
  return w.Take();
}

Result<MountInfo> MountInfo::Decode(ByteView block) {
  MountInfo info;
  bool have_key = false;
  bool have_path = false;
  pb::Limits limits;
  limits.max_fields = 64;
  limits.max_message_bytes = 1 << 20;
  pb::Reader reader(block, limits);
  pb::Field f;
  while (true) {
    auto more = reader.Next(&f);
    if (!more.ok()) return more.status().Annotate("mount record");
    if (!*more) break;
    const bool bytes_field = f.number == 1 || f.number == 2 || f.number == 4 || f.number == 5;
    if ((bytes_field && f.type != pb::WireType::kBytes) ||
        (f.number == 3 && f.type != pb::WireType::kVarint)) {
      return Status::Corruption("mount record: field " + std::to_string(f.number) +
                                " has the wrong wire type");
    }
    switch (f.number) {
      case 1:
        info.key = ToBytes(f.bytes);
        have_key = true;
        break;
      case 2:
        info.local_path = std::string(AsString(f.bytes));
        have_path = true;
        break;
      case 3:
        info.version = f.varint;
        break;
      case 4:
        info.remote_path = std::string(AsString(f.bytes));
        break;
      case 5:
        info.hash = ToBytes(f.bytes);
        break;
      default:
        break;
    }
  }
  if (!have_key || !have_path) return Status::Corruption("mount record lacks its key or path");
  return info;
}

// ---------------------------------------------------------------------------------------------
// paths

std::string NormalizeMountPath(std::string_view path) {
  if (!path.empty() && path[0] == '/') path.remove_prefix(1);
  return std::string(path);
}

namespace {

// Node's path.posix.normalize.
// Whether PosixNormalize would return `path` unchanged: no empty, "." or ".." segment (a
// leading and a trailing slash are kept as they are). Trie keys usually are.
bool IsPosixNormal(std::string_view path) {
  if (path.empty()) return false;
  size_t start = path[0] == '/' ? 1 : 0;
  if (start == path.size()) return true;  // "/"
  while (true) {
    size_t slash = path.find('/', start);
    const bool last = slash == std::string_view::npos;
    if (last) slash = path.size();
    std::string_view seg = path.substr(start, slash - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    if (last || slash + 1 == path.size()) return true;  // the end, or a trailing slash
    start = slash + 1;
  }
}

std::string PosixNormalize(std::string_view path) {
  if (IsPosixNormal(path)) return std::string(path);
  if (path.empty()) return ".";
  const bool absolute = path[0] == '/';
  const bool trailing = path.back() == '/';
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view seg = path.substr(start, slash - start);
    start = slash + 1;
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!out.empty() && out.back() != "..") {
        out.pop_back();
      } else if (!absolute) {
        out.push_back(seg);
      }
      continue;
    }
    out.push_back(seg);
  }
  std::string result = absolute ? "/" : "";
  for (size_t i = 0; i < out.size(); i++) {
    if (i) result += "/";
    result += out[i];
  }
  if (result.empty() && !absolute) result = ".";
  if (trailing && result != "/" && !(result == "." && out.empty())) result += "/";
  if (trailing && result == "." && out.empty()) result = "./";
  return result;
}

std::vector<std::string> Segments(std::string_view normalized) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= normalized.size()) {
    size_t slash = normalized.find('/', start);
    if (slash == std::string_view::npos) slash = normalized.size();
    std::string_view seg = normalized.substr(start, slash - start);
    if (!seg.empty() && seg != ".") out.emplace_back(seg);
    start = slash + 1;
  }
  return out;
}

// Whether Node's path.posix.relative(from, to) starts with "..". Both are relative paths
// resolved against the same working directory, so only their normalized segments matter.
bool RelativeStartsWithDotDot(std::string_view from, std::string_view to) {
  std::vector<std::string> a = Segments(PosixNormalize(from));
  std::vector<std::string> b = Segments(PosixNormalize(to));
  // ".." that escape the working directory make the comparison depend on it; treat them as
  // outside.
  for (auto& s : a)
    if (s == "..") return true;
  for (auto& s : b)
    if (s == "..") return true;
  size_t c = 0;
  while (c < a.size() && c < b.size() && a[c] == b[c]) c++;
  if (c < a.size()) return true;                      // climbs out of `from`
  // Node's relative() gives "..x/..." for a name like "..x", which the reference then takes as
  // outside; only a whole ".." segment climbs out (handled above), so "..x" is inside.
  return false;
}

std::string PathToMount(std::string_view path, const MountInfo& info) {
  if (path.size() == info.local_path.size()) return "";
  std::string_view rest = path.size() > info.local_path.size() ? path.substr(info.local_path.size())
                                                               : std::string_view();
  return PosixJoin(rest, info.remote_path.value_or(""));
}

std::string PathFromMount(std::string_view path, const MountInfo& info) {
  std::string_view rel = path;
  if (info.remote_path && !info.remote_path->empty()) {
    rel = path.size() > info.remote_path->size() ? path.substr(info.remote_path->size())
                                                 : std::string_view();
  }
  return PosixJoin(info.local_path, rel);
}

}  // namespace

std::string PosixJoin(std::string_view a, std::string_view b) {
  std::string joined;
  if (!a.empty()) joined = std::string(a);
  if (!b.empty()) joined = joined.empty() ? std::string(b) : joined + "/" + std::string(b);
  if (joined.empty()) return ".";
  return PosixNormalize(joined);
}

bool IsMountNode(const Node& node) { return node.flags() == kMountFlag; }

// ---------------------------------------------------------------------------------------------
// writing mounts

Status WriteMount(Trie& trie, std::string_view raw_path, ByteView key,
                  const MountOptions& options) {
  if (key.size() != 32) return Status::InvalidArgument("the mount key is not valid");
  std::string path = NormalizeMountPath(raw_path);
  MountInfo record;
  record.key = ToBytes(key);
  record.local_path = path;
  record.version = options.version;
  if (options.remote_path && !options.remote_path->empty()) {
    record.remote_path = NormalizeMountPath(*options.remote_path);
  }
  std::string inner = path.empty() ? std::string() : PosixJoin(path, "");
  std::vector<BatchOp> ops;
  ops.push_back(BatchOp::Put(PosixJoin("/mounts", inner), record.Encode(), true, kMountFlag));
  ops.push_back(BatchOp::Put(inner, options.value.value_or(Bytes()), false, kMountFlag));
  auto r = trie.Batch(ops);
  return r.ok() ? Status::Ok() : r.status();
}

Status WriteUnmount(Trie& trie, std::string_view raw_path) {
  std::string path = NormalizeMountPath(raw_path);
  std::string inner = path.empty() ? std::string() : PosixJoin(path, "");
  std::vector<BatchOp> ops;
  ops.push_back(BatchOp::Del(PosixJoin("/mounts", inner), true));
  ops.push_back(BatchOp::Del(inner));
  auto r = trie.Batch(ops);
  return r.ok() ? Status::Ok() : r.status();
}

// ---------------------------------------------------------------------------------------------
// reading through mounts

namespace {
MountInfoPtr SelfInfo(const Trie& trie) {
  auto info = std::make_shared<MountInfo>();
  info->key = trie.key();
  if (trie.is_checkout()) info->version = trie.version();
  info->remote_path = "";
  return info;
}
}  // namespace

MountView::MountView(const Trie& root, MountResolver resolver, size_t max_depth)
    : root_(root),
      resolver_(std::move(resolver)),
      max_depth_(max_depth),
      root_info_(SelfInfo(root)) {}

Result<std::pair<const Trie*, MountInfoPtr>> MountView::SubtrieOf(const Trie& trie,
                                                                  const MountInfoPtr& self,
                                                                  std::string_view path,
                                                                  Chain& chain,
                                                                  bool check_cycle) const {
  GetOptions go;
  go.hidden = true;
  go.closest = true;
  ASSIGN_OR_RETURN(NodePtr mount_node, trie.Get(PosixJoin("/mounts", path), go));
  if (!mount_node || !IsMountNode(*mount_node)) return std::make_pair(&trie, self);
  std::string_view mount_path = mount_node->key();
  mount_path = mount_path.size() > 7 ? mount_path.substr(7) : std::string_view();
  if (RelativeStartsWithDotDot(mount_path, path)) return std::make_pair(&trie, self);
  if (!mount_node->value()) return Status::Corruption("mount node without a mount record");
  auto decoded = MountInfo::Decode(*mount_node->value());
  if (!decoded.ok()) return decoded.status();
  auto info = std::make_shared<MountInfo>(std::move(*decoded));
  if (info->version == 0) info->version.reset();  // the reference reads 0 as "the latest"
  for (const MountInfoPtr& f : chain) {
    if (check_cycle && f->key == info->key && f->version == info->version) {
      return Status::Loop("mount cycle: " + ToHex(info->key) + " at /" + info->local_path +
                          " is already being read");
    }
  }
  if (chain.size() >= max_depth_) {
    return Status::Loop("mounts nested deeper than " + std::to_string(max_depth_));
  }
  if (!resolver_) return Status::NotFound("no resolver for the mount at /" + info->local_path);
  auto sub = resolver_(*info);
  if (!sub.ok()) return sub.status().Annotate("opening the mount at /" + info->local_path);
  if (*sub == nullptr) return Status::NotFound("mount at /" + info->local_path + " not found");
  return std::make_pair(static_cast<const Trie*>(*sub), MountInfoPtr(std::move(info)));
}

Result<MountedNode> MountView::GetIn(const Trie& trie, const MountInfoPtr& self,
                                     std::string_view raw_path, const MountGetOptions& options,
                                     Chain& chain) const {
  std::string path = NormalizeMountPath(raw_path);
  GetOptions go;
  go.hidden = options.hidden;
  go.closest = true;
  ASSIGN_OR_RETURN(NodePtr node, trie.Get(path, go));
  if (!node) return MountedNode{nullptr, std::move(path), &trie, self};
  if (!IsMountNode(*node)) {
    if (node->key() != path && !options.closest) {
      return MountedNode{nullptr, std::move(path), &trie, self};
    }
    return MountedNode{node, node->key(), &trie, self};
  }
  if (node->key() == path) return MountedNode{node, node->key(), &trie, self};

  ASSIGN_OR_RETURN(auto sub, SubtrieOf(trie, self, path, chain));
  const std::string mount_path = PathToMount(path, *sub.second);
  MountedNode inner;
  if (sub.second == self) {  // not in a mount (a trie may mount itself: compare the records)
    GetOptions plain;
    plain.hidden = options.hidden;
    plain.closest = options.closest;
    ASSIGN_OR_RETURN(NodePtr n, trie.Get(mount_path, plain));
    inner = MountedNode{n, n ? n->key() : mount_path, &trie, sub.second};
  } else {
    // The mounted trie is read as its own root (its own, empty, local path).
    chain.push_back(sub.second);
    auto r = GetIn(*sub.first, SelfInfo(*sub.first), mount_path, options, chain);
    chain.pop_back();
    if (!r.ok()) return r.status();
    inner = std::move(*r);
    if (inner.trie == sub.first) inner.mount = sub.second;
  }
  if (!inner.node) return MountedNode{nullptr, path, inner.trie, inner.mount};
  std::string key = PathFromMount(inner.key, *sub.second);
  if (key != path) return MountedNode{nullptr, path, inner.trie, inner.mount};
  inner.key = key;
  return inner;
}

Result<MountedNode> MountView::Get(std::string_view path, MountGetOptions options) const {
  Chain chain{root_info_};
  return GetIn(root_, root_info_, path, options, chain);
}

Result<NodePtr> MountView::GetNode(std::string_view raw_path, const Trie** holder,
                                   MountGetOptions options) const {
  // GetIn's first step on the root trie, without its copies of the path and the records.
  std::string_view path = raw_path;
  if (!path.empty() && path[0] == '/') path.remove_prefix(1);
  GetOptions go;
  go.hidden = options.hidden;
  go.closest = true;
  ASSIGN_OR_RETURN(NodePtr node, root_.Get(path, go));
  if (!node || !IsMountNode(*node) || node->key() == path) {
    if (holder != nullptr) *holder = &root_;
    if (node && !IsMountNode(*node) && node->key() != path && !options.closest) return NodePtr();
    return node;
  }
  // Below a mount: the whole walk.
  ASSIGN_OR_RETURN(MountedNode found, Get(raw_path, options));
  if (holder != nullptr) *holder = found.trie;
  return std::move(found.node);
}

Result<std::pair<const Trie*, MountInfo>> MountView::Resolve(std::string_view path) const {
  Chain chain{root_info_};
  ASSIGN_OR_RETURN(auto found, SubtrieOf(root_, root_info_, NormalizeMountPath(path), chain));
  return std::make_pair(found.first, *found.second);
}

namespace {

// PathFromMount without a copy when it would return `path` itself (the nodes of a trie read as
// the root: no local or remote path, and a key that is already normal); else into `scratch`.
std::string_view PathFromMountInto(std::string_view path, const MountInfo& info,
                                   std::string& scratch) {
  if (info.local_path.empty() && (!info.remote_path || info.remote_path->empty()) &&
      IsPosixNormal(path)) {
    return path;
  }
  scratch = PathFromMount(path, info);
  return scratch;
}

MountView::VisitFn CollectInto(std::vector<MountedNode>& out) {
  return [&out](const NodePtr& node, std::string_view key, const Trie* trie,
                const MountInfoPtr& mount) {
    out.push_back(MountedNode{node, std::string(key), trie, mount});
    return Status::Ok();
  };
}

}  // namespace

// The root listing of `trie` is streamed to `out` as the iterator finds it; what lies in other
// tries (the prefix inside a mount, or the entries of a mount met on the way) is collected
// first, as the reference's walk does, and then handed on in order.
Status MountView::ListIn(const Trie& trie, const MountInfoPtr& self, std::string_view raw_prefix,
                         const MountIterateOptions& options, Chain& chain,
                         const VisitFn& out) const {
  std::string prefix = NormalizeMountPath(raw_prefix.empty() ? "/" : raw_prefix);
  MountIterateOptions inner_options = options;
  inner_options.gt = false;  // needed to discover the mount points
  IterateOptions io;
  io.recursive = options.recursive;
  io.hidden = options.hidden;

  // Entries of `t` below `p`: a plain iteration of this trie, or a mount-aware one of another.
  auto entries_of = [&](const Trie* t, const MountInfoPtr& info, const std::string& p,
                        std::vector<MountedNode>& dst) -> Status {
    if (t == &trie) {
      ASSIGN_OR_RETURN(auto nodes, trie.List(p, io));
      dst.reserve(dst.size() + nodes.size());
      for (auto& n : nodes) dst.push_back(MountedNode{n, n->key(), &trie, info});
      return Status::Ok();
    }
    chain.push_back(info);
    size_t first = dst.size();
    MountIterateOptions nested = inner_options;
    if (options.on_cycle) {
      // Keys inside `t` reported as keys of this trie.
      nested.on_cycle = [&options, info](std::string_view k) {
        options.on_cycle(PathFromMount(k, *info));
      };
    }
    Status st = ListIn(*t, SelfInfo(*t), p, nested, chain, CollectInto(dst));
    chain.pop_back();
    for (size_t i = first; i < dst.size(); i++) {
      if (dst[i].trie == t) dst[i].mount = info;
    }
    return st;
  };

  ASSIGN_OR_RETURN(auto root, SubtrieOf(trie, self, prefix, chain));
  const MountInfoPtr root_info = root.second;

  std::string scratch;
  auto emit = [&](const NodePtr& node, std::string_view key, const Trie* holder,
                  const MountInfoPtr& mount) -> Status {
    if (options.gt && key == prefix) return Status::Ok();
    return out(node, PathFromMountInto(key, *root_info, scratch), holder, mount);
  };
  // One entry of the root listing, and what is mounted there when the listing descends.
  auto visit = [&](const NodePtr& node, std::string_view key, const Trie* holder,
                   const MountInfoPtr& mount) -> Status {
    if (!IsMountNode(*node) || options.no_mounts || (!options.recursive && key != prefix)) {
      return emit(node, key, holder, mount);
    }
    auto descend = SubtrieOf(trie, self, key, chain, /*check_cycle=*/true);
    if (!descend.ok() && descend.status().code() == Code::kLoop) {
      // A cycle: the mount point is an entry; what is below it is already being listed.
      if (options.on_cycle) options.on_cycle(key);
      return emit(node, key, holder, mount);
    }
    if (!descend.ok()) return descend.status();
    auto sub = std::move(*descend);
    std::vector<MountedNode> sub_entries;
    RETURN_IF_ERROR(entries_of(sub.first, sub.second, PathToMount(key, *sub.second), sub_entries));
    RETURN_IF_ERROR(emit(node, key, holder, mount));
    for (const MountedNode& s : sub_entries) {
      const std::string sub_key = PathFromMount(s.key, *sub.second);
      RETURN_IF_ERROR(emit(s.node, sub_key, s.trie, s.mount));
    }
    return Status::Ok();
  };

  if (root.second == self) {
    ASSIGN_OR_RETURN(auto it, trie.Iterate(PathToMount(prefix, *root_info), io));
    while (true) {
      ASSIGN_OR_RETURN(NodePtr n, it->Next());
      if (!n) break;
      RETURN_IF_ERROR(visit(n, n->key(), &trie, root_info));
    }
    return Status::Ok();
  }
  std::vector<MountedNode> root_entries;
  RETURN_IF_ERROR(entries_of(root.first, root_info, PathToMount(prefix, *root_info), root_entries));
  for (const MountedNode& n : root_entries) {
    RETURN_IF_ERROR(visit(n.node, n.key, n.trie, n.mount));
  }
  return Status::Ok();
}

Result<std::vector<MountedNode>> MountView::List(std::string_view prefix,
                                                 const MountIterateOptions& options) const {
  Chain chain{root_info_};
  std::vector<MountedNode> out;
  RETURN_IF_ERROR(ListIn(root_, root_info_, prefix, options, chain, CollectInto(out)));
  return out;
}

Status MountView::ForEach(std::string_view prefix, const MountIterateOptions& options,
                          const VisitFn& fn) const {
  Chain chain{root_info_};
  return ListIn(root_, root_info_, prefix, options, chain, fn);
}

}  // namespace hyper::trie
