#include "hyper/daemon/state_db.h"

#include <leveldb/db.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/write_batch.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>

namespace hyper::daemon {
namespace {

// subleveldown's prefixes: "!<name>!" per level, nested levels one after the other.
constexpr std::string_view kRootDriveKey = "!fuse!root-drive";
constexpr std::string_view kDrivesPrefix = "!drives!!drives!";
constexpr std::string_view kMirrorsPrefix = "!drives!!mirrors!";
constexpr std::string_view kSeedingPrefix = "!drives!!seeding!";
// What the reference stores in the drive index (an object through an encoding it does not
// have: String(object)), and in the mirror index.
constexpr std::string_view kDriveValue = "[object Object]";
constexpr std::string_view kMirrorValue = "mirroring";

using OrderedJson = nlohmann::ordered_json;

// Printable: a key may hold any bytes.
std::string Printable(std::string_view key) {
  std::string out;
  for (char c : key) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

Status Corrupt(std::string_view key, const std::string& why) {
  return Status::Corruption("the daemon's state record '" + Printable(key) + "' " + why);
}

// 64 lowercase hex digits (how the reference writes keys) into 32 bytes.
template <typename Key>
std::optional<Key> ParseHexKey(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  auto bytes = FromHex(hex);
  if (!bytes.ok() || bytes->size() != 32) return std::nullopt;
  Key key{};
  std::copy(bytes->begin(), bytes->end(), key.begin());
  return key;
}

Status FromLevelDb(const leveldb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  if (s.IsCorruption()) return Status::Corruption(what + ": " + s.ToString());
  if (s.IsNotFound()) return Status::NotFound(what + ": " + s.ToString());
  return Status::IOError(what + ": " + s.ToString());
}

std::optional<bool> BoolField(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return false;  // `!!undefined` in the reference
  if (!it->is_boolean()) return std::nullopt;
  return it->get<bool>();
}

}  // namespace

struct StateDb::Impl {
  std::string dir;
  std::unique_ptr<leveldb::DB> db;

