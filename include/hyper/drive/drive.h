// hyper::drive — hyperdrive 10.21, byte compatible on disk with the Node reference
// (docs/formats/hyperdrive.md). A drive is a metadata feed holding a hypertrie of Stat records
// (whose header names the content feed) and a content feed holding file bytes, both in one
// Corestore. The API follows the reference's fs-style calls with Result instead of callbacks.
//
// Thread safety: every method may be called from any thread. Content writes (WriteFile, a
// FileWriter's lifetime, a writing FileHandle's, Truncate) are serialized by the drive's
// content lock; a thread already holding it (an open writer) gets Busy for a second content
// write. Trie writes are serialized by the trie's own lock. A Drive must not outlive the
// Corestore it was opened from, and writers and handles must not outlive their Drive.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "hyper/core/feed.h"
#include "hyper/corestore/corestore.h"
#include "hyper/trie/mount.h"
#include "hyper/trie/trie.h"
#include "hyper/util/bytes.h"
#include "hyper/util/heap_optional.h"
#include "hyper/util/status.h"

namespace hyper::drive {

// File type bits of Stat::mode (as in stat(2)).
constexpr uint32_t kModeTypeMask = 0170000;
constexpr uint32_t kModeFile = 0100000;
constexpr uint32_t kModeDirectory = 0040000;
constexpr uint32_t kModeSymlink = 0120000;
constexpr uint32_t kDefaultFileMode = 0644;
constexpr uint32_t kDefaultDirectoryMode = 0755;

// The reference's write stream cuts content into blocks of at most this many bytes.
constexpr size_t kContentBlockBytes = 524288;
// Where tags live in the trie (hidden keys), value = varint(version).
constexpr std::string_view kTagPrefix = "hyperdrive-tags/";

// hyperdrive-schemas `Mount`.
struct MountRecord {
  Bytes key;
  std::optional<uint64_t> version;
  std::optional<Bytes> hash;
  std::optional<bool> hypercore;

  Bytes Encode() const;
  static Result<MountRecord> Decode(ByteView in);
  bool operator==(const MountRecord&) const = default;
};

// The `metadata` map, in the order the reference's JS object would enumerate it (see
// OrderMetadata). A value of nullopt is a removed key (the reference keeps the key, no value).
using MetadataMap = std::vector<std::pair<std::string, std::optional<Bytes>>>;

// Sets key to value: replaces in place when present, appends otherwise.
void SetMetadataEntry(MetadataMap& map, std::string key, std::optional<Bytes> value);
// The entry for key, or null.
const std::optional<Bytes>* FindMetadataEntry(const MetadataMap& map, std::string_view key);
// JS object key order: array-index keys ("0".."4294967294") ascending, then the rest in
// insertion order. Encode writes entries in this order.
MetadataMap OrderMetadata(const MetadataMap& map);

// hyperdrive-schemas `Stat`. Times are milliseconds since the epoch.
struct Stat {
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  uint64_t blocks = 0;
  uint64_t offset = 0;       // first content block
  uint64_t byte_offset = 0;  // content byte position of that block
  uint64_t mtime = 0;
  uint64_t ctime = 0;
  std::string linkname;             // "" = not a symlink target (not written)
  HeapOptional<MountRecord> mount;  // an optional (on the heap: most Stats have none)
  MetadataMap metadata;

  bool IsFile() const { return (mode & kModeTypeMask) == kModeFile; }
  bool IsDirectory() const { return (mode & kModeTypeMask) == kModeDirectory; }
  bool IsSymlink() const { return (mode & kModeTypeMask) == kModeSymlink; }

