// Feed: hypercore 9 on the six SLEEP files. See docs/formats/hypercore.md for the format, the
// recovery rules applied by Open() and the order of writes and syncs.
#include "hyper/core/feed.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <shared_mutex>

#include "src/core/bitfield.h"
#include "src/core/block_positions.h"
#include "src/core/flat_tree.h"
#include "src/core/leaf_hasher.h"
#include "src/core/merkle_tree.h"
#include "src/core/tree_index.h"

namespace hyper::core {
namespace {

constexpr uint64_t kHeaderSize = 32;
constexpr uint64_t kNodeSize = 40;
constexpr uint64_t kSignatureSize = 64;
// Blocks beyond this index are refused (keeps every offset computation far from overflow).
constexpr uint64_t kMaxBlocks = uint64_t{1} << 40;

std::array<uint8_t, kHeaderSize> MakeHeader(uint8_t type, uint16_t entry_size,
                                            std::string_view algorithm) {
  std::array<uint8_t, kHeaderSize> h{};
  h[0] = 5;
  h[1] = 2;
  h[2] = 87;
  h[3] = type;
  h[4] = 0;  // version
  PutUint16BE(&h[5], entry_size);
  h[7] = static_cast<uint8_t>(algorithm.size());
  std::memcpy(&h[8], algorithm.data(), algorithm.size());
  return h;
}

bool IsBlank(ByteView b) {
  return std::all_of(b.begin(), b.end(), [](uint8_t x) { return x == 0; });
}

Status Ann(const Status& s, std::string_view what) { return s.ok() ? s : s.Annotate(what); }

// Tree node `index` from its kNodeSize stored bytes (hash, then size big-endian); nothing for
// an all-zero slot (never written).
std::optional<TreeNode> ParseNode(const uint8_t* buf, uint64_t index) {
  if (IsBlank(ByteView(buf, kNodeSize))) return std::nullopt;
  TreeNode n;
  n.index = TreeIndex(index);
  std::memcpy(n.hash.data(), buf, 32);
  n.size = GetUint64BE(buf + 32);
  return n;
}

}  // namespace

struct Feed::Impl {
  mutable std::shared_mutex mu;
  FeedOptions options;
  std::unique_ptr<storage::File> key_file, secret_file, tree_file, data_file, sig_file, bf_file;
  crypto::PublicKey key{};
  std::optional<crypto::SecretKey> secret;
  crypto::Hash discovery{};
  Bitfield bitfield;
  BitfieldTreeBits tree_bits{&bitfield};
  MerkleIndex tree{&tree_bits};
  uint64_t length = 0;
  uint64_t byte_length = 0;
  std::optional<MerkleTree> merkle;  // current roots (loaded lazily for writers)
  // Where blocks lie in `data`, and which were verified since open. Readers (shared lock) record
  // into it too: it is safe for that (see block_positions.h).
  std::unique_ptr<BlockPositions> positions;
  bool closed = false;
  bool keys_dirty = false;  // headers or key written by Open but not yet synced
  // secret_key written by Open but not yet synced (a corestore's name-derived core is given a
  // file that forgets it: rewritten at every open, nothing on disk)
  bool secret_dirty = false;
  // Something was written (data, tree, signatures, bitfield, freed bytes) since the last full
  // sync: Close() syncs only then, so a feed that was only read is closed without a sync.
  bool unsynced = false;
  // FeedOptions::defer_create: headers and key not written yet (WriteCreated writes them).
  bool create_pending = false;
  Status broken;  // a failed write leaves the in-memory state ahead of the disk
  // Set when the feed was opened damaged (FeedOptions::open_damaged): why it is read-only, and
  // the length its bitfield claims.
  Status damage;
  uint64_t claimed_length = 0;

  std::mutex cb_mu;
  std::map<uint64_t, AppendListener> listeners;
  uint64_t next_handle = 1;
  BlockFetcher fetcher;

  // ---- storage primitives (REQUIRES: mu held) ----
  Result<std::optional<TreeNode>> ReadNode(uint64_t index) const {
    uint8_t buf[kNodeSize];
    Status s = tree_file->Read(kHeaderSize + kNodeSize * index, buf);
    if (s.code() == Code::kOutOfRange) return std::optional<TreeNode>();
    if (!s.ok()) return s.Annotate("reading tree");
    return ParseNode(buf, index);
  }

  Result<TreeNode> NeedNode(uint64_t index) const {
    ASSIGN_OR_RETURN(auto n, ReadNode(index));
    if (!n) return Status::NotFound("tree node " + std::to_string(index) + " is not stored");
    return *n;
  }

  Result<std::optional<crypto::Signature>> ReadSignature(uint64_t block) const {
    crypto::Signature sig;
    Status s = sig_file->Read(kHeaderSize + kSignatureSize * block, sig);
    if (s.code() == Code::kOutOfRange) return std::optional<crypto::Signature>();
    if (!s.ok()) return s.Annotate("reading signatures");
    if (IsBlank(sig)) return std::optional<crypto::Signature>();
    return std::optional<crypto::Signature>(sig);
  }

  static void EncodeNode(const TreeNode& n, uint8_t* out) {
    std::memcpy(out, n.hash.data(), 32);
    PutUint64BE(out + 32, n.size);
  }

  Status WriteNode(const TreeNode& n) {
    uint8_t buf[kNodeSize];
    EncodeNode(n, buf);
    return Ann(tree_file->Write(kHeaderSize + kNodeSize * n.index.value, buf), "writing tree");
  }

  // Roots of the tree of the first `len` blocks, from held nodes.
  Result<std::vector<TreeNode>> Roots(uint64_t len) const {
    std::vector<TreeNode> roots;
    for (uint64_t r : flat::FullRoots(2 * len)) {
      if (!tree.Get(r)) return Status::NotFound("root " + std::to_string(r) + " is not held");
      ASSIGN_OR_RETURN(TreeNode n, NeedNode(r));
      roots.push_back(n);
    }
    return roots;
  }

  // Byte offset and size of a block from the tree. `cached` nodes (verified, about to be
  // stored) are used before the tree file; *held is whether every node used is one of them or
  // held (then the result may be remembered in `positions`).
  Result<std::pair<uint64_t, uint64_t>> DataOffset(uint64_t block,
                                                   const std::vector<TreeNode>& cached,
                                                   bool* held) const {
    *held = true;
    auto find = [&](uint64_t index) -> Result<TreeNode> {
      for (const auto& n : cached) {
        if (n.index.value == index) return n;
      }
      *held = *held && tree.Get(index);
      return NeedNode(index);
    };
    uint64_t offset = 0;
    for (uint64_t r : flat::FullRoots(2 * block)) {
      ASSIGN_OR_RETURN(TreeNode n, find(r));
      offset += n.size;
    }
    ASSIGN_OR_RETURN(TreeNode leaf, find(2 * block));
    return std::make_pair(offset, leaf.size);
  }

  // Byte offset of a block in `data`: remembered, or the sum of the sizes of the roots to its
  // left (FullRoots(2 * block)) starting from the last of them whose start is remembered. The
  // end of each root read is remembered when every node so far is held (*held says so).
  Result<uint64_t> OffsetOf(uint64_t block, bool* held) const {
    *held = true;
    if (auto o = positions->Offset(block)) return *o;
    std::vector<uint64_t> roots = flat::FullRoots(2 * block);
    size_t first = 0;
    uint64_t offset = 0;
    for (size_t i = roots.size(); i-- > 0;) {
      if (auto o = positions->Offset(flat::LeftSpan(roots[i]) / 2)) {  // block 0: always 0
        first = i;
        offset = *o;
        break;
      }
    }
    for (size_t i = first; i < roots.size(); ++i) {
      ASSIGN_OR_RETURN(TreeNode n, NeedNode(roots[i]));
      *held = *held && tree.Get(roots[i]);
      offset += n.size;
      if (*held) positions->SetOffset(flat::RightSpan(roots[i]) / 2 + 1, offset);
    }
    return offset;
  }

  bool VerifyCompat(ByteView signable, const crypto::Signature& sig) const {
    if (crypto::Verify(signable, sig, key)) return true;
    return crypto::Verify(signable.first(32), sig, key);  // hypercore's legacy signatures
  }

  Status WriteBitfieldPages() {
    std::vector<uint64_t> pages = bitfield.pager().TakeDirty();
    std::sort(pages.begin(), pages.end());
    Bytes buf(kBitfieldPageSize);
    for (size_t i = 0; i < pages.size(); ++i) {
      bitfield.CopyPage(pages[i], buf);
      Status s = bf_file->Write(kBitfieldHeaderSize + kBitfieldPageSize * pages[i], buf);
      if (!s.ok()) {
        for (size_t j = i; j < pages.size(); ++j) bitfield.pager().MarkDirty(pages[j]);
        return s.Annotate("writing bitfield");
      }
    }
    return Status::Ok();
  }

