#include "command_stop.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "console.h"

namespace hyper::cli {

Wakeup::Wakeup() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

Wakeup::~Wakeup() {
  if (fd_ >= 0) ::close(fd_);
}

void Wakeup::Notify() {
  const uint64_t one = 1;
  (void)!::write(fd_, &one, sizeof one);
}

bool Wakeup::Clear() {
  uint64_t count = 0;
  return ::read(fd_, &count, sizeof count) == static_cast<ssize_t>(sizeof count) && count > 0;
}

CommandStop::CommandStop() {
  Console& console = Console::Current();
  if (console.stop_fd() >= 0) {
    stop_fd_ = console.stop_fd();
    return;
  }
  local_ = std::make_unique<Wakeup>();
  stop_fd_ = local_->fd();
  signal_ = std::make_unique<StopSignal>();
  signal_->OnStop([w = local_.get()] { w->Notify(); });
}

bool CommandStop::requested() const {
  if (signal_) return signal_->requested();
  const Console& console = Console::Current();
  return console.cancelled() || console.interrupted();
}

Result<std::vector<bool>> CommandStop::Wait(const std::vector<int>& fds,
                                            std::optional<std::chrono::milliseconds> timeout) {
  std::vector<pollfd> polled;
  polled.reserve(fds.size() + 1);
  for (int fd : fds) polled.push_back({fd, POLLIN, 0});
  polled.push_back({stop_fd_, POLLIN, 0});
  const int ms = timeout ? static_cast<int>(std::max<int64_t>(0, timeout->count())) : -1;
  int ready = 0;
  do {
    ready = ::poll(polled.data(), polled.size(), ms);
  } while (ready < 0 && errno == EINTR);
  if (ready < 0) return Status::FromErrno(errno, "waiting for events");
  std::vector<bool> out(fds.size());
  for (size_t i = 0; i < fds.size(); i++) out[i] = polled[i].revents != 0;
  return out;
}

}  // namespace hyper::cli
