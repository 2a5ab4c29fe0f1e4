#include "hyper/corestore/corestore.h"

#include <algorithm>
#include <filesystem>

#include "hyper/util/varint.h"
#include "store_lock.h"

namespace hyper::corestore {
namespace {

constexpr char kMasterKeyFile[] = "master_key";
constexpr char kNamespace[] = "corestore";

// The `name` file: varint(length) then the name bytes (derived-key-storage).
Bytes EncodeNameFile(ByteView name) {
  Bytes out;
  AppendVarint(out, name.size());
  out.insert(out.end(), name.begin(), name.end());
  return out;
}

// As the reference reads it: anything that is not exactly varint + that many bytes means
// "no name" (and the core is then opened by its key alone).
std::optional<Bytes> DecodeNameFile(ByteView file) {
  if (file.size() < 2) return std::nullopt;
  size_t n = 0;
  auto len = DecodeVarint(file, &n);
  if (!len.ok() || n + *len != file.size()) return std::nullopt;
  return Bytes(file.begin() + static_cast<ptrdiff_t>(n), file.end());
}

// Reads a whole small file; an empty or missing file is an empty buffer.
Result<Bytes> ReadSmallFile(storage::File& f, uint64_t max) {
  ASSIGN_OR_RETURN(uint64_t size, f.Size());
  if (size > max)
    return Status::Corruption("file is larger than " + std::to_string(max) + " bytes");
  return storage::ReadBytes(f, 0, size);
}

// A file that takes writes and forgets them: a name-derived core never stores its secret key.
storage::FileFactory WithoutSecretKeyFile(storage::FileFactory inner) {
  return [inner =
              std::move(inner)](const std::string& name) -> Result<std::unique_ptr<storage::File>> {
    if (name == "secret_key") return storage::NewMemoryFile();
    return inner(name);
  };
}

// Files for a reader: opened read-only, and a missing one (a core's `secret_key`, a header not
// written yet) is an empty file in memory, so that nothing is ever created on disk.
storage::FileFactory ReadOnlyFiles(storage::FileFactory inner) {
  return [inner =
              std::move(inner)](const std::string& name) -> Result<std::unique_ptr<storage::File>> {
    auto file = inner(name);
    if (!file.ok() && file.status().code() == Code::kNotFound) return storage::NewMemoryFile();
    return file;
  };
}

storage::FileFactory Prefixed(storage::FileFactory inner, std::string prefix) {
  return [inner = std::move(inner), prefix = std::move(prefix)](const std::string& name) {
    return inner(prefix + "/" + name);
  };
}

}  // namespace

Corestore::Corestore(storage::FileFactory files, std::string dir, CorestoreOptions options)
    : files_(std::move(files)), dir_(std::move(dir)), options_(std::move(options)) {}

Corestore::~Corestore() { (void)Close(); }

Result<std::unique_ptr<Corestore>> Corestore::OpenDirectory(const std::string& dir,
                                                            const CorestoreOptions& options) {
  const bool read_only = options.access == Access::kRead;
  if (!read_only) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::FromErrno(ec.value(), "creating store directory " + dir);
  }
  std::unique_ptr<StoreLock> lock;
  // A reader of a store that does not exist reads an empty one (and makes none).
  const bool missing = read_only && !std::filesystem::exists(dir);
  if (options.lock && !missing) {
    ASSIGN_OR_RETURN(lock, StoreLock::Acquire(dir, options.access, options.holder));
  }
  storage::OpenOptions file_options;
  if (read_only) {
    file_options.create = false;
    file_options.read_only = true;
  }
  storage::FileFactory files =
      storage::PooledPosixDirectory(dir, options.max_open_files, file_options);
  if (read_only) files = ReadOnlyFiles(std::move(files));
  std::unique_ptr<Corestore> store(new Corestore(std::move(files), dir, options));
  store->lock_ = std::move(lock);
  RETURN_IF_ERROR(store->LoadMasterKey());
  RETURN_IF_ERROR(store->LoadLeafIndex());
  return store;
}

Result<std::unique_ptr<Corestore>> Corestore::Open(storage::FileFactory files,
                                                   CorestoreOptions options) {
  std::unique_ptr<Corestore> store(new Corestore(std::move(files), "", std::move(options)));
  RETURN_IF_ERROR(store->LoadMasterKey());
  RETURN_IF_ERROR(store->LoadLeafIndex());
  return store;
}

