// `seed` and `unseed` with a daemon running on the root: the daemon puts drives on its network
// (the reference daemon's configureNetwork: announce and look up), remembers that across its
// restarts, and the command returns at once. Without a daemon, `seed` serves in the foreground
// (net_commands.h) and `unseed` has nothing to stop.
#pragma once

#include <string>
#include <vector>

#include "hyper/util/status.h"

namespace hyper::cli {

struct DaemonSeedArgs {
  std::vector<std::string> urls;
  bool lookup = true;
  bool announce = true;
  bool remember = true;
};

// In the daemon (forward.h): configures each drive of `urls` on the daemon's network.
Status SeedInDaemon(const DaemonSeedArgs& args);

// In the daemon: takes each drive of `urls` off the network and forgets it for later starts.
// Outside the daemon: NotFound, saying that no daemon runs on `root`.
Status Unseed(const std::string& root, const std::vector<std::string>& urls);

}  // namespace hyper::cli