  Status SyncContent() {
    if (keys_dirty || secret_dirty) {
      RETURN_IF_ERROR(Ann(key_file->Sync(), "syncing key"));
      RETURN_IF_ERROR(Ann(secret_file->Sync(), "syncing secret_key"));
      keys_dirty = secret_dirty = false;
    }
    RETURN_IF_ERROR(Ann(data_file->Sync(), "syncing data"));
    RETURN_IF_ERROR(Ann(tree_file->Sync(), "syncing tree"));
    return Ann(sig_file->Sync(), "syncing signatures");
  }

  // The headers and key of a feed opened with FeedOptions::defer_create, before its first
  // write; the next sync makes them durable with the rest.
  Status WriteCreated() {
    if (!create_pending) return Status::Ok();
    RETURN_IF_ERROR(
        Ann(bf_file->Write(0, MakeHeader(0, kBitfieldPageSize, "")), "bitfield header"));
    RETURN_IF_ERROR(
        Ann(sig_file->Write(0, MakeHeader(1, kSignatureSize, "Ed25519")), "signatures header"));
    RETURN_IF_ERROR(Ann(tree_file->Write(0, MakeHeader(2, kNodeSize, "BLAKE2b")), "tree header"));
    RETURN_IF_ERROR(Ann(key_file->Write(0, key), "writing key"));
    if (secret) {
      RETURN_IF_ERROR(Ann(secret_file->Write(0, *secret), "writing secret_key"));
      secret_dirty = true;
    }
    keys_dirty = true;
    create_pending = false;
    return Status::Ok();
  }

  // The commit: bitfield pages go out after data, tree and signature (synced first when
  // durable), so a bitfield that names a block implies everything the block needs is there.
  //
  // A damaged feed never writes its bitfield back: on disk it is the record of the length that
  // was committed, and its in-memory bits are trimmed to the proven length (see Recover).
  Status Commit(bool durable) {
    if (!damage.ok()) return Status::Ok();
    if (!durable) unsynced = true;  // every write of the feed ends with a Commit
    if (durable) RETURN_IF_ERROR(SyncContent());
    RETURN_IF_ERROR(WriteBitfieldPages());
    if (durable) RETURN_IF_ERROR(Ann(bf_file->Sync(), "syncing bitfield"));
    if (durable) unsynced = false;
    return Status::Ok();
  }

  Status CheckOpen() const {
    if (closed) return Status::Cancelled("feed is closed");
    return Status::Ok();
  }
  Status CheckWritable() const {
    RETURN_IF_ERROR(CheckOpen());
    if (options.read_only) return Status::NotWritable("the feed is open read-only");
    if (!broken.ok()) return broken;
    if (!damage.ok()) return damage;
    return Status::Ok();
  }

  Status EnsureMerkle() {
    if (merkle) return Status::Ok();
    ASSIGN_OR_RETURN(auto roots, Roots(length));
    merkle.emplace(std::move(roots));
    return Status::Ok();
  }

  Result<Bytes> ReadData(uint64_t index, uint64_t offset, uint64_t size) const {
    Bytes out(size);
    if (!out.empty()) {
      Status s = data_file->Read(offset, out);
      if (s.code() == Code::kOutOfRange) {
        return Status::Corruption("block " + std::to_string(index) + " is cut short in data");
      }
      RETURN_IF_ERROR(Ann(s, "reading data"));
    }
    return out;
  }

  // A whole local block. A block verified since open (its bytes hashed and matched: appended,
  // received with a proof, or read and checked) is one positional read at its remembered
  // position; otherwise its leaf is read, its bytes checked against the leaf's hash, and its
  // position remembered as verified. `rehash` forces the check, for audits.
  // `hint` is the caller's belief of the block's offset (GetOptions::byte_offset).
  Result<Bytes> ReadBlock(uint64_t index, bool rehash = false,
                          std::optional<uint64_t> hint = std::nullopt) const {
    auto pos = positions->Find(index);
    if (pos && pos->verified && !rehash) return ReadData(index, pos->offset, pos->size);
    ASSIGN_OR_RETURN(TreeNode leaf, NeedNode(2 * index));
    bool held = tree.Get(2 * index);
    uint64_t offset = 0;
    if (!pos && hint && !rehash && leaf.size <= kMaxBlockBytes) {
      if (auto out = ReadAtHint(index, leaf, held, *hint)) return std::move(*out);
    }
    if (pos) {
      if (pos->size != leaf.size) {
        return Status::Corruption("block " + std::to_string(index) + " has an impossible size");
      }
      offset = pos->offset;
    } else {
      bool roots_held = false;
      ASSIGN_OR_RETURN(offset, OffsetOf(index, &roots_held));
      held = held && roots_held;
    }
    if (leaf.size > kMaxBlockBytes) {
      return Status::Corruption("block " + std::to_string(index) + " has an impossible size");
    }
    if (!pos && held) LearnNeighbours(index, offset, leaf.size);
    ASSIGN_OR_RETURN(Bytes out, ReadData(index, offset, leaf.size));
    if (crypto::LeafHash(out) != leaf.hash) {
      return Status::Corruption("block " + std::to_string(index) + " does not match its hash");
    }
    if (held) positions->SetVerified(index, offset, leaf.size);
    return out;
  }

  // Block `index` (held, of `size` bytes) was just located at `offset` through the roots: the
  // blocks around it in its aligned group of kLearnGroup are located too, from one read of the
  // group's leaves (their sizes, summed from `offset` both ways, as far as the leaves are held),
  // so that a first read of one of them later needs no root. Nothing is learned on a failed read.
  static constexpr uint64_t kLearnGroup = 16;
  void LearnNeighbours(uint64_t index, uint64_t offset, uint64_t size) const {
    const uint64_t first = index - index % kLearnGroup;
    const uint64_t end = std::min(first + kLearnGroup, length);
    if (end <= first + 1) return;
    uint8_t buf[(2 * kLearnGroup - 1) * kNodeSize];
    const uint64_t nodes = 2 * (end - first) - 1;
    if (!tree_file
             ->Read(kHeaderSize + kNodeSize * 2 * first, MutableByteView(buf, nodes * kNodeSize))
             .ok()) {
      return;
    }
    auto leaf_size = [&](uint64_t block, uint64_t* out) {
      if (!tree.Get(2 * block)) return false;
      auto node = ParseNode(buf + (2 * (block - first)) * kNodeSize, 2 * block);
      if (!node) return false;
      *out = node->size;
      return *out <= kMaxBlockBytes;
    };
    uint64_t at = offset + size;  // forwards: block j starts where j - 1 ends
    uint64_t j = index + 1;
    for (uint64_t sz = 0; j < end && leaf_size(j, &sz); ++j) {
      positions->SetOffset(j, at);
      positions->SetSize(j, sz);
      at += sz;
    }
    if (j == end) positions->SetOffset(end, at);
    at = offset;  // backwards: block j ends where j + 1 starts
    for (uint64_t k = index, sz = 0; k-- > first && leaf_size(k, &sz) && sz <= at;) {
      at -= sz;
      positions->SetOffset(k, at);
      positions->SetSize(k, sz);
    }
  }

  // Whether remembered facts alone prove that block `index` (of `size` bytes) starts at
  // `offset`: the previous block ends there, or the next one starts right after it.
  bool OffsetProven(uint64_t index, uint64_t offset, uint64_t size) const {
    if (index == 0) return offset == 0;
    if (auto prev = positions->Find(index - 1); prev && prev->offset + prev->size == offset) {
      return true;
    }
    auto next = positions->Offset(index + 1);
    return next && *next >= size && *next - size == offset;
  }

  // The block read at a caller's hint of its offset, when the bytes there match the leaf
  // (nullopt otherwise: the caller then locates the block through the tree). A matching hash
  // proves the bytes, not the place (the same bytes may lie elsewhere in `data`), so the
  // position is remembered only when the offset is proven too: by a remembered neighbour (no
  // tree read), else by the roots (as without a hint; then the hint saved nothing, but the
  // block is hashed only this once).
  std::optional<Bytes> ReadAtHint(uint64_t index, const TreeNode& leaf, bool held,
                                  uint64_t hint) const {
    if (hint > byte_length || leaf.size > byte_length - hint) return std::nullopt;
    auto out = ReadData(index, hint, leaf.size);
    if (!out.ok() || crypto::LeafHash(*out) != leaf.hash) return std::nullopt;
    bool proven = OffsetProven(index, hint, leaf.size);
    if (!proven) {
      bool roots_held = false;
      auto offset = OffsetOf(index, &roots_held);
      proven = offset.ok() && *offset == hint;
      held = held && roots_held;
    }
    if (proven && held) positions->SetVerified(index, hint, leaf.size);
    return std::move(out).value();
  }

