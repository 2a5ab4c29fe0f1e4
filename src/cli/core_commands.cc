#include "core_commands.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "hyper/trie/node.h"
#include "net_commands.h"
#include "number_options.h"
#include "progress.h"
#include "store.h"

namespace hyper::cli {
namespace {

constexpr size_t kBlockBytes = 64 * 1024;
// Blocks appended under one signature.
constexpr size_t kBatchBlocks = 256;

Result<crypto::PublicKey> ParseCoreKey(const std::string& text) {
  ASSIGN_OR_RETURN(HyperUrl url, ParseHyperUrl(text));
  if (url.path != "/" || url.version) {
    return Status::InvalidArgument("'" + text + "': a core is named by its key alone");
  }
  return url.key;
}

// `damaged`: open a core whose signed history can no longer all be proven read-only (to
// inspect or repair it) instead of failing.
Result<std::shared_ptr<core::Feed>> OpenCore(corestore::Corestore& store,
                                             const crypto::PublicKey& key, bool damaged = false) {
  corestore::CoreOptions options;
  options.key = key;
  options.create_if_missing = false;
  options.open_damaged = damaged;
  auto feed = store.Get(options);
  if (!feed.ok() && feed.status().code() == Code::kNotFound) {
    return Status::NotFound("no core " + ToHex(key) + " in this store");
  }
  return feed;
}

// The content core's key named by a drive's header (block 0 of its metadata core), when the
// core is a drive's metadata core and its header is local.
std::optional<crypto::PublicKey> ContentKeyOf(core::Feed& metadata) {
  if (metadata.length() == 0) return std::nullopt;
  auto block = metadata.Get(BlockIndex(0), {.wait = false});
  if (!block.ok()) return std::nullopt;
  auto header = trie::Header::Decode(*block);
  if (!header.ok() || header->type != "hypertrie" || header->subtype != "hyperdrive" ||
      !header->metadata || header->metadata->size() != crypto::kPublicKeyBytes) {
    return std::nullopt;
  }
  crypto::PublicKey key{};
  std::copy(header->metadata->begin(), header->metadata->end(), key.begin());
  return key;
}

// "the metadata core of drive hyper://..." when a drive of the store uses the core `key`.
Result<std::optional<std::string>> DriveRoleOf(corestore::Corestore& store,
                                               const crypto::PublicKey& key) {
  ASSIGN_OR_RETURN(auto keys, store.List());
  for (const auto& k : keys) {
    auto feed = OpenCore(store, k, /*damaged=*/true);
    if (!feed.ok()) continue;
    auto content = ContentKeyOf(**feed);
    if (!content) continue;
    if (k == key) return std::optional<std::string>("the metadata core of drive " + FormatUrl(k));
    if (*content == key) {
      return std::optional<std::string>("the content core of drive " + FormatUrl(k));
    }
  }
  return std::optional<std::string>();
}

Status Create(const std::string& storage) {
  ASSIGN_OR_RETURN(auto store, OpenStore(ResolveStorageRoot(storage)));
  ASSIGN_OR_RETURN(auto feed, store->Get({}));
  std::cout << ToHex(feed->key()) << "\n";
  return store->Close();
}

Status Append(const std::string& storage, const std::string& key_text, const std::string& file,
              bool force) {
  ASSIGN_OR_RETURN(crypto::PublicKey key, ParseCoreKey(key_text));
  std::ifstream in_file;
  std::istream* in = &std::cin;
  uint64_t total = 0;
  if (file != "-") {
    in_file.open(file, std::ios::binary);
    if (!in_file) return Status::FromErrno(errno, "opening " + file);
    in_file.seekg(0, std::ios::end);
    total = static_cast<uint64_t>(in_file.tellg());
    in_file.seekg(0);
    in = &in_file;
  }
  ASSIGN_OR_RETURN(auto store, OpenStore(ResolveStorageRoot(storage)));
  ASSIGN_OR_RETURN(auto feed, OpenCore(*store, key));
  if (!feed->writable()) return Status::NotWritable("core " + ToHex(key) + " is read-only here");
  if (!force) {
    // Raw blocks in a drive's own core are not trie nodes or file bytes the drive knows of:
    // they would break the drive for good.
    ASSIGN_OR_RETURN(auto role, DriveRoleOf(*store, key));
    if (role) {
      return Status::InvalidArgument(
          "core " + ToHex(key) + " is " + *role +
          ": appending raw blocks would break the drive for good "
          "(write files with `hyperdrive put`; --force to append anyway)");
    }
  }

  Progress progress("appending", total);
  std::vector<Bytes> blocks;
  uint64_t done = 0;
  while (true) {
    blocks.clear();
    while (blocks.size() < kBatchBlocks) {
      Bytes block(kBlockBytes);
      in->read(reinterpret_cast<char*>(block.data()), static_cast<std::streamsize>(block.size()));
      block.resize(static_cast<size_t>(in->gcount()));
      if (block.empty()) break;
      blocks.push_back(std::move(block));
    }
    if (in->bad()) return Status::IOError("reading " + file);
    if (blocks.empty()) break;
    std::vector<ByteView> views(blocks.begin(), blocks.end());
    auto appended = feed->Append(views);
    if (!appended.ok()) return appended.status().Annotate("appending to " + ToHex(key));
    for (const Bytes& b : blocks) done += b.size();
    progress.Update(done);
  }
  progress.Finish();
  std::cout << feed->length() << " blocks, " << feed->byte_length() << " bytes\n";
  return store->Close();
}

Status Cat(const std::string& storage, const std::string& key_text, uint64_t start,
           std::optional<uint64_t> end) {
  ASSIGN_OR_RETURN(crypto::PublicKey key, ParseCoreKey(key_text));
  ASSIGN_OR_RETURN(auto store, OpenStore(ResolveStorageRoot(storage), Access::kRead));
  ASSIGN_OR_RETURN(auto feed, OpenCore(*store, key));
  uint64_t stop = end.value_or(feed->length());
  if (start > stop || stop > feed->length()) {
    return Status::OutOfRange("blocks " + std::to_string(start) + ".." + std::to_string(stop) +
                              " are outside the core's " + std::to_string(feed->length()) +
                              " blocks");
  }
  for (uint64_t i = start; i < stop; i++) {
    ASSIGN_OR_RETURN(Bytes block, feed->Get(BlockIndex(i)));
    if (!block.empty() && std::fwrite(block.data(), 1, block.size(), stdout) != block.size()) {
      return Status::FromErrno(errno, "writing to stdout");
    }
  }
  if (std::fflush(stdout) != 0) return Status::FromErrno(errno, "writing to stdout");
  return store->Close();
}

// What `core info` and `core list --json` say about a core. A damaged core (see
// Feed::damage) is described at its proven length, with the length it claims and why.
nlohmann::json Describe(const core::Feed& feed) {
  nlohmann::json out = {
      {"key", ToHex(feed.key())},        {"discoveryKey", ToHex(feed.discovery_key())},
      {"length", feed.length()},         {"byteLength", feed.byte_length()},
      {"downloaded", feed.Downloaded()}, {"writable", feed.writable() && feed.damage().ok()}};
  if (!feed.damage().ok()) {
    out["claimedLength"] = feed.claimed_length();
    out["damage"] = feed.damage().message();
  }
  return out;
}

Status Info(const std::string& storage, const std::string& key_text, bool json) {
  ASSIGN_OR_RETURN(crypto::PublicKey key, ParseCoreKey(key_text));
  ASSIGN_OR_RETURN(auto store, OpenStore(ResolveStorageRoot(storage), Access::kRead));
  ASSIGN_OR_RETURN(auto feed, OpenCore(*store, key, /*damaged=*/true));
  nlohmann::json out = Describe(*feed);
  if (json) {
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << "key:           " << out["key"].get<std::string>() << "\n"
              << "discovery key: " << out["discoveryKey"].get<std::string>() << "\n"
              << "length:        " << feed->length() << " blocks\n"
              << "bytes:         " << feed->byte_length() << "\n"
              << "local blocks:  " << feed->Downloaded() << "\n"
              << "writable:      " << (out["writable"].get<bool>() ? "yes" : "no") << "\n";
  }
  Status damage = feed->damage();
  RETURN_IF_ERROR(store->Close());
  return damage;
}

// What a repair from a peer did to one core, on one line.
void PrintPeerRepair(const std::string& name, const core::Feed& feed, const PeerRepairReport& r,
                     const std::string& peer) {
  std::cout << name << ": ";
  if (r.tail_restored) {
    std::cout << "signed history restored from peer " << peer << " (" << r.proven_length << " of "
              << r.claimed_length << " blocks could be proven here), ";
  }
  std::cout << feed.length() << " blocks, " << r.valid << " valid, " << r.invalid << " invalid, "
            << r.restored << " restored, " << r.fetched << " fetched from peer " << peer
            << " and verified\n";
}

Status Verify(const std::string& storage, const std::string& key_text, bool repair,
              const std::string& peer, double timeout) {
  ASSIGN_OR_RETURN(crypto::PublicKey key, ParseCoreKey(key_text));
  ASSIGN_OR_RETURN(auto store, OpenStore(ResolveStorageRoot(storage)));
  ASSIGN_OR_RETURN(auto feed, OpenCore(*store, key, /*damaged=*/true));
  if (!peer.empty()) {
    ASSIGN_OR_RETURN(PeerRepairReport report, RepairFromPeer(feed, *store, peer, timeout));
    PrintPeerRepair("core " + ToHex(key), *feed, report, peer);
    return store->Close();
  }
  Status damage = feed->damage();
  // A damaged core is audited as far as it is proven, and never changed here: its repair is
  // `hyperdrive repair`, which can drop signed history and asks first.
  ASSIGN_OR_RETURN(core::AuditReport report, feed->Audit(repair && damage.ok()));
  std::cout << report.valid << " blocks valid, " << report.invalid << " invalid";
  if (repair && damage.ok()) {
    std::cout << " (marked missing, to be fetched again from a peer), " << report.restored
              << " restored";
  }
  std::cout << "\n";
  RETURN_IF_ERROR(store->Close());
  if (!damage.ok()) return damage;
  if (report.invalid && !repair) {
    return Status::Corruption(std::to_string(report.invalid) +
                              " blocks do not match their hashes (`core verify --repair` marks "
                              "them missing, to be fetched again from a peer)");
  }
  return Status::Ok();
}

Status List(const std::string& storage, bool json) {
  ASSIGN_OR_RETURN(auto store, OpenStore(ResolveStorageRoot(storage), Access::kRead));
  ASSIGN_OR_RETURN(auto keys, store->List());
  if (!json) {
    for (const auto& key : keys) std::cout << ToHex(key) << "\n";
    return store->Close();
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& key : keys) {
    auto feed = OpenCore(*store, key, /*damaged=*/true);
    if (feed.ok()) {
      out.push_back(Describe(**feed));
    } else {
      out.push_back({{"key", ToHex(key)}, {"error", feed.status().ToString()}});
    }
  }
  std::cout << out.dump(2) << "\n";
  return store->Close();
}

// Asks on the terminal; without one, the caller must have passed --yes.
bool Confirmed(const std::string& question, bool yes) {
  if (yes) return true;
  if (isatty(STDIN_FILENO) != 1) return false;
  std::cerr << question << " Type 'yes' to go on: " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "yes";
}

// One core of `hyperdrive repair`: a damaged core is cut to its proven length when the user
// agreed; then bad blocks are marked missing and good unmarked ones restored.
Status RepairCore(corestore::Corestore& store, const crypto::PublicKey& key,
                  const std::string& role, const std::string& url, bool truncate, bool yes) {
  ASSIGN_OR_RETURN(auto feed, OpenCore(store, key, /*damaged=*/true));
  const std::string name = role + " core " + ToHex(key);
  if (Status damage = feed->damage(); !damage.ok()) {
    const uint64_t proven = feed->length();
    const uint64_t claimed = feed->claimed_length();
    std::cout << name << ": " << damage.message() << "\n";
    std::string loss = "blocks " + std::to_string(proven) + ".." + std::to_string(claimed - 1) +
                       " (signed and published history) would be lost here, and the next write "
                       "would fork from what peers hold";
    if (!truncate) {
      return Status::Corruption(name + " is damaged; `hyperdrive repair " + url +
                                " --peer HOST:PORT` restores it from a peer that holds the "
                                "drive, and `hyperdrive repair " +
                                url + " --truncate` cuts it to the " + std::to_string(proven) +
                                " blocks that can be proven: " + loss);
    }
    if (!Confirmed("Cut " + name + " from " + std::to_string(claimed) + " to " +
                       std::to_string(proven) + " blocks? " + loss + ".",
                   yes)) {
      return Status::Cancelled(
          "not confirmed: nothing changed (pass --yes to confirm without "
          "a terminal)");
    }
    RETURN_IF_ERROR(feed->DropUnprovableTail());
    std::cout << name << ": cut from " << claimed << " to " << proven << " blocks\n";
  }
  ASSIGN_OR_RETURN(core::AuditReport report, feed->Audit(/*repair=*/true));
  std::cout << name << ": " << feed->length() << " blocks, " << report.valid << " valid, "
            << report.invalid << " damaged (marked missing, to be fetched again from a peer), "
            << report.restored << " restored\n";
  return Status::Ok();
}

// `hyperdrive repair --peer`: the metadata core first (its header names the content core, and
// may itself have been fetched again), then the content core.
Status RepairDriveFromPeer(corestore::Corestore& store, const crypto::PublicKey& key,
                           const CoreArgs& a) {
  ASSIGN_OR_RETURN(auto metadata, OpenCore(store, key, /*damaged=*/true));
  ASSIGN_OR_RETURN(PeerRepairReport report, RepairFromPeer(metadata, store, a.peer, a.timeout));
  auto content = ContentKeyOf(*metadata);
  PrintPeerRepair(std::string(content ? "metadata" : "the") + " core " + ToHex(key), *metadata,
                  report, a.peer);
  if (!content) return Status::Ok();
  ASSIGN_OR_RETURN(auto content_feed, OpenCore(store, *content, /*damaged=*/true));
  ASSIGN_OR_RETURN(report, RepairFromPeer(content_feed, store, a.peer, a.timeout));
  PrintPeerRepair("content core " + ToHex(*content), *content_feed, report, a.peer);
  return Status::Ok();
}

Status Repair(const std::string& storage, const CoreArgs& a) {
  ASSIGN_OR_RETURN(HyperUrl url, ParseHyperUrl(a.key));
  if (url.path != "/" || url.version) {
    return Status::InvalidArgument("'" + a.key + "': a drive or core is named by its key alone");
  }
  ASSIGN_OR_RETURN(auto store, OpenStore(ResolveStorageRoot(storage)));
  if (!a.peer.empty()) {
    Status s = RepairDriveFromPeer(*store, url.key, a);
    Status closed = store->Close();
    RETURN_IF_ERROR(s);
    return closed;
  }
  const bool truncate = a.truncate;
  const bool yes = a.yes;
  ASSIGN_OR_RETURN(auto metadata, OpenCore(*store, url.key, /*damaged=*/true));
  auto content = ContentKeyOf(*metadata);
  const std::string plain = FormatUrl(url.key);
  Status s = RepairCore(*store, url.key, content ? "metadata" : "the", plain, truncate, yes);
  if (content && s.ok()) s = RepairCore(*store, *content, "content", plain, truncate, yes);
  Status closed = store->Close();
  RETURN_IF_ERROR(s);
  return closed;
}

}  // namespace

void AddCoreCommands(CLI::App& app, const std::string& storage, CoreArgs& a, Action* action) {
  CLI::App* core =
      app.add_subcommand("core", "Work with the hypercores (append-only logs) of the store");
  core->require_subcommand(1);
  auto set = [action](const Action& act) { return [action, act] { *action = act; }; };

  core->add_subcommand("create", "Create a new writable core; print its key")
      ->callback(set([&storage] { return Create(storage); }));

  auto append = core->add_subcommand("append", "Append a file (or - for stdin) in 64 KiB blocks");
  append->add_option("key", a.key, "The core's key (64 hex digits or hyper://...)")->required();
  append->add_option("file", a.file, "The file to append, - for stdin")->required();
  append->add_flag("--force", a.force,
                   "Append even to a core a drive of the store uses (which breaks the drive)");
  append->callback(set([&storage, &a] { return Append(storage, a.key, a.file, a.force); }));

  auto cat = core->add_subcommand("cat", "Write blocks to stdout");
  cat->add_option("key", a.key, "The core's key")->required();
  AddNumberOption(cat, "--start", a.start, "First block (default 0)");
  AddNumberOption(cat, "--end", a.end, "Block after the last one (default: the length)");
  cat->callback(set([&storage, &a] { return Cat(storage, a.key, a.start, a.end); }));

  auto info = core->add_subcommand("info", "Key, discovery key, length and size of a core");
  info->add_option("key", a.key, "The core's key")->required();
  info->add_flag("--json", a.json, "Print JSON");
  info->callback(set([&storage, &a] { return Info(storage, a.key, a.json); }));

  auto verify = core->add_subcommand(
      "verify", "Rehash every local block against the tree; exit 1 when one does not match");
  verify->add_option("key", a.key, "The core's key")->required();
  auto* verify_repair =
      verify->add_flag("--repair", a.repair,
                       "Mark blocks that do not match missing (to be fetched again from a peer) "
                       "and blocks whose stored bytes match local again");
  verify
      ->add_option("--peer", a.peer,
                   "With --repair: HOST:PORT of a peer holding the core (e.g. `hyperdrive seed`): "
                   "blocks that do not match or are missing are fetched from it and verified, "
                   "and a damaged core gets its signed history back from it")
      ->check(PeerAddressValidator())
      ->needs(verify_repair);
  AddSecondsOption(verify, "--timeout", a.timeout,
                   "With --peer: seconds without data from the peer before giving up (default "
                   "10)");
  verify->callback(
      set([&storage, &a] { return Verify(storage, a.key, a.repair, a.peer, a.timeout); }));

  auto list = core->add_subcommand("list", "Every core in the store, one key a line");
  list->add_flag("--json", a.json, "Print a JSON array: key, length, bytes, writable of each");
  list->callback(set([&storage, &a] { return List(storage, a.json); }));

  auto repair = app.add_subcommand(
      "repair",
      "Repair a drive's cores (or one core) after disk damage. With --peer: blocks that do not "
      "match or are missing are fetched again from the peer and verified, and a core whose "
      "signed history can no longer be proven gets it back from the peer; nothing is cut. "
      "Without: blocks that do not match are marked missing (to be fetched again later), and a "
      "core whose signed history can no longer be proven is cut to what can be, with "
      "--truncate, after confirmation");
  repair->add_option("url", a.key, "The drive's URL or the core's key")->required();
  auto* repair_peer =
      repair
          ->add_option("--peer", a.peer,
                       "HOST:PORT of a peer holding the drive (e.g. `hyperdrive seed`): repair "
                       "from its copy, verified against the drive's key")
          ->check(PeerAddressValidator());
  AddSecondsOption(repair, "--timeout", a.timeout,
                   "With --peer: seconds without data from the peer before giving up (default "
                   "10)");
  repair
      ->add_flag("--truncate", a.truncate,
                 "Accept losing the signed blocks that can no longer be proven (the next write "
                 "then forks from what peers hold)")
      ->excludes(repair_peer);
  repair->add_flag("--yes", a.yes, "Confirm --truncate without asking");
  repair->callback(set([&storage, &a] { return Repair(storage, a); }));
}

}  // namespace hyper::cli