  // As the reference writes a Stat object: mode..ctime always, linkname when not empty, mount
  // when present, then the metadata entries in JS key order.
  Bytes Encode() const;
  // Missing fields decode as 0 / empty, like the reference. Corruption without a mode.
  static Result<Stat> Decode(ByteView in);
  bool operator==(const Stat&) const = default;
};

// Milliseconds since the epoch, now.
uint64_t NowMillis();

// Canonical absolute path: "/" + segments joined by '/', with "", "." dropped and ".." going up
// (never above the root); backslashes are separators (unixify). InvalidArgument for a NUL byte.
Result<std::string> NormalizePath(std::string_view path);
// The trie key of a normalized path (no leading '/'; "" for the root).
std::string TrieKeyOf(std::string_view normalized);

// Attributes for new files and directories. Unset fields take the reference's defaults (mode
// 0644 for files / 0755 for directories, uid=gid=0, times = now).
struct WriteOptions {
  std::optional<uint32_t> mode;  // permission bits; the type bits are set by the call
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<uint64_t> mtime;
  std::optional<uint64_t> ctime;
  MetadataMap metadata;
  // Deduplication (docs/dedup.md): a file whose bytes, cut into the same content blocks, equal
  // those of a file the drive already holds locally gets a Stat pointing at that file's blocks
  // instead of new ones. WriteFile, WriteFiles and a FileWriter whose file fits in its 4 MiB
  // buffer, or whose blocks match a known file's from the first one on, are deduplicated.
  bool dedup = true;
};

struct ReaddirOptions {
  bool recursive = false;
  // false: names and paths only, each DirEntry's Stat left empty (the reference's readdir
  // without includeStats). Only one-level listings skip the Stats.
  bool stats = true;
  // Do not descend into mounts (a mount is listed as its mount point only).
  bool no_mounts = false;
  // A recursive listing meets a mount of a drive it is already inside (a mount cycle: A mounts
  // B, which mounts A): the mount point is listed and not descended into, and this is called
  // with its path (when set), so that the caller can warn.
  std::function<void(const std::string& path)> on_mount_cycle;
};

struct DirEntry {
  std::string name;  // relative to the listed directory
  std::string path;  // absolute
  Stat stat;         // one-level listings give a fresh directory Stat for nested entries
};

struct DiffEntry {
  // kMount / kUnmount: the newer / older side is a mount node (mountable-hypertrie's types).
  enum class Type { kPut, kDel, kMount, kUnmount };
  Type type = Type::kPut;
  std::string name;             // the trie key (no leading '/')
  std::optional<Stat> value;    // the newer side's Stat (puts)
  std::optional<uint64_t> seq;  // the newer node's seq
  std::optional<uint64_t> previous_seq;
  // "put", "del", "mount" or "unmount", the words of the reference's diff stream.
  const char* type_name() const;
};

struct MountOptions {
  std::optional<uint64_t> version;  // a fixed version of the mounted drive
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
};

struct MountEntry {
  std::string path;
  crypto::PublicKey metadata_key{};
  std::optional<crypto::PublicKey> content_key;  // when the mounted drive's header is local
};

// Blocks [start, end) of a content feed (the drive's own or a mounted drive's).
struct ContentRange {
  std::shared_ptr<core::Feed> feed;
  uint64_t start = 0;
  uint64_t end = 0;
};

struct DriveOptions {
  // Open the drive with this metadata key (writable when the store holds its name).
  std::optional<crypto::PublicKey> key;
  // Without a key: the default core of this corestore namespace ("default" = the store's
  // default core), as `new Hyperdrive(store, null, {namespace})` does.
  std::string namespace_name = "default";
  // With a key that the store does not hold: create an empty replica (true) or NotFound.
  bool create_if_missing = true;
};

// Drive::ClearUntagged's retention policy. The latest version and every tagged version are
// always kept; these keep more.
struct GcOptions {
  // Keep what the last N versions read (1: only the latest; 0 is InvalidArgument).
  uint64_t keep_versions = 1;
  // Keep every version created at or after this time (milliseconds since the epoch), and the
  // one current at that time. A version's time is the newest Stat ctime written up to it
  // (versions carry no time of their own; see docs/gc.md).
  std::optional<uint64_t> keep_since;
  // Compute the report, free nothing.
  bool dry_run = false;
};

// What ClearUntagged or ClearContent freed (or, in a dry run, would free).
struct GcReport {
  // File contents (distinct content block ranges of Stats in the drive's history) of which
  // blocks were freed.
  uint64_t files = 0;
  uint64_t blocks = 0;  // content blocks freed (that were held here)
  uint64_t bytes = 0;   // their bytes
  uint64_t latest = 0;  // the drive's version when it ran
  // Versions first_retained..latest read as before (ClearUntagged), and so do the tags.
  uint64_t first_retained = 0;
  std::vector<std::pair<std::string, uint64_t>> tags;  // the tags kept (name, version)
};

class Drive;

namespace internal {
class DedupIndex;    // src/drive/dedup.h
class DedupMatcher;  // src/drive/dedup.h

// A drive's content lock: one content writer at a time, so that a file's blocks are
// contiguous. A thread that holds it and asks again gets Busy instead of deadlocking.
class ContentLock {
 public:
  Status Acquire();
  void Release();

