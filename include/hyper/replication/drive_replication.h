// Replicates a drive over a Replicator and follows it as it changes: its metadata feed (which
// speaks hypertrie's get extension), its content feed once the metadata's header names it, and
// the drives it mounts, recursively, as mounts appear. Driven by events, never by re-scanning
// on a timer: an append to one of its metadata feeds schedules one look at the drive on the
// runtime's callbacks executor (the look reads the drive, and so may wait for the network:
// never on the loop or the feed executor), and the look adds what became known and wakes the
// replicator's waiters (Replicator::WaitForEvent).
//
//   auto dr = replication::DriveReplication::Start(store, *rep, key, {.live = true}).value();
//   rep->Connect(host, port);
//   uint64_t seen = rep->events();
//   while (!done(dr->feeds())) { rep->WaitForEvent(seen, 1s); seen = rep->events(); }
//
// Thread safety: every method may be called from any thread but the callbacks executor's.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hyper/corestore/corestore.h"
#include "hyper/drive/drive.h"
#include "hyper/protocol/replicator.h"
#include "hyper/protocol/tcp.h"

namespace hyper::replication {

class DriveReplication {
 public:
  // Adds the drive's feeds (an empty replica of its metadata when the store does not hold it)
  // to `rep` with `options` (the metadata feeds also with the get extension), and starts
  // following the drive. REQUIRES: store and rep outlive this object.
  static Result<std::unique_ptr<DriveReplication>> Start(corestore::Corestore& store,
                                                         protocol::Replicator& rep,
                                                         const crypto::PublicKey& key,
                                                         protocol::PeerOptions options);
  // Stops following (waits for a look that runs) and removes its feeds from the replicator.
  ~DriveReplication();
  DriveReplication(const DriveReplication&) = delete;
  DriveReplication& operator=(const DriveReplication&) = delete;

  // Looks at the drive now, as each append does: adds the content feed and the mounts that
  // became known. Returns whether a feed was added.
  Result<bool> Refresh();

  // The feeds replicated now.
  std::vector<core::Feed*> feeds() const;
  // The drive `key` (the top one or a mounted one) once its header is here, else null.
  drive::Drive* drive(const crypto::PublicKey& key) const;
  // Sums over feeds(): blocks held, and lengths.
  uint64_t downloaded() const;
  uint64_t length() const;

 private:
  DriveReplication(corestore::Corestore& store, protocol::Replicator& rep,
                   const crypto::PublicKey& key, protocol::PeerOptions options);
  // The only writer of the maps. REQUIRES: scan_mu_ held.
  Result<bool> Scan(const crypto::PublicKey& key, int depth);
  struct Shared;
  static void OnMetadataAppend(const std::shared_ptr<Shared>& shared);

  corestore::Corestore& store_;
  protocol::Replicator& rep_;
  const crypto::PublicKey key_;
  const protocol::PeerOptions options_;
  std::mutex scan_mu_;     // one look at a time (a look may wait for the network)
  mutable std::mutex mu_;  // the maps below, held briefly (never while waiting)
  std::map<std::string, std::shared_ptr<core::Feed>> metas_;     // by key, hex
  std::map<std::string, std::shared_ptr<core::Feed>> contents_;  // by key, hex
  std::map<std::string, std::unique_ptr<drive::Drive>> drives_;  // by metadata key, hex
  std::vector<std::pair<core::Feed*, uint64_t>> listeners_;      // append listeners installed
  std::shared_ptr<Shared> shared_;
};

}  // namespace hyper::replication
