#include "hyper/runtime/runtime.h"

#include <algorithm>
#include <thread>

namespace hyper::runtime {

Runtime::Runtime(const ExecutorOptions& executor_options, const ExecutorOptions& callback_options)
    : loop_("hyper-loop"),
      executor_(executor_options),
      callbacks_(callback_options),
      clock_(loop_),
      sockets_(loop_),
      udp_(loop_) {
  loop_.Start();
}

Runtime& Default() {
  // Never destroyed: feeds and replicators destroyed during the destruction of static objects
  // may still post to it; its threads end with the process.
  static Runtime* runtime = [] {
    ExecutorOptions o;
    o.threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 2, 4);
    o.name = "hyper-exec";
    ExecutorOptions c;
    c.threads = 1;
    c.name = "hyper-callback";
    return new Runtime(o, c);
  }();
  return *runtime;
}

}  // namespace hyper::runtime