 private:
  std::mutex mu_;
  std::atomic<std::thread::id> owner_{};
};

// Where a write to a drive path lands: the drive's own trie and content feed, or those of a
// writable drive mounted above the path.
struct WriteTarget {
  std::string path;  // the normalized path in the drive written through
  trie::Trie* trie = nullptr;
  std::string key;  // the key in `trie`
  std::shared_ptr<core::Feed> content;
  std::shared_ptr<ContentLock> lock;
  // The files of `content`, for deduplication (used under `lock`).
  std::shared_ptr<DedupIndex> dedup;
};
}  // namespace internal

// Streams a file into the content feed: each Write appends its bytes as blocks of at most
// kContentBlockBytes; small writes are grouped into one batch of up to 4 MiB, a larger write
// is appended as its own batch straight from the caller's bytes (no copy); Close writes the
// Stat. Holds the drive's content
// lock from creation to Close/destruction. Destroying it without Close leaves the appended
// blocks unreferenced, as the reference does on an aborted stream. With WriteOptions::dedup,
// blocks that continue a file the drive holds are held back while they do: a file that ends
// with exactly that file's blocks points at them (docs/dedup.md).
class FileWriter {
 public:
  ~FileWriter();
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  Status Write(ByteView chunk);
  // Writes the Stat and releases the lock. The writer is unusable afterwards.
  Result<Stat> Close();
  // After Close: whether the Stat points at blocks of a file the drive held (deduplication)
  // instead of blocks this writer appended.
  bool deduplicated() const { return deduplicated_; }

 private:
  friend class Drive;
  // REQUIRES: target.lock acquired by the caller; the writer releases it.
  FileWriter(internal::WriteTarget target, WriteOptions options);
  void Unlock();
  // Appends the buffered blocks as one batch (one signature). `last`: the file ends with them.
  Status FlushBuffer(bool last);
  // The sizes of the blocks one write of `bytes` is cut into.
  static std::vector<size_t> CutIntoBlocks(size_t bytes);
  // Appends `bytes`, cut at `sizes`, as one batch, unless they continue a file the drive holds
  // (deduplication: they are then counted, not appended).
  Status AppendBlocks(ByteView bytes, const std::vector<size_t>& sizes, bool last);
  internal::WriteTarget target_;
  WriteOptions options_;
  // Blocks not yet appended: their bytes back to back, and each block's size. Block boundaries
  // are those of the writes (as the reference's); only the appends are grouped.
  Bytes buffer_;
  std::vector<size_t> buffered_sizes_;
  // While nothing was appended and the blocks so far continue a known file (deduplication).
  std::unique_ptr<internal::DedupMatcher> matcher_;
  bool locked_ = true;
  uint64_t offset_ = 0;
  uint64_t byte_offset_ = 0;
  uint64_t written_ = 0;
  uint64_t blocks_ = 0;
  bool closed_ = false;
  bool deduplicated_ = false;
};

// open(2)-style flags for Drive::OpenFile.
enum OpenFlags : uint32_t {
  kOpenRead = 1,
  kOpenWrite = 2,
  kOpenCreate = 4,
  kOpenExclusive = 8,
  kOpenTruncate = 16,
  kOpenAppend = 32,
};

// An open file, as the reference's file descriptors: reads at any position (of the file as it
// was when opened); writes only sequentially (from 0, or from the end with kOpenAppend), cut
// into 64 KiB content blocks, and visible once Close() has written the Stat. A handle that
// writes holds the drive's content lock from its first write until Close/destruction.
class FileHandle {
 public:
  ~FileHandle();
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;

