#include "daemon_seed.h"

#include <unistd.h>

#include <algorithm>

#include "console.h"
#include "session.h"
#include "store.h"

namespace hyper::cli {

namespace {

Result<std::vector<crypto::PublicKey>> KeysOf(const std::vector<std::string>& urls) {
  std::vector<crypto::PublicKey> keys;
  for (const auto& text : urls) {
    ASSIGN_OR_RETURN(HyperUrl url, ParseHyperUrl(text));
    if (url.path != "/" || url.version) {
      return Status::InvalidArgument("'" + text +
                                     "': seeding is of a whole drive: give hyper://<key> alone");
    }
    if (std::find(keys.begin(), keys.end(), url.key) == keys.end()) keys.push_back(url.key);
  }
  return keys;
}

const char* OnOff(bool on) { return on ? "on" : "off"; }

}  // namespace

Status SeedInDaemon(const DaemonSeedArgs& a) {
  service::Host* host = ScopedDaemonHost::Current();
  if (host == nullptr) return Status::Internal("SeedInDaemon outside the daemon");
  ASSIGN_OR_RETURN(auto keys, KeysOf(a.urls));
  for (const auto& key : keys) {
    const service::NetworkConfig config{
        .lookup = a.lookup, .announce = a.announce, .remember = a.remember};
    RETURN_IF_ERROR(host->ConfigureNetwork(key, config));
    if (a.remember) RETURN_IF_ERROR(ScopedDaemonHost::RememberNetwork(key, config));
    const bool held = host->store().Contains(crypto::DiscoveryKey(key));
    Out() << "seeding " << FormatUrl(key) << " in the daemon (pid " << ::getpid() << "): lookup "
          << OnOff(a.lookup) << ", announce " << OnOff(a.announce)
          << (a.remember ? ", again after restarts" : ", until the daemon stops")
          << (held ? "" : "; the store holds none of it yet: it is fetched from peers as read")
          << "\n";
  }
  return Status::Ok();
}

Status Unseed(const std::string& root, const std::vector<std::string>& urls) {
  service::Host* host = ScopedDaemonHost::Current();
  ASSIGN_OR_RETURN(auto keys, KeysOf(urls));
  if (host == nullptr) {
    return Status::NotFound("no daemon runs on " + root +
                            ": unseed stops what a daemon seeds (a `seed` in the foreground "
                            "stops with Ctrl-C)");
  }
  for (const auto& key : keys) {
    const auto before = host->NetworkConfigOf(key);
    RETURN_IF_ERROR(host->ConfigureNetwork(key, service::NetworkConfig{}));
    RETURN_IF_ERROR(ScopedDaemonHost::RememberNetwork(key, std::nullopt));
    const bool was = before && (before->lookup || before->announce);
    Out() << (was ? "stopped seeding " : "was not seeding ") << FormatUrl(key) << "\n";
  }
  return Status::Ok();
}

}  // namespace hyper::cli
