// Drive sessions: what Drive.get hands out (ids from 1) and every later drive rpc names.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "hyper/drive/drive.h"
#include "hyper/service/host.h"

namespace hyper::daemon {

// One client's view of a drive: the latest version, or a fixed one (a checkout).
struct DriveSession {
  std::shared_ptr<service::HostedDrive> hosted;
  std::optional<uint64_t> version;
  // Opened on first use; touched only under the drive's lock (HostedDrive::Run).
  std::unique_ptr<drive::Drive> checkout;
  // Open files (Drive.open), by descriptor; under the drive's lock.
  std::map<uint32_t, std::unique_ptr<drive::FileHandle>> files;
  uint32_t next_fd = 1;

  // Runs f(drive) under the drive's lock, with the session's version of the drive.
  template <typename F>
  auto Run(F&& f) -> decltype(f(std::declval<drive::Drive&>())) {
    return hosted->Run([&](drive::Drive& head) -> decltype(f(head)) {
      if (!version) return f(head);
      if (!checkout) {
        auto opened = head.Checkout(*version);
        if (!opened.ok()) return opened.status();
        checkout = std::move(opened).value();
      }
      return f(*checkout);
    });
  }
  // As Run, for an operation that writes (HostedDrive::LockWrites).
  template <typename F>
  auto RunWrite(F&& f) -> decltype(f(std::declval<drive::Drive&>())) {
    auto writes = hosted->LockWrites();
    return Run(std::forward<F>(f));
  }
};

class SessionTable {
 public:
  // At most this many sessions at once (a client that never closes its sessions cannot grow
  // the daemon without bound).
  static constexpr size_t kMaxSessions = 65536;

  // The new session's id, or ResourceExhausted-like Busy when the table is full.
  Result<uint64_t> Add(std::shared_ptr<DriveSession> session);
  // NotFound with a message that names the id.
  Result<std::shared_ptr<DriveSession>> Find(uint64_t id) const;
  bool Remove(uint64_t id);
  // Drops every session (the daemon's shutdown, before the host goes).
  void Clear();
  // The sessions on a drive.
  size_t CountFor(const crypto::PublicKey& key) const;

 private:
  mutable std::mutex mu_;
  uint64_t next_ = 1;
  std::map<uint64_t, std::shared_ptr<DriveSession>> sessions_;
};

}  // namespace hyper::daemon