  // Up to `length` bytes from `offset` of a local block (fewer at its end): one positional
  // read of just those bytes when the block was verified since open, else the whole block,
  // checked.
  Result<Bytes> ReadBlockRange(uint64_t index, uint64_t offset, uint64_t length,
                               std::optional<uint64_t> hint = std::nullopt) const {
    auto pos = positions->Find(index);
    if (!pos || !pos->verified) {
      ASSIGN_OR_RETURN(Bytes block, ReadBlock(index, /*rehash=*/false, hint));
      if (offset > block.size()) {
        return Status::OutOfRange("offset outside block " + std::to_string(index));
      }
      length = std::min<uint64_t>(length, block.size() - offset);
      return Bytes(block.begin() + static_cast<ptrdiff_t>(offset),
                   block.begin() + static_cast<ptrdiff_t>(offset + length));
    }
    if (offset > pos->size) {
      return Status::OutOfRange("offset outside block " + std::to_string(index));
    }
    length = std::min<uint64_t>(length, pos->size - offset);
    return ReadData(index, pos->offset + offset, length);
  }

  Status Recover();
  Result<std::vector<TreeNode>> StoredRoots(uint64_t len) const;
  Result<uint64_t> NewestSignedLength(uint64_t sig_size, uint64_t limit = kMaxBlocks) const;
  Status RebuildBits(const std::vector<TreeNode>& roots, uint64_t keep, uint64_t data_size);
  Status DropCutBlocks(uint64_t data_size, uint64_t tree_size);
  Status OpenFiles(storage::FileFactory& files);
  // `min_length`: refuse (before writing anything) a block whose proof does not prove a signed
  // length of at least this many blocks.
  Status PutLocked(uint64_t index, ByteView data, const Proof& proof, bool* grew,
                   uint64_t min_length = 0);
};

Status Feed::Impl::OpenFiles(storage::FileFactory& files) {
  auto open = [&](const char* name, std::unique_ptr<storage::File>* out) -> Status {
    auto f = files(name);
    if (!f.ok()) return f.status().Annotate(std::string("opening ") + name);
    *out = std::move(*f);
    return Status::Ok();
  };
  RETURN_IF_ERROR(open("key", &key_file));
  RETURN_IF_ERROR(open("secret_key", &secret_file));
  RETURN_IF_ERROR(open("tree", &tree_file));
  RETURN_IF_ERROR(open("data", &data_file));
  RETURN_IF_ERROR(open("signatures", &sig_file));
  RETURN_IF_ERROR(open("bitfield", &bf_file));
  return Status::Ok();
}

// Roots of the tree of the first `len` blocks as stored in `tree`, whatever the bitfield says
// (NotFound when one is not stored). Trusted only once a signature over them verifies.
Result<std::vector<TreeNode>> Feed::Impl::StoredRoots(uint64_t len) const {
  std::vector<TreeNode> roots;
  for (uint64_t r : flat::FullRoots(2 * len)) {
    ASSIGN_OR_RETURN(TreeNode n, NeedNode(r));
    roots.push_back(n);
  }
  return roots;
}

// The newest length (at most `limit`) proven by a stored signature over roots stored in `tree`
// (0 if none): the signatures file is read from its end, so that a lost or short bitfield
// cannot hide signed history.
Result<uint64_t> Feed::Impl::NewestSignedLength(uint64_t sig_size, uint64_t limit) const {
  constexpr uint64_t kChunk = 1024;  // entries read at once
  const uint64_t entries = std::min(
      {sig_size > kHeaderSize ? (sig_size - kHeaderSize) / kSignatureSize : 0, kMaxBlocks, limit});
  Bytes buf;
  for (uint64_t end = entries; end > 0;) {
    const uint64_t start = end > kChunk ? end - kChunk : 0;
    buf.resize((end - start) * kSignatureSize);
    RETURN_IF_ERROR(
        Ann(sig_file->Read(kHeaderSize + kSignatureSize * start, buf), "reading signatures"));
    for (uint64_t j = end; j-- > start;) {
      ByteView entry(&buf[(j - start) * kSignatureSize], kSignatureSize);
      if (IsBlank(entry)) continue;
      auto roots = StoredRoots(j + 1);
      if (!roots.ok()) {
        if (roots.status().code() == Code::kIOError) return roots.status();
        continue;
      }
      crypto::Signature sig;
      std::copy(entry.begin(), entry.end(), sig.begin());
      if (VerifyCompat(SignableOf(*roots, j + 1), sig)) return j + 1;
    }
    end = start;
  }
  return uint64_t{0};
}

// Marks as held every stored node under `roots` (verified by a signature) that hashes up to
// them, top down: both children of a trusted parent are trusted when they are stored and hash
// to it. A trusted leaf's data bit is set when its bytes in `data` match it, cleared when not.
// Subtrees held already and lying wholly below `keep` blocks (what the bitfield committed) are
// left as they are. This rebuilds a lost, emptied or short bitfield from what tree and
// signatures prove.
Status Feed::Impl::RebuildBits(const std::vector<TreeNode>& roots, uint64_t keep,
                               uint64_t data_size) {
  struct Item {
    TreeNode node;
    uint64_t offset;
  };
  std::vector<Item> todo;
  uint64_t offset = 0;
  for (const auto& r : roots) {
    todo.push_back({r, offset});
    offset += r.size;
  }
  while (!todo.empty()) {
    Item it = todo.back();
    todo.pop_back();
    const uint64_t i = it.node.index.value;
    if (tree.Get(i) && flat::RightSpan(i) < 2 * keep) continue;
    tree.Set(i);
    if ((i & 1) == 0) {
      const uint64_t block = i / 2;
      bool good = false;
      if (it.node.size <= kMaxBlockBytes && it.offset <= data_size &&
          it.node.size <= data_size - it.offset) {
        auto bytes = ReadData(block, it.offset, it.node.size);
        if (!bytes.ok() && bytes.status().code() == Code::kIOError) return bytes.status();
        good = bytes.ok() && crypto::LeafHash(*bytes) == it.node.hash;
      }
      bitfield.SetData(block, good);
      continue;
    }
    ASSIGN_OR_RETURN(auto left, ReadNode(flat::LeftChild(i)));
    ASSIGN_OR_RETURN(auto right, ReadNode(flat::RightChild(i)));
    if (!left || !right) continue;
    TreeNode parent = ParentNode(*left, *right);
    if (parent.hash != it.node.hash || parent.size != it.node.size) continue;
    todo.push_back({*right, it.offset + left->size});
    todo.push_back({*left, it.offset});
  }
  return Status::Ok();
}

// Blocks marked local whose bytes lie (partly) beyond the end of `data`, or whose leaf lies
// beyond the end of `tree`, are marked missing, and nodes beyond the end of `tree` not held: a
// cut file loses blocks, never length.
Status Feed::Impl::DropCutBlocks(uint64_t data_size, uint64_t tree_size) {
  auto leaf_cut = [&](uint64_t b) { return kHeaderSize + kNodeSize * (2 * b + 1) > tree_size; };
  if (data_size >= byte_length && (length == 0 || !leaf_cut(length - 1))) return Status::Ok();
  // Nodes that lie beyond the end of `tree` are not held: a Put from a peer must not trust
  // them, nor a Digest say we have them.
  const uint64_t stored_nodes = tree_size > kHeaderSize ? (tree_size - kHeaderSize) / kNodeSize : 0;
  for (uint64_t i = stored_nodes; i < 2 * length; ++i) tree_bits.SetBit(i, false);
  for (uint64_t b = length; b-- > 0;) {
    if (!bitfield.GetData(b)) continue;
    if (leaf_cut(b)) {
      bitfield.SetData(b, false);
      continue;
    }
    bool held = false;
    auto pos = DataOffset(b, {}, &held);
    if (!pos.ok()) {
      if (pos.status().code() == Code::kIOError) return pos.status();
      bitfield.SetData(b, false);  // its leaf or roots are not stored: it cannot be read
      continue;
    }
    if (pos->first <= data_size && pos->second <= data_size - pos->first) break;
    bitfield.SetData(b, false);
  }
  return Status::Ok();
}

// The length is what the newest stored signature proves over roots stored in `tree` (see
// docs/formats/hypercore.md, "Open-time recovery"). The bitfield is the commit record: its
// claimed length tells a damaged store (it claims more than can be proven while the files hold
// more: opened read-only or refused) from a crash before the commit (whatever was written
// beyond it and verifies is kept, the rest is ignored), and is rebuilt when it proves less.
Status Feed::Impl::Recover() {
  ASSIGN_OR_RETURN(uint64_t data_size, data_file->Size());
  ASSIGN_OR_RETURN(uint64_t tree_size, tree_file->Size());
  ASSIGN_OR_RETURN(uint64_t sig_size, sig_file->Size());
  uint64_t claimed = tree.Blocks();
  if (claimed > kMaxBlocks) return Status::Corruption("bitfield claims an absurd length");
  ASSIGN_OR_RETURN(uint64_t proven, NewestSignedLength(sig_size));
  ASSIGN_OR_RETURN(auto roots, StoredRoots(proven));
  uint64_t proven_bytes = 0;
  for (const auto& r : roots) proven_bytes += r.size;

  if (claimed > proven) {
    // Does anything stored lie beyond the proven length? Then a longer history was signed,
    // stored and committed, and its proof is damaged: never drop it silently. Otherwise the
    // bitfield's claim is a stray bit with nothing behind it.
    const bool beyond = tree_size > kHeaderSize + kNodeSize * (proven > 0 ? 2 * proven - 1 : 0) ||
                        sig_size > kHeaderSize + kSignatureSize * proven ||
                        data_size > proven_bytes;
    if (beyond) {
      std::string what = proven == 0 ? "no stored signature verifies against the feed's key"
                                     : "only " + std::to_string(proven) +
                                           " can be proven by the stored signatures";
      damage = Status::Corruption("damaged feed: " + std::to_string(claimed) +
                                  " blocks were signed and stored, but " + what +
                                  " (the tree or signatures file is damaged); it is read-only "
                                  "until repaired (hyperdrive repair)");
      if (!options.open_damaged) return damage;
      // Read-only at the proven length; the bitfield stays as it is on disk (it is the record
      // of what was committed) and is never written back while damaged (Commit). In memory,
      // nothing beyond the proven length is trusted: the tree nodes there are not (a peer's
      // proof of the tail must not lean on them, nor our Digest say we hold them).
      tree.Truncate(2 * proven);
      for (uint64_t b = proven; b < claimed; ++b) bitfield.SetData(b, false);
      claimed_length = claimed;
      length = proven;
      byte_length = proven_bytes;
      // Blocks whose leaf or bytes were cut off are missing (in memory: fetched again from a
      // peer once the repair lets this feed write).
      RETURN_IF_ERROR(DropCutBlocks(data_size, tree_size));
      positions->Reserve(length);
      positions->SetOffset(length, byte_length);
      return Status::Ok();
    }
    tree.Truncate(2 * proven);
    for (uint64_t b = proven; b < claimed; ++b) bitfield.SetData(b, false);
    claimed = proven;
  }
  const bool rebuild = std::any_of(roots.begin(), roots.end(),
                                   [&](const TreeNode& r) { return !tree.Get(r.index.value); });
  if (rebuild) RETURN_IF_ERROR(RebuildBits(roots, claimed, data_size));
  length = proven;
  byte_length = proven_bytes;
  claimed_length = proven;
  RETURN_IF_ERROR(DropCutBlocks(data_size, tree_size));
  if (secret) merkle.emplace(std::move(roots));
  positions->Reserve(length);
  positions->SetOffset(length, byte_length);  // the sum of the (held) roots
  if (bitfield.pager().HasDirty() && !options.read_only) RETURN_IF_ERROR(Commit(true));
  return Status::Ok();
}

Result<std::unique_ptr<Feed>> Feed::Open(storage::FileFactory files, FeedOptions options) {
  RETURN_IF_ERROR(crypto::Init());
  auto impl = std::make_unique<Impl>();
  Impl& f = *impl;
  f.options = options;
  f.positions = std::make_unique<BlockPositions>(options.position_cache_blocks);
  RETURN_IF_ERROR(f.OpenFiles(files));

  // Stored keys.
  std::optional<crypto::PublicKey> stored_key;
  std::optional<crypto::SecretKey> stored_secret;
  {
    crypto::PublicKey k;
    Status s = f.key_file->Read(0, k);
    if (s.ok() && !IsBlank(k))
      stored_key = k;
    else if (!s.ok() && s.code() != Code::kOutOfRange)
      return s.Annotate("reading key");
    crypto::SecretKey sk;
    s = f.secret_file->Read(0, sk);
    if (s.ok() && !IsBlank(sk))
      stored_secret = sk;
    else if (!s.ok() && s.code() != Code::kOutOfRange)
      return s.Annotate("reading secret_key");
  }

  // Bitfield header and body.
  ASSIGN_OR_RETURN(uint64_t bf_size, f.bf_file->Size());
  if (bf_size >= kHeaderSize) {
    Bytes h(kHeaderSize);
    RETURN_IF_ERROR(f.bf_file->Read(0, h));
    if (!IsBlank(h)) {
      uint16_t page = GetUint16BE(&h[5]);
      if (h[0] != 5 || h[1] != 2 || h[2] != 87 || h[3] != 0 || page != kBitfieldPageSize) {
        return Status::Corruption("bitfield header is not a hypercore 9 bitfield header");
      }
    }
  }
  bool overwrite = options.overwrite;
  if (!stored_key && !overwrite) {
    // A lost or damaged `key` never resets a store that holds a feed: with the key given by
    // the caller, the stored signatures prove (or disprove) that it is this feed's.
    ASSIGN_OR_RETURN(uint64_t sig_size, f.sig_file->Size());
    ASSIGN_OR_RETURN(uint64_t tree_size, f.tree_file->Size());
    ASSIGN_OR_RETURN(uint64_t data_size, f.data_file->Size());
    bool holds =
        bf_size > kHeaderSize || sig_size > kHeaderSize || tree_size > kHeaderSize || data_size > 0;
    if (holds && !options.key && !options.secret_key && !stored_secret) {
      return Status::Corruption("the key file is missing or damaged, and the store holds a feed");
    }
  }
  if (options.read_only && overwrite) {
    return Status::InvalidArgument("a feed opened read-only cannot be overwritten");
  }
  if (stored_key && options.key && *stored_key != *options.key && !overwrite) {
    return Status::Exists("another hypercore is stored here");
  }
  if (!overwrite && bf_size > kHeaderSize) {
    uint64_t body = bf_size - kHeaderSize;
    if (body > kMaxBitfieldPages * kBitfieldPageSize) {
      return Status::Corruption("bitfield file is implausibly large");
    }
    Bytes buf(body);
    RETURN_IF_ERROR(Ann(f.bf_file->Read(kHeaderSize, buf), "reading bitfield"));
    f.bitfield.Load(buf);
  }
  if (overwrite) {
    stored_key.reset();
    stored_secret.reset();
  }

  // Which key pair.
  bool generated = false;
  if (!overwrite && stored_key) {
    f.key = *stored_key;
  } else if (options.key) {
    f.key = *options.key;
  } else if (options.secret_key) {
    std::memcpy(f.key.data(), options.secret_key->data() + 32, 32);
  } else if (stored_secret) {  // `key` lost, `secret_key` kept: the key is its second half
    std::memcpy(f.key.data(), stored_secret->data() + 32, 32);
  } else {
    if (!options.create_if_missing || options.read_only) {
      return Status::NotFound("no hypercore is stored here");
    }
    crypto::KeyPair kp = crypto::RandomKeyPair();
    f.key = kp.public_key;
    f.secret = kp.secret_key;
    generated = true;
  }
  if (!generated) {
    if (options.secret_key) {
      f.secret = *options.secret_key;
      if (!crypto::ValidateKeyPair({f.key, *f.secret})) {
        return Status::InvalidArgument("secret key does not belong to the public key");
      }
    } else if (stored_secret) {
      f.secret = *stored_secret;
      if (!crypto::ValidateKeyPair({f.key, *f.secret})) {
        return Status::Corruption("stored secret_key does not belong to the stored key");
      }
    }
  }
  f.discovery = crypto::DiscoveryKey(f.key);

  // Headers, keys (only what differs, so that reopening writes nothing). A new feed opened
  // with defer_create writes them with its first block (WriteCreated).
  if (options.defer_create && !options.read_only && !stored_key && !stored_secret && bf_size == 0) {
    ASSIGN_OR_RETURN(uint64_t sig_size, f.sig_file->Size());
    ASSIGN_OR_RETURN(uint64_t tree_size, f.tree_file->Size());
    ASSIGN_OR_RETURN(uint64_t data_size, f.data_file->Size());
    f.create_pending = sig_size == 0 && tree_size == 0 && data_size == 0;
  }
  if (f.create_pending) {
    RETURN_IF_ERROR(f.Recover());
    return std::unique_ptr<Feed>(new Feed(std::move(impl)));
  }
  bool wrote = false;
  auto ensure = [&](storage::File& file, ByteView want, const char* what) -> Status {
    Bytes have(want.size());
    Status s = file.Read(0, have);
    if (s.ok() && std::equal(have.begin(), have.end(), want.begin())) return Status::Ok();
    if (!s.ok() && s.code() != Code::kOutOfRange) return s.Annotate(what);
    if (s.ok() && !IsBlank(have) && std::string_view(what).find("header") != std::string::npos) {
      return Status::Corruption(std::string(what) + " does not match hypercore 9");
    }
    if (options.read_only) return Status::Ok();  // a header not written yet: read as blank
    wrote = true;
    return Ann(file.Write(0, want), what);
  };
  auto bf_header = MakeHeader(0, kBitfieldPageSize, "");
  auto sig_header = MakeHeader(1, kSignatureSize, "Ed25519");
  auto tree_header = MakeHeader(2, kNodeSize, "BLAKE2b");
  if (overwrite && bf_size > kHeaderSize) {
    RETURN_IF_ERROR(Ann(f.bf_file->Truncate(kHeaderSize), "resetting bitfield"));
    wrote = true;
  }
  RETURN_IF_ERROR(ensure(*f.bf_file, bf_header, "bitfield header"));
  RETURN_IF_ERROR(ensure(*f.sig_file, sig_header, "signatures header"));
  RETURN_IF_ERROR(ensure(*f.tree_file, tree_header, "tree header"));
  if (options.read_only && (!stored_key || *stored_key != f.key)) {
    return Status::NotFound("no hypercore is stored here");
  }
  if (generated || !stored_key || *stored_key != f.key) {
    wrote = true;
    RETURN_IF_ERROR(Ann(f.key_file->Write(0, f.key), "writing key"));
  }
  if (f.secret && !options.read_only &&
      (generated || !stored_secret || *stored_secret != *f.secret)) {
    f.secret_dirty = true;
    RETURN_IF_ERROR(Ann(f.secret_file->Write(0, *f.secret), "writing secret_key"));
  }
  f.keys_dirty = wrote;
  if ((wrote || f.secret_dirty) && options.durable) {
    RETURN_IF_ERROR(f.SyncContent());
    RETURN_IF_ERROR(f.bf_file->Sync());
  }

  RETURN_IF_ERROR(f.Recover());
  return std::unique_ptr<Feed>(new Feed(std::move(impl)));
}

Feed::Feed(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Feed::~Feed() { (void)Close(); }

const crypto::PublicKey& Feed::key() const { return impl_->key; }
const crypto::Hash& Feed::discovery_key() const { return impl_->discovery; }
bool Feed::writable() const { return impl_->secret.has_value(); }

uint64_t Feed::length() const {
  std::shared_lock lock(impl_->mu);
  return impl_->length;
}

uint64_t Feed::byte_length() const {
  std::shared_lock lock(impl_->mu);
  return impl_->byte_length;
}

Result<uint64_t> Feed::Append(ByteView block) {
  ByteView one[1] = {block};
  return Append(std::span<const ByteView>(one, 1));
}

Result<uint64_t> Feed::Append(std::span<const ByteView> batch) {
  Impl& f = *impl_;
  uint64_t new_length;
  {
    std::unique_lock lock(f.mu);
    RETURN_IF_ERROR(f.CheckWritable());
    if (!f.secret) return Status::NotWritable("this feed has no secret key");
    if (batch.empty()) return f.length;
    for (const auto& b : batch) {
      if (b.size() > kMaxBlockBytes) {
        return Status::InvalidArgument("blocks must be at most 8 MiB");
      }
    }
    if (f.length + batch.size() > kMaxBlocks) return Status::OutOfRange("feed is full");
    RETURN_IF_ERROR(f.EnsureMerkle());
    RETURN_IF_ERROR(f.WriteCreated());

    const uint64_t start = f.length;
    const uint64_t first_byte = f.byte_length;

    // 1. data, written while the workers hash the blocks (the leaf hashes do not depend on
    // it, and nothing else lands before it): one vectored write, no copy of the batch.
    std::vector<crypto::Hash> leaf_hashes(batch.size());
    Status data_written;
    {
      LeafHasher hasher(batch, leaf_hashes);
      hasher.Start();
      data_written = f.data_file->WriteV(first_byte, batch);
      hasher.Finish();
    }
    RETURN_IF_ERROR(Ann(data_written, "writing data"));

    MerkleTree merkle = *f.merkle;
    const uint64_t node_offset = 2 * start;
    const uint64_t batch_nodes = 2 * batch.size() - 1;
    Bytes node_buf(batch_nodes * kNodeSize, 0);
    std::vector<TreeNode> outside;  // parents left of the batch range
    std::vector<TreeNode> nodes;
    uint64_t added = 0;
    for (size_t k = 0; k < batch.size(); ++k) {
      nodes.clear();
      TreeNode leaf;
      leaf.index = TreeIndex(2 * (start + k));
      leaf.hash = leaf_hashes[k];
      leaf.size = batch[k].size();
      merkle.Next(leaf, &nodes);
      added += batch[k].size();
      for (const auto& n : nodes) {
        uint64_t i = n.index.value;
        if (i >= node_offset && i - node_offset < batch_nodes) {
          Impl::EncodeNode(n, &node_buf[(i - node_offset) * kNodeSize]);
        } else {
          outside.push_back(n);
        }
      }
    }
    const uint64_t end = start + batch.size();
    auto signable = SignableOf(merkle.roots(), end);
    crypto::Signature sig = crypto::Sign(signable, *f.secret);

    // 2. tree  3. signature  (then, in Commit, the bitfield)
    for (const auto& n : outside) RETURN_IF_ERROR(f.WriteNode(n));
    RETURN_IF_ERROR(
        Ann(f.tree_file->Write(kHeaderSize + kNodeSize * node_offset, node_buf), "writing tree"));
    RETURN_IF_ERROR(Ann(f.sig_file->Write(kHeaderSize + kSignatureSize * (end - 1), sig),
                        "writing signatures"));

    f.merkle = std::move(merkle);
    f.byte_length += added;
    for (uint64_t b = start; b < end; ++b) {
      f.bitfield.SetData(b, true);
      f.tree.Set(2 * b);
    }
    f.length = end;
    Status c = f.Commit(f.options.durable);
    if (!c.ok()) {
      f.broken = c;
      return c;
    }
    // Hashed just now: remembered as verified, with their positions.
    f.positions->Reserve(end);
    uint64_t at = first_byte;
    for (size_t k = 0; k < batch.size(); ++k) {
      f.positions->SetVerified(start + k, at, batch[k].size());
      at += batch[k].size();
    }
    f.positions->SetOffset(end, at);
    new_length = f.length;
  }
  std::vector<AppendListener> ls;
  {
    std::lock_guard g(f.cb_mu);
    for (auto& [h, l] : f.listeners) ls.push_back(l);
  }
  for (auto& l : ls) l(new_length);
  return new_length;
}

// Reads a local block with `read`, asking the fetcher (once) for a block that is not local.
template <typename ReadFn>
static Result<Bytes> ReadLocalOrFetch(Feed::Impl& f, BlockIndex index, GetOptions options,
                                      ReadFn read) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    BlockFetcher fetcher;
    {
      std::shared_lock lock(f.mu);
      RETURN_IF_ERROR(f.CheckOpen());
      if (index.value < f.length && f.bitfield.GetData(index.value)) return read();
      if (attempt == 0 && options.wait) {
        std::lock_guard g(f.cb_mu);
        fetcher = f.fetcher;
      }
      if (!fetcher) {
        if (index.value >= f.length) {
          return Status::OutOfRange("block " + std::to_string(index.value) +
                                    " is beyond the feed's length " + std::to_string(f.length));
        }
        return Status::NotFound("block " + std::to_string(index.value) + " is not stored locally");
      }
    }
    RETURN_IF_ERROR(fetcher(index, options.timeout));
  }
  return Status::NotFound("block " + std::to_string(index.value) + " was not delivered");
}

