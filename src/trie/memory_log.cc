#include <vector>

#include "hyper/trie/log.h"

namespace hyper::trie {

uint64_t MemoryLog::length() const {
  std::lock_guard lock(mu_);
  return blocks_.size();
}

Result<Bytes> MemoryLog::Get(uint64_t index) {
  std::lock_guard lock(mu_);
  if (index >= blocks_.size()) {
    return Status::OutOfRange("block " + std::to_string(index) + " is past the end of the log (" +
                              std::to_string(blocks_.size()) + ")");
  }
  return blocks_[index];
}

Result<uint64_t> MemoryLog::Append(std::span<const ByteView> blocks) {
  if (!writable_) return Status::NotWritable("the log is not writable");
  uint64_t len;
  std::vector<AppendListener> listeners;
  {
    std::lock_guard lock(mu_);
    for (ByteView b : blocks) blocks_.push_back(ToBytes(b));
    len = blocks_.size();
    for (auto& [h, l] : listeners_) listeners.push_back(l);
  }
  for (auto& l : listeners) l(len);
  return len;
}

uint64_t MemoryLog::OnAppend(AppendListener listener) {
  std::lock_guard lock(mu_);
  uint64_t h = next_listener_++;
  listeners_[h] = std::move(listener);
  return h;
}

void MemoryLog::RemoveListener(uint64_t handle) {
  std::lock_guard lock(mu_);
  listeners_.erase(handle);
}

void MemoryLog::Overwrite(uint64_t index, Bytes block) {
  std::lock_guard lock(mu_);
  if (index < blocks_.size()) blocks_[index] = std::move(block);
}

}  // namespace hyper::trie
