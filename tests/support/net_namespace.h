// A network namespace of the test's own, for tests that multicast (LAN discovery): what is sent
// inside never reaches the machine's interfaces, and nothing outside sees it.
#pragma once

#include "hyper/util/status.h"

namespace hyper::testing {

// Moves the calling thread into a new network namespace holding only the loopback interface,
// brings it up with multicast on, and routes 224.0.0.0/4 to it. The threads and processes
// that this thread starts afterwards (an EventLoop, a Node script) live in it too. Needs root
// (CAP_SYS_ADMIN); the Status says which step the system refused. Call it first thing in a
// test, before anything starts a thread. Fails unless `lo` is the only interface afterwards.
Status EnterPrivateNetworkNamespace();

}  // namespace hyper::testing