Result<Bytes> Feed::Get(BlockIndex index, GetOptions options) {
  return ReadLocalOrFetch(*impl_, index, options, [&] {
    return impl_->ReadBlock(index.value, /*rehash=*/false, options.byte_offset);
  });
}

Result<Bytes> Feed::GetRange(BlockIndex index, uint64_t offset, uint64_t length,
                             GetOptions options) {
  return ReadLocalOrFetch(*impl_, index, options, [&] {
    return impl_->ReadBlockRange(index.value, offset, length, options.byte_offset);
  });
}

// ---- Runs of blocks read in one go (the streaming read side; see core::BlockReader) ----

// At most this many blocks in one run: their leaves are one read of the tree of 320 KiB.
constexpr uint64_t kMaxRunBlocks = 4096;

Result<BlockRun> Feed::ReadRun(BlockIndex first, BlockIndex end, MutableByteView out) const {
  const Impl& f = *impl_;
  std::shared_lock lock(f.mu);
  RETURN_IF_ERROR(f.CheckOpen());
  const uint64_t a = first.value;
  if (a >= f.length) {
    return Status::OutOfRange("block " + std::to_string(a) + " is beyond the feed's length " +
                              std::to_string(f.length));
  }
  if (!f.bitfield.GetData(a) || !f.tree.Get(2 * a)) {
    return Status::NotFound("block " + std::to_string(a) + " is not stored locally");
  }
  const uint64_t b = std::min({end.value, f.length, a + kMaxRunBlocks});
  if (b <= a) return Status::InvalidArgument("an empty run of blocks");
  // The leaves of blocks [a, b) are the even nodes of one stretch of the tree file.
  const uint64_t nodes = 2 * (b - a) - 1;
  Bytes leaves(nodes * kNodeSize);
  Status read = f.tree_file->Read(kHeaderSize + kNodeSize * 2 * a, leaves);
  if (read.code() == Code::kOutOfRange) return Status::Corruption("the tree file is cut short");
  RETURN_IF_ERROR(Ann(read, "reading tree"));
  BlockRun run;
  run.first = first;
  for (uint64_t j = a; j < b; ++j) {
    if (j > a && (!f.bitfield.GetData(j) || !f.tree.Get(2 * j))) break;
    auto leaf = ParseNode(&leaves[2 * (j - a) * kNodeSize], 2 * j);
    if (!leaf || leaf->size > kMaxBlockBytes) {
      return Status::Corruption("block " + std::to_string(j) + " has an impossible size");
    }
    if (leaf->size > out.size() - run.bytes) break;
    run.sizes.push_back(leaf->size);
    run.leaf_hashes.push_back(leaf->hash);
    run.bytes += leaf->size;
  }
  if (run.sizes.empty()) {
    return Status::InvalidArgument("block " + std::to_string(a) + " does not fit the buffer");
  }
  auto pos = f.positions->Find(a);
  bool held = true;  // every node the offset comes from is held: the positions may be kept
  if (pos) {
    if (pos->size != run.sizes[0]) {
      return Status::Corruption("block " + std::to_string(a) + " has an impossible size");
    }
    run.offset = pos->offset;
  } else {
    ASSIGN_OR_RETURN(run.offset, f.OffsetOf(a, &held));
  }
  if (run.offset > f.byte_length || run.bytes > f.byte_length - run.offset) {
    return Status::Corruption("blocks from " + std::to_string(a) + " lie beyond the feed's end");
  }
  if (run.bytes > 0) {
    Status s = f.data_file->Read(run.offset, out.first(run.bytes));
    if (s.code() == Code::kOutOfRange) {
      return Status::Corruption("block " + std::to_string(a) + " is cut short in data");
    }
    RETURN_IF_ERROR(Ann(s, "reading data"));
  }
  // The positions the leaves give (held nodes: safe to remember), and which blocks were
  // already verified (a remembered block whose place differs is checked again, like any).
  run.verified.resize(run.count());
  uint64_t at = run.offset;
  for (uint64_t k = 0; k < run.count(); ++k) {
    if (held) {
      f.positions->SetOffset(a + k, at);
      f.positions->SetSize(a + k, run.sizes[k]);
    }
    auto known = f.positions->Find(a + k);
    run.verified[k] =
        known && known->verified && known->offset == at && known->size == run.sizes[k];
    at += run.sizes[k];
  }
  run.held = held;
  return run;
}

