#include "core_commands.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

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

Result<std::shared_ptr<core::Feed>> OpenCore(corestore::Corestore& store,
                                             const crypto::PublicKey& key) {
  corestore::CoreOptions options;
  options.key = key;
  options.create_if_missing = false;
  auto feed = store.Get(options);
  if (!feed.ok() && feed.status().code() == Code::kNotFound) {
    return Status::NotFound("no core " + ToHex(key) + " in this store");
  }
  return feed;
}

Status Create(const std::string& storage) {
  ASSIGN_OR_RETURN(auto store, OpenStore(ResolveStorageDir(storage)));
  ASSIGN_OR_RETURN(auto feed, store->Get({}));
  std::cout << ToHex(feed->key()) << "\n";
  return store->Close();
}

Status Append(const std::string& storage, const std::string& key_text, const std::string& file) {
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
  ASSIGN_OR_RETURN(auto store, OpenStore(ResolveStorageDir(storage)));
  ASSIGN_OR_RETURN(auto feed, OpenCore(*store, key));
  if (!feed->writable()) return Status::NotWritable("core " + ToHex(key) + " is read-only here");

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
  ASSIGN_OR_RETURN(auto store, OpenStore(ResolveStorageDir(storage)));
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

Status Info(const std::string& storage, const std::string& key_text, bool json) {
  ASSIGN_OR_RETURN(crypto::PublicKey key, ParseCoreKey(key_text));
  ASSIGN_OR_RETURN(auto store, OpenStore(ResolveStorageDir(storage)));
  ASSIGN_OR_RETURN(auto feed, OpenCore(*store, key));
  nlohmann::json out = {{"key", ToHex(feed->key())},
                        {"discoveryKey", ToHex(feed->discovery_key())},
                        {"length", feed->length()},
                        {"byteLength", feed->byte_length()},
                        {"downloaded", feed->Downloaded()},
                        {"writable", feed->writable()}};
  if (json) {
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << "key:           " << out["key"].get<std::string>() << "\n"
              << "discovery key: " << out["discoveryKey"].get<std::string>() << "\n"
              << "length:        " << feed->length() << " blocks\n"
              << "bytes:         " << feed->byte_length() << "\n"
              << "local blocks:  " << feed->Downloaded() << "\n"
              << "writable:      " << (feed->writable() ? "yes" : "no") << "\n";
  }
  return store->Close();
}

Status Verify(const std::string& storage, const std::string& key_text) {
  ASSIGN_OR_RETURN(crypto::PublicKey key, ParseCoreKey(key_text));
  ASSIGN_OR_RETURN(auto store, OpenStore(ResolveStorageDir(storage)));
  ASSIGN_OR_RETURN(auto feed, OpenCore(*store, key));
  ASSIGN_OR_RETURN(core::AuditReport report, feed->Audit());
  std::cout << report.valid << " blocks valid, " << report.invalid << " invalid\n";
  RETURN_IF_ERROR(store->Close());
  if (report.invalid) {
    return Status::Corruption(std::to_string(report.invalid) +
                              " blocks did not match their hashes and were dropped");
  }
  return Status::Ok();
}

Status List(const std::string& storage) {
  ASSIGN_OR_RETURN(auto store, OpenStore(ResolveStorageDir(storage)));
  ASSIGN_OR_RETURN(auto keys, store->List());
  for (const auto& key : keys) std::cout << ToHex(key) << "\n";
  return store->Close();
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
  append->callback(set([&storage, &a] { return Append(storage, a.key, a.file); }));

  auto cat = core->add_subcommand("cat", "Write blocks to stdout");
  cat->add_option("key", a.key, "The core's key")->required();
  cat->add_option("--start", a.start, "First block (default 0)");
  cat->add_option("--end", a.end, "Block after the last one (default: the length)");
  cat->callback(set([&storage, &a] { return Cat(storage, a.key, a.start, a.end); }));

  auto info = core->add_subcommand("info", "Key, discovery key, length and size of a core");
  info->add_option("key", a.key, "The core's key")->required();
  info->add_flag("--json", a.json, "Print JSON");
  info->callback(set([&storage, &a] { return Info(storage, a.key, a.json); }));

  auto verify = core->add_subcommand("verify", "Rehash every local block against the tree");
  verify->add_option("key", a.key, "The core's key")->required();
  verify->callback(set([&storage, &a] { return Verify(storage, a.key); }));

  core->add_subcommand("list", "Every core in the store, one key a line")
      ->callback(set([&storage] { return List(storage); }));
}

}  // namespace hyper::cli
