// The contents of Network/Stats/<key>/networking.json and storage.json (network_paths.h), with
// the reference daemon's JSON fields.
#pragma once

#include <string>
#include <vector>

#include "hyper/drive/drive.h"
#include "hyper/service/host.h"

namespace hyper::fuse {

// An array with one object per mount of the drive ("/" first): {path, metadata, content}, each
// core {key, discoveryKey (hex), peerCount, peers: [{remoteAddress}], uploadedBytes,
// downloadedBytes, downloadedBlocks, totalBlocks}. `peers` are the host's connections; a core's
// peers are those that opened its channel. Pretty-printed (2 spaces), as the reference.
std::string NetworkingJson(const std::vector<service::MountCounters>& mounts,
                           const std::vector<service::PeerInfo>& peers);

// An object: every file of the drive (mounts not followed) by path, {blocks, size,
// downloadedBlocks}.
Result<std::string> StorageJson(const drive::Drive& d);

}  // namespace hyper::fuse