void Feed::RememberVerified(const BlockRun& run) const {
  const Impl& f = *impl_;
  std::shared_lock lock(f.mu);
  if (f.closed || !run.held) return;
  uint64_t at = run.offset;
  for (uint64_t k = 0; k < run.count(); ++k) {
    const uint64_t block = run.first.value + k;
    // A block cleared (or found bad by an audit) meanwhile is left for its next read.
    if (block < f.length && f.bitfield.GetData(block)) {
      f.positions->SetVerified(block, at, run.sizes[k]);
    }
    at += run.sizes[k];
  }
}

void Feed::SetBlockFetcher(BlockFetcher fetcher) {
  std::lock_guard g(impl_->cb_mu);
  impl_->fetcher = std::move(fetcher);
}

bool Feed::Has(BlockIndex index) const {
  std::shared_lock lock(impl_->mu);
  return index.value < impl_->length && impl_->bitfield.GetData(index.value);
}

bool Feed::Has(BlockIndex start, BlockIndex end) const {
  if (end <= start) return true;
  std::shared_lock lock(impl_->mu);
  if (end.value > impl_->length) return false;
  return impl_->bitfield.Total(start.value, end.value) == end.value - start.value;
}

uint64_t Feed::Downloaded(BlockIndex start, BlockIndex end) const {
  std::shared_lock lock(impl_->mu);
  uint64_t e = std::min(end.value, impl_->length);
  if (e <= start.value) return 0;
  return impl_->bitfield.Total(start.value, e);
}

