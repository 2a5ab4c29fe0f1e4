// Between the drive layer's types and the daemon's wire messages.
#pragma once

#include <grpcpp/grpcpp.h>

#include "daemon/rpc/common.pb.h"
#include "daemon/rpc/drive_types.pb.h"
#include "hyper/drive/drive.h"
#include "hyper/util/status.h"

namespace hyper::daemon {

// Our Status as a gRPC status: NotFound -> NOT_FOUND, Exists -> ALREADY_EXISTS, bad input ->
// INVALID_ARGUMENT, read-only -> PERMISSION_DENIED, a timeout waiting for peers ->
// DEADLINE_EXCEEDED, ...; the message says what went wrong.
grpc::Status ToGrpc(const Status& status);

void ToWire(const drive::Stat& stat, rpc::Stat* out);
void ToWire(const drive::MountRecord& mount, rpc::Mount* out);
// The attributes a client may set on a new file or directory (mode bits, uid, gid, times,
// metadata); the rest of a Stat is the drive's to compute.
drive::WriteOptions WriteOptionsOf(const rpc::Stat& stat);

// A 32-byte key from the wire; InvalidArgument otherwise.
Result<crypto::PublicKey> KeyOf(const std::string& bytes, const char* what);
std::string BytesOf(const crypto::PublicKey& key);

}  // namespace hyper::daemon
