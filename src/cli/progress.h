// A one-line progress display on stderr, shown only when stderr is a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace hyper::cli {

class Progress {
 public:
  // total = 0 when unknown (no percentage, no ETA).
  Progress(std::string what, uint64_t total_bytes, uint64_t total_items = 0);
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  ~Progress();

  void Update(uint64_t bytes, uint64_t items = 0);
  // Clears the line.
  void Finish();

  // "1.5 MiB"
  static std::string FormatBytes(double bytes);

 private:
  std::string what_;
  uint64_t total_bytes_, total_items_;
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace hyper::cli
