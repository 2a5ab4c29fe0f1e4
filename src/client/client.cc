#include "hyper/client/client.h"

#include <grpcpp/grpcpp.h>

#include "daemon/root.h"
#include "daemon/rpc/services.grpc.pb.h"

namespace hyper::client {

namespace {

constexpr auto kCallTimeout = std::chrono::seconds(30);

Status FromGrpc(const grpc::Status& s, const std::string& what) {
  switch (s.error_code()) {
    case grpc::StatusCode::OK:
      return Status::Ok();
    case grpc::StatusCode::UNAUTHENTICATED:
      return Status::PermissionDenied(what + ": the daemon refused the token (" +
                                      s.error_message() + ")");
    case grpc::StatusCode::UNAVAILABLE:
      return Status::IOError(what + ": the daemon is not reachable (" + s.error_message() + ")");
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Status::Timeout(what + ": the daemon did not answer in time");
    case grpc::StatusCode::NOT_FOUND:
      return Status::NotFound(s.error_message());
    case grpc::StatusCode::ALREADY_EXISTS:
      return Status::Exists(s.error_message());
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Status::InvalidArgument(s.error_message());
    case grpc::StatusCode::PERMISSION_DENIED:
      return Status::NotWritable(s.error_message());
    case grpc::StatusCode::FAILED_PRECONDITION:
      return Status::InvalidArgument(s.error_message());
    case grpc::StatusCode::OUT_OF_RANGE:
      return Status::OutOfRange(s.error_message());
    case grpc::StatusCode::DATA_LOSS:
      return Status::Corruption(s.error_message());
    case grpc::StatusCode::UNIMPLEMENTED:
      return Status::Unsupported(s.error_message());
    default:
      return Status::Internal(what + ": " + s.error_message());
  }
}

}  // namespace

Result<DaemonAddress> FindDaemon(const std::string& root) {
  ASSIGN_OR_RETURN(daemon::ClientConfig c, daemon::ReadClientConfig(daemon::Root{root}));
  return DaemonAddress{c.endpoint, c.token};
}

namespace {

CoreCounters CountersOf(const hyper::rpc::CoreStats& c) {
  CoreCounters out;
  if (c.key().size() == out.key.size()) std::copy(c.key().begin(), c.key().end(), out.key.begin());
  out.peers = c.peers();
  out.uploaded_bytes = c.uploadedbytes();
  out.downloaded_bytes = c.downloadedbytes();
  out.total_blocks = c.totalblocks();
  out.downloaded_blocks = c.downloadedblocks();
  out.total_bytes = c.totalbytes();
  return out;
}

std::vector<MountCounters> CountersOf(const hyper::rpc::DriveStats& d) {
  std::vector<MountCounters> out;
  for (const auto& m : d.stats()) {
    MountCounters mc;
    mc.path = m.path();
    mc.metadata = CountersOf(m.metadata());
    if (m.has_content()) mc.content = CountersOf(m.content());
    out.push_back(std::move(mc));
  }
  return out;
}

}  // namespace

// What a RemoteDrive shares with its client: the channel's Drive stub and the token.
struct RemoteDrive::Impl {
  DaemonAddress address;
  std::unique_ptr<::Drive::Stub> stub;

  void Prepare(grpc::ClientContext& ctx) const {
    ctx.AddMetadata("token", address.token);
    ctx.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  }
};

struct DaemonClient::Impl {
  DaemonAddress address;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<::Hyperdrive::Stub> main;
  std::shared_ptr<RemoteDrive::Impl> drives;