Status Corestore::LoadMasterKey() {
  ASSIGN_OR_RETURN(auto file, files_(kMasterKeyFile));
  ASSIGN_OR_RETURN(uint64_t size, file->Size());
  if (size < master_key_.size()) {
    if (options_.access == Access::kRead) {
      // An empty store: no core derives from this key, and it is never written.
      crypto::RandomBytes(master_key_);
      return file->Close();
    }
    // As the reference: a missing or short master key is replaced by a new random one.
    crypto::RandomBytes(master_key_);
    RETURN_IF_ERROR(file->Write(0, master_key_).Annotate("writing the master key"));
    RETURN_IF_ERROR(file->Sync());
  } else {
    RETURN_IF_ERROR(file->Read(0, master_key_).Annotate("reading the master key"));
  }
  return file->Close();
}

crypto::KeyPair Corestore::DeriveKeyPair(ByteView name) const {
  crypto::Hash seed = crypto::DeriveKey(kNamespace, master_key_, name);
  return crypto::KeyPairFromSeed(seed);
}

std::string Corestore::NamespacedName(const std::string& parent, const std::string& name) {
  return parent.empty() ? name : parent + ":" + name;
}

std::string Corestore::CoreDirectory(const crypto::Hash& discovery_key) {
  std::string hex = ToHex(discovery_key);
  return hex.substr(0, 2) + "/" + hex.substr(2, 2) + "/" + hex;
}

Result<std::shared_ptr<core::Feed>> Corestore::Default(const std::string& namespace_name) {
  CoreOptions options;
  options.name = namespace_name;
  return Get(options);
}

Result<std::shared_ptr<core::Feed>> Corestore::Get(const CoreOptions& options) {
  CoreOptions resolved = options;
  crypto::PublicKey public_key;
  if (options.key_pair) {
    if (!crypto::ValidateKeyPair(*options.key_pair)) {
      return Status::InvalidArgument("the secret key does not belong to the public key");
    }
    public_key = options.key_pair->public_key;
  } else if (options.key) {
    public_key = *options.key;
  } else {
    if (!resolved.name) {
      Bytes random(32);
      crypto::RandomBytes(random);
      resolved.name = std::string(AsString(random));
    }
    public_key = DeriveKeyPair(AsBytes(*resolved.name)).public_key;
  }
  crypto::Hash dk = crypto::DiscoveryKey(public_key);
  std::lock_guard lock(mu_);
  if (auto it = open_.find(dk); it != open_.end()) return it->second;
  resolved.key = public_key;
  ASSIGN_OR_RETURN(auto feed, OpenCore(dk, resolved));
  open_[dk] = feed;
  IndexOpenedCore(feed);
  return feed;
}

// The key pair named by the `name` file of a core folder when it derives `key`: nullopt when
// there is no such name (an error only when reading fails).
std::optional<Result<crypto::KeyPair>> Corestore::NamedKeyPair(storage::FileFactory& core_files,
                                                               const crypto::PublicKey& key) const {
  auto name_file = core_files("name");
  if (!name_file.ok()) return Result<crypto::KeyPair>(name_file.status());
  auto name_bytes = ReadSmallFile(**name_file, 64 * 1024);
  (void)(*name_file)->Close();
  if (!name_bytes.ok()) return Result<crypto::KeyPair>(name_bytes.status());
  auto name = DecodeNameFile(*name_bytes);
  if (!name) return std::nullopt;
  crypto::KeyPair kp = DeriveKeyPair(*name);
  if (kp.public_key != key) return std::nullopt;
  return Result<crypto::KeyPair>(kp);
}