  Result<std::optional<std::string>> Get(std::string_view key) const {
    std::string value;
    leveldb::Status s =
        db->Get(leveldb::ReadOptions(), leveldb::Slice(key.data(), key.size()), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    RETURN_IF_ERROR(FromLevelDb(s, "reading " + Printable(key) + " in " + dir));
    return std::optional<std::string>(std::move(value));
  }

  Status Put(std::string_view key, std::string_view value) {
    leveldb::WriteOptions options;
    options.sync = true;  // a configuration the caller was told is saved survives a crash
    return FromLevelDb(db->Put(options, leveldb::Slice(key.data(), key.size()),
                               leveldb::Slice(value.data(), value.size())),
                       "writing " + Printable(key) + " in " + dir);
  }

  Status Delete(std::string_view key) {
    leveldb::WriteOptions options;
    options.sync = true;
    return FromLevelDb(db->Delete(options, leveldb::Slice(key.data(), key.size())),
                       "deleting " + Printable(key) + " in " + dir);
  }

  // Every (key without the prefix, value) under `prefix`, in key order.
  Result<std::vector<std::pair<std::string, std::string>>> Scan(std::string_view prefix) const {
    std::vector<std::pair<std::string, std::string>> out;
    std::unique_ptr<leveldb::Iterator> it(db->NewIterator(leveldb::ReadOptions()));
    const leveldb::Slice start(prefix.data(), prefix.size());
    for (it->Seek(start); it->Valid() && it->key().starts_with(start); it->Next()) {
      out.emplace_back(it->key().ToString().substr(prefix.size()), it->value().ToString());
    }
    RETURN_IF_ERROR(FromLevelDb(it->status(), "listing " + std::string(prefix) + " in " + dir));
    return out;
  }

  // The keys under `prefix` as 32-byte keys (the values, which carry nothing, are not read).
  Result<std::vector<crypto::PublicKey>> Keys(std::string_view prefix) const {
    ASSIGN_OR_RETURN(auto entries, Scan(prefix));
    std::vector<crypto::PublicKey> keys;
    for (const auto& entry : entries) {
      const std::string& suffix = entry.first;
      auto key = ParseHexKey<crypto::PublicKey>(suffix);
      if (!key) return Corrupt(std::string(prefix) + suffix, "is not named by 64 hex digits");
      keys.push_back(*key);
    }
    return keys;
  }
};

StateDb::StateDb(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StateDb::~StateDb() = default;

Result<std::unique_ptr<StateDb>> StateDb::Open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::FromErrno(ec.value(), "creating the daemon's state database " + dir);
  leveldb::Options options;
  options.create_if_missing = true;
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, dir, &raw);
  if (!s.ok()) {
    const std::string text = s.ToString();
    // LevelDB says "lock <dir>/LOCK: ..." when another process (or this one) has it open.
    if (s.IsIOError() && text.find("/LOCK") != std::string::npos) {
      return Status::Busy("the daemon's state database " + dir +
                          " is in use by another process (a running daemon?): " + text);
    }
    return FromLevelDb(s, "opening the daemon's state database " + dir);
  }
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->db.reset(raw);
  return std::unique_ptr<StateDb>(new StateDb(std::move(impl)));
}

Result<std::optional<RootDriveRecord>> StateDb::RootDrive() const {
  ASSIGN_OR_RETURN(auto value, impl_->Get(kRootDriveKey));
  if (!value) return std::optional<RootDriveRecord>();
  auto parsed = OrderedJson::parse(*value, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return Corrupt(kRootDriveKey, "is not a JSON object");
  }
  RootDriveRecord record;
  auto mnt = parsed.find("mnt");
  if (mnt == parsed.end() || !mnt->is_string()) {
    return Corrupt(kRootDriveKey, "has no mountpoint (\"mnt\")");
  }
  record.mountpoint = mnt->get<std::string>();
  auto opts = parsed.find("opts");
  if (opts == parsed.end() || !opts->is_object()) {
    return Corrupt(kRootDriveKey, "has no options (\"opts\")");
  }
  // No key: where to mount is known, the drive is not made yet (the reference then makes one).
  auto key = opts->find("key");
  if (key != opts->end() && !key->is_null()) {
    std::optional<crypto::PublicKey> parsed_key;
    if (key->is_string()) parsed_key = ParseHexKey<crypto::PublicKey>(key->get<std::string>());
    if (!parsed_key) return Corrupt(kRootDriveKey, "has a drive key that is not 64 hex digits");
    record.key = *parsed_key;
  }
  record.opts_json = opts->dump();
  return std::optional<RootDriveRecord>(std::move(record));
}

Status StateDb::PutRootDrive(const RootDriveRecord& record) {
  OrderedJson opts = OrderedJson::object();
  if (!record.opts_json.empty()) {
    opts = OrderedJson::parse(record.opts_json, nullptr, /*allow_exceptions=*/false);
    if (opts.is_discarded() || !opts.is_object()) {
      return Status::InvalidArgument("the root drive's options are not a JSON object: " +
                                     record.opts_json);
    }
  }
  if (record.key) {
    opts["key"] = ToHex(*record.key);
  } else {
    opts.erase("key");
  }
  OrderedJson value = OrderedJson::object();
  value["mnt"] = record.mountpoint;
  value["opts"] = std::move(opts);
  // A mountpoint that is not UTF-8 gets U+FFFD for its bad bytes, as Node's strings do.
  return impl_->Put(kRootDriveKey,
                    value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Result<std::optional<SeedingRecord>> StateDb::NetworkConfiguration(
    const crypto::Hash& discovery_key) const {
  const std::string key = std::string(kSeedingPrefix) + ToHex(discovery_key);
  ASSIGN_OR_RETURN(auto value, impl_->Get(key));
  if (!value) return std::optional<SeedingRecord>();
  auto parsed = nlohmann::json::parse(*value, nullptr, /*allow_exceptions=*/false);
  SeedingRecord record;
  record.discovery_key = discovery_key;
  std::optional<crypto::PublicKey> drive_key;
  const nlohmann::json* opts = nullptr;
  if (!parsed.is_discarded() && parsed.is_object()) {
    auto k = parsed.find("key");
    if (k != parsed.end() && k->is_string()) {
      drive_key = ParseHexKey<crypto::PublicKey>(k->get<std::string>());
    }
    auto o = parsed.find("opts");
    if (o != parsed.end() && o->is_object()) opts = &*o;
  }
  if (!drive_key) return Corrupt(key, "has no drive key (64 hex digits)");
  if (opts == nullptr) return Corrupt(key, "has no network options (\"opts\")");
  record.key = *drive_key;
  auto lookup = BoolField(*opts, "lookup");
  auto announce = BoolField(*opts, "announce");
  auto remember = BoolField(*opts, "remember");
  if (!lookup || !announce || !remember) {
    return Corrupt(key, "has a network option that is not true or false");
  }
  record.network = {*lookup, *announce, *remember};
  return std::optional<SeedingRecord>(record);
}

Status StateDb::PutNetworkConfiguration(const SeedingRecord& record) {
  // Field order as the reference writes them, so the bytes are the same.
  OrderedJson opts = OrderedJson::object();
  opts["lookup"] = record.network.lookup;
  opts["announce"] = record.network.announce;
  opts["remember"] = record.network.remember;
  OrderedJson value = OrderedJson::object();
  value["key"] = ToHex(record.key);
  value["opts"] = std::move(opts);
  return impl_->Put(std::string(kSeedingPrefix) + ToHex(record.discovery_key), value.dump());
}

Status StateDb::DeleteNetworkConfiguration(const crypto::Hash& discovery_key) {
  return impl_->Delete(std::string(kSeedingPrefix) + ToHex(discovery_key));
}

Result<std::vector<SeedingRecord>> StateDb::NetworkConfigurations() const {
  ASSIGN_OR_RETURN(auto entries, impl_->Scan(kSeedingPrefix));
  std::vector<SeedingRecord> out;
  for (const auto& entry : entries) {
    const std::string& suffix = entry.first;
    auto dk = ParseHexKey<crypto::Hash>(suffix);
    if (!dk) {
      return Corrupt(std::string(kSeedingPrefix) + suffix, "is not named by 64 hex digits");
    }
    ASSIGN_OR_RETURN(auto record, NetworkConfiguration(*dk));
    // Deleted in between (another thread): not listed.
    if (record) out.push_back(*record);
  }
  return out;
}

Status StateDb::PutMirror(const crypto::PublicKey& key) {
  return impl_->Put(std::string(kMirrorsPrefix) + ToHex(key), kMirrorValue);
}

Status StateDb::DeleteMirror(const crypto::PublicKey& key) {
  return impl_->Delete(std::string(kMirrorsPrefix) + ToHex(key));
}

Result<std::vector<crypto::PublicKey>> StateDb::Mirrors() const {
  return impl_->Keys(kMirrorsPrefix);
}

Status StateDb::PutDrive(const crypto::PublicKey& key) {
  return impl_->Put(std::string(kDrivesPrefix) + ToHex(key), kDriveValue);
}

Result<std::vector<crypto::PublicKey>> StateDb::Drives() const {
  return impl_->Keys(kDrivesPrefix);
}

}  // namespace hyper::daemon
