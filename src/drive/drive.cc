// hyper::drive::Drive — files, directories, symlinks, versions and tags over a hypertrie of
// Stat records and a content feed (docs/formats/hyperdrive.md).
#include "hyper/drive/drive.h"

#include <algorithm>
#include <map>
#include <set>

#include "hyper/trie/mount.h"
#include "hyper/util/varint.h"
#include "src/drive/dedup.h"

namespace hyper::drive {

namespace {

constexpr int kMaxSymlinkHops = 32;
// A file read whole into memory.
constexpr uint64_t kMaxReadFileBytes = uint64_t{1} << 32;

Stat NewStat(uint32_t type, uint32_t default_mode, const WriteOptions& o) {
  Stat st;
  st.mode = (o.mode && *o.mode != 0 ? *o.mode : default_mode) | type;
  st.uid = o.uid.value_or(0);
  st.gid = o.gid.value_or(0);
  uint64_t now = NowMillis();
  st.mtime = o.mtime && *o.mtime != 0 ? *o.mtime : now;
  st.ctime = o.ctime && *o.ctime != 0 ? *o.ctime : now;
  st.metadata = o.metadata;
  return st;
}

std::string Dirname(const std::string& norm) {
  size_t slash = norm.rfind('/');
  if (slash == 0 || slash == std::string::npos) return "/";
  return norm.substr(0, slash);
}

// Node's path.posix.relative for two normalized absolute paths.
std::string Relative(const std::string& from, const std::string& to) {
  auto split = [](const std::string& p) {
    std::vector<std::string_view> parts;
    std::string_view v(p);
    while (!v.empty()) {
      v.remove_prefix(1);
      size_t slash = v.find('/');
      if (slash != 0 && !v.empty()) parts.push_back(v.substr(0, slash));
      v = slash == std::string_view::npos ? std::string_view() : v.substr(slash);
    }
    return parts;
  };
  auto a = split(from);
  auto b = split(to);
  size_t common = 0;
  while (common < a.size() && common < b.size() && a[common] == b[common]) common++;
  std::string out;
  for (size_t i = common; i < a.size(); i++) out += out.empty() ? ".." : "/..";
  for (size_t i = common; i < b.size(); i++) {
    if (!out.empty()) out += '/';
    out += b[i];
  }
  return out;
}

std::string Join(const std::string& dir, const std::string& rel) {
  if (dir == "/") return "/" + rel;
  return dir + "/" + rel;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Open

Result<std::unique_ptr<Drive>> Drive::Open(corestore::Corestore& store, DriveOptions options) {
  std::unique_ptr<Drive> d(new Drive());
  d->store_ = &store;
  d->content_lock_ = std::make_shared<internal::ContentLock>();
  if (options.key) {
    corestore::CoreOptions co;
    co.key = *options.key;
    co.create_if_missing = options.create_if_missing;
    ASSIGN_OR_RETURN(d->metadata_, store.Get(co));
  } else {
    ASSIGN_OR_RETURN(d->metadata_, store.Default(options.namespace_name));
  }
  trie::TrieOptions topts;
  topts.subtype = "hyperdrive";
  if (d->metadata_->writable() && d->metadata_->length() == 0) {
    // A new drive: the content feed is the core named "<hex metadata key>-content".
    corestore::CoreOptions co;
    co.name = ToHex(d->metadata_->key()) + "-content";
    ASSIGN_OR_RETURN(d->content_, store.Get(co));
    topts.metadata = ToBytes(ByteView(d->content_->key()));
    ASSIGN_OR_RETURN(d->trie_, trie::Trie::Open(d->metadata_, topts));
    d->InitMountView();
    return d;
  }
  ASSIGN_OR_RETURN(d->trie_, trie::Trie::Open(d->metadata_, topts));
  if (d->metadata_->length() > 0) {
    ASSIGN_OR_RETURN(auto meta, d->trie_->GetMetadata());
    if (!meta || meta->size() != crypto::kPublicKeyBytes) {
      return Status::Corruption("the drive header does not name a content feed");
    }
    corestore::CoreOptions co;
    crypto::PublicKey ck{};
    std::copy(meta->begin(), meta->end(), ck.begin());
    co.key = ck;
    ASSIGN_OR_RETURN(d->content_, store.Get(co));
  }
  d->InitMountView();
  return d;
}

Drive::~Drive() = default;

const crypto::PublicKey& Drive::key() const { return metadata_->key(); }
const crypto::Hash& Drive::discovery_key() const { return metadata_->discovery_key(); }
std::optional<crypto::PublicKey> Drive::content_key() const {
  if (!content_) return std::nullopt;
  return content_->key();
}
bool Drive::writable() const {
  return trie_->writable() && content_ != nullptr && content_->writable();
}

Status Drive::CheckWritable() const {
  if (trie_->is_checkout()) return Status::NotWritable("a checkout is read-only");
  if (!writable()) return Status::NotWritable("the drive is not writable");
  return Status::Ok();
}

Result<internal::WriteTarget> Drive::Target(std::string_view path) const {
  RETURN_IF_ERROR(CheckWritable());
  ASSIGN_OR_RETURN(std::string norm, NormalizePath(path));
  // A write through a directory symlink lands where the link points (as POSIX resolves a
  // path's directory part), so that listings show what was written.
  for (int hop = 0;; hop++) {
    if (hop > kMaxSymlinkHops) return Status::Loop("too many symlinks resolving " + norm);
    ASSIGN_OR_RETURN(auto via, ResolveParentLink(norm));
    if (!via) break;
    norm = std::move(*via);
  }
  internal::WriteTarget t;
  t.path = norm;
  t.trie = trie_.get();
  t.key = TrieKeyOf(norm);
  t.content = content_;
  t.lock = content_lock_;
  for (int depth = 0;; depth++) {
    if (depth > kMaxSymlinkHops) return Status::Loop("mounts nest too deep at " + norm);
    trie::MountView view(*t.trie,
                         [this](const trie::MountInfo& info) { return OpenMountedTrie(info); });
    ASSIGN_OR_RETURN(auto holding, view.Resolve(t.key));
    if (holding.first == t.trie) break;
    const trie::MountInfo& info = holding.second;
    trie::Trie* sub = nullptr;
    {
      std::lock_guard<std::mutex> lock(mounts_mu_);
      for (auto& [id, mounted] : mounted_) {
        if (mounted.get() == holding.first) sub = mounted.get();
      }
    }
    if (sub == nullptr || !sub->writable()) {
      return Status::NotWritable(norm + " is inside a mount this store cannot write to");
    }
    std::string rest =
        t.key.size() > info.local_path.size() ? t.key.substr(info.local_path.size()) : "";
    std::string inner =
        trie::NormalizeMountPath(trie::PosixJoin(rest, info.remote_path.value_or("")));
    if (inner == ".") inner.clear();
    ASSIGN_OR_RETURN(t.content, ContentOf(sub));
    if (!t.content->writable()) {
      return Status::NotWritable(norm + " is inside a mount whose content this store cannot write");
    }
    {
      std::lock_guard<std::mutex> lock(mounts_mu_);
      auto& shared = mounted_locks_[ToHex(t.content->key())];
      if (!shared) shared = std::make_shared<internal::ContentLock>();
      t.lock = shared;
    }
    t.trie = sub;
    t.key = std::move(inner);
  }
  t.dedup = DedupIndexOf(*t.content);
  return t;
}

std::shared_ptr<internal::DedupIndex> Drive::DedupIndexOf(const core::Feed& content) const {
  std::lock_guard<std::mutex> lock(mounts_mu_);
  auto& index = dedup_indexes_[ToHex(content.key())];
  if (!index) index = std::make_shared<internal::DedupIndex>();
  return index;
}

void Drive::InitMountView() {
  view_ = std::make_unique<trie::MountView>(
      *trie_, [this](const trie::MountInfo& info) { return OpenMountedTrie(info); });
}

Result<const trie::Trie*> Drive::OpenMountedTrie(const trie::MountInfo& info) const {
  if (info.key.size() != crypto::kPublicKeyBytes) return Status::Corruption("bad mount key");
  std::lock_guard<std::mutex> lock(mounts_mu_);
  auto id = std::make_pair(ToHex(info.key), info.version.value_or(0));
  auto it = mounted_.find(id);
  corestore::CoreOptions co;
  co.key = crypto::PublicKey{};
  std::copy(info.key.begin(), info.key.end(), co.key->begin());
  ASSIGN_OR_RETURN(auto feed, store_->Get(co));
  if (it != mounted_.end()) {
    // A placeholder for a feed that was empty is replaced once the feed has its header; the
    // placeholder stays alive (views may still point at it).
    const bool placeholder = it->second->log()->length() == 0;
    if (!placeholder || feed->length() == 0) {
      return static_cast<const trie::Trie*>(it->second.get());
    }
    retired_.push_back(std::move(it->second));
    mounted_.erase(it);
  }
  std::unique_ptr<trie::Trie> opened;
  if (feed->length() == 0) {
    // Nothing local yet (a replica that has not downloaded anything): an empty trie, without
    // writing a header into someone else's feed.
    ASSIGN_OR_RETURN(opened, trie::Trie::Open(std::make_shared<trie::MemoryLog>(info.key, false)));
  } else {
    ASSIGN_OR_RETURN(opened, trie::Trie::Open(feed));
  }
  if (info.version) opened = opened->Checkout(*info.version);
  const trie::Trie* out = opened.get();
  mounted_.emplace(id, std::move(opened));
  return out;
}

Result<core::Feed*> Drive::ContentFeed(const trie::Trie* holder) const {
  if (holder == nullptr || holder == trie_.get()) {
    if (!content_) return Status::NotFound("the drive has no content feed");
    return content_.get();
  }
  ASSIGN_OR_RETURN(std::shared_ptr<core::Feed> feed, ContentOf(holder));
  return feed.get();  // held by contents_, which never lets go
}

Result<std::shared_ptr<core::Feed>> Drive::ContentOf(const trie::Trie* holder) const {
  if (holder == nullptr || holder == trie_.get()) {
    if (!content_) return Status::NotFound("the drive has no content feed");
    return content_;
  }
  std::string id = ToHex(holder->key());
  {
    std::lock_guard<std::mutex> lock(mounts_mu_);
    auto it = contents_.find(id);
    if (it != contents_.end()) return it->second;
  }
  ASSIGN_OR_RETURN(auto meta, holder->GetMetadata());
  if (!meta || meta->size() != crypto::kPublicKeyBytes) {
    return Status::Corruption("the mounted drive's header does not name a content feed");
  }
  corestore::CoreOptions co;
  co.key = crypto::PublicKey{};
  std::copy(meta->begin(), meta->end(), co.key->begin());
  ASSIGN_OR_RETURN(auto feed, store_->Get(co));
  std::lock_guard<std::mutex> lock(mounts_mu_);
  // The first one stored stays (ContentFeed hands out plain pointers to it).
  return contents_.emplace(id, std::move(feed)).first->second;
}

// ---------------------------------------------------------------------------------------------
// Stats

Result<std::optional<Stat>> Drive::NodeStat(const std::string& norm,
                                            const trie::Trie** holder) const {
  std::string_view key = norm;
  if (!key.empty() && key[0] == '/') key.remove_prefix(1);  // TrieKeyOf, without a copy
  ASSIGN_OR_RETURN(trie::NodePtr node, view_->GetNode(key, holder));
  if (!node) return std::optional<Stat>();
  if (!node->value()) return Status::Corruption("the node of " + norm + " has no Stat");
  auto st = Stat::Decode(*node->value());
  if (!st.ok()) return st.status().Annotate(norm);
  return std::optional<Stat>(std::move(*st));
}

Result<Stat> Drive::LstatNorm(const std::string& norm, const trie::Trie** holder) const {
  ASSIGN_OR_RETURN(auto st, NodeStat(norm, holder));
  if (st) return std::move(*st);
  Stat dir;
  dir.mode = kDefaultDirectoryMode | kModeDirectory;
  if (norm == "/") {
    dir.mtime = dir.ctime = NowMillis();
    return dir;
  }
  // An implicit directory: the reference derives its Stat from the first entry below it.
  ASSIGN_OR_RETURN(auto holding, view_->Resolve(TrieKeyOf(norm)));
  trie::NodePtr first;
  if (holding.first == trie_.get()) {
    ASSIGN_OR_RETURN(auto it, trie_->Iterate(TrieKeyOf(norm)));
    ASSIGN_OR_RETURN(first, it->Next());
  } else {
    ASSIGN_OR_RETURN(auto below, view_->List(TrieKeyOf(norm)));
    if (!below.empty()) first = below.front().node;
  }
  if (!first) return Status::NotFound(norm + " does not exist");
  if (!first->value()) return Status::Corruption("a node below " + norm + " has no Stat");
  ASSIGN_OR_RETURN(Stat child, Stat::Decode(*first->value()));
  child.mode = kDefaultDirectoryMode | kModeDirectory;
  child.linkname.clear();
  child.mount.reset();
  return child;
}

Result<Stat> Drive::Lstat(std::string_view path) const {
  ASSIGN_OR_RETURN(std::string norm, NormalizePath(path));
  for (int hop = 0; hop <= kMaxSymlinkHops; hop++) {
    auto found = LstatNorm(norm);
    if (found.ok() || found.status().code() != Code::kNotFound) return found;
    ASSIGN_OR_RETURN(auto via, ResolveParentLink(norm));
    if (!via) return found;
    norm = std::move(*via);
  }
  return Status::Loop("too many symlinks resolving " + std::string(path));
}

Result<std::optional<std::string>> Drive::ResolveParentLink(const std::string& norm) const {
  const std::string parent = Dirname(norm);
  if (parent == "/") return std::optional<std::string>();
  // The common case: the parent is a stored directory, so the path is where it is stored.
  ASSIGN_OR_RETURN(auto direct, NodeStat(parent));
  if (direct && direct->linkname.empty()) return std::optional<std::string>();
  for (size_t slash = norm.find('/', 1); slash != std::string::npos;
       slash = norm.find('/', slash + 1)) {
    const std::string dir = norm.substr(0, slash);
    ASSIGN_OR_RETURN(auto st, NodeStat(dir));
    if (!st) continue;  // an implicit directory
    if (st->linkname.empty()) {
      if (st->IsDirectory()) continue;
      return std::optional<std::string>();  // a file: nothing below it exists
    }
    std::string target = st->linkname[0] == '/' ? st->linkname : Dirname(dir) + "/" + st->linkname;
    target.append(norm, slash, std::string::npos);
    ASSIGN_OR_RETURN(std::string resolved, NormalizePath(target));
    return std::optional<std::string>(std::move(resolved));
  }
  return std::optional<std::string>();
}

Result<Stat> Drive::ResolveStat(const std::string& start, const trie::Trie** holder,
                                std::string* path) const {
  const std::string* at = &start;  // the path being looked at: start, then each link's target
  std::string next;
  for (int hop = 0; hop <= kMaxSymlinkHops; hop++) {
    auto found = LstatNorm(*at, holder);
    if (!found.ok()) {
      if (found.status().code() != Code::kNotFound) return found.status();
      // Not stored there: maybe a directory of the path is a symlink (POSIX follows those).
      ASSIGN_OR_RETURN(auto via, ResolveParentLink(*at));
      if (!via) return found.status();
      next = std::move(*via);
      at = &next;
      continue;
    }
    Stat& st = *found;
    if (st.linkname.empty()) {
      if (path != nullptr) *path = *at;
      return std::move(st);
    }
    std::string target = st.linkname[0] == '/' ? st.linkname : Dirname(*at) + "/" + st.linkname;
    ASSIGN_OR_RETURN(next, NormalizePath(target));
    at = &next;
  }
  return Status::Loop("too many symlinks resolving " + start);
}

Result<std::pair<std::string, Stat>> Drive::Resolve(const std::string& start,
                                                    const trie::Trie** holder) const {
  std::string path;
  ASSIGN_OR_RETURN(Stat st, ResolveStat(start, holder, &path));
  return std::make_pair(std::move(path), std::move(st));
}

Result<Stat> Drive::GetStat(std::string_view path) const {
  ASSIGN_OR_RETURN(std::string norm, NormalizePath(path));
  return ResolveStat(norm, nullptr, nullptr);
}

Result<std::string> Drive::Readlink(std::string_view path) const {
  ASSIGN_OR_RETURN(Stat st, Lstat(path));
  if (st.linkname.empty()) return Status::InvalidArgument(std::string(path) + " is not a symlink");
  return st.linkname;
}

// ---------------------------------------------------------------------------------------------
// Writing

Status Drive::CheckParents(const std::string& norm) const {
  std::string dir = Dirname(norm);
  while (dir != "/") {
    ASSIGN_OR_RETURN(auto st, NodeStat(dir));
    if (st && st->IsFile()) return Status::NotADirectory(dir + " is a file");
    dir = Dirname(dir);
  }
  return Status::Ok();
}

Status Drive::PutStat(const internal::WriteTarget& target, const Stat& stat) {
  if (target.key.empty()) return Status::InvalidArgument(target.path + " is a drive's root");
  auto put = target.trie->Put(target.key, stat.Encode());
  return put.ok() ? Status::Ok() : put.status();
}

Status internal::ContentLock::Acquire() {
  if (owner_.load() == std::this_thread::get_id()) {
    return Status::Busy("this thread already has a content writer open on this drive");
  }
  mu_.lock();
  owner_.store(std::this_thread::get_id());
  return Status::Ok();
}

void internal::ContentLock::Release() {
  owner_.store(std::thread::id());
  mu_.unlock();
}

FileWriter::FileWriter(internal::WriteTarget target, WriteOptions options)
    : target_(std::move(target)), options_(std::move(options)) {
  offset_ = target_.content->length();
  byte_offset_ = target_.content->byte_length();
  if (options_.dedup && target_.dedup) {
    matcher_ = std::make_unique<internal::DedupMatcher>(target_.dedup.get(), target_.trie,
                                                        target_.content.get());
  }
}

FileWriter::~FileWriter() { Unlock(); }

void FileWriter::Unlock() {
  if (locked_) target_.lock->Release();
  locked_ = false;
}

// Appends are grouped up to this many bytes: one signature per group instead of per write.
constexpr size_t kWriterBufferBytes = 4 << 20;

Status FileWriter::Write(ByteView chunk) {
  if (closed_) return Status::InvalidArgument("write after close");
  if (buffered_sizes_.empty() && chunk.size() >= kWriterBufferBytes) {
    // A large write with nothing buffered: its blocks are appended straight from the caller's
    // bytes (the same blocks as through the buffer, without the copy).
    return AppendBlocks(chunk, CutIntoBlocks(chunk.size()), false);
  }
  for (size_t size : CutIntoBlocks(chunk.size())) buffered_sizes_.push_back(size);
  buffer_.insert(buffer_.end(), chunk.begin(), chunk.end());
  if (buffer_.size() >= kWriterBufferBytes) return FlushBuffer(false);
  return Status::Ok();
}

std::vector<size_t> FileWriter::CutIntoBlocks(size_t bytes) {
  // The reference appends an empty write as an empty block.
  if (bytes == 0) return {0};
  std::vector<size_t> sizes;
  sizes.reserve((bytes + kContentBlockBytes - 1) / kContentBlockBytes);
  for (size_t pos = 0; pos < bytes; pos += kContentBlockBytes) {
    sizes.push_back(std::min(kContentBlockBytes, bytes - pos));
  }
  return sizes;
}

Status FileWriter::AppendBlocks(ByteView bytes, const std::vector<size_t>& sizes, bool last) {
  std::vector<ByteView> blocks;
  blocks.reserve(sizes.size());
  size_t pos = 0;
  for (size_t size : sizes) {
    blocks.push_back(bytes.subspan(pos, size));
    pos += size;
  }
  if (matcher_) {
    // A failed look (an unreadable trie) only costs the deduplication.
    auto matched = matcher_->Offer(std::span<const ByteView>(blocks), last);
    if (matched.ok() && *matched) {
      written_ += bytes.size();
      blocks_ += blocks.size();
      return Status::Ok();
    }
    RETURN_IF_ERROR(matcher_->AppendPrefix().Annotate("appending content of " + target_.path));
    matcher_.reset();
  }
  auto appended = target_.content->Append(std::span<const ByteView>(blocks));
  if (!appended.ok()) return appended.status().Annotate("appending content of " + target_.path);
  written_ += bytes.size();
  blocks_ += blocks.size();
  return Status::Ok();
}

Status FileWriter::FlushBuffer(bool last) {
  if (buffered_sizes_.empty()) return Status::Ok();
  RETURN_IF_ERROR(AppendBlocks(buffer_, buffered_sizes_, last));
  buffer_.clear();
  buffered_sizes_.clear();
  return Status::Ok();
}

Result<Stat> FileWriter::Close() {
  if (closed_) return Status::InvalidArgument("closed twice");
  closed_ = true;
  Status flushed = FlushBuffer(true);
  Stat st = NewStat(kModeFile, kDefaultFileMode, options_);
  st.size = written_;
  st.blocks = blocks_;
  st.offset = offset_;
  st.byte_offset = byte_offset_;
  bool deduplicated = false;
  if (flushed.ok() && matcher_ && matcher_->matched_blocks() > 0) {
    // Every block matched a known file's: point at it when it holds exactly these blocks.
    auto found = matcher_->Finish(written_);
    if (found.ok() && *found) {
      st.offset = (*found)->first.offset;
      st.byte_offset = (*found)->second;
      deduplicated = true;
    } else {
      flushed = matcher_->AppendPrefix().Annotate("appending content of " + target_.path);
    }
  }
  matcher_.reset();
  if (!flushed.ok()) {
    Unlock();
    return flushed;
  }
  auto put_result = target_.trie->Put(target_.key, st.Encode());
  Status put = put_result.ok() ? Status::Ok() : put_result.status();
  deduplicated_ = put.ok() && deduplicated;
  if (put.ok() && !deduplicated && target_.dedup) {
    target_.dedup->Add(internal::ContentRange{st.offset, st.blocks, st.size});
  }
  Unlock();
  if (!put.ok()) return put;
  return st;
}

Result<std::unique_ptr<FileWriter>> Drive::CreateWriter(std::string_view path,
                                                        const WriteOptions& options) {
  ASSIGN_OR_RETURN(internal::WriteTarget t, FileTarget(path));
  RETURN_IF_ERROR(t.lock->Acquire());
  return std::unique_ptr<FileWriter>(new FileWriter(std::move(t), options));
}

Result<internal::WriteTarget> Drive::FileTarget(std::string_view path) const {
  ASSIGN_OR_RETURN(internal::WriteTarget t, Target(path));
  const std::string& norm = t.path;
  if (t.key.empty()) return Status::IsADirectory(norm + " is a directory");
  ASSIGN_OR_RETURN(auto existing, NodeStat(norm));
  if (existing && existing->IsDirectory()) return Status::IsADirectory(norm + " is a directory");
  if (!existing) {
    // Nodes below make the path an (implicit) directory.
    trie::IterateOptions io;
    io.gt = true;
    ASSIGN_OR_RETURN(auto it, t.trie->Iterate(t.key, io));
    ASSIGN_OR_RETURN(trie::NodePtr below, it->Next());
    if (below) return Status::IsADirectory(norm + " is a directory");
  }
  RETURN_IF_ERROR(CheckParents(norm));
  return t;
}

namespace {

// Cuts a file's bytes into content blocks as FileWriter::Write does for one whole write.
void AppendContentBlocks(ByteView data, std::vector<ByteView>& blocks) {
  if (data.empty()) blocks.push_back(data);  // the reference's empty file: one empty block
  for (size_t pos = 0; pos < data.size(); pos += kContentBlockBytes) {
    blocks.push_back(data.subspan(pos, std::min(kContentBlockBytes, data.size() - pos)));
  }
}

}  // namespace

Result<std::vector<Stat>> Drive::WriteFiles(std::span<const FileToWrite> files) {
  std::vector<internal::WriteTarget> targets;
  targets.reserve(files.size());
  std::set<std::string> paths;
  for (const FileToWrite& f : files) {
    ASSIGN_OR_RETURN(internal::WriteTarget t, FileTarget(f.path));
    if (t.trie != trie_.get()) {
      return Status::InvalidArgument(t.path + " is below a mount: write it with WriteFile");
    }
    paths.insert(t.path);
    targets.push_back(std::move(t));
  }
  for (const auto& t : targets) {
    for (size_t slash = t.path.rfind('/'); slash != 0 && slash != std::string::npos;
         slash = t.path.rfind('/', slash - 1)) {
      if (paths.count(t.path.substr(0, slash))) {
        return Status::InvalidArgument(t.path.substr(0, slash) +
                                       " is both a file and a directory of " + t.path +
                                       " in one batch");
      }
    }
  }
  if (files.empty()) return std::vector<Stat>();
  RETURN_IF_ERROR(content_lock_->Acquire());
  struct Release {
    internal::ContentLock* lock;
    ~Release() { lock->Release(); }
  } release{content_lock_.get()};

  std::vector<ByteView> blocks;  // of the files appended
  std::vector<Stat> stats;
  stats.reserve(files.size());
  std::vector<bool> appended_file(files.size(), false);
  // Deduplication: the files of this batch by size, and the drive's index.
  std::map<uint64_t, std::vector<size_t>> batch_by_size;
  internal::DedupIndex* index = targets.front().dedup.get();
  uint64_t offset = content_->length(), byte_offset = content_->byte_length();
  std::vector<ByteView> own;
  for (size_t i = 0; i < files.size(); i++) {
    const FileToWrite& f = files[i];
    own.clear();
    AppendContentBlocks(f.data, own);
    Stat st = NewStat(kModeFile, kDefaultFileMode, f.options);
    st.size = f.data.size();
    st.blocks = own.size();
    bool placed = false;
    if (f.options.dedup) {
      // The same bytes as a file before it in this batch (then the same blocks).
      for (size_t j : batch_by_size[st.size]) {
        if (std::equal(f.data.begin(), f.data.end(), files[j].data.begin())) {
          st.offset = stats[j].offset;
          st.byte_offset = stats[j].byte_offset;
          placed = true;
          break;
        }
      }
      if (!placed && index != nullptr) {
        // A failed look (an unreadable trie) only costs the deduplication.
        internal::DedupMatcher matcher(index, trie_.get(), content_.get(), /*always_build=*/true);
        auto matched = matcher.Offer(std::span<const ByteView>(own), true);
        if (matched.ok() && *matched) {
          auto found = matcher.Finish(st.size);
          if (found.ok() && *found) {
            st.offset = (*found)->first.offset;
            st.byte_offset = (*found)->second;
            placed = true;
          }
        }
      }
    }
    if (!placed) {
      st.offset = offset;
      st.byte_offset = byte_offset;
      offset += st.blocks;
      byte_offset += st.size;
      blocks.insert(blocks.end(), own.begin(), own.end());
      appended_file[i] = true;
    }
    batch_by_size[st.size].push_back(i);
    stats.push_back(std::move(st));
  }
  if (!blocks.empty()) {
    auto appended = content_->Append(std::span<const ByteView>(blocks));
    if (!appended.ok()) return appended.status().Annotate("appending the content of a batch");
  }
  std::vector<trie::BatchOp> ops;
  ops.reserve(files.size());
  for (size_t i = 0; i < files.size(); i++) {
    ops.push_back(trie::BatchOp::Put(targets[i].key, stats[i].Encode()));
  }
  auto written = trie_->Batch(ops);
  if (!written.ok()) return written.status().Annotate("writing the Stats of a batch");
  if (index != nullptr) {
    for (size_t i = 0; i < files.size(); i++) {
      if (appended_file[i]) {
        index->Add(internal::ContentRange{stats[i].offset, stats[i].blocks, stats[i].size});
      }
    }
  }
  return stats;
}

Result<Stat> Drive::WriteFile(std::string_view path, ByteView data, const WriteOptions& options) {
  ASSIGN_OR_RETURN(auto writer, CreateWriter(path, options));
  RETURN_IF_ERROR(writer->Write(data));
  return writer->Close();
}

Result<Bytes> Drive::ReadRange(std::string_view path, uint64_t start, uint64_t length) const {
  ASSIGN_OR_RETURN(std::string norm, NormalizePath(path));
  const trie::Trie* holder = nullptr;
  ASSIGN_OR_RETURN(Stat st, ResolveStat(norm, &holder, nullptr));
  if (st.IsDirectory()) return Status::IsADirectory(norm + " is a directory");
  auto read = ReadStat(st, holder, start, length);
  if (read.ok()) return read;
  return ExplainReadError(norm, st, holder, read.status());
}

Status Drive::ExplainReadError(const std::string& norm, const Stat& st, const trie::Trie* holder,
                               Status error) const {
  // On a replica, a block the feed does not hold (or a content feed not known yet) is content
  // not downloaded: say that, not which block lies beyond which length.
  const Code code = error.code();
  if (code != Code::kNotFound && code != Code::kOutOfRange) return error;
  // Content of a drive we write that is not here was freed (gc) or lost: say that.
  auto content = ContentFeed(holder);
  if (content.ok() && (*content)->Has(BlockIndex(st.offset), BlockIndex(st.offset + st.blocks))) {
    return error;
  }
  if (content.ok() && (*content)->writable()) {
    return Status::NotFound(
        norm +
        " is not available locally: its content was freed here (gc) or lost; use --peer "
        "or the network to fetch it from a peer that still holds it");
  }
  return Status::NotFound(norm + " is not downloaded here; use --peer or the network");
}

Result<Bytes> Drive::ReadStat(const Stat& st, const trie::Trie* holder, uint64_t start,
                              uint64_t length) const {
  if (start >= st.size || length == 0) return Bytes();
  length = std::min(length, st.size - start);
  if (length > kMaxReadFileBytes) return Status::OutOfRange("read too large");
  ASSIGN_OR_RETURN(core::Feed * content, ContentFeed(holder));
  const uint64_t end_block = st.offset + st.blocks;
  if (start == 0 && st.blocks == 1 && length == st.size) {
    // A file of one block read whole (most small files): the block as the feed returns it,
    // with the Stat's byte offset as the hint of where it lies.
    core::GetOptions get;
    get.byte_offset = st.byte_offset;
    ASSIGN_OR_RETURN(Bytes data, content->Get(BlockIndex(st.offset), get));
    if (data.size() < length) return Status::Corruption("file content ends early");
    data.resize(length);
    return data;
  }
  // The file starts at a block boundary: only a read from inside it needs the tree's seek.
  std::pair<BlockIndex, uint64_t> pos{BlockIndex(st.offset), 0};
  if (start != 0) {
    ASSIGN_OR_RETURN(pos, content->Seek(ByteOffset(st.byte_offset + start)));
  }
  BlockIndex block = pos.first;
  uint64_t skip = pos.second;
  Bytes out;
  while (out.size() < length) {
    if (block.value >= end_block) return Status::Corruption("file content ends early");
    // Only the bytes wanted from this block (one positional read once the block is known good).
    // Read from the file's start, each block begins where the bytes so far end: a hint the
    // feed checks (a block it has not located yet is then read there, not found through the
    // tree's roots, when its neighbour proves the place).
    core::GetOptions get;
    if (start == 0) get.byte_offset = st.byte_offset + out.size();
    auto data = content->GetRange(block, skip, length - out.size(), get);
    if (!data.ok() && data.status().code() == Code::kOutOfRange &&
        block.value < content->length()) {
      return Status::Corruption("seek landed outside a block");
    }
    if (!data.ok()) return data.status();
    // The whole range in one block: its bytes as read.
    if (out.empty() && data->size() == length) return std::move(data).value();
    if (out.empty()) out.reserve(length);
    out.insert(out.end(), data->begin(), data->end());
    skip = 0;
    block = block.next();
  }
  return out;
}

Result<Bytes> Drive::ReadFile(std::string_view path) const {
  return ReadRange(path, 0, kMaxReadFileBytes);
}

Status Drive::Unlink(std::string_view path) {
  ASSIGN_OR_RETURN(internal::WriteTarget t, Target(path));
  const std::string& norm = t.path;
  ASSIGN_OR_RETURN(auto st, NodeStat(norm));
  if (!st) {
    if (LstatNorm(norm).ok()) return Status::IsADirectory(norm + " is a directory");
    return Status::NotFound(norm + " does not exist");
  }
  if (st->IsDirectory()) return Status::IsADirectory(norm + " is a directory");
  ASSIGN_OR_RETURN(trie::NodePtr node, t.trie->Del(t.key));
  (void)node;
  return Status::Ok();
}

Status Drive::Truncate(std::string_view path, uint64_t size) {
  ASSIGN_OR_RETURN(internal::WriteTarget t, Target(path));
  const std::string& norm = t.path;
  ASSIGN_OR_RETURN(auto existing, NodeStat(norm));
  if (existing && existing->IsDirectory()) return Status::IsADirectory(norm + " is a directory");
  WriteOptions opts;
  uint64_t old_size = 0;
  if (existing) {
    if (!existing->linkname.empty()) return Status::InvalidArgument(norm + " is a symlink");
    opts.mode = existing->mode & ~kModeTypeMask;
    opts.uid = existing->uid;
    opts.gid = existing->gid;
    opts.ctime = existing->ctime;
    opts.metadata = existing->metadata;
    old_size = existing->size;
    if (old_size == size) return Status::Ok();
  }
  ASSIGN_OR_RETURN(auto writer, CreateWriter(norm, opts));
  uint64_t copied = 0;
  const uint64_t keep = std::min(old_size, size);
  while (copied < keep) {
    uint64_t n = std::min<uint64_t>(kContentBlockBytes, keep - copied);
    ASSIGN_OR_RETURN(Bytes chunk, ReadRange(norm, copied, n));
    RETURN_IF_ERROR(writer->Write(chunk));
    copied += n;
  }
  if (size > copied) {
    Bytes zeros(std::min<uint64_t>(kContentBlockBytes, size - copied), 0);
    while (copied < size) {
      uint64_t n = std::min<uint64_t>(zeros.size(), size - copied);
      RETURN_IF_ERROR(writer->Write(ByteView(zeros).first(n)));
      copied += n;
    }
  }
  if (size == 0) RETURN_IF_ERROR(writer->Write(ByteView()));
  auto closed = writer->Close();
  return closed.ok() ? Status::Ok() : closed.status();
}

Status Drive::Copy(std::string_view from, std::string_view to) {
  ASSIGN_OR_RETURN(internal::WriteTarget t, Target(to));
  const trie::Trie* holder = nullptr;
  ASSIGN_OR_RETURN(std::string from_norm, NormalizePath(from));
  ASSIGN_OR_RETURN(auto source, Resolve(from_norm, &holder));
  if (LstatNorm(t.path).ok()) return Status::Exists(t.path + " exists");
  ASSIGN_OR_RETURN(auto from_content, ContentOf(holder));
  if (from_content != t.content && !source.second.IsDirectory()) {
    return Status::Unsupported("copying between drives (through a mount) is not supported");
  }
  RETURN_IF_ERROR(CheckParents(t.path));
  return PutStat(t, source.second);
}

Status Drive::UpdateMetadata(std::string_view path, std::string key, std::optional<Bytes> value) {
  ASSIGN_OR_RETURN(internal::WriteTarget t, Target(path));
  const std::string& norm = t.path;
  if (t.key.empty()) {
    return Status::InvalidArgument(norm + " is the root of a drive (or a mount point)");
  }
  ASSIGN_OR_RETURN(trie::NodePtr node, t.trie->Get(t.key));
  if (!node) return Status::NotFound(norm + " does not exist");
  if (!node->value()) return Status::Corruption("the node of " + norm + " has no Stat");
  ASSIGN_OR_RETURN(Stat st, Stat::Decode(*node->value()));
  // The reference decodes (a missing time becomes "now") and re-encodes.
  uint64_t now = NowMillis();
  if (st.mtime == 0) st.mtime = now;
  if (st.ctime == 0) st.ctime = now;
  SetMetadataEntry(st.metadata, std::move(key), std::move(value));
  trie::PutOptions po;
  po.flags = node->flags();
  auto put = t.trie->Put(t.key, st.Encode(), po);
  return put.ok() ? Status::Ok() : put.status();
}

Status Drive::SetMetadata(std::string_view path, std::string key, Bytes value) {
  return UpdateMetadata(path, std::move(key), std::move(value));
}

Status Drive::RemoveMetadata(std::string_view path, std::string key) {
  return UpdateMetadata(path, std::move(key), std::nullopt);
}

Status Drive::UpdateAttributes(std::span<const AttributesUpdate> updates) {
  std::vector<trie::BatchOp> ops;
  ops.reserve(updates.size());
  for (const AttributesUpdate& u : updates) {
    ASSIGN_OR_RETURN(internal::WriteTarget t, Target(u.path));
    const std::string& norm = t.path;
    if (t.trie != trie_.get() || t.key.empty()) {
      return Status::InvalidArgument(norm + " is not a file of this drive's own tree");
    }
    ASSIGN_OR_RETURN(trie::NodePtr node, t.trie->Get(t.key));
    if (!node || !node->value()) return Status::NotFound(norm + " does not exist");
    ASSIGN_OR_RETURN(Stat st, Stat::Decode(*node->value()));
    if (!(st.IsFile() || st.IsDirectory()) || st.mount || node->flags() != 0) {
      return Status::InvalidArgument(norm + " is not a file or directory");
    }
    const WriteOptions& o = u.options;
    if (o.mode) st.mode = (st.mode & kModeTypeMask) | (*o.mode & ~kModeTypeMask);
    if (o.uid) st.uid = *o.uid;
    if (o.gid) st.gid = *o.gid;
    if (o.mtime) st.mtime = *o.mtime;
    if (o.ctime) st.ctime = *o.ctime;
    ops.push_back(trie::BatchOp::Put(t.key, st.Encode()));
  }
  if (ops.empty()) return Status::Ok();
  auto written = trie_->Batch(ops);
  return written.ok() ? Status::Ok() : written.status().Annotate("writing the new attributes");
}

// ---------------------------------------------------------------------------------------------
// File handles

namespace {
// The reference's descriptors batch writes into blocks of this size.
constexpr size_t kHandleBlockBytes = 64 * 1024;
}  // namespace

FileHandle::FileHandle(Drive* drive, std::string path, uint32_t flags, std::optional<Stat> stat)
    : drive_(drive), path_(std::move(path)), flags_(flags), stat_(std::move(stat)) {
  if ((flags_ & kOpenAppend) != 0 && stat_) position_ = stat_->size;
}

FileHandle::~FileHandle() = default;

uint64_t FileHandle::size() const {
  if (writer_) return position_;
  return stat_ ? stat_->size : 0;
}

Result<Bytes> FileHandle::Read(uint64_t position, uint64_t length) {
  if (closed_) return Status::InvalidArgument("read after close");
  if ((flags_ & kOpenRead) == 0) return Status::PermissionDenied(path_ + " not open for reading");
  if (!stat_) return Bytes();
  const trie::Trie* holder = nullptr;
  auto found = drive_->NodeStat(path_, &holder);
  if (!found.ok()) return found.status();
  return drive_->ReadStat(*stat_, holder, position, length);
}

Status FileHandle::Flush(bool all) {
  size_t done = 0;
  while (pending_.size() - done >= kHandleBlockBytes || (all && done < pending_.size())) {
    size_t n = std::min(kHandleBlockBytes, pending_.size() - done);
    RETURN_IF_ERROR(writer_->Write(ByteView(pending_).subspan(done, n)));
    done += n;
  }
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(done));
  return Status::Ok();
}

Result<size_t> FileHandle::Write(uint64_t position, ByteView data) {
  if (closed_) return Status::InvalidArgument("write after close");
  if ((flags_ & kOpenWrite) == 0) return Status::PermissionDenied(path_ + " not open for writing");
  if (position != position_) {
    return Status::InvalidArgument("random-access writes are not supported (" + path_ + ")");
  }
  if (!writer_) {
    WriteOptions o;
    if (stat_) {
      o.mode = stat_->mode & ~kModeTypeMask;
      o.uid = stat_->uid;
      o.gid = stat_->gid;
      o.ctime = stat_->ctime;
      o.metadata = stat_->metadata;
    }
    ASSIGN_OR_RETURN(writer_, drive_->CreateWriter(path_, o));
    if ((flags_ & kOpenAppend) != 0 && stat_) {
      // Appending rewrites the old content first (as the reference does).
      for (uint64_t copied = 0; copied < stat_->size;) {
        uint64_t n = std::min<uint64_t>(kContentBlockBytes, stat_->size - copied);
        ASSIGN_OR_RETURN(Bytes chunk, drive_->ReadStat(*stat_, nullptr, copied, n));
        RETURN_IF_ERROR(writer_->Write(chunk));
        copied += n;
      }
    }
  }
  pending_.insert(pending_.end(), data.begin(), data.end());
  position_ += data.size();
  RETURN_IF_ERROR(Flush(false));
  return data.size();
}

Status FileHandle::Close() {
  if (closed_) return Status::InvalidArgument("closed twice");
  closed_ = true;
  if (!writer_) return Status::Ok();
  RETURN_IF_ERROR(Flush(true));
  auto st = writer_->Close();
  writer_.reset();
  return st.ok() ? Status::Ok() : st.status();
}

Result<std::unique_ptr<FileHandle>> Drive::OpenFile(std::string_view path, uint32_t flags) {
  ASSIGN_OR_RETURN(std::string norm, NormalizePath(path));
  const bool writing = (flags & (kOpenWrite | kOpenAppend)) != 0;
  if ((flags & kOpenAppend) != 0) flags |= kOpenWrite;
  auto resolved = Resolve(norm);
  if (!resolved.ok() && resolved.status().code() != Code::kNotFound) return resolved.status();
  std::optional<Stat> st;
  if (resolved.ok()) {
    if (resolved->second.IsDirectory()) return Status::IsADirectory(norm + " is a directory");
    st = resolved->second;
    norm = resolved->first;
    if ((flags & kOpenCreate) != 0 && (flags & kOpenExclusive) != 0) {
      return Status::Exists(norm + " exists");
    }
  } else if (!writing || (flags & kOpenCreate) == 0) {
    return Status::NotFound(norm + " does not exist");
  }
  if (writing) {
    ASSIGN_OR_RETURN(internal::WriteTarget t, Target(norm));
    if (st && (flags & kOpenTruncate) != 0) {
      st->size = 0;
      st->blocks = 0;
      RETURN_IF_ERROR(PutStat(t, *st));
    } else if (!st) {
      // Created empty at once, as the reference's create().
      RETURN_IF_ERROR(CheckParents(t.path));
      Stat created = NewStat(kModeFile, kDefaultFileMode, {});
      RETURN_IF_ERROR(PutStat(t, created));
      st = created;
    }
  }
  return std::unique_ptr<FileHandle>(new FileHandle(this, norm, flags, std::move(st)));
}

// ---------------------------------------------------------------------------------------------
// Directories and symlinks

Status Drive::Mkdir(std::string_view path, const WriteOptions& options) {
  ASSIGN_OR_RETURN(internal::WriteTarget t, Target(path));
  const std::string& norm = t.path;
  if (t.key.empty()) return Status::Exists(norm + " exists");
  RETURN_IF_ERROR(CheckParents(norm));
  Stat st = NewStat(kModeDirectory, kDefaultDirectoryMode, options);
  st.offset = t.content->length();
  st.byte_offset = t.content->byte_length();
  trie::PutOptions po;
  po.condition = [&norm](const trie::Node* existing, const trie::Node&) -> Result<bool> {
    if (existing != nullptr) return Status::Exists(norm + " exists");
    return true;
  };
  auto put = t.trie->Put(t.key, st.Encode(), po);
  return put.ok() ? Status::Ok() : put.status();
}

Status Drive::Rmdir(std::string_view path) {
  ASSIGN_OR_RETURN(internal::WriteTarget t, Target(path));
  const std::string& norm = t.path;
  if (t.key.empty()) return Status::InvalidArgument("cannot remove the root of a drive");
  ASSIGN_OR_RETURN(auto st, NodeStat(norm));
  if (st && !st->IsDirectory()) return Status::NotADirectory(norm + " is not a directory");
  trie::IterateOptions io;
  io.recursive = false;
  io.gt = true;
  ASSIGN_OR_RETURN(auto it, t.trie->Iterate(t.key, io));
  ASSIGN_OR_RETURN(trie::NodePtr child, it->Next());
  if (child) return Status::NotEmpty(norm + " is not empty");
  if (!st) return Status::NotFound(norm + " does not exist");
  ASSIGN_OR_RETURN(trie::NodePtr node, t.trie->Del(t.key));
  (void)node;
  return Status::Ok();
}

namespace {

// The non-empty pieces between '/' of `path`, one at a time (the parts Relative compares).
class Segments {
 public:
  explicit Segments(std::string_view path) : path_(path) {}
  bool Next(std::string_view* segment) {
    while (pos_ < path_.size()) {
      size_t slash = path_.find('/', pos_);
      if (slash == std::string_view::npos) slash = path_.size();
      std::string_view piece = path_.substr(pos_, slash - pos_);
      pos_ = slash + 1;
      if (!piece.empty()) {
        *segment = piece;
        return true;
      }
    }
    return false;
  }