// REQUIRES: mu_ held. options.key is set.
Result<std::shared_ptr<core::Feed>> Corestore::OpenCore(const crypto::Hash& dk,
                                                        const CoreOptions& options) {
  const std::string root = CoreDirectory(dk);
  storage::FileFactory core_files = Prefixed(files_, root);
  if (!dir_.empty() && options_.access != Access::kRead && !options.key_pair && !options.name) {
    std::error_code ec;
    if (!std::filesystem::exists(dir_ + "/" + root, ec) && !ec) {
      // Looking a core up creates nothing (its folder would be made by opening its files).
      if (!options.create_if_missing) {
        return Status::NotFound("no core with key " + ToHex(*options.key) + " in the store");
      }
      // A new replica: nothing is created on disk (not even its folder) until a verified block
      // arrives, so a fetch that fails leaves no empty replica behind.
      core::FeedOptions feed_options;
      feed_options.key = *options.key;
      feed_options.durable = options_.durable;
      feed_options.defer_create = true;
      auto feed = core::Feed::Open(storage::CreatedOnFirstWrite(core_files), feed_options);
      if (!feed.ok()) return feed.status().Annotate("opening core " + ToHex(*options.key));
      return std::shared_ptr<core::Feed>(std::move(feed).value());
    }
  }
  ASSIGN_OR_RETURN(auto key_file, core_files("key"));
  ASSIGN_OR_RETURN(Bytes stored_key, ReadSmallFile(*key_file, 1024));
  RETURN_IF_ERROR(key_file->Close());

  core::FeedOptions feed_options;
  feed_options.key = *options.key;
  feed_options.durable = options_.durable;
  feed_options.read_only = options_.access == Access::kRead;
  bool derived = false;  // the secret key comes from a name, never stored

  if (stored_key.size() >= 32) {
    if (!std::equal(stored_key.begin(), stored_key.begin() + 32, options.key->begin())) {
      return Status::Corruption("the core in " + root +
                                " holds a key that does not match its folder");
    }
    ASSIGN_OR_RETURN(auto name_file, core_files("name"));
    ASSIGN_OR_RETURN(Bytes name_bytes, ReadSmallFile(*name_file, 64 * 1024));
    RETURN_IF_ERROR(name_file->Close());
    if (auto name = DecodeNameFile(name_bytes)) {
      crypto::KeyPair kp = DeriveKeyPair(*name);
      if (kp.public_key != *options.key) {
        return Status::Corruption("the core in " + root +
                                  " names a key pair that is not its own (another master key?)");
      }
      feed_options.secret_key = kp.secret_key;
      derived = true;
    } else if (options.key_pair) {
      feed_options.secret_key = options.key_pair->secret_key;
    }
    // Otherwise the feed reads secret_key itself when the store has one.
  } else if (auto derived_pair = NamedKeyPair(core_files, *options.key)) {
    // `key` lost or cut, the name kept: the feed is this one (its signatures will say so).
    ASSIGN_OR_RETURN(crypto::KeyPair kp, std::move(*derived_pair));
    feed_options.secret_key = kp.secret_key;
    derived = true;
  } else {
    if (!options.key_pair && !options.name && !options.create_if_missing) {
      return Status::NotFound("no core with key " + ToHex(*options.key) + " in the store");
    }
    if (feed_options.read_only) {
      // A reader never creates a core on disk: the one asked for is empty here, in memory.
      if (options.name) feed_options.secret_key = DeriveKeyPair(AsBytes(*options.name)).secret_key;
      if (options.key_pair) feed_options.secret_key = options.key_pair->secret_key;
      feed_options.read_only = false;
      storage::MemoryDirectory memory;
      auto feed = core::Feed::Open(memory.factory(), feed_options);
      if (!feed.ok()) return feed.status().Annotate("opening core " + ToHex(*options.key));
      return std::shared_ptr<core::Feed>(std::move(feed).value());
    }
    if (options.key_pair) {
      feed_options.secret_key = options.key_pair->secret_key;
    } else if (options.name) {
      crypto::KeyPair kp = DeriveKeyPair(AsBytes(*options.name));
      feed_options.secret_key = kp.secret_key;
      derived = true;
      ASSIGN_OR_RETURN(auto name_file, core_files("name"));
      RETURN_IF_ERROR(name_file->Write(0, EncodeNameFile(AsBytes(*options.name))));
      // The name is written before the feed writes its key, so a core whose key survived a
      // crash has its name too when the store is durable.
      if (options_.durable) RETURN_IF_ERROR(name_file->Sync());
      RETURN_IF_ERROR(name_file->Close());
    }
  }
  feed_options.open_damaged = options.open_damaged;
  storage::FileFactory feed_files = derived ? WithoutSecretKeyFile(core_files) : core_files;
  auto feed = core::Feed::Open(std::move(feed_files), feed_options);
  if (!feed.ok()) return feed.status().Annotate("opening core " + ToHex(*options.key));
  return std::shared_ptr<core::Feed>(std::move(feed).value());
}

