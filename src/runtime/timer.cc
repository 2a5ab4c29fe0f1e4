#include "hyper/runtime/timer.h"

namespace hyper::runtime {

void Timer::Start(Duration delay, std::function<void()> fn) {
  Cancel();
  // The id is cleared before fn runs, so that fn may start the timer again.
  id_ = clock_.Schedule(delay, [this, fn = std::move(fn)] {
    id_ = 0;
    fn();
  });
}

void Timer::Cancel() {
  if (id_ == 0) return;
  clock_.Cancel(id_);
  id_ = 0;
}

}  // namespace hyper::runtime
