#include "hyper/utp/delay_history.h"

#include <algorithm>

namespace hyper::utp {

bool WrappingLess(uint32_t lhs, uint32_t rhs, uint32_t mask) {
  const uint32_t down = (lhs - rhs) & mask;
  const uint32_t up = (rhs - lhs) & mask;
  return up < down;
}

void DelayHistory::Clear(uint64_t now_ms) {
  initialized_ = false;
  base_ = 0;
  current_index_ = 0;
  base_index_ = 0;
  base_time_ms_ = now_ms;
  current_.fill(0);
  base_history_.fill(0);
}

void DelayHistory::Shift(uint32_t offset_us) {
  for (auto& b : base_history_) b += offset_us;
  base_ += offset_us;
}

void DelayHistory::AddSample(uint32_t sample_us, uint64_t now_ms) {
  if (!initialized_) {
    base_history_.fill(sample_us);
    base_ = sample_us;
    initialized_ = true;
  }
  if (WrappingLess(sample_us, base_history_[base_index_], 0xffffffffu)) {
    base_history_[base_index_] = sample_us;
  }
  if (WrappingLess(sample_us, base_, 0xffffffffu)) base_ = sample_us;
  current_[current_index_] = sample_us - base_;
  current_index_ = (current_index_ + 1) % kCurrentSamples;
  if (now_ms - base_time_ms_ > 60 * 1000) {
    // A new minute's bucket; the base is the lowest of the last 13.
    base_time_ms_ = now_ms;
    base_index_ = (base_index_ + 1) % kBaseMinutes;
    base_history_[base_index_] = sample_us;
    base_ = base_history_[0];
    for (uint32_t b : base_history_) {
      if (WrappingLess(b, base_, 0xffffffffu)) base_ = b;
    }
  }
}

uint32_t DelayHistory::value() const { return *std::min_element(current_.begin(), current_.end()); }

}  // namespace hyper::utp
