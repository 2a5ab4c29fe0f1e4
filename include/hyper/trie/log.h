// trie::Log — the few things a trie needs from the append-only log under it. FeedLog adapts a
// core::Feed (the real thing); MemoryLog is a plain vector for fast model tests.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>

#include "hyper/util/bytes.h"
#include "hyper/util/status.h"

namespace hyper::core {
class Feed;
}

namespace hyper::trie {

class Log {
 public:
  virtual ~Log() = default;
  Log() = default;
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  virtual uint64_t length() const = 0;
  virtual bool writable() const = 0;
  // The log's public key (identifies the trie, e.g. for mount cycle detection).
  virtual Bytes key() const = 0;
  // Block `index`; OutOfRange past the end.
  virtual Result<Bytes> Get(uint64_t index) = 0;
  // Appends the blocks as one batch (a single block is appended on its own); returns the new
  // length.
  virtual Result<uint64_t> Append(std::span<const ByteView> blocks) = 0;

  using AppendListener = std::function<void(uint64_t new_length)>;
  // Called after each append, without locks held.
  virtual uint64_t OnAppend(AppendListener listener) = 0;
  virtual void RemoveListener(uint64_t handle) = 0;
};

// A log in memory. Thread-safe.
class MemoryLog final : public Log {
 public:
  explicit MemoryLog(Bytes key = Bytes(32, 0), bool writable = true)
      : key_(std::move(key)), writable_(writable) {}

  uint64_t length() const override;
  bool writable() const override { return writable_; }
  Bytes key() const override { return key_; }
  Result<Bytes> Get(uint64_t index) override;
  Result<uint64_t> Append(std::span<const ByteView> blocks) override;
  uint64_t OnAppend(AppendListener listener) override;
  void RemoveListener(uint64_t handle) override;

  // Test hook: replaces the bytes of a block.
  void Overwrite(uint64_t index, Bytes block);

 private:
  mutable std::mutex mu_;
  std::vector<Bytes> blocks_;
  std::map<uint64_t, AppendListener> listeners_;
  uint64_t next_listener_ = 1;
  Bytes key_;
  bool writable_;
};

// A log over a hypercore feed (shared with other users of the feed).
std::shared_ptr<Log> NewFeedLog(std::shared_ptr<core::Feed> feed);

}  // namespace hyper::trie