  // Up to `length` bytes from `position` (fewer at the end).
  Result<Bytes> Read(uint64_t position, uint64_t length);
  // InvalidArgument for a position other than the current end of what was written.
  Result<size_t> Write(uint64_t position, ByteView data);
  Status Close();
  // The file's size, including bytes written through this handle.
  uint64_t size() const;

 private:
  friend class Drive;
  FileHandle(Drive* drive, std::string path, uint32_t flags, std::optional<Stat> stat);
  Status Flush(bool all);
  Drive* drive_;
  std::string path_;
  uint32_t flags_;
  std::optional<Stat> stat_;  // as opened
  std::unique_ptr<FileWriter> writer_;
  Bytes pending_;
  uint64_t position_ = 0;  // the next write position
  bool closed_ = false;
};

// A live watch over a drive and its mounts.
class DriveWatcher {
 public:
  DriveWatcher() = default;
  DriveWatcher(const DriveWatcher&) = delete;
  DriveWatcher& operator=(const DriveWatcher&) = delete;

 private:
  friend class Drive;
  std::vector<std::unique_ptr<trie::Watcher>> watchers_;
};

class Drive {
 public:
  // Creates or opens a drive in `store` (see DriveOptions). REQUIRES: store outlives the drive.
  static Result<std::unique_ptr<Drive>> Open(corestore::Corestore& store,
                                             DriveOptions options = {});

  ~Drive();
  Drive(const Drive&) = delete;
  Drive& operator=(const Drive&) = delete;

  const crypto::PublicKey& key() const;
  const crypto::Hash& discovery_key() const;
  // The content feed's key (nullopt for an empty read-only replica).
  std::optional<crypto::PublicKey> content_key() const;
  bool writable() const;
  bool is_checkout() const { return trie_->is_checkout(); }
  // The trie version (1 for an empty drive, as the reference).
  uint64_t version() const { return trie_->version(); }
  const std::shared_ptr<core::Feed>& metadata_feed() const { return metadata_; }
  const std::shared_ptr<core::Feed>& content_feed() const { return content_; }
  const trie::Trie& trie() const { return *trie_; }