bool Corestore::Contains(const crypto::Hash& discovery_key) {
  {
    std::lock_guard lock(mu_);
    if (open_.count(discovery_key)) return true;
  }
  if (!dir_.empty()) {
    std::error_code ec;
    return std::filesystem::file_size(dir_ + "/" + CoreDirectory(discovery_key) + "/key", ec) >=
               32 &&
           !ec;
  }
  auto key_file = files_(CoreDirectory(discovery_key) + "/key");
  if (!key_file.ok()) return false;
  auto size = (*key_file)->Size();
  (void)(*key_file)->Close();
  return size.ok() && *size >= 32;
}

Result<std::shared_ptr<core::Feed>> Corestore::GetByDiscoveryKey(
    const crypto::Hash& discovery_key) {
  {
    std::lock_guard lock(mu_);
    if (auto it = open_.find(discovery_key); it != open_.end()) return it->second;
  }
  const std::string name = CoreDirectory(discovery_key);
  auto not_found = [&] {
    return Status::NotFound("no core with discovery key " + ToHex(discovery_key) + " in the store");
  };
  if (!dir_.empty()) {
    std::error_code ec;
    if (!std::filesystem::exists(dir_ + "/" + name + "/key", ec)) return not_found();
  }
  auto key_file = files_(name + "/key");
  if (!key_file.ok()) return not_found();
  auto stored = ReadSmallFile(**key_file, 1024);
  (void)(*key_file)->Close();
  if (!stored.ok() || stored->size() < 32) return not_found();
  crypto::PublicKey key;
  std::copy(stored->begin(), stored->begin() + 32, key.begin());
  if (crypto::DiscoveryKey(key) != discovery_key) {
    return Status::Corruption("the core in " + name +
                              " holds a key that does not match its folder");
  }
  CoreOptions options;
  options.key = key;
  options.create_if_missing = false;
  return Get(options);
}

Result<std::vector<crypto::PublicKey>> Corestore::List() const {
  if (dir_.empty()) return Status::Unsupported("listing needs a store on disk");
  std::vector<crypto::PublicKey> keys;
  std::error_code ec;
  auto is_hex = [](const std::string& s, size_t n) {
    return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) {
             return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
  };
  if (!std::filesystem::exists(dir_)) return keys;  // a reader's view of no store: empty
  for (const auto& a : std::filesystem::directory_iterator(dir_, ec)) {
    if (!a.is_directory() || !is_hex(a.path().filename().string(), 2)) continue;
    for (const auto& b : std::filesystem::directory_iterator(a.path(), ec)) {
      if (!b.is_directory() || !is_hex(b.path().filename().string(), 2)) continue;
      for (const auto& c : std::filesystem::directory_iterator(b.path(), ec)) {
        if (!c.is_directory() || !is_hex(c.path().filename().string(), 64)) continue;
        auto f = storage::OpenPosixFile((c.path() / "key").string(),
                                        {.create = false, .read_only = true});
        if (!f.ok()) continue;
        crypto::PublicKey key;
        if ((*f)->Read(0, key).ok() &&
            ToHex(crypto::DiscoveryKey(key)) == c.path().filename().string()) {
          keys.push_back(key);
        }
      }
    }
  }
  if (ec) return Status::FromErrno(ec.value(), "listing " + dir_);
  std::sort(keys.begin(), keys.end());
  return keys;
}

Status Corestore::Close() {
  std::lock_guard lock(mu_);
  // A leaf index that cannot be saved is rebuilt at the next open (its file is then empty or
  // fails its checksum): not a reason for Close to fail.
  (void)SaveLeafIndexLocked();
  Status first;
  for (auto& [dk, feed] : open_) {
    Status s = feed->Close();
    if (first.ok() && !s.ok()) first = s;
  }
  open_.clear();
  lock_.reset();  // after every core is closed (and has written what it had to)
  return first;
}

}  // namespace hyper::corestore