uint64_t Feed::Downloaded() const { return Downloaded(BlockIndex(0), BlockIndex(UINT64_MAX)); }

Result<uint64_t> Feed::ByteOffsetOf(BlockIndex index) const {
  const Impl& f = *impl_;
  std::shared_lock lock(f.mu);
  RETURN_IF_ERROR(f.CheckOpen());
  if (index.value > f.length) return Status::OutOfRange("block beyond the feed's length");
  if (index.value == f.length) return f.byte_length;
  bool held = false;
  return f.OffsetOf(index.value, &held);
}

Result<std::vector<TreeNode>> Feed::LeafNodes(BlockIndex start, BlockIndex end) const {
  const Impl& f = *impl_;
  std::shared_lock lock(f.mu);
  RETURN_IF_ERROR(f.CheckOpen());
  if (end.value > f.length || start > end) {
    return Status::OutOfRange("blocks beyond the feed's length");
  }
  std::vector<TreeNode> out;
  if (start == end) return out;
  const uint64_t count = end.value - start.value;
  for (uint64_t b = start.value; b < end.value; ++b) {
    if (!f.tree.Get(2 * b)) {
      return Status::NotFound("the tree node of block " + std::to_string(b) + " is not stored");
    }
  }
  // The leaves and the parents between them lie back to back: nodes 2 * start .. 2 * end - 2.
  Bytes buf((2 * count - 1) * kNodeSize);
  RETURN_IF_ERROR(
      Ann(f.tree_file->Read(kHeaderSize + kNodeSize * 2 * start.value, buf), "reading tree"));
  out.reserve(count);
  for (uint64_t k = 0; k < count; ++k) {
    auto node = ParseNode(&buf[2 * k * kNodeSize], 2 * (start.value + k));
    if (!node) {
      return Status::NotFound("the tree node of block " + std::to_string(start.value + k) +
                              " is not stored");
    }
    out.push_back(*node);
  }
  return out;
}

bool Feed::HasNode(TreeIndex index) const {
  std::shared_lock lock(impl_->mu);
  return impl_->tree.Get(index.value);
}

Result<std::pair<BlockIndex, uint64_t>> Feed::Seek(ByteOffset offset) const {
  const Impl& f = *impl_;
  std::shared_lock lock(f.mu);
  RETURN_IF_ERROR(f.CheckOpen());
  const uint64_t target = offset.value;
  if (target == f.byte_length) return std::make_pair(BlockIndex(f.length), uint64_t{0});
  if (target > f.byte_length) return Status::OutOfRange("seek beyond the end of the feed");
  if (target == 0) return std::make_pair(BlockIndex(0), uint64_t{0});
  auto not_found = [] { return Status::NotFound("the tree nodes to seek are not local"); };
  // The reference's walk (each root, then down the left children), except that a step whose
  // answer is a remembered block offset reads no node; a step that reads one remembers the
  // offset it learns (when every node read so far is held).
  BlockPositions& memo = *f.positions;
  uint64_t lo = 0;  // byte offset of the first block below the current root or node
  bool held = true;
  for (uint64_t r : flat::FullRoots(2 * f.length)) {
    const uint64_t end_block = flat::RightSpan(r) / 2 + 1;
    uint64_t end = 0;
    if (auto o = memo.Offset(end_block)) {
      end = *o;
    } else {
      ASSIGN_OR_RETURN(TreeNode node, f.NeedNode(r));
      end = lo + node.size;
      held = held && f.tree.Get(r);
      if (held) memo.SetOffset(end_block, end);
    }
    if (end <= target) {
      lo = end;
      continue;
    }
    // Descend inside this root.
    uint64_t top = r;
    while (top & 1) {
      const uint64_t right = flat::RightChild(top);
      if (auto mid = memo.Offset(flat::LeftSpan(right) / 2)) {
        if (*mid > target) {
          top = flat::LeftChild(top);
        } else {
          lo = *mid;
          top = right;
        }
        continue;
      }
      uint64_t left = flat::LeftChild(top);
      while (!f.tree.Get(left)) {
        if ((left & 1) == 0) return not_found();
        left = flat::LeftChild(left);
      }
      ASSIGN_OR_RETURN(TreeNode ln, f.NeedNode(left));
      const uint64_t after = lo + ln.size;  // offset of the block after `left`
      if (held) memo.SetOffset(flat::RightSpan(left) / 2 + 1, after);
      if (after > target) {
        top = left;
      } else {
        lo = after;
        top = flat::Sibling(left);
        if (!f.tree.Get(top) && (top & 1) == 0) return not_found();
      }
    }
    return std::make_pair(BlockIndex(top / 2), target - lo);
  }
  return Status::OutOfRange("seek beyond the end of the feed");
}