  // --- files ---
  Result<Stat> WriteFile(std::string_view path, ByteView data, const WriteOptions& options = {});
  Result<std::unique_ptr<FileWriter>> CreateWriter(std::string_view path,
                                                   const WriteOptions& options = {});
  // Many whole files at once: their content is appended as one batch (one signature) and their
  // Stats are written as one trie batch (one more), so a thousand small files cost two
  // signatures instead of two thousand. Each file gets the blocks and Stat WriteFile would give
  // it; Node reads the result like any other drive. All files must be in this drive's own trie
  // (not below a mount), and no path may be a directory of another in the batch
  // (InvalidArgument); nothing is written when a check fails. With WriteOptions::dedup, a file
  // with the bytes of a file the drive holds, or of one before it in the batch, points at its
  // blocks instead (docs/dedup.md).
  struct FileToWrite {
    std::string path;
    ByteView data;
    WriteOptions options;
  };
  Result<std::vector<Stat>> WriteFiles(std::span<const FileToWrite> files);
  Result<Bytes> ReadFile(std::string_view path) const;
  // Up to `length` bytes from byte `start` (fewer at the end of the file), reading only the
  // content blocks that hold them.
  Result<Bytes> ReadRange(std::string_view path, uint64_t start, uint64_t length) const;
  // Follows symlinks (Loop after 32 hops), of the path and of its directories (unlike the
  // reference, which resolves only the last one: `/alias/f` with alias -> real is `/real/f`, as
  // in POSIX; so do Lstat, which does not follow the last one, and every write). A path with
  // no node but nodes below it is a directory whose Stat is taken from its first entry (as the
  // reference).
  Result<Stat> GetStat(std::string_view path) const;
  Result<Stat> Lstat(std::string_view path) const;
  bool Exists(std::string_view path) const { return GetStat(path).ok(); }
  Status Unlink(std::string_view path);
  Status Truncate(std::string_view path, uint64_t size);
  // `to` gets `from`'s Stat (sharing its content blocks). Exists when `to` exists.
  Status Copy(std::string_view from, std::string_view to);
  // Moves a file, symlink, mount or whole directory (everything stored below it, mounts
  // included) to `to`, as rename(2), in one trie batch: one append, one signature, so the
  // drive's next version has the new tree and every version it had before the old one (a
  // checkout of a seq inside the batch, which no reader is handed as a version, sees a part).
  // The Stats keep their bytes (content blocks are not copied). The last component of each
  // path is not followed (a symlink or mount point is moved, not its target); the directories
  // above are. An existing `to`: a file or symlink replaces a file or symlink; a directory
  // replaces an empty directory; otherwise IsADirectory, NotADirectory or NotEmpty; Busy for a
  // mount point. InvalidArgument for the root or for `to` inside `from`, Unsupported across
  // drives (through a mount), NotFound for a missing `from`; `from` == `to` does nothing.
  // Nothing is written when a check fails.
  Status Rename(std::string_view from, std::string_view to);
  Status SetMetadata(std::string_view path, std::string key, Bytes value);
  Status RemoveMetadata(std::string_view path, std::string key);
  // New attributes for existing files and directories, their content blocks kept (the
  // reference's _update): the set fields of each `options` (mode bits, uid, gid, mtime, ctime;
  // not metadata) replace the old ones, in one trie batch (one signature). NotFound for a
  // missing path (an implicit directory has no node to update), InvalidArgument for one that
  // is not a file or directory of this drive's own trie (a symlink, mount or a node below a
  // mount); nothing is written when a check fails.
  struct AttributesUpdate {
    std::string path;
    WriteOptions options;
  };
  Status UpdateAttributes(std::span<const AttributesUpdate> updates);

  // Opens a file with OpenFlags (the reference's open(name, flags)): NotFound without
  // kOpenCreate, Exists with kOpenCreate|kOpenExclusive, NotWritable for writes to a read-only
  // drive, IsADirectory for directories.
  Result<std::unique_ptr<FileHandle>> OpenFile(std::string_view path, uint32_t flags);

  // --- directories ---
  Status Mkdir(std::string_view path, const WriteOptions& options = {});
  Status Rmdir(std::string_view path);
  // The entries of a directory (following symlinks to reach it). Recursive: every node below
  // it, through mounts; a symlink is listed as a link and never followed.
  Result<std::vector<DirEntry>> Readdir(std::string_view path,
                                        const ReaddirOptions& options = {}) const;

  // --- symlinks ---
  Status Symlink(std::string_view target, std::string_view link_path);
  Result<std::string> Readlink(std::string_view path) const;

  // --- versions ---
  // A read-only view of the drive at `version`.
  Result<std::unique_ptr<Drive>> Checkout(uint64_t version) const;
  // Differences between this drive and its state at `other_version`, below `prefix`.
  Result<std::vector<DiffEntry>> Diff(uint64_t other_version, std::string_view prefix = "/") const;
  // Calls on_change (on the appending thread) when something at or below `path` changes, in
  // this drive or in the drives mounted at or below it (or the one `path` lies in). Destroying
  // the watcher stops the calls. REQUIRES: the watcher does not outlive the drive.
  Result<std::unique_ptr<DriveWatcher>> Watch(std::string_view path,
                                              std::function<void()> on_change);

