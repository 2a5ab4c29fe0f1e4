#include "sessions.h"

#include <string>

namespace hyper::daemon {

Result<uint64_t> SessionTable::Add(std::shared_ptr<DriveSession> session) {
  std::lock_guard<std::mutex> lock(mu_);
  if (sessions_.size() >= kMaxSessions) {
    return Status::Busy("too many open drive sessions (" + std::to_string(kMaxSessions) +
                        "): close some first");
  }
  const uint64_t id = next_++;
  sessions_[id] = std::move(session);
  return id;
}

Result<std::shared_ptr<DriveSession>> SessionTable::Find(uint64_t id) const {
  if (id == 0) return Status::InvalidArgument("the request names no session id");
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) {
    return Status::NotFound("no drive session " + std::to_string(id) +
                            " (closed, or opened before the daemon restarted)");
  }
  return it->second;
}

bool SessionTable::Remove(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.erase(id) > 0;
}

void SessionTable::Clear() {
  std::map<uint64_t, std::shared_ptr<DriveSession>> gone;
  {
    std::lock_guard<std::mutex> lock(mu_);
    gone.swap(sessions_);
  }
}

size_t SessionTable::CountFor(const crypto::PublicKey& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [id, s] : sessions_) {
    if (s->hosted->key() == key) n++;
  }
  return n;
}

}  // namespace hyper::daemon
