// How the command layer reaches drives. Today: a local store opened by this process. Later the
// daemon's gRPC client implements the same calls, and the commands do not change.
#pragma once

#include <memory>
#include <string>

#include "hyper/drive/drive.h"
#include "store.h"

namespace hyper::cli {

// A drive opened from a URL: the drive (a read-only checkout when the URL names a version or a
// tag) and the path inside it.
struct OpenedDrive {
  std::unique_ptr<drive::Drive> head;      // the drive at its latest version
  std::unique_ptr<drive::Drive> checkout;  // set when the URL has +version or +tag
  std::string path;
  drive::Drive& drive() { return checkout ? *checkout : *head; }
};

class Session {
 public:
  // Opens and locks the store of the storage root `root` (a writer creates it on first use);
  // see OpenStore.
  static Result<std::unique_ptr<Session>> Open(const std::string& root,
                                               Access access = Access::kWrite);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // A new writable drive in its own corestore namespace.
  Result<std::unique_ptr<drive::Drive>> CreateDrive();
  // The drive of a `hyper://` URL; NotFound when the store does not hold it.
  Result<OpenedDrive> OpenUrl(const std::string& url);
  // As OpenUrl, and NotWritable unless the drive is writable here and the URL names no version.
  Result<OpenedDrive> OpenWritable(const std::string& url);
  // The metadata keys of every drive in the store (cores whose first block is a hyperdrive
  // header), sorted.
  Result<std::vector<crypto::PublicKey>> ListDrives();

  corestore::Corestore& store() { return *store_; }
  Status Close();

 private:
  explicit Session(std::unique_ptr<corestore::Corestore> store) : store_(std::move(store)) {}
  std::unique_ptr<corestore::Corestore> store_;
};

}  // namespace hyper::cli
