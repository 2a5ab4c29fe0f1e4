// The Drive service: drive sessions and every drive operation, over the host's drives.
#pragma once

#include <functional>
#include <string>

#include "daemon/rpc/services.grpc.pb.h"
#include "downloads.h"
#include "hyper/service/host.h"
#include "sessions.h"

namespace hyper::daemon {

// What the daemon records of what clients do (its state database); each may be empty. An
// error fails the rpc.
struct DriveStateHooks {
  // A drive opened for a client (the drive index).
  std::function<Status(const crypto::PublicKey& key)> opened;
  // A network configuration set (persisted when `remember`).
  std::function<Status(const crypto::PublicKey& key, const service::NetworkConfig& config)>
      configured;
  // Mirroring started or stopped.
  std::function<Status(const crypto::PublicKey& key, bool mirrored)> mirrored;
};

class DriveService final : public ::Drive::Service {
 public:
  DriveService(service::Host& host, SessionTable& sessions, DownloadTable& downloads,
               std::string token, DriveStateHooks hooks);

  grpc::Status get(grpc::ServerContext* ctx, const rpc::GetDriveRequest* req,
                   rpc::GetDriveResponse* rsp) override;
  grpc::Status close(grpc::ServerContext* ctx, const rpc::CloseSessionRequest* req,
                     rpc::CloseSessionResponse* rsp) override;
  grpc::Status allStats(grpc::ServerContext* ctx, const rpc::StatsRequest* req,
                        rpc::StatsResponse* rsp) override;
  grpc::Status allNetworkConfigurations(grpc::ServerContext* ctx,
                                        const rpc::NetworkConfigurationsRequest* req,
                                        rpc::NetworkConfigurationsResponse* rsp) override;
  grpc::Status active(grpc::ServerContext* ctx, const rpc::ActiveRequest* req,
                      rpc::ActiveResponse* rsp) override;
  grpc::Status peerCounts(grpc::ServerContext* ctx, const rpc::PeerCountsRequest* req,
                          rpc::PeerCountsResponse* rsp) override;
  grpc::Status configureNetwork(grpc::ServerContext* ctx, const rpc::ConfigureNetworkRequest* req,
                                rpc::ConfigureNetworkResponse* rsp) override;
  grpc::Status stats(grpc::ServerContext* ctx, const rpc::DriveStatsRequest* req,
                     rpc::DriveStatsResponse* rsp) override;
  grpc::Status version(grpc::ServerContext* ctx, const rpc::DriveVersionRequest* req,
                       rpc::DriveVersionResponse* rsp) override;
  grpc::Status open(grpc::ServerContext* ctx, const rpc::OpenRequest* req,
                    rpc::OpenResponse* rsp) override;
  grpc::Status download(grpc::ServerContext* ctx, const rpc::DownloadRequest* req,
                        rpc::DownloadResponse* rsp) override;
  grpc::Status undownload(grpc::ServerContext* ctx, const rpc::UndownloadRequest* req,
                          rpc::UndownloadResponse* rsp) override;
  grpc::Status mirror(grpc::ServerContext* ctx, const rpc::MirrorRequest* req,
                      rpc::MirrorResponse* rsp) override;
  grpc::Status unmirror(grpc::ServerContext* ctx, const rpc::UnmirrorRequest* req,
                        rpc::UnmirrorResponse* rsp) override;
  grpc::Status read(grpc::ServerContext* ctx,
                    grpc::ServerReaderWriter<rpc::ReadResponse, rpc::ReadRequest>* stream) override;
  grpc::Status write(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<rpc::WriteResponse, rpc::WriteRequest>* stream) override;
  grpc::Status createWriteStream(grpc::ServerContext* ctx,
                                 grpc::ServerReader<rpc::WriteStreamRequest>* reader,
                                 rpc::WriteStreamResponse* rsp) override;
  grpc::Status writeFile(grpc::ServerContext* ctx,
                         grpc::ServerReader<rpc::WriteFileRequest>* reader,
                         rpc::WriteFileResponse* rsp) override;
  grpc::Status createReadStream(grpc::ServerContext* ctx, const rpc::ReadStreamRequest* req,
                                grpc::ServerWriter<rpc::ReadStreamResponse>* writer) override;
  grpc::Status readFile(grpc::ServerContext* ctx, const rpc::ReadFileRequest* req,
                        grpc::ServerWriter<rpc::ReadFileResponse>* writer) override;
  grpc::Status updateMetadata(grpc::ServerContext* ctx, const rpc::UpdateMetadataRequest* req,
                              rpc::UpdateMetadataResponse* rsp) override;
  grpc::Status deleteMetadata(grpc::ServerContext* ctx, const rpc::DeleteMetadataRequest* req,
                              rpc::DeleteMetadataResponse* rsp) override;
  grpc::Status createDiffStream(grpc::ServerContext* ctx, const rpc::DiffStreamRequest* req,
                                grpc::ServerWriter<rpc::DiffStreamResponse>* writer) override;
  grpc::Status readdir(grpc::ServerContext* ctx, const rpc::ReadDirectoryRequest* req,
                       rpc::ReadDirectoryResponse* rsp) override;
  grpc::Status mkdir(grpc::ServerContext* ctx, const rpc::MkdirRequest* req,
                     rpc::MkdirResponse* rsp) override;
  grpc::Status rmdir(grpc::ServerContext* ctx, const rpc::RmdirRequest* req,
                     rpc::RmdirResponse* rsp) override;
  grpc::Status unlink(grpc::ServerContext* ctx, const rpc::UnlinkRequest* req,
                      rpc::UnlinkResponse* rsp) override;
  grpc::Status mount(grpc::ServerContext* ctx, const rpc::MountDriveRequest* req,
                     rpc::MountDriveResponse* rsp) override;
  grpc::Status unmount(grpc::ServerContext* ctx, const rpc::UnmountDriveRequest* req,
                       rpc::UnmountDriveResponse* rsp) override;
  grpc::Status mounts(grpc::ServerContext* ctx, const rpc::DriveMountsRequest* req,
                      rpc::DriveMountsResponse* rsp) override;
  grpc::Status stat(grpc::ServerContext* ctx, const rpc::StatRequest* req,
                    rpc::StatResponse* rsp) override;
  grpc::Status watch(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<rpc::WatchResponse, rpc::WatchRequest>* stream) override;
  grpc::Status symlink(grpc::ServerContext* ctx, const rpc::SymlinkRequest* req,
                       rpc::SymlinkResponse* rsp) override;
  grpc::Status fileStats(grpc::ServerContext* ctx, const rpc::FileStatsRequest* req,
                         rpc::FileStatsResponse* rsp) override;

 private:
  Result<std::shared_ptr<DriveSession>> SessionOf(uint64_t id) const { return sessions_.Find(id); }

  service::Host& host_;
  SessionTable& sessions_;
  DownloadTable& downloads_;
  const std::string token_;
  DriveStateHooks hooks_;
};

}  // namespace hyper::daemon