Result<std::vector<TreeNode>> Feed::RootHashes(uint64_t length) const {
  std::shared_lock lock(impl_->mu);
  RETURN_IF_ERROR(impl_->CheckOpen());
  if (length > impl_->length) return Status::OutOfRange("length beyond the feed");
  return impl_->Roots(length);
}

Result<StoredSignature> Feed::Signature(BlockIndex index) const {
  const Impl& f = *impl_;
  std::shared_lock lock(f.mu);
  RETURN_IF_ERROR(f.CheckOpen());
  if (index.value >= f.length) return Status::OutOfRange("no signature beyond the length");
  for (uint64_t i = index.value; i < f.length; ++i) {
    ASSIGN_OR_RETURN(auto sig, f.ReadSignature(i));
    if (sig) return StoredSignature{BlockIndex(i), *sig};
  }
  return Status::NotFound("no signature stored at or after this block");
}

Status Feed::VerifySignature(BlockIndex index, const crypto::Signature& signature) const {
  const Impl& f = *impl_;
  std::shared_lock lock(f.mu);
  RETURN_IF_ERROR(f.CheckOpen());
  ASSIGN_OR_RETURN(auto roots, f.Roots(index.value + 1));
  auto signable = SignableOf(roots, index.value + 1);
  if (!f.VerifyCompat(signable, signature)) {
    return Status::InvalidSignature("signature verification failed");
  }
  return Status::Ok();
}

uint64_t Feed::Digest(BlockIndex index) const {
  std::shared_lock lock(impl_->mu);
  return impl_->tree.Digest(2 * index.value);
}

Result<Proof> Feed::MakeProof(BlockIndex index, ProofOptions options) const {
  const Impl& f = *impl_;
  std::shared_lock lock(f.mu);
  RETURN_IF_ERROR(f.CheckOpen());
  auto plan = f.tree.Proof(2 * index.value, options.digest, options.hash);
  if (!plan) return Status::NotFound("no proof available for this index");
  Proof proof;
  for (uint64_t n : plan->nodes) {
    ASSIGN_OR_RETURN(TreeNode node, f.NeedNode(n));
    proof.nodes.push_back(node);
  }
  if (plan->verified_by) {
    ASSIGN_OR_RETURN(auto sig, f.ReadSignature(plan->verified_by / 2 - 1));
    if (!sig) return Status::NotFound("no signature found for the proof");
    proof.signature = *sig;
  }
  return proof;
}

Status Feed::Impl::PutLocked(uint64_t index, ByteView data, const Proof& proof, bool* grew,
                             uint64_t min_length) {
  *grew = false;
  if (index >= kMaxBlocks) return Status::OutOfRange("block index too large");
  if (data.size() > kMaxBlockBytes) return Status::InvalidArgument("block too large");
  if (proof.nodes.size() > 256) return Status::Corruption("proof has too many nodes");
  for (const auto& n : proof.nodes) {
    if (n.index.value >= 4 * kMaxBlocks) return Status::Corruption("proof node index too large");
  }
  if (bitfield.GetData(index) && index < length) return Status::Ok();  // already have it

  // Walk up from the leaf: which nodes the proof gives, which we hold, where trust starts.
  int64_t trusted = -1;
  std::vector<uint64_t> missing;
  uint64_t next = 2 * index;
  size_t i = 0;
  while (true) {
    if (tree.Get(next)) {
      trusted = static_cast<int64_t>(next);
      break;
    }
    uint64_t sib = flat::Sibling(next);
    next = flat::Parent(next);
    if (i < proof.nodes.size() && proof.nodes[i].index.value == sib) {
      ++i;
      continue;
    }
    if (!tree.Get(sib)) break;
    missing.push_back(sib);
  }
  if (trusted == -1 && tree.Get(next)) trusted = static_cast<int64_t>(next);

  std::deque<TreeNode> local;
  for (uint64_t m : missing) {
    ASSIGN_OR_RETURN(TreeNode n, NeedNode(m));
    local.push_back(n);
  }
  std::optional<TreeNode> trusted_node;
  if (trusted >= 0) {
    ASSIGN_OR_RETURN(TreeNode n, NeedNode(static_cast<uint64_t>(trusted)));
    trusted_node = n;
  }
  auto matches = [&](const TreeNode& n) {
    return trusted_node && trusted_node->index == n.index && trusted_node->hash == n.hash;
  };

  std::deque<TreeNode> remote(proof.nodes.begin(), proof.nodes.end());
  std::vector<TreeNode> visited;
  TreeNode top = LeafNode(index, data);
  std::optional<StoredSignature> signature;
  uint64_t new_length = length;
  uint64_t new_byte_length = byte_length;

  bool verified = matches(top);
  while (!verified) {
    uint64_t sib = flat::Sibling(top.index.value);
    TreeNode node;
    if (!remote.empty() && remote.front().index.value == sib) {
      node = remote.front();
      remote.pop_front();
      visited.push_back(node);
    } else if (!local.empty() && local.front().index.value == sib) {
      node = local.front();
      local.pop_front();
    } else {
      // top and the remaining remote nodes must be the roots of a signed tree.
      uint64_t last = remote.empty() ? top.index.value : remote.back().index.value;
      uint64_t verified_by = std::max(flat::RightSpan(top.index.value), flat::RightSpan(last)) + 2;
      uint64_t len = verified_by / 2;
      std::vector<TreeNode> roots;
      for (uint64_t r : flat::FullRoots(verified_by)) {
        if (r == top.index.value) {
          roots.push_back(top);
          visited.push_back(top);
        } else if (!remote.empty() && remote.front().index.value == r) {
          roots.push_back(remote.front());
          visited.push_back(remote.front());
          remote.pop_front();
        } else if (tree.Get(r)) {
          ASSIGN_OR_RETURN(TreeNode n, NeedNode(r));
          roots.push_back(n);
        } else {
          return Status::Corruption("missing tree roots needed for verify");
        }
      }
      auto signable = SignableOf(roots, len);
      if (proof.signature) {
        if (!VerifyCompat(signable, *proof.signature)) {
          return Status::InvalidSignature("remote signature could not be verified");
        }
        signature = StoredSignature{BlockIndex(len - 1), *proof.signature};
      } else {
        if (length > 0) return Status::InvalidSignature("remote did not include a signature");
        if (!std::equal(key.begin(), key.end(), signable.begin())) {
          return Status::InvalidSignature("remote checksum failed");
        }
      }
      if (len > length) {
        new_length = len;
        new_byte_length = 0;
        for (const auto& r : roots) new_byte_length += r.size;
      }
      break;  // verified by the signature
    }
    visited.push_back(top);
    top = ParentNode(top, node);
    verified = matches(top);
  }

  if (new_length < min_length) {
    return Status::Corruption("damaged feed: block " + std::to_string(index) +
                              " proves a signed length of " + std::to_string(new_length) +
                              " blocks, not the " + std::to_string(min_length) +
                              " that were signed and stored");
  }

  // Verified: write data, nodes, signature, then the bitfield.
  RETURN_IF_ERROR(WriteCreated());
  for (const auto& n : visited) RETURN_IF_ERROR(WriteNode(n));
  std::optional<uint64_t> remember_at;  // where the (hashed) data went, to remember it
  if (!data.empty()) {
    bool held = false;
    ASSIGN_OR_RETURN(auto pos, DataOffset(index, visited, &held));
    if (pos.second != data.size()) return Status::Corruption("unexpected data size");
    RETURN_IF_ERROR(Ann(data_file->Write(pos.first, data), "writing data"));
    if (held) remember_at = pos.first;
  }
  if (signature) {
    RETURN_IF_ERROR(Ann(sig_file->Write(kHeaderSize + kSignatureSize * signature->index.value,
                                        signature->signature),
                        "writing signatures"));
  }
  for (const auto& n : visited) tree.Set(n.index.value);
  tree.Set(2 * index);
  bitfield.SetData(index, true);
  if (new_length > length) {
    length = new_length;
    byte_length = new_byte_length;
    merkle.reset();
    *grew = true;
  }
  Status c = Commit(options.durable);
  if (!c.ok()) {
    broken = c;
    return c;
  }
  positions->Reserve(length);
  if (*grew) positions->SetOffset(length, byte_length);  // the sum of verified or held roots
  if (remember_at) positions->SetVerified(index, *remember_at, data.size());
  return c;
}