  // --- mounts ---
  // Mounts the drive whose metadata key is `key` at `path` (Exists when something is there),
  // as hyperdrive's mount(): a directory Stat carrying a Mount record, written with the
  // mountable-hypertrie mount nodes. Reads and listings then go through it. A version must
  // exist: 0 is InvalidArgument, and one beyond the mounted drive's length is OutOfRange when
  // the store holds that drive (nothing is written then).
  Status Mount(std::string_view path, const crypto::PublicKey& key,
               const MountOptions& options = {});
  // InvalidArgument when `path` is not a mount.
  Status Unmount(std::string_view path);
  // "/" (this drive) and every mount of this drive's trie, with their feeds' keys.
  Result<std::vector<MountEntry>> GetAllMounts() const;

  // --- tags ---
  // Tags `version` (the current version when nullopt).
  Status CreateTag(const std::string& name, std::optional<uint64_t> version = std::nullopt);
  // The tagged version, or NotFound.
  Result<uint64_t> GetTaggedVersion(const std::string& name) const;
  Status DeleteTag(const std::string& name);
  Result<std::map<std::string, uint64_t>> GetAllTags() const;

  // --- garbage collection (src/drive/gc.cc, docs/gc.md) ---
  // Frees on disk (Feed::Clear: the bitfield forgets them, their bytes become holes) the
  // content blocks that neither the latest version, nor a tagged one, nor a version kept by
  // `options` reads: a version reads the blocks [offset, offset + blocks) of each of its file
  // Stats (mounts and symlinks read none of this drive's). The metadata feed is untouched, so
  // every version still lists its files; reading a freed file is then NotFound "not available
  // locally" unless a peer serves it. Holds the content lock (no content write runs meanwhile;
  // Busy when this thread holds it). Corruption, and nothing freed, when a kept version holds
  // a node that is not a Stat; NotFound when its metadata is not local (a sparse replica).
  // InvalidArgument on a checkout.
  Result<GcReport> ClearUntagged(const GcOptions& options = {});
  // On a replica (a content feed we do not write): frees the local content blocks of the file
  // at `path`, or every one for "/". InvalidArgument on a drive written here (its content may
  // exist nowhere else: see ClearUntagged), IsADirectory for another directory, Unsupported
  // for a file of a mounted drive.
  Result<GcReport> ClearContent(std::string_view path = "/");

  // --- downloads (src/drive/content_ranges.cc) ---
  // The content blocks that reading `path` needs, as hyperdrive's download(path) selects them:
  // a file's blocks (symlinks followed), or for a directory those of every file below it in the
  // drive that holds the directory (mounts below it are not entered, symlinks not followed).
  // Adjacent and overlapping ranges of one feed are merged. NotFound when nothing is there.
  Result<std::vector<ContentRange>> ContentRanges(std::string_view path) const;

