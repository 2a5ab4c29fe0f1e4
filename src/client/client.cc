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
    default:
      return Status::Internal(what + ": " + s.error_message());
  }
}

}  // namespace

Result<DaemonAddress> FindDaemon(const std::string& root) {
  ASSIGN_OR_RETURN(daemon::ClientConfig c, daemon::ReadClientConfig(daemon::Root{root}));
  return DaemonAddress{c.endpoint, c.token};
}

struct DaemonClient::Impl {
  DaemonAddress address;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<::Hyperdrive::Stub> main;

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
  return st;
}

}  // namespace hyper::client