Status Feed::Put(BlockIndex index, ByteView data, const Proof& proof) {
  Impl& f = *impl_;
  bool grew = false;
  uint64_t new_length;
  {
    std::unique_lock lock(f.mu);
    RETURN_IF_ERROR(f.CheckOpen());
    if (!f.broken.ok()) return f.broken;
    // A damaged feed takes one block from a peer: one whose proof carries a signature of at
    // least the length that was signed and stored here (the peer's head). Its nodes and
    // signature replace the damaged ones, and the feed is whole and writable again; the blocks
    // between are missing until fetched.
    const bool repairing = !f.damage.ok();
    RETURN_IF_ERROR(f.PutLocked(index.value, data, proof, &grew, repairing ? f.claimed_length : 0));
    if (repairing) {
      if (f.length < f.claimed_length) {  // a block held already: it proves nothing new
        return Status::Corruption("damaged feed: block " + std::to_string(index.value) +
                                  " does not prove the " + std::to_string(f.claimed_length) +
                                  " blocks that were signed and stored");
      }
      f.damage = Status::Ok();
      f.claimed_length = f.length;
      f.merkle.reset();
      Status c = f.Commit(true);
      if (!c.ok()) {
        f.broken = c;
        return c;
      }
    }
    new_length = f.length;
  }
  if (grew) {
    std::vector<AppendListener> ls;
    {
      std::lock_guard g(f.cb_mu);
      for (auto& [h, l] : f.listeners) ls.push_back(l);
    }
    for (auto& l : ls) l(new_length);
  }
  return Status::Ok();
}

Result<AuditReport> Feed::Audit(bool repair) {
  Impl& f = *impl_;
  std::unique_lock lock(f.mu);
  RETURN_IF_ERROR(repair ? f.CheckWritable() : f.CheckOpen());
  AuditReport report;
  for (uint64_t b = 0; b < f.length; ++b) {
    const bool local = f.bitfield.GetData(b);
    if (!local && !(repair && f.tree.Get(2 * b))) continue;
    auto block = f.ReadBlock(b, /*rehash=*/true);
    if (!block.ok() && block.status().code() == Code::kIOError) return block.status();
    if (!local) {
      if (block.ok()) {
        ++report.restored;
        f.bitfield.SetData(b, true);
      }
      continue;
    }
    if (block.ok()) {
      ++report.valid;
      continue;
    }
    ++report.invalid;
    f.positions->ClearVerified(b, b + 1);
    if (repair) f.bitfield.SetData(b, false);
  }
  if (!repair) return report;
  Status c = f.Commit(f.options.durable);
  if (!c.ok()) f.broken = c;
  RETURN_IF_ERROR(c);
  return report;
}

Status Feed::damage() const {
  std::shared_lock lock(impl_->mu);
  return impl_->damage;
}

uint64_t Feed::claimed_length() const {
  std::shared_lock lock(impl_->mu);
  return impl_->damage.ok() ? impl_->length : impl_->claimed_length;
}

Status Feed::DropUnprovableTail() {
  Impl& f = *impl_;
  std::unique_lock lock(f.mu);
  RETURN_IF_ERROR(f.CheckOpen());
  if (f.options.read_only) return Status::NotWritable("the feed is open read-only");
  if (!f.broken.ok()) return f.broken;
  if (f.damage.ok()) return Status::Ok();
  // Bits first (synced), then the files: a crash in between leaves a store that opens at the
  // proven length with debris beyond it, which the next append overwrites.
  f.tree.Truncate(2 * f.length);
  for (uint64_t b = f.length; b < f.claimed_length; ++b) f.bitfield.SetData(b, false);
  ASSIGN_OR_RETURN(auto roots, f.StoredRoots(f.length));
  ASSIGN_OR_RETURN(uint64_t data_size, f.data_file->Size());
  if (std::any_of(roots.begin(), roots.end(),
                  [&](const TreeNode& r) { return !f.tree.Get(r.index.value); })) {
    RETURN_IF_ERROR(f.RebuildBits(roots, f.tree.Blocks(), data_size));
  }
  ASSIGN_OR_RETURN(uint64_t tree_size, f.tree_file->Size());
  RETURN_IF_ERROR(f.DropCutBlocks(data_size, tree_size));
  if (f.secret) {
    // A writer goes on from a log it holds whole: back to the newest signed length below its
    // first block that is not local (its leaf was lost with the tree, or its bytes with data).
    ASSIGN_OR_RETURN(uint64_t sig_size, f.sig_file->Size());
    uint64_t target = f.length;
    while (true) {
      uint64_t missing = 0;
      while (missing < target && f.bitfield.GetData(missing)) ++missing;
      if (missing == target) break;
      ASSIGN_OR_RETURN(target, f.NewestSignedLength(sig_size, missing));
    }
    if (target < f.length) {
      f.tree.Truncate(2 * target);
      for (uint64_t b = target; b < f.length; ++b) f.bitfield.SetData(b, false);
      ASSIGN_OR_RETURN(roots, f.StoredRoots(target));
      f.length = target;
      f.byte_length = 0;
      for (const auto& r : roots) f.byte_length += r.size;
    }
  }
  // Positions remembered past the new end would not fit the blocks appended there.
  f.positions = std::make_unique<BlockPositions>(f.options.position_cache_blocks);
  f.positions->Reserve(f.length);
  f.positions->SetOffset(f.length, f.byte_length);
  // From here on the store is at the proven length (what a reopen finds after the commit).
  f.damage = Status::Ok();
  f.claimed_length = f.length;
  Status c = f.Commit(true);
  if (!c.ok()) {
    f.broken = c;
    return c;
  }
  const uint64_t nodes = f.length > 0 ? 2 * f.length - 1 : 0;
  RETURN_IF_ERROR(Ann(f.tree_file->Truncate(kHeaderSize + kNodeSize * nodes), "cutting tree"));
  RETURN_IF_ERROR(
      Ann(f.sig_file->Truncate(kHeaderSize + kSignatureSize * f.length), "cutting signatures"));
  if (data_size > f.byte_length) {
    RETURN_IF_ERROR(Ann(f.data_file->Truncate(f.byte_length), "cutting data"));
  }
  RETURN_IF_ERROR(f.SyncContent());
  f.merkle.reset();
  return Status::Ok();
}

Status Feed::Clear(BlockIndex start, BlockIndex end) {
  Impl& f = *impl_;
  std::unique_lock lock(f.mu);
  RETURN_IF_ERROR(f.CheckWritable());
  uint64_t e = std::min(end.value, f.length);
  if (e <= start.value) return Status::Ok();
  bool modified = false;
  for (uint64_t b = start.value; b < e; ++b) modified |= f.bitfield.SetData(b, false);
  if (!modified) return Status::Ok();
  f.positions->ClearVerified(start.value, e);
  // Bits first (durably when asked), then free the bytes: a crash in between leaves blocks
  // that are merely not claimed.
  Status c = f.Commit(f.options.durable);
  if (!c.ok()) {
    f.broken = c;
    return c;
  }
  bool held = false;
  ASSIGN_OR_RETURN(uint64_t from, f.OffsetOf(start.value, &held));
  uint64_t to = f.byte_length;
  if (e < f.length) {
    ASSIGN_OR_RETURN(to, f.OffsetOf(e, &held));
  }
  if (to > from) {
    f.unsynced = true;
    RETURN_IF_ERROR(Ann(f.data_file->Del(from, to - from), "freeing data"));
  }
  return Status::Ok();
}

uint64_t Feed::OnAppend(AppendListener listener) {
  std::lock_guard g(impl_->cb_mu);
  uint64_t h = impl_->next_handle++;
  impl_->listeners.emplace(h, std::move(listener));
  return h;
}

void Feed::RemoveListener(uint64_t handle) {
  std::lock_guard g(impl_->cb_mu);
  impl_->listeners.erase(handle);
}

Status Feed::Flush() {
  Impl& f = *impl_;
  std::unique_lock lock(f.mu);
  if (f.options.read_only) return f.CheckOpen();  // nothing was written
  RETURN_IF_ERROR(f.CheckWritable());
  return f.Commit(true);
}

Status Feed::Close() {
  Impl& f = *impl_;
  std::unique_lock lock(f.mu);
  if (f.closed) return Status::Ok();
  // A feed that was only read since its last sync is closed as it is: no write, no sync (but
  // of a secret_key written by Open). A read-only feed never writes: what Open found and fixed
  // in memory (a rebuilt bitfield, a stray tail) stays in memory.
  Status s = f.broken;
  if (f.options.read_only) {
    s = Status::Ok();
  } else if (s.ok() && (f.unsynced || f.keys_dirty || f.bitfield.pager().HasDirty())) {
    s = f.Commit(true);
  } else if (s.ok() && f.secret_dirty) {
    s = Ann(f.secret_file->Sync(), "syncing secret_key");
  }
  f.closed = true;
  for (auto* file :
       {&f.key_file, &f.secret_file, &f.tree_file, &f.data_file, &f.sig_file, &f.bf_file}) {
    if (*file) {
      Status c = (*file)->Close();
      if (s.ok() && !c.ok()) s = c;
    }
  }
  return s;
}

}  // namespace hyper::core
