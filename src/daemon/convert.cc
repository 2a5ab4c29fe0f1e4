#include "convert.h"

#include <algorithm>

namespace hyper::daemon {

grpc::Status ToGrpc(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  switch (status.code()) {
    case Code::kNotFound:
      code = grpc::StatusCode::NOT_FOUND;
      break;
    case Code::kExists:
      code = grpc::StatusCode::ALREADY_EXISTS;
      break;
    case Code::kInvalidArgument:
    case Code::kNotADirectory:
    case Code::kIsADirectory:
    case Code::kNotEmpty:
    case Code::kLoop:
      code = grpc::StatusCode::FAILED_PRECONDITION;
      break;
    case Code::kNotWritable:
    case Code::kPermissionDenied:
      code = grpc::StatusCode::PERMISSION_DENIED;
      break;
    case Code::kTimeout:
      code = grpc::StatusCode::DEADLINE_EXCEEDED;
      break;
    case Code::kOutOfRange:
      code = grpc::StatusCode::OUT_OF_RANGE;
      break;
    case Code::kBusy:
      code = grpc::StatusCode::UNAVAILABLE;
      break;
    case Code::kUnsupported:
      code = grpc::StatusCode::UNIMPLEMENTED;
      break;
    case Code::kCancelled:
      code = grpc::StatusCode::CANCELLED;
      break;
    case Code::kNoSpace:
      code = grpc::StatusCode::RESOURCE_EXHAUSTED;
      break;
    case Code::kCorruption:
    case Code::kInvalidSignature:
      code = grpc::StatusCode::DATA_LOSS;
      break;
    default:
      code = grpc::StatusCode::INTERNAL;
      break;
  }
  if (status.code() == Code::kInvalidArgument) code = grpc::StatusCode::INVALID_ARGUMENT;
  return {code, status.ToString()};
}

void ToWire(const drive::MountRecord& mount, rpc::Mount* out) {
  out->set_key(std::string(mount.key.begin(), mount.key.end()));
  if (mount.version) out->set_version(*mount.version);
  if (mount.hash) out->set_hash(std::string(mount.hash->begin(), mount.hash->end()));
  if (mount.hypercore) out->set_hypercore(*mount.hypercore);
}

void ToWire(const drive::Stat& stat, rpc::Stat* out) {
  out->set_mode(stat.mode);
  out->set_uid(stat.uid);
  out->set_gid(stat.gid);
  out->set_size(stat.size);
  out->set_blocks(stat.blocks);
  out->set_offset(stat.offset);
  out->set_byteoffset(stat.byte_offset);
  out->set_mtime(stat.mtime);
  out->set_ctime(stat.ctime);
  if (!stat.linkname.empty()) out->set_linkname(stat.linkname);
  if (stat.mount) ToWire(*stat.mount, out->mutable_mount());
  for (const auto& [key, value] : stat.metadata) {
    if (value) (*out->mutable_metadata())[key] = std::string(value->begin(), value->end());
  }
}

drive::WriteOptions WriteOptionsOf(const rpc::Stat& stat) {
  drive::WriteOptions o;
  // The Node client sends 0 for what its caller left out (proto3 habits in a proto2 message).
  if (stat.has_mode() && (stat.mode() & 07777) != 0) o.mode = stat.mode() & 07777;
  if (stat.has_uid() && stat.uid() != 0) o.uid = stat.uid();
  if (stat.has_gid() && stat.gid() != 0) o.gid = stat.gid();
  if (stat.has_mtime() && stat.mtime() != 0) o.mtime = stat.mtime();
  if (stat.has_ctime() && stat.ctime() != 0) o.ctime = stat.ctime();
  std::vector<std::pair<std::string, std::string>> entries(stat.metadata().begin(),
                                                           stat.metadata().end());
  // A protobuf map has no order; the drive's is the JS object's, so give a stable one.
  std::sort(entries.begin(), entries.end());
  for (auto& [key, value] : entries) {
    drive::SetMetadataEntry(o.metadata, key, Bytes(value.begin(), value.end()));
  }
  return o;
}

Result<crypto::PublicKey> KeyOf(const std::string& bytes, const char* what) {
  crypto::PublicKey key{};
  if (bytes.size() != key.size()) {
    return Status::InvalidArgument(std::string(what) + " must be 32 bytes (got " +
                                   std::to_string(bytes.size()) + ")");
  }
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return key;
}

std::string BytesOf(const crypto::PublicKey& key) { return std::string(key.begin(), key.end()); }

}  // namespace hyper::daemon
