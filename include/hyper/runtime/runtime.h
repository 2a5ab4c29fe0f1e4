// The process's runtime, the door to threads, time and the network (as LevelDB's Env is):
// one event loop thread for every socket and timer, one executor for blocking feed work, the
// clock whose timers run on that loop, and the TCP and UDP socket factories. Made and started on
// first use and kept until the process ends (objects destroyed at exit may still use it). Its
// number of threads is fixed: 1 loop + executor().threads() + callbacks().threads(), however many
// feeds, replicators and connections exist.
//
// The callbacks executor runs what users and upper layers hang on events (drive and trie watch
// callbacks, drive replication following a drive's mounts): work that may read a drive, and so
// wait for the network, which must never run on the loop or hold up the feed work of the
// executor.
//
//   runtime::Runtime& rt = runtime::Default();
//   rt.loop().Post(...);  rt.executor().Post(feed, ...);  rt.clock().Schedule(...);
#pragma once

#include "hyper/runtime/asio_udp_socket_factory.h"
#include "hyper/runtime/clock.h"
#include "hyper/runtime/event_loop.h"
#include "hyper/runtime/executor.h"
#include "hyper/runtime/tcp_socket_factory.h"

namespace hyper::runtime {

class Runtime {
 public:
  // Starts the loop and the executor's threads.
  Runtime(const ExecutorOptions& executor_options, const ExecutorOptions& callback_options);
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  EventLoop& loop() { return loop_; }
  Executor& executor() { return executor_; }
  Executor& callbacks() { return callbacks_; }
  Clock& clock() { return clock_; }
  SocketFactory& sockets() { return sockets_; }
  UdpSocketFactory& udp() { return udp_; }

 private:
  EventLoop loop_;
  Executor executor_;
  Executor callbacks_;
  RealClock clock_;
  TcpSocketFactory sockets_;
  AsioUdpSocketFactory udp_;
};

// The process's runtime. Its executor has as many threads as the machine has cores, at least 2
// and at most 4.
Runtime& Default();

}  // namespace hyper::runtime