 private:
  std::string_view path_;
  size_t pos_ = 0;
};

}  // namespace

Status Drive::ListChildren(const std::string& dir, const std::string& shown_dir,
                           const ReaddirOptions& options, std::vector<DirEntry>& out) const {
  trie::MountIterateOptions io;
  io.recursive = false;
  io.no_mounts = options.no_mounts;
  io.gt = false;  // see ListInto
  std::vector<std::string_view> dir_parts;
  Segments dir_segments(dir);
  for (std::string_view part; dir_segments.Next(&part);) dir_parts.push_back(part);
  // The children as they stream out of the view: their names back to back, and where each one
  // ends (the entries are built once their number is known: one allocation of the result).
  struct Child {
    uint32_t name_end;  // into names; the name starts where the previous one ends
    bool nested;        // a directory below which the view found a node
  };
  std::vector<Child> children;
  std::string names;
  std::vector<Stat> stats;  // with options.stats: the Stat of each child (empty when nested)
  auto visit = [&](const trie::NodePtr& node, std::string_view key, const trie::Trie*,
                   const trie::MountInfoPtr&) -> Status {
    if (!node->value()) return Status::Corruption("a node below " + dir + " has no Stat");
    Stat st;
    if (options.stats) {
      ASSIGN_OR_RETURN(st, Stat::Decode(*node->value()));
    }
    // Relative(dir, "/" + key), one segment at a time: below dir, its first part is the child's
    // name (a ".." segment, which would climb out of dir, is left out; "..name" is a name).
    Segments segments(key);
    std::string_view segment;
    for (std::string_view part : dir_parts) {
      if (!segments.Next(&segment) || segment != part) return Status::Ok();
    }
    std::string_view name;
    if (!segments.Next(&name) || name == "..") return Status::Ok();
    const bool nested = segments.Next(&segment);
    if (names.size() + name.size() > UINT32_MAX) {
      return Status::OutOfRange("the names below " + dir + " exceed 4 GiB");
    }
    names.append(name);
    children.push_back(Child{static_cast<uint32_t>(names.size()), nested});
    if (options.stats) stats.push_back(nested ? Stat() : std::move(st));
    return Status::Ok();
  };
  RETURN_IF_ERROR(view_->ForEach(TrieKeyOf(dir), io, visit));
  const std::string_view base = shown_dir == "/" ? std::string_view() : std::string_view(shown_dir);
  const uint64_t now = NowMillis();
  out.reserve(out.size() + children.size());
  for (size_t c = 0; c < children.size(); c++) {
    const Child& child = children[c];
    const size_t name_begin = c == 0 ? 0 : children[c - 1].name_end;
    DirEntry& e = out.emplace_back();
    e.name.assign(names, name_begin, child.name_end - name_begin);
    e.path.reserve(base.size() + 1 + e.name.size());
    e.path.append(base).append(1, '/').append(e.name);
    if (child.nested) {
      e.stat.mode = kDefaultDirectoryMode | kModeDirectory;
      e.stat.mtime = e.stat.ctime = now;
    } else if (options.stats) {
      e.stat = std::move(stats[c]);
    }
  }
  return Status::Ok();
}

Status Drive::ListInto(const std::string& dir, const std::string& shown_dir,
                       const ReaddirOptions& options, std::vector<DirEntry>& out) const {
  if (!options.recursive) return ListChildren(dir, shown_dir, options, out);
  // A walk lists what is stored below dir and never follows a symlink: a link is an entry like
  // any other (a link to a parent, to "." or to another link would otherwise make the walk
  // list files twice, fail or never end). The reference follows them; we do not (issue 21).
  trie::MountIterateOptions io;
  io.recursive = true;
  io.no_mounts = options.no_mounts;
  // gt is applied here rather than by the view: MountView compares gt against keys inside the
  // mounted trie, so it can drop an entry whose inner key happens to equal the outer prefix.
  io.gt = false;
  if (options.on_mount_cycle) {
    io.on_cycle = [&options](std::string_view key) {
      std::string path = "/";
      path += key;
      options.on_mount_cycle(path);
    };
  }
  return view_->ForEach(TrieKeyOf(dir), io,
                        [&](const trie::NodePtr& node, std::string_view key, const trie::Trie*,
                            const trie::MountInfoPtr&) -> Status {
                          if (!node->value())
                            return Status::Corruption("a node below " + dir + " has no Stat");
                          ASSIGN_OR_RETURN(Stat st, Stat::Decode(*node->value()));
                          std::string real_path = "/";
                          real_path += key;
                          if (real_path == dir) return Status::Ok();
                          std::string rel = Relative(dir, real_path);
                          // Only a whole ".." segment climbs out of dir ("..name" is a name like
                          // any other).
                          if (rel.empty() || rel == ".." || rel.compare(0, 3, "../") == 0)
                            return Status::Ok();
                          out.push_back(DirEntry{"", Join(shown_dir, rel), std::move(st)});
                          return Status::Ok();
                        });
}

Result<std::vector<DirEntry>> Drive::Readdir(std::string_view path,
                                             const ReaddirOptions& options) const {
  ASSIGN_OR_RETURN(std::string norm, NormalizePath(path));
  ASSIGN_OR_RETURN(auto resolved, Resolve(norm));
  if (!resolved.second.IsDirectory()) return Status::NotADirectory(norm + " is not a directory");
  std::vector<DirEntry> out;
  RETURN_IF_ERROR(ListInto(resolved.first, norm, options, out));
  if (options.recursive) {
    // Names relative to the listed directory; an entry at the listed path itself is dropped.
    size_t kept = 0;
    for (DirEntry& e : out) {
      if (e.path == norm) continue;
      e.name = Relative(norm, e.path);
      if (&out[kept] != &e) out[kept] = std::move(e);
      kept++;
    }
    out.erase(out.begin() + static_cast<ptrdiff_t>(kept), out.end());
  }
  return out;
}

Status Drive::Symlink(std::string_view target, std::string_view link_path) {
  ASSIGN_OR_RETURN(internal::WriteTarget t, Target(link_path));
  const std::string& norm = t.path;
  if (t.key.empty()) return Status::Exists(norm + " exists");
  if (target.empty()) return Status::InvalidArgument("empty symlink target");
  if (LstatNorm(norm).ok()) return Status::Exists(norm + " exists");
  RETURN_IF_ERROR(CheckParents(norm));
  std::string linkname(target);
  std::replace(linkname.begin(), linkname.end(), '\\', '/');
  Stat st = NewStat(kModeSymlink, kDefaultFileMode, {});
  st.linkname = std::move(linkname);
  return PutStat(t, st);
}

// ---------------------------------------------------------------------------------------------
// Mounts

Status Drive::Mount(std::string_view path, const crypto::PublicKey& key,
                    const MountOptions& options) {
  RETURN_IF_ERROR(CheckWritable());
  ASSIGN_OR_RETURN(std::string norm, NormalizePath(path));
  if (norm == "/") return Status::InvalidArgument("cannot mount over the root");
  if (key == metadata_->key()) return Status::Loop("a drive cannot mount itself");
  if (options.version) {
    // Checked before anything is written: a mount record is signed history.
    if (*options.version == 0) {
      return Status::InvalidArgument("mount version 0 does not exist (versions start at 1)");
    }
    corestore::CoreOptions co;
    co.key = key;
    co.create_if_missing = false;
    auto mounted = store_->Get(co);
    if (mounted.ok() && (*mounted)->length() > 0 && *options.version > (*mounted)->length()) {
      return Status::OutOfRange("version " + std::to_string(*options.version) +
                                " of the mounted drive does not exist (it is at version " +
                                std::to_string((*mounted)->length()) + ")");
    }
    if (!mounted.ok() && mounted.status().code() != Code::kNotFound) return mounted.status();
  }
  ASSIGN_OR_RETURN(auto existing, NodeStat(norm));
  if (existing) return Status::Exists(norm + " exists");
  ASSIGN_OR_RETURN(internal::WriteTarget t, Target(norm));
  if (t.key.empty()) return Status::InvalidArgument("cannot mount over a drive's root");
  RETURN_IF_ERROR(CheckParents(t.path));
  Stat st;
  st.mode = kDefaultDirectoryMode | kModeDirectory;
  st.uid = options.uid.value_or(0);
  st.gid = options.gid.value_or(0);
  st.mtime = st.ctime = NowMillis();
  st.offset = t.content->length();
  st.byte_offset = t.content->byte_length();
  st.mount = MountRecord{ToBytes(ByteView(key)), options.version, std::nullopt, false};
  trie::MountOptions mo;
  mo.version = options.version;
  mo.value = st.Encode();
  return trie::WriteMount(*t.trie, t.key, key, mo);
}

Status Drive::Unmount(std::string_view path) {
  RETURN_IF_ERROR(CheckWritable());
  ASSIGN_OR_RETURN(std::string norm, NormalizePath(path));
  ASSIGN_OR_RETURN(auto resolved, Resolve(norm));
  const Stat& st = resolved.second;
  if (!st.mount) return Status::InvalidArgument(norm + " is not a mount");
  // The mount point belongs to the trie holding its parent directory.
  const std::string& at = resolved.first;
  ASSIGN_OR_RETURN(internal::WriteTarget parent, Target(Dirname(at)));
  std::string key = at.substr(at.rfind('/') + 1);
  if (!parent.key.empty()) key = parent.key + "/" + key;
  if (st.mount->hypercore.value_or(false)) {
    ASSIGN_OR_RETURN(trie::NodePtr node, parent.trie->Del(key));
    (void)node;
    return Status::Ok();
  }
  return trie::WriteUnmount(*parent.trie, key);
}

Result<std::vector<MountEntry>> Drive::GetAllMounts() const {
  std::vector<MountEntry> out;
  out.push_back(MountEntry{"/", metadata_->key(), content_key()});
  trie::IterateOptions io;
  io.hidden = true;
  ASSIGN_OR_RETURN(auto nodes, trie_->List(trie::kMountPrefix, io));
  for (const auto& node : nodes) {
    if (!trie::IsMountNode(*node) || !node->value()) continue;
    ASSIGN_OR_RETURN(trie::MountInfo info, trie::MountInfo::Decode(*node->value()));
    if (info.key.size() != crypto::kPublicKeyBytes) return Status::Corruption("bad mount key");
    MountEntry e;
    e.path = "/" + info.local_path;
    std::copy(info.key.begin(), info.key.end(), e.metadata_key.begin());
    if (info.version == 0) info.version.reset();
    ASSIGN_OR_RETURN(const trie::Trie* mounted, OpenMountedTrie(info));
    if (mounted->log()->length() > 0) {
      auto content = ContentOf(mounted);
      if (content.ok()) e.content_key = (*content)->key();
    }
    out.push_back(std::move(e));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Versions and tags

Result<std::unique_ptr<Drive>> Drive::Checkout(uint64_t version) const {
  std::unique_ptr<Drive> d(new Drive());
  d->store_ = store_;
  d->metadata_ = metadata_;
  d->content_ = content_;
  d->content_lock_ = content_lock_;
  d->trie_ = trie_->Checkout(version);
  d->InitMountView();
  return d;
}

const char* DiffEntry::type_name() const {
  switch (type) {
    case Type::kPut:
      return "put";
    case Type::kDel:
      return "del";
    case Type::kMount:
      return "mount";
    case Type::kUnmount:
      return "unmount";
  }
  return "del";
}

Result<std::vector<DiffEntry>> Drive::Diff(uint64_t other_version, std::string_view prefix) const {
  ASSIGN_OR_RETURN(std::string norm, NormalizePath(prefix));
  ASSIGN_OR_RETURN(auto it, trie_->Diff(other_version, TrieKeyOf(norm)));
  std::vector<DiffEntry> out;
  while (true) {
    ASSIGN_OR_RETURN(auto entry, it->Next());
    if (!entry) break;
    DiffEntry e;
    e.name = entry->key;
    if (entry->left) {
      e.type = trie::IsMountNode(*entry->left) ? DiffEntry::Type::kMount : DiffEntry::Type::kPut;
    } else {
      e.type = entry->right && trie::IsMountNode(*entry->right) ? DiffEntry::Type::kUnmount
                                                                : DiffEntry::Type::kDel;
    }
    if (entry->left) {
      e.seq = entry->left->seq();
      if (entry->left->value()) {
        ASSIGN_OR_RETURN(Stat st, Stat::Decode(*entry->left->value()));
        e.value = std::move(st);
      }
    }
    if (entry->right) e.previous_seq = entry->right->seq();
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::unique_ptr<DriveWatcher>> Drive::Watch(std::string_view path,
                                                   std::function<void()> on_change) {
  ASSIGN_OR_RETURN(std::string norm, NormalizePath(path));
  const std::string key = TrieKeyOf(norm);
  auto out = std::make_unique<DriveWatcher>();
  auto shared = std::make_shared<std::function<void()>>(std::move(on_change));
  auto call = [shared] { (*shared)(); };
  out->watchers_.push_back(trie_->Watch(key, call));
  // Mounted tries to watch as well: the one holding `path`, and every mount below it.
  std::vector<std::pair<const trie::Trie*, std::string>> subs;
  ASSIGN_OR_RETURN(auto holding, view_->Resolve(key));
  if (holding.first != trie_.get()) {
    const trie::MountInfo& info = holding.second;
    std::string rest =
        key.size() > info.local_path.size() ? key.substr(info.local_path.size()) : "";
    std::string inner =
        trie::NormalizeMountPath(trie::PosixJoin(rest, info.remote_path.value_or("")));
    subs.emplace_back(holding.first, inner == "." ? std::string() : inner);
  } else {
    trie::IterateOptions io;
    io.hidden = true;
    ASSIGN_OR_RETURN(auto nodes, trie_->List(trie::PosixJoin(trie::kMountPrefix, key), io));
    for (const auto& node : nodes) {
      if (!trie::IsMountNode(*node) || !node->value()) continue;
      ASSIGN_OR_RETURN(trie::MountInfo info, trie::MountInfo::Decode(*node->value()));
      if (info.version == 0) info.version.reset();
      if (info.version) continue;  // a pinned version never changes
      ASSIGN_OR_RETURN(const trie::Trie* sub, OpenMountedTrie(info));
      subs.emplace_back(sub, std::string(info.remote_path.value_or("")));
    }
  }
  for (const auto& [sub, inner] : subs) {
    trie::Trie* writable_sub = nullptr;
    {
      std::lock_guard<std::mutex> lock(mounts_mu_);
      for (auto& [id, mounted] : mounted_) {
        if (mounted.get() == sub) writable_sub = mounted.get();
      }
    }
    if (writable_sub != nullptr && !writable_sub->is_checkout()) {
      out->watchers_.push_back(writable_sub->Watch(inner, call));
    }
  }
  return out;
}

Status Drive::CreateTag(const std::string& name, std::optional<uint64_t> version) {
  if (trie_->is_checkout() || !trie_->writable()) return Status::NotWritable("read-only drive");
  Bytes value;
  AppendVarint(value, version.value_or(trie_->version()));
  trie::PutOptions po;
  po.hidden = true;
  auto put = trie_->Put(std::string(kTagPrefix) + name, std::move(value), po);
  return put.ok() ? Status::Ok() : put.status();
}

Result<uint64_t> Drive::GetTaggedVersion(const std::string& name) const {
  trie::GetOptions go;
  go.hidden = true;
  ASSIGN_OR_RETURN(trie::NodePtr node, trie_->Get(std::string(kTagPrefix) + name, go));
  if (!node || !node->value()) return Status::NotFound("no tag " + name);
  size_t used = 0;
  return DecodeVarint(*node->value(), &used);
}

Status Drive::DeleteTag(const std::string& name) {
  if (trie_->is_checkout() || !trie_->writable()) return Status::NotWritable("read-only drive");
  trie::DelOptions dopts;
  dopts.hidden = true;
  auto del = trie_->Del(std::string(kTagPrefix) + name, dopts);
  return del.ok() ? Status::Ok() : del.status();
}

Result<std::map<std::string, uint64_t>> Drive::GetAllTags() const {
  trie::IterateOptions io;
  io.hidden = true;
  ASSIGN_OR_RETURN(auto nodes, trie_->List(kTagPrefix, io));
  std::map<std::string, uint64_t> out;
  for (const auto& node : nodes) {
    if (!node->value()) continue;
    size_t used = 0;
    ASSIGN_OR_RETURN(uint64_t v, DecodeVarint(*node->value(), &used));
    std::string_view key = node->key();
    if (key.size() >= kTagPrefix.size()) key.remove_prefix(kTagPrefix.size());
    out[std::string(key)] = v;
  }
  return out;
}

}  // namespace hyper::drive
