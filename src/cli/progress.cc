#include "progress.h"

#include <unistd.h>

#include <cstdio>

#include "console.h"

namespace hyper::cli {

Progress::Progress(std::string what, uint64_t total_bytes, uint64_t total_items)
    : what_(std::move(what)),
      total_bytes_(total_bytes),
      total_items_(total_items),
      enabled_(Console::Current().err_tty()),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

Progress::~Progress() { Finish(); }

std::string Progress::FormatBytes(double bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    unit++;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, kUnits[unit]);
  return buf;
}

void Progress::Update(uint64_t bytes, uint64_t items) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (shown_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  shown_ = true;
  double seconds = std::chrono::duration<double>(now - start_).count();
  double rate = seconds > 0 ? static_cast<double>(bytes) / seconds : 0;
  std::string line = what_ + ": ";
  if (total_items_) line += std::to_string(items) + "/" + std::to_string(total_items_) + " files, ";
  line += FormatBytes(static_cast<double>(bytes));
  if (total_bytes_) {
    line += " of " + FormatBytes(static_cast<double>(total_bytes_)) + " (" +
            std::to_string(bytes * 100 / total_bytes_) + "%)";
  }
  line += ", " + FormatBytes(rate) + "/s";
  if (total_bytes_ && rate > 0 && bytes < total_bytes_) {
    line +=
        ", ETA " +
        std::to_string(static_cast<uint64_t>(static_cast<double>(total_bytes_ - bytes) / rate)) +
        " s";
  }
  ErrPrintf("\r\033[K%s", line.c_str());
}

void Progress::Finish() {
  if (enabled_ && shown_) ErrPrintf("\r\033[K");
  shown_ = false;
}

}  // namespace hyper::cli