 private:
  friend class FileWriter;
  friend class FileHandle;
  friend class FileReader;  // src/drive/file_reader.cc: ResolveStat, ContentFeed, ExplainReadError
  Drive() = default;
  // Bytes of the file `st` (held by `holder`'s drive).
  Result<Bytes> ReadStat(const Stat& st, const trie::Trie* holder, uint64_t start,
                         uint64_t length) const;
  Status CheckWritable() const;
  // `error` from reading the file `norm` (of Stat `st`, held by `holder`'s drive), or NotFound
  // "not downloaded here" when it comes from content a replica does not hold.
  Status ExplainReadError(const std::string& norm, const Stat& st, const trie::Trie* holder,
                          Status error) const;
  // Lstat of a normalized path; nullopt when there is no node (no implicit directory lookup).
  // `holder` (when given) receives the trie that holds the node (a mounted one or ours).
  Result<std::optional<Stat>> NodeStat(const std::string& norm,
                                       const trie::Trie** holder = nullptr) const;
  Result<Stat> LstatNorm(const std::string& norm, const trie::Trie** holder = nullptr) const;
  // `norm` with its first symlinked directory replaced by the link's target (a path's directory
  // part is resolved through symlinks, as POSIX does); nullopt when none of its directories is
  // a symlink.
  Result<std::optional<std::string>> ResolveParentLink(const std::string& norm) const;
  // Follows symlinks (of the path and of its directories); returns the final path too.
  Result<std::pair<std::string, Stat>> Resolve(const std::string& norm,
                                               const trie::Trie** holder = nullptr) const;
  // Resolve's Stat; the final path only when `path` is given (a path without symlinks, the
  // common case, is then looked up once and copied nowhere).
  Result<Stat> ResolveStat(const std::string& norm, const trie::Trie** holder,
                           std::string* path) const;
  // CheckWritable, NormalizePath, and where the write lands (through writable mounts).
  Result<internal::WriteTarget> Target(std::string_view path) const;
  // Target, plus the checks of a file write: not a directory (explicit or implicit), parents
  // not files.
  Result<internal::WriteTarget> FileTarget(std::string_view path) const;
  void InitMountView();
  Result<const trie::Trie*> OpenMountedTrie(const trie::MountInfo& info) const;
  // The content feed of the drive whose trie is `holder`.
  Result<std::shared_ptr<core::Feed>> ContentOf(const trie::Trie* holder) const;
  // The same without a reference taken (the feed lives as long as the drive).
  Result<core::Feed*> ContentFeed(const trie::Trie* holder) const;
  Status CheckParents(const std::string& norm) const;
  // One end of a rename: the node at `path` (last component not followed) in the trie
  // holding its parent directory (src/drive/rename.cc).
  struct RenameEnd {
    trie::Trie* trie = nullptr;
    std::string path;  // normalized, its directories' symlinks resolved
    std::string key;   // in `trie`
    trie::NodePtr node;
    bool directory = false;  // an explicit or implicit directory (or a mount point)
    bool mount = false;
    bool has_children = false;  // nodes below it in `trie`
  };
  Result<RenameEnd> RenameEndOf(std::string_view path, const char* role) const;
  Status PutStat(const internal::WriteTarget& target, const Stat& stat);
  Status ListInto(const std::string& dir, const std::string& shown_dir,
                  const ReaddirOptions& options, std::vector<DirEntry>& out) const;
  // ListInto's one-level case (no symlinks followed).
  Status ListChildren(const std::string& dir, const std::string& shown_dir,
                      const ReaddirOptions& options, std::vector<DirEntry>& out) const;
  Status UpdateMetadata(std::string_view path, std::string key, std::optional<Bytes> value);
  // The deduplication index of a content feed (one per feed, made on first use).
  std::shared_ptr<internal::DedupIndex> DedupIndexOf(const core::Feed& content) const;
  // The oldest version ClearUntagged keeps by `options` (tags aside).
  Result<uint64_t> FirstRetainedVersion(const GcOptions& options) const;

  corestore::Corestore* store_ = nullptr;
  std::shared_ptr<core::Feed> metadata_;
  std::shared_ptr<core::Feed> content_;
  std::unique_ptr<trie::Trie> trie_;
  // Shared with checkouts; serializes content appends.
  std::shared_ptr<internal::ContentLock> content_lock_;
  std::unique_ptr<trie::MountView> view_;
  mutable std::mutex mounts_mu_;
  // Mounted tries by (hex key, version), and content feeds by hex metadata key; never evicted
  // (the view hands out pointers into mounted_).
  mutable std::map<std::pair<std::string, uint64_t>, std::unique_ptr<trie::Trie>> mounted_;
  mutable std::vector<std::unique_ptr<trie::Trie>> retired_;
  mutable std::map<std::string, std::shared_ptr<core::Feed>> contents_;
  // Content locks of mounted drives written through, by hex content key.
  mutable std::map<std::string, std::shared_ptr<internal::ContentLock>> mounted_locks_;
  // Deduplication indexes by hex content key (used under that feed's content lock).
  mutable std::map<std::string, std::shared_ptr<internal::DedupIndex>> dedup_indexes_;
};

}  // namespace hyper::drive
