#include "fuse_service.h"

#include <filesystem>

#include "auth.h"
#include "convert.h"
#include "fuse/network_paths.h"
#include "fuse/paths.h"

namespace hyper::daemon {

namespace {

constexpr size_t kMaxPath = 4096;

grpc::Status NoMount() {
  return {grpc::StatusCode::FAILED_PRECONDITION,
          "this daemon mounted no root drive: start it with --mountpoint DIR, or run "
          "`hyperdrive fuse-setup` before `hyperdrive start`"};
}

}  // namespace

#define HYPER_AUTHORIZE(ctx) \
  if (grpc::Status denied = Authorize(*(ctx), token_); !denied.ok()) return denied

FuseService::FuseService(service::Host& host, std::string token, RememberNetwork remember_network)
    : host_(host), token_(std::move(token)), remember_network_(std::move(remember_network)) {}

Result<FuseService::Place> FuseService::PlaceOf(const std::string& path) const {
  if (path.empty()) return Status::InvalidArgument("a path under the mountpoint is needed");
  if (path.size() > kMaxPath) return Status::InvalidArgument("path longer than 4096 bytes");
  if (path.find('\0') != std::string::npos) return Status::InvalidArgument("path holds a NUL");
  if (path[0] != '/') {
    return Status::InvalidArgument("'" + path + "' is not an absolute path under " + mountpoint_);
  }
  std::string local = std::filesystem::path(path).lexically_normal().string();
  if (local.size() > 1 && local.back() == '/') local.pop_back();
  const std::string& mnt = mountpoint_;
  if (!fuse::IsAtOrBelow(local, mnt)) {
    return Status::InvalidArgument("'" + path + "' is not under the mountpoint, " + mnt);
  }
  const std::string rel = fuse::Rebase(local, mnt, "/");
  Place out;
  const std::string network = "/Network";
  if (rel == network || rel.rfind(network + "/", 0) == 0) {
    auto where = fuse::ParseNetworkPath(rel);
    if (!where.ok() || where->kind != fuse::NetworkPath::Kind::kDrive) {
      return Status::NotFound("'" + path + "' is not a drive under " + mnt +
                              "/Network (Network/<key>[+version][/path])");
    }
    out.network_key = where->key;
    out.network_version = where->version;
    out.network_name = fuse::NetworkName(where->key, where->version);
    out.network_path = where->inner;
    return out;
  }
  out.in_root = rel;
  return out;
}

grpc::Status FuseService::mount(grpc::ServerContext* ctx, const rpc::MountRequest* req,
                                rpc::MountResponse* rsp) {
  HYPER_AUTHORIZE(ctx);
  if (!root_drive_) return NoMount();
  auto place = PlaceOf(req->path());
  if (!place.ok()) return ToGrpc(place.status());
  if (place->network_key) {
    return ToGrpc(Status::NotWritable("'" + req->path() +
                                      "' is under Network, which is read-only: mount drives "
                                      "elsewhere in the root drive"));
  }
  rsp->set_path(req->path());
  rpc::HyperdriveOptions* info = rsp->mutable_mountinfo();
  if (place->in_root == "/") {
    // The root drive is mounted there already (by the daemon, at its start).
    info->set_key(BytesOf(*root_drive_));
    info->set_writable(true);
    return grpc::Status::OK;
  }
  const rpc::HyperdriveOptions& opts = req->opts();
  std::optional<crypto::PublicKey> key;
  if (!opts.key().empty()) {
    auto k = KeyOf(opts.key(), "the mounted drive's key");
    if (!k.ok()) return ToGrpc(k.status());
    key = *k;
    if (*key == *root_drive_) {
      return ToGrpc(Status::Loop("the root drive cannot be mounted inside itself"));
    }
  }
  // A new writable drive when no key is given (as the reference); the drive is replicated
  // from now on either way (DriveReplication follows mounts).
  auto mounted = host_.Get(key);
  if (!mounted.ok()) return ToGrpc(mounted.status());
  auto root = host_.Get(*root_drive_);
  if (!root.ok()) return ToGrpc(root.status());
  drive::MountOptions o;
  if (opts.version() != 0) o.version = opts.version();
  {
    auto writes = (*root)->LockWrites();
    Status st = (*root)->Run(
        [&](drive::Drive& d) { return d.Mount(place->in_root, (*mounted)->key(), o); });
    if (!st.ok()) return ToGrpc(st);
  }
  if (opts.seed()) {
    service::NetworkConfig c;
    c.lookup = c.announce = c.remember = true;
    Status st = host_.ConfigureNetwork((*mounted)->key(), c);
    if (st.ok() && remember_network_) st = remember_network_((*mounted)->key(), c);
    if (!st.ok()) return ToGrpc(st.Annotate("mounted, but announcing it failed"));
  }
  info->set_key(BytesOf((*mounted)->key()));
  if (o.version) info->set_version(*o.version);
  info->set_writable((*mounted)->writable() && !o.version);
  info->set_seed(opts.seed());
  return grpc::Status::OK;
}

grpc::Status FuseService::unmount(grpc::ServerContext* ctx, const rpc::UnmountRequest* req,
                                  rpc::UnmountResponse* /*rsp*/) {
  HYPER_AUTHORIZE(ctx);
  if (!root_drive_) return NoMount();
  auto place = PlaceOf(req->path());
  if (!place.ok()) return ToGrpc(place.status());
  if (place->network_key) {
    return ToGrpc(
        Status::NotWritable("'" + req->path() + "' is under Network, which is read-only"));
  }
  if (place->in_root == "/") {
    return ToGrpc(Status::InvalidArgument(
        "'" + req->path() +
        "' is the mountpoint of the root drive: `hyperdrive stop` unmounts it"));
  }
  auto root = host_.Get(*root_drive_);
  if (!root.ok()) return ToGrpc(root.status());
  auto writes = (*root)->LockWrites();
  return ToGrpc((*root)->Run([&](drive::Drive& d) { return d.Unmount(place->in_root); }));
}

grpc::Status FuseService::info(grpc::ServerContext* ctx, const rpc::InfoRequest* req,
                               rpc::InfoResponse* rsp) {
  HYPER_AUTHORIZE(ctx);
  if (!root_drive_) return NoMount();
  auto place = PlaceOf(req->path());
  if (!place.ok()) return ToGrpc(place.status());
  if (place->network_key) {
    auto d = host_.Get(*place->network_key);
    if (!d.ok()) return ToGrpc(d.status());
    rsp->set_key(ToHex(*place->network_key));
    rsp->set_writable((*d)->writable() && !place->network_version);
    const std::string inner = place->network_path == "/" ? "" : place->network_path;
    rsp->set_path("/Network/" + place->network_name + inner);
    rsp->set_mountpath(inner.empty() ? "" : inner.substr(1));
    return grpc::Status::OK;
  }
  auto root = host_.Get(*root_drive_);
  if (!root.ok()) return ToGrpc(root.status());
  const std::string& path = place->in_root;
  rsp->set_path(path == "/" ? "" : path);
  // The innermost mount at or above the path holds it; none: the root drive.
  std::optional<drive::MountRecord> holder;
  std::string prefix = path;
  Status walked = (*root)->Run([&](drive::Drive& d) -> Status {
    while (prefix != "/") {
      auto st = d.Lstat(prefix);
      if (!st.ok() && st.status().code() != Code::kNotFound) return st.status();
      if (st.ok() && st->mount) {
        holder = *st->mount;
        return Status::Ok();
      }
      prefix = std::filesystem::path(prefix).parent_path().string();
    }
    return Status::Ok();
  });
  if (!walked.ok()) return ToGrpc(walked);
  // mountPath is the path inside the drive that holds it, without its leading slash (as the
  // reference reports it); "" for that drive's own top.
  const std::string inner = holder ? path.substr(prefix.size()) : path;
  rsp->set_mountpath(inner.size() > 1 ? inner.substr(1) : "");
  if (!holder) {
    rsp->set_key(ToHex(*root_drive_));
    rsp->set_writable(true);
    return grpc::Status::OK;
  }
  rsp->set_key(ToHex(holder->key));
  auto key = KeyOf(std::string(holder->key.begin(), holder->key.end()), "a mount's key");
  if (!key.ok()) return ToGrpc(key.status());
  auto d = host_.Get(*key);
  rsp->set_writable(d.ok() && (*d)->writable() && !holder->version);
  return grpc::Status::OK;
}

}  // namespace hyper::daemon
