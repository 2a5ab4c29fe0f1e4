// Serves what a Corestore holds, on demand, as the reference's corestore networking does: the
// feed provider of a Replicator (ReplicationOptions::feed_provider). When a remote opens a
// channel for a discovery key that no added feed has, the store's core of that discovery key
// (if it holds one, and `allow` says yes) is opened off the loop and handed to the replicator,
// which answers the remote once its capability proves it knows the core's key. A remote that
// asks for something else learns nothing: no channel is opened for it, and no other discovery
// key is ever named to it.
//
//   replication::StoreFeeds served(store, {.peer = {.live = true, .sparse = true}});
//   protocol::ReplicationOptions ro;
//   ro.feed_provider = served.provider();
//   auto rep = protocol::Replicator::Create(ro).value();
//
// Thread safety: the provider may be called from any thread; lookups run on the runtime's
// executor. The store must outlive this object; the provider outlives it harmlessly (it then
// answers nothing).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "hyper/corestore/corestore.h"
#include "hyper/crypto/crypto.h"
#include "hyper/protocol/replicator.h"
#include "hyper/protocol/tcp.h"

namespace hyper::replication {

struct StoreFeedsOptions {
  // How the cores are replicated. A core whose first block is a hypertrie header (a drive's
  // metadata) also speaks hypertrie's get extension.
  protocol::PeerOptions peer;
  // Which cores may be served, by discovery key (called on the executor); all when empty.
  std::function<bool(const crypto::Hash& discovery_key)> allow;
};

class StoreFeeds {
 public:
  StoreFeeds(corestore::Corestore& store, StoreFeedsOptions options);
  // Waits for a lookup that is running; later ones answer nothing.
  ~StoreFeeds();
  StoreFeeds(const StoreFeeds&) = delete;
  StoreFeeds& operator=(const StoreFeeds&) = delete;

  // For ReplicationOptions::feed_provider.
  std::function<void(const crypto::Hash&, protocol::FeedAnswer)> provider() const;

  // Lookups that found a core to serve, and those that did not (not held, not allowed).
  uint64_t served() const;
  uint64_t refused() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace hyper::replication
