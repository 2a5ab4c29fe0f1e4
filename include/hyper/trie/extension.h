// hypertrie's extension messages (named "hypertrie" on the trie's feed): a reader asks a peer
// for the nodes a lookup will touch (`get`), and the peer answers with their seqs (`cache`),
// which the reader then downloads all at once instead of one trie level per round trip.
// The format and both sides' behaviour are in docs/formats/hypertrie.md ("The get extension").
// This file holds the codec and the answering side's lookup; the replication glue that sends
// and receives the messages is src/protocol/trie_get_extension.h, driven by the Replicator
// (PeerOptions::hypertrie_extension, Replicator::AskTrieGet in tcp.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hyper/util/bytes.h"
#include "hyper/util/status.h"

namespace hyper::trie {

inline constexpr std::string_view kExtensionName = "hypertrie";
// Seqs per `cache` message (the reference's flush size).
inline constexpr size_t kCacheBatch = 128;
// Seqs of one `cache` message a reader acts upon (the reference's limit; more are cut).
inline constexpr size_t kMaxCacheBlocks = 2048 + 128;

struct ExtensionGet {
  uint64_t head = 0;
  std::optional<std::string> key;
};
struct ExtensionCache {
  uint64_t start = 0;
  uint64_t end = 0;
  std::vector<uint64_t> blocks;
};
// One decoded message; the reference sets one field per message but the format allows more.
struct ExtensionMessage {
  std::optional<ExtensionCache> cache;
  bool iterator = false;  // present (we do not act upon it)
  std::optional<ExtensionGet> get;
};

Bytes EncodeExtensionGet(uint64_t head, std::string_view key);
Bytes EncodeExtensionCache(const ExtensionCache& cache);
// Corruption when the payload is not such a message (a `cache` without its required start and
// end, a field of the wrong type); a `cache` keeps at most kMaxCacheBlocks seqs.
Result<ExtensionMessage> DecodeExtension(ByteView payload);

// The answering side of `get`: the seqs a lookup of `key` touches in a trie as it was at
// version head + 1, in the order it touches them (the head first). Blocks come from
// `read_local`, which returns nullopt for one that is not here (never waits for it); the walk
// stops at the first such block (which is listed). Empty when head is 0 or not below `length`
// (the log's length).
using LocalRead = std::function<std::optional<Bytes>(uint64_t seq)>;
std::vector<uint64_t> SeqsOfGet(uint64_t length, const LocalRead& read_local, uint64_t head,
                                std::string_view key);
// `seqs` as `cache` messages of at most kCacheBatch seqs each.
std::vector<Bytes> CacheMessages(const std::vector<uint64_t>& seqs);

}  // namespace hyper::trie
