#include "gateway_source.h"

namespace hyper::daemon {

Result<std::shared_ptr<drive::Drive>> HostDriveSource::Open(const crypto::PublicKey& key) {
  // A key nobody configured is looked up only while a request needs it: one that no peer
  // sends is forgotten again, so that requests for random keys leave no lookups behind.
  const bool configured = host_.NetworkConfigOf(key).has_value();
  ASSIGN_OR_RETURN(std::shared_ptr<service::HostedDrive> hosted, host_.Get(key));
  Result<drive::Drive*> d =
      hosted->Run([](drive::Drive& drive) -> Result<drive::Drive*> { return &drive; });
  if (!d.ok()) {
    if (!configured && !hosted->writable())
      (void)host_.ConfigureNetwork(key, service::NetworkConfig{});
    return d.status();
  }
  // The drive lives as long as the hosted drive that holds it.
  return std::shared_ptr<drive::Drive>(hosted, *d);
}

Status HostDriveSource::FetchRange(const crypto::PublicKey& /*key*/, drive::Drive& d,
                                   const std::string& path, uint64_t start, uint64_t end) {
  // The read makes the window local (the bytes themselves are read again, from here, by the
  // gateway's file reader).
  return d.ReadRange(path, start, end - start).status();
}

bool HostDriveSource::Remote(const crypto::PublicKey& key) {
  auto hosted = host_.Get(key);
  return hosted.ok() && !(*hosted)->writable();
}

}  // namespace hyper::daemon
