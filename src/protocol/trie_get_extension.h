// hypertrie's get extension on a replicated feed (docs/formats/hypertrie.md, "The get
// extension"): the decisions, apart from the threads that run them (tcp.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "hyper/core/feed.h"
#include "hyper/trie/extension.h"
#include "hyper/util/bytes.h"

namespace hyper::protocol {

// What a received "hypertrie" message asks of us.
struct TrieExtensionAction {
  std::optional<trie::ExtensionGet> get;  // to answer (AnswerTrieGet)
  std::vector<uint64_t> download;         // blocks a `cache` named that `feed` lacks
};
// Nothing for a payload that does not decode, a get without a key, or seqs past the feed's
// reach (2^53).
TrieExtensionAction ParseTrieExtension(ByteView payload, const core::Feed& feed);

// The `cache` messages answering `get` from the blocks `feed` holds (none when it holds
// nothing of that lookup). Reads the feed: run it off the network thread.
std::vector<Bytes> AnswerTrieGet(core::Feed& feed, const trie::ExtensionGet& get);

}  // namespace hyper::protocol
