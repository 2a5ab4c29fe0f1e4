#include "trie_get_extension.h"

namespace hyper::protocol {
namespace {
constexpr uint64_t kMaxIndex = uint64_t{1} << 53;
}  // namespace

TrieExtensionAction ParseTrieExtension(ByteView payload, const core::Feed& feed) {
  TrieExtensionAction action;
  auto m = trie::DecodeExtension(payload);
  if (!m.ok()) return action;
  if (m->cache) {
    for (uint64_t seq : m->cache->blocks) {
      if (seq < kMaxIndex && !feed.Has(BlockIndex(seq))) action.download.push_back(seq);
    }
  }
  if (m->get && m->get->key) action.get = std::move(m->get);
  return action;
}

std::vector<Bytes> AnswerTrieGet(core::Feed& feed, const trie::ExtensionGet& get) {
  if (!get.key) return {};
  trie::LocalRead read = [&feed](uint64_t seq) -> std::optional<Bytes> {
    core::GetOptions go;
    go.wait = false;
    auto block = feed.Get(BlockIndex(seq), go);
    if (!block.ok()) return std::nullopt;
    return std::move(*block);
  };
  return trie::CacheMessages(trie::SeqsOfGet(feed.length(), read, get.head, *get.key));
}

}  // namespace hyper::protocol
