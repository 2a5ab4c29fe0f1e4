// The gateway's answers: what GET and HEAD of `/<key>[+version|+tag]/path` (or
// `/hyper/<key>/...`) return, over a DriveSource that opens drives and makes local what is read
// (from this store alone, or fetched from peers). See docs/gateway.md.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "hyper/corestore/corestore.h"
#include "hyper/crypto/crypto.h"
#include "hyper/drive/drive.h"
#include "hyper/gateway/http_request.h"
#include "hyper/gateway/http_response.h"
#include "hyper/util/status.h"

namespace hyper::gateway {

// Where the gateway's drives come from. Called from the server's threads at the same time.
class DriveSource {
 public:
  virtual ~DriveSource() = default;
  // The drive `key` at the latest version known here. NotFound when there is no such drive;
  // Timeout when no peer sent it in time.
  virtual Result<std::shared_ptr<drive::Drive>> Open(const crypto::PublicKey& key) = 0;
  // Whether reads of drive `key` may need peers: files are then read a window at a time, each
  // window fetched just before it is read.
  virtual bool Remote(const crypto::PublicKey& key) = 0;
  // Makes local the bytes [start, end) of the file at `path` of `d` (the drive Open gave, or a
  // checkout of it) and only those. Timeout when no peer sends them in time.
  virtual Status FetchRange(const crypto::PublicKey& key, drive::Drive& d, const std::string& path,
                            uint64_t start, uint64_t end) = 0;
  // Makes local what a one-level listing of `path` of `d` reads.
  virtual Status FetchListing(const crypto::PublicKey& key, drive::Drive& d,
                              const std::string& path) = 0;
};

// The drives of one store, read as they are (nothing fetched).
class LocalDriveSource : public DriveSource {
 public:
  explicit LocalDriveSource(corestore::Corestore& store) : store_(store) {}
  Result<std::shared_ptr<drive::Drive>> Open(const crypto::PublicKey& key) override;
  bool Remote(const crypto::PublicKey&) override { return false; }
  Status FetchRange(const crypto::PublicKey&, drive::Drive&, const std::string&, uint64_t,
                    uint64_t) override {
    return Status::Ok();
  }
  Status FetchListing(const crypto::PublicKey&, drive::Drive&, const std::string&) override {
    return Status::Ok();
  }

 private:
  corestore::Corestore& store_;
};

struct DriveHandlerOptions {
  // "/" redirects to this drive's root when set (`hyperdrive serve <url>`); other keys are then
  // refused (404) unless `any_key`.
  std::optional<crypto::PublicKey> default_key;
  bool any_key = true;
  // Bytes fetched and read at a time from a remote drive.
  uint64_t remote_window = 1 << 20;
  // The kernel send buffer of a connection answering from a remote drive (HttpResponse::
  // send_buffer): with the window, about what is fetched beyond what the client took.
  size_t remote_send_buffer = 128 << 10;
};

class DriveHandler {
 public:
  DriveHandler(DriveSource& source, DriveHandlerOptions options)
      : source_(source), options_(options) {}
  // The answer to a GET or HEAD (the server sets HEAD's `head`). May block.
  HttpResponse Handle(const HttpRequest& request);

 private:
  DriveSource& source_;
  DriveHandlerOptions options_;
};

// The status that answers an error of a drive read: 404 NotFound, 400 InvalidArgument,
// 504 Timeout (no peer answered in time), 502 other network errors, 500 otherwise.
int StatusFor(const Status& s);

}  // namespace hyper::gateway