  void Prepare(grpc::ClientContext& ctx) const {
    ctx.AddMetadata("token", address.token);
    ctx.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  }
};

DaemonClient::DaemonClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DaemonClient::~DaemonClient() = default;

Result<std::unique_ptr<DaemonClient>> DaemonClient::Connect(const DaemonAddress& address,
                                                            std::chrono::milliseconds timeout) {
  auto impl = std::make_unique<Impl>();
  impl->address = address;
  impl->channel = grpc::CreateChannel(address.endpoint, grpc::InsecureChannelCredentials());
  if (!impl->channel->WaitForConnected(std::chrono::system_clock::now() + timeout)) {
    return Status::IOError("no daemon answers at " + address.endpoint);
  }
  impl->main = ::Hyperdrive::NewStub(impl->channel);
  impl->drives = std::make_shared<RemoteDrive::Impl>();
  impl->drives->address = address;
  impl->drives->stub = ::Drive::NewStub(impl->channel);
  return std::unique_ptr<DaemonClient>(new DaemonClient(std::move(impl)));
}

Result<DaemonStatus> DaemonClient::GetStatus() {
  grpc::ClientContext ctx;
  impl_->Prepare(ctx);
  hyper::rpc::StatusResponse rsp;
  RETURN_IF_ERROR(FromGrpc(impl_->main->status(&ctx, hyper::rpc::StatusRequest(), &rsp), "status"));
  DaemonStatus st;
  st.api_version = rsp.apiversion();
  st.daemon_version = rsp.daemonversion();
  st.uptime_ms = rsp.uptime();
  if (rsp.noisekey().size() == st.noise_key.size()) {
    std::copy(rsp.noisekey().begin(), rsp.noisekey().end(), st.noise_key.begin());
  }
  st.fuse_available = rsp.fuseavailable();
  st.fuse_configured = rsp.fuseconfigured();
  return st;
}

Result<std::vector<std::vector<MountCounters>>> DaemonClient::AllStats() {
  grpc::ClientContext ctx;
  impl_->Prepare(ctx);
  hyper::rpc::StatsResponse rsp;
  RETURN_IF_ERROR(
      FromGrpc(impl_->drives->stub->allStats(&ctx, hyper::rpc::StatsRequest(), &rsp), "allStats"));
  std::vector<std::vector<MountCounters>> out;
  for (const auto& d : rsp.stats()) out.push_back(CountersOf(d));
  return out;
}

Result<std::unique_ptr<RemoteDrive>> DaemonClient::GetDrive(
    const std::optional<std::array<uint8_t, 32>>& key, std::optional<uint64_t> version) {
  grpc::ClientContext ctx;
  impl_->Prepare(ctx);
  hyper::rpc::GetDriveRequest req;
  if (key) req.mutable_opts()->set_key(std::string(key->begin(), key->end()));
  if (version) req.mutable_opts()->set_version(*version);
  hyper::rpc::GetDriveResponse rsp;
  RETURN_IF_ERROR(FromGrpc(impl_->drives->stub->get(&ctx, req, &rsp), "get"));
  std::array<uint8_t, 32> k{};
  if (rsp.opts().key().size() != k.size()) {
    return Status::Corruption("the daemon answered get with a key of " +
                              std::to_string(rsp.opts().key().size()) + " bytes");
  }
  std::copy(rsp.opts().key().begin(), rsp.opts().key().end(), k.begin());
  return std::unique_ptr<RemoteDrive>(
      new RemoteDrive(impl_->drives, rsp.id(), k, rsp.opts().writable()));
}

RemoteDrive::RemoteDrive(std::shared_ptr<Impl> impl, uint64_t id, std::array<uint8_t, 32> key,
                         bool writable)
    : impl_(std::move(impl)), id_(id), key_(key), writable_(writable) {}

RemoteDrive::~RemoteDrive() {
  grpc::ClientContext ctx;
  impl_->Prepare(ctx);
  hyper::rpc::CloseSessionRequest req;
  req.set_id(id_);
  hyper::rpc::CloseSessionResponse rsp;
  (void)impl_->stub->close(&ctx, req, &rsp);
}

Result<uint64_t> RemoteDrive::Version() {
  grpc::ClientContext ctx;
  impl_->Prepare(ctx);
  hyper::rpc::DriveVersionRequest req;
  req.set_id(id_);
  hyper::rpc::DriveVersionResponse rsp;
  RETURN_IF_ERROR(FromGrpc(impl_->stub->version(&ctx, req, &rsp), "version"));
  return rsp.version();
}

Status RemoteDrive::WriteFile(const std::string& path, const std::string& data) {
  grpc::ClientContext ctx;
  impl_->Prepare(ctx);
  hyper::rpc::WriteFileResponse rsp;
  auto writer = impl_->stub->writeFile(&ctx, &rsp);
  hyper::rpc::WriteFileRequest first;
  first.set_id(id_);
  first.set_path(path);
  writer->Write(first);
  constexpr size_t kChunk = 1 << 20;
  for (size_t at = 0; at < data.size(); at += kChunk) {
    hyper::rpc::WriteFileRequest m;
    m.set_chunk(data.substr(at, kChunk));
    if (!writer->Write(m)) break;  // the daemon ended the call: Finish says why
  }
  writer->WritesDone();
  return FromGrpc(writer->Finish(), "writeFile " + path);
}

Result<std::string> RemoteDrive::ReadFile(const std::string& path) {
  grpc::ClientContext ctx;
  impl_->Prepare(ctx);
  hyper::rpc::ReadFileRequest req;
  req.set_id(id_);
  req.set_path(path);
  auto reader = impl_->stub->readFile(&ctx, req);
  std::string out;
  hyper::rpc::ReadFileResponse m;
  while (reader->Read(&m)) out += m.chunk();
  RETURN_IF_ERROR(FromGrpc(reader->Finish(), "readFile " + path));
  return out;
}

Result<std::string> RemoteDrive::ReadRange(const std::string& path, uint64_t start,
                                           uint64_t length) {
  if (length == 0) return std::string();
  grpc::ClientContext ctx;
  impl_->Prepare(ctx);
  hyper::rpc::ReadStreamRequest req;
  req.set_id(id_);
  req.set_path(path);
  req.set_start(start);
  req.set_length(length);
  auto reader = impl_->stub->createReadStream(&ctx, req);
  std::string out;
  hyper::rpc::ReadStreamResponse m;
  while (reader->Read(&m)) out += m.chunk();
  RETURN_IF_ERROR(FromGrpc(reader->Finish(), "createReadStream " + path));
  return out;
}

Result<std::vector<MountCounters>> RemoteDrive::Stats(bool recursive) {
  grpc::ClientContext ctx;
  impl_->Prepare(ctx);
  hyper::rpc::DriveStatsRequest req;
  req.set_id(id_);
  req.set_recursive(recursive);
  hyper::rpc::DriveStatsResponse rsp;
  RETURN_IF_ERROR(FromGrpc(impl_->stub->stats(&ctx, req, &rsp), "stats"));
  return CountersOf(rsp.stats());
}

Result<RemoteStat> RemoteDrive::Stat(const std::string& path) {
  grpc::ClientContext ctx;
  impl_->Prepare(ctx);
  hyper::rpc::StatRequest req;
  req.set_id(id_);
  req.set_path(path);
  hyper::rpc::StatResponse rsp;
  RETURN_IF_ERROR(FromGrpc(impl_->stub->stat(&ctx, req, &rsp), "stat " + path));
  RemoteStat st;
  st.mode = rsp.stat().mode();
  st.size = rsp.stat().size();
  st.mtime = rsp.stat().mtime();
  st.linkname = rsp.stat().linkname();
  return st;
}

Result<std::vector<std::string>> RemoteDrive::Readdir(const std::string& path, bool recursive) {
  grpc::ClientContext ctx;
  impl_->Prepare(ctx);
  hyper::rpc::ReadDirectoryRequest req;
  req.set_id(id_);
  req.set_path(path);
  req.set_recursive(recursive);
  hyper::rpc::ReadDirectoryResponse rsp;
  RETURN_IF_ERROR(FromGrpc(impl_->stub->readdir(&ctx, req, &rsp), "readdir " + path));
  return std::vector<std::string>(rsp.files().begin(), rsp.files().end());
}

Status RemoteDrive::Mkdir(const std::string& path) {
  grpc::ClientContext ctx;
  impl_->Prepare(ctx);
  hyper::rpc::MkdirRequest req;
  req.set_id(id_);
  req.set_path(path);
  hyper::rpc::MkdirResponse rsp;
  return FromGrpc(impl_->stub->mkdir(&ctx, req, &rsp), "mkdir " + path);
}

Status RemoteDrive::Unlink(const std::string& path) {
  grpc::ClientContext ctx;
  impl_->Prepare(ctx);
  hyper::rpc::UnlinkRequest req;
  req.set_id(id_);
  req.set_path(path);
  hyper::rpc::UnlinkResponse rsp;
  return FromGrpc(impl_->stub->unlink(&ctx, req, &rsp), "unlink " + path);
}

Status RemoteDrive::Rmdir(const std::string& path) {
  grpc::ClientContext ctx;
  impl_->Prepare(ctx);
  hyper::rpc::RmdirRequest req;
  req.set_id(id_);
  req.set_path(path);
  hyper::rpc::RmdirResponse rsp;
  return FromGrpc(impl_->stub->rmdir(&ctx, req, &rsp), "rmdir " + path);
}

Status RemoteDrive::Symlink(const std::string& target, const std::string& link_path) {
  grpc::ClientContext ctx;
  impl_->Prepare(ctx);
  hyper::rpc::SymlinkRequest req;
  req.set_id(id_);
  req.set_target(target);
  req.set_linkname(link_path);
  hyper::rpc::SymlinkResponse rsp;
  return FromGrpc(impl_->stub->symlink(&ctx, req, &rsp), "symlink " + link_path);
}

}  // namespace hyper::client
