// LEDBAT's view of one-way delay, as libutp keeps it: a base delay (the lowest sample of the
// last 13 minutes, one bucket per minute, so that a route change is forgotten) and the current
// delay (the lowest of the last 3 samples above that base). Samples are the peer's
// "timestamp difference" fields, microseconds on unsynchronised clocks, so only differences to
// the base mean anything and every comparison wraps modulo 2^32.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace hyper::utp {

// lhs < rhs on a circle of `mask` + 1 values (libutp's wrapping_compare_less).
bool WrappingLess(uint32_t lhs, uint32_t rhs, uint32_t mask);

class DelayHistory {
 public:
  static constexpr size_t kCurrentSamples = 3;
  static constexpr size_t kBaseMinutes = 13;

  explicit DelayHistory(uint64_t now_ms = 0) { Clear(now_ms); }
  void Clear(uint64_t now_ms);
  void AddSample(uint32_t sample_us, uint64_t now_ms);
  // Moves the base up by `offset_us` (clock skew, or a delay above the measured round trip).
  void Shift(uint32_t offset_us);
  // The current delay above the base, microseconds (0 before the first sample).
  uint32_t value() const;
  uint32_t base() const { return base_; }

 private:
  uint32_t base_ = 0;
  std::array<uint32_t, kCurrentSamples> current_{};
  size_t current_index_ = 0;
  std::array<uint32_t, kBaseMinutes> base_history_{};
  size_t base_index_ = 0;
  uint64_t base_time_ms_ = 0;
  bool initialized_ = false;
};

}  // namespace hyper::utp
