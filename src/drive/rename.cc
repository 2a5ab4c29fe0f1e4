// hyper::drive::Drive::Rename — moving a file, symlink, mount or whole directory in one trie
// batch (docs/formats/hyperdrive.md, "Rename").
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "hyper/drive/drive.h"
#include "hyper/trie/mount.h"

namespace hyper::drive {

namespace {

// The trie key of `key`'s counterpart below `to` when `key` is `from` or below it; nullopt for
// a key outside `from` (keys in the trie are normalized, so this is a plain prefix test on
// whole segments).
std::optional<std::string> Moved(const std::string& key, const std::string& from,
                                 const std::string& to) {
  if (key == from) return to;
  if (key.size() > from.size() && key.compare(0, from.size(), from) == 0 &&
      key[from.size()] == '/') {
    return to + key.substr(from.size());
  }
  return std::nullopt;
}

// The hidden key of the mount record of a mount point (normalized: no leading '/').
std::string MountRecordKey(const std::string& visible_key) {
  return std::string(trie::kMountPrefix) + "/" + visible_key;
}

}  // namespace

Result<Drive::RenameEnd> Drive::RenameEndOf(std::string_view path, const char* role) const {
  ASSIGN_OR_RETURN(std::string norm, NormalizePath(path));
  if (norm == "/")
    return Status::InvalidArgument(std::string("cannot rename ") + role + " the root");
  const size_t slash = norm.rfind('/');
  const std::string parent = slash == 0 ? "/" : norm.substr(0, slash);
  const std::string base = norm.substr(slash + 1);
  // The last component is not followed (rename moves a symlink or a mount point, not what it
  // points at); the directories above it are, as for every write.
  ASSIGN_OR_RETURN(internal::WriteTarget dir, Target(parent));
  RenameEnd end;
  end.trie = dir.trie;
  end.path = dir.path == "/" ? "/" + base : dir.path + "/" + base;
  end.key = dir.key.empty() ? base : dir.key + "/" + base;
  ASSIGN_OR_RETURN(end.node, dir.trie->Get(end.key));
  if (end.node) {
    if (!end.node->value()) return Status::Corruption("the node of " + end.path + " has no Stat");
    ASSIGN_OR_RETURN(Stat st, Stat::Decode(*end.node->value()));
    end.directory = st.IsDirectory();
    end.mount = trie::IsMountNode(*end.node) || st.mount.has_value();
  }
  trie::IterateOptions below;
  below.gt = true;
  below.recursive = false;
  ASSIGN_OR_RETURN(auto it, dir.trie->Iterate(end.key, below));
  ASSIGN_OR_RETURN(trie::NodePtr child, it->Next());
  end.has_children = child != nullptr;
  if (!end.node && end.has_children) end.directory = true;  // an implicit directory
  return end;
}

Status Drive::Rename(std::string_view from_path, std::string_view to_path) {
  RETURN_IF_ERROR(CheckWritable());
  ASSIGN_OR_RETURN(RenameEnd from, RenameEndOf(from_path, "from"));
  ASSIGN_OR_RETURN(RenameEnd to, RenameEndOf(to_path, "to"));
  if (!from.node && !from.has_children) return Status::NotFound(from.path + " does not exist");
  if (from.trie != to.trie) {
    return Status::Unsupported("cannot rename " + from.path + " to " + to.path +
                               ": they are in different drives (through a mount)");
  }
  // A file among the destination's directories: no such path (before "into itself": a file
  // has nothing inside it).
  RETURN_IF_ERROR(CheckParents(to.path));
  if (to.key == from.key) return Status::Ok();  // POSIX: renaming a path to itself does nothing
  if (to.key.size() > from.key.size() && Moved(to.key, from.key, to.key)) {  // below `from`
    return Status::InvalidArgument("cannot rename " + from.path + " into itself (" + to.path + ")");
  }
  const bool to_exists = to.node || to.has_children;
  if (to_exists) {
    if (to.mount) return Status::Busy(to.path + " is a mount point");
    if (from.directory && !to.directory) {
      return Status::NotADirectory(to.path + " is not a directory");
    }
    if (!from.directory && to.directory) return Status::IsADirectory(to.path + " is a directory");
    if (to.has_children) return Status::NotEmpty(to.path + " is not empty");
  }

  // Every visible node at or below `from`, put again under `to` with its value (the Stat, whose
  // content offsets stay) and flags; then every mount record below `from` with its new local
  // path; then the old keys deleted. One batch: one append, one signature, one new version.
  trie::Trie& trie = *from.trie;
  std::vector<trie::BatchOp> puts;
  std::vector<trie::BatchOp> dels;
  ASSIGN_OR_RETURN(auto visible, trie.Iterate(from.key));
  while (true) {
    ASSIGN_OR_RETURN(trie::NodePtr node, visible->Next());
    if (!node) break;
    auto moved = Moved(node->key(), from.key, to.key);
    if (!moved) continue;  // a node whose key hashes like the prefix but is not below it
    puts.push_back(trie::BatchOp::Put(*moved, node->value(), false, node->flags()));
    dels.push_back(trie::BatchOp::Del(node->key()));
  }
  trie::IterateOptions hidden;
  hidden.hidden = true;
  const std::string from_records = MountRecordKey(from.key);
  ASSIGN_OR_RETURN(auto records, trie.Iterate(from_records, hidden));
  while (true) {
    ASSIGN_OR_RETURN(trie::NodePtr node, records->Next());
    if (!node) break;
    if (!trie::IsMountNode(*node) || !node->value()) continue;
    // The record's key says which mount point it belongs to ("mounts/<key>").
    const std::string& record_key = node->key();
    if (record_key.size() <= trie::kMountPrefix.size() + 1) continue;
    auto moved = Moved(record_key.substr(trie::kMountPrefix.size() + 1), from.key, to.key);
    if (!moved) continue;
    ASSIGN_OR_RETURN(trie::MountInfo info, trie::MountInfo::Decode(*node->value()));
    info.local_path = *moved;
    puts.push_back(trie::BatchOp::Put(MountRecordKey(*moved), info.Encode(), true, node->flags()));
    dels.push_back(trie::BatchOp::Del(record_key, true));
  }
  if (puts.empty()) return Status::NotFound(from.path + " does not exist");
  // An empty directory replaced by an implicit one (no node of its own to put over it).
  if (to.node && !from.node) dels.push_back(trie::BatchOp::Del(to.key));
  std::vector<trie::BatchOp> ops = std::move(puts);
  ops.insert(ops.end(), std::make_move_iterator(dels.begin()), std::make_move_iterator(dels.end()));
  auto written = trie.Batch(ops);
  if (!written.ok()) {
    return written.status().Annotate("renaming " + from.path + " to " + to.path);
  }
  return Status::Ok();
}

}  // namespace hyper::drive
