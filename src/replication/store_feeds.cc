#include "hyper/replication/store_feeds.h"

#include <atomic>
#include <mutex>
#include <utility>

#include "hyper/runtime/runtime.h"
#include "hyper/trie/node.h"

namespace hyper::replication {

struct StoreFeeds::State {
  std::mutex mu;                // held by a lookup, and by the destructor
  corestore::Corestore* store;  // null once the StoreFeeds is gone
  StoreFeedsOptions options;
  std::atomic<uint64_t> served{0};
  std::atomic<uint64_t> refused{0};

  // On the executor: the core to serve for `dk`, or null.
  std::shared_ptr<core::Feed> Lookup(const crypto::Hash& dk, protocol::PeerOptions& peer) {
    std::lock_guard lock(mu);
    if (store == nullptr) return nullptr;
    if (options.allow && !options.allow(dk)) return nullptr;
    auto feed = store->GetByDiscoveryKey(dk);
    if (!feed.ok()) return nullptr;
    peer = options.peer;
    peer.hypertrie_extension = false;
    if ((*feed)->length() > 0 && (*feed)->Has(BlockIndex(0))) {
      auto first = (*feed)->Get(BlockIndex(0), {.wait = false});
      if (first.ok()) {
        auto header = trie::Header::Decode(*first);
        peer.hypertrie_extension = header.ok() && header->type == "hypertrie";
      }
    }
    return std::move(feed).value();
  }
};

StoreFeeds::StoreFeeds(corestore::Corestore& store, StoreFeedsOptions options)
    : state_(std::make_shared<State>()) {
  state_->store = &store;
  state_->options = std::move(options);
}

StoreFeeds::~StoreFeeds() {
  std::lock_guard lock(state_->mu);
  state_->store = nullptr;
}

std::function<void(const crypto::Hash&, protocol::FeedAnswer)> StoreFeeds::provider() const {
  std::weak_ptr<State> weak = state_;
  return [weak](const crypto::Hash& dk, const protocol::FeedAnswer& answer) {
    // Opening a core reads files: never on the loop that calls this.
    bool posted = runtime::Default().executor().Post([weak, dk, answer] {
      protocol::PeerOptions peer;
      std::shared_ptr<core::Feed> feed;
      if (auto state = weak.lock()) {
        feed = state->Lookup(dk, peer);
        (feed ? state->served : state->refused)++;
      }
      answer(std::move(feed), peer);
    });
    if (!posted) answer(nullptr, {});
  };
}

uint64_t StoreFeeds::served() const { return state_->served.load(); }
uint64_t StoreFeeds::refused() const { return state_->refused.load(); }

}  // namespace hyper::replication
