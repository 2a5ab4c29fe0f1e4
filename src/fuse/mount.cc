#include "hyper/fuse/mount.h"

#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <thread>
#include <vector>

#include "change_notifier.h"
#include "filesystem.h"
#include "operations.h"
// After operations.h, which sets the FUSE version.
#include <fuse3/fuse_lowlevel.h>

#include "paths.h"

extern char** environ;

namespace hyper::fuse {

namespace {

// How long stopping waits for the loop after unmounting; a mount kept busy by a process (a
// shell inside it) is detached and its loop left to end with the process.
constexpr auto kStopWait = std::chrono::seconds(5);

// Whether something is mounted at `dir` (it is on another device than its parent).
bool IsMountPoint(const std::string& dir) {
  struct stat self {};
  struct stat parent {};
  if (::stat(dir.c_str(), &self) != 0) return false;
  const std::string up = dir + "/..";
  if (::stat(up.c_str(), &parent) != 0) return false;
  return self.st_dev != parent.st_dev || self.st_ino == parent.st_ino;
}

// Drops the kernel's entries of paths on request, from a thread of its own: a notification sent
// while a call on the same directory is being answered would wait for that call, so the
// worker answering it must never send one. The kernel applies it once the call it answers has
// finished (it takes the directory's lock, which the call holds).
class EntryInvalidator {
 public:
  EntryInvalidator(struct fuse* f, std::string mountpoint)
      : f_(f), mountpoint_(std::move(mountpoint)), thread_([this] { Loop(); }) {}
  ~EntryInvalidator() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  EntryInvalidator(const EntryInvalidator&) = delete;
  EntryInvalidator& operator=(const EntryInvalidator&) = delete;

  void Add(const std::string& path) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(path);
    }
    cv_.notify_all();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      const std::string path = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      Invalidate(path);
      lock.lock();
    }
  }

  void Invalidate(const std::string& path) const {
    // The parent's inode number is the kernel's node id (libfuse gives its node ids as inode
    // numbers when use_ino is off): a stat of the parent through the mount tells it.
    const std::string parent = ParentOf(path);
    const std::string dir = parent == "/" ? mountpoint_ : mountpoint_ + parent;
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) return;
    const std::string name(NameOf(path));
    (void)fuse_lowlevel_notify_inval_entry(fuse_get_session(f_), st.st_ino, name.c_str(),
                                           name.size());
  }

  struct fuse* const f_;
  const std::string mountpoint_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;  // guarded by mu_
  bool stop_ = false;              // guarded by mu_
  std::thread thread_;
};

}  // namespace

bool IsStaleMount(const std::string& mountpoint) {
  struct stat st {};
  return ::stat(mountpoint.c_str(), &st) != 0 && (errno == ENOTCONN || errno == ECONNABORTED);
}

Status ForceUnmount(const std::string& mountpoint) {
  if (::geteuid() == 0) {
    if (::umount2(mountpoint.c_str(), MNT_DETACH) != 0) {
      if (errno == EINVAL) return Status::NotFound("nothing is mounted at " + mountpoint);
      return Status::FromErrno(errno, "unmounting " + mountpoint);
    }
    return Status::Ok();
  }
  std::vector<std::string> argv = {"fusermount3", "-u", "-z", "--", mountpoint};
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, "fusermount3", nullptr, nullptr, args.data(), environ);
  if (rc != 0)
    return Status::FromErrno(rc, "running fusermount3 (is the fuse3 package installed?)");
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::IOError("fusermount3 -u -z " + mountpoint + " failed (is it mounted?)");
  }
  return Status::Ok();
}

struct Mount::Impl {
  MountOptions options;
  std::unique_ptr<Filesystem> fs;
  struct fuse* f = nullptr;
  std::unique_ptr<EntryInvalidator> invalidator;
  std::unique_ptr<ChangeNotifier> notifier;
  std::thread loop;
  std::future<int> done;
};

Mount::Mount(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

const std::string& Mount::mountpoint() const { return impl_->options.mountpoint; }

Result<std::unique_ptr<Mount>> Mount::Start(std::shared_ptr<service::HostedDrive> drive,
                                            MountOptions options) {
  if (options.mountpoint.empty()) return Status::InvalidArgument("no mountpoint");
  std::error_code ec;
  options.mountpoint = std::filesystem::absolute(options.mountpoint, ec).lexically_normal();
  if (options.mountpoint.size() > 1 && options.mountpoint.back() == '/') {
    options.mountpoint.pop_back();
  }
  if (IsStaleMount(options.mountpoint)) {
    Status s = ForceUnmount(options.mountpoint);
    if (options.log) {
      options.log("fuse: cleared the stale mount at " + options.mountpoint +
                  (s.ok() ? "" : ": " + s.ToString()));
    }
  }
  std::filesystem::create_directories(options.mountpoint, ec);
  if (ec) return Status::IOError("creating " + options.mountpoint + ": " + ec.message());
  if (IsMountPoint(options.mountpoint)) {
    return Status::Busy("something is mounted at " + options.mountpoint +
                        " already (`hyperdrive force-unmount` clears a mount left behind)");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  FilesystemOptions fo;
  fo.spool_dir = options.spool_dir;
  fo.statfs_dir = options.statfs_dir.empty() ? options.spool_dir : options.statfs_dir;
  fo.uid = ::geteuid();
  fo.gid = ::getegid();
  fo.log = options.log;
  fo.open_drive = options.open_drive;
  fo.host = options.host;
  fo.mountpoint = options.mountpoint;
  // Set once fuse_new made the fuse object (nothing calls it before the loop starts).
  Impl* self = impl.get();
  fo.invalidate_entry = [self](const std::string& path) {
    if (self->invalidator) self->invalidator->Add(path);
  };
  fo.watch_drive = [self](const std::shared_ptr<service::HostedDrive>& network,
                          const std::string& prefix) {
    if (!self->notifier) return;
    Status s = self->notifier->Watch(network, prefix);
    if (!s.ok() && self->options.log) {
      self->options.log("fuse: not watching " + prefix + " for changes: " + s.ToString());
    }
  };
  std::filesystem::create_directories(fo.statfs_dir, ec);
  std::shared_ptr<service::HostedDrive> root = drive;
  impl->fs = std::make_unique<Filesystem>(std::move(drive), fo);

  std::vector<std::string> argv = {"hyperdrive", "-o", "fsname=hyperdrive,subtype=hyperdrive"};
  std::vector<char*> args;
  args.reserve(argv.size());
  for (auto& a : argv) args.push_back(a.data());
  fuse_args fargs = FUSE_ARGS_INIT(static_cast<int>(args.size()), args.data());
  impl->f = fuse_new(&fargs, &Operations(), sizeof(fuse_operations), impl->fs.get());
  fuse_opt_free_args(&fargs);
  if (impl->f == nullptr) return Status::IOError("libfuse refused its options (fuse_new)");
  if (fuse_mount(impl->f, impl->options.mountpoint.c_str()) != 0) {
    fuse_destroy(impl->f);
    impl->f = nullptr;
    return Status::IOError("cannot mount at " + impl->options.mountpoint +
                           " (is /dev/fuse there, and fusermount3 installed? see the log)");
  }
  impl->invalidator = std::make_unique<EntryInvalidator>(impl->f, impl->options.mountpoint);
  // Changes made other than through the mount drop what the kernel caches of them.
  ChangeNotifier::Callbacks callbacks;
  struct fuse* fuse_object = impl->f;
  callbacks.invalidate_path = [fuse_object](const std::string& path) {
    (void)fuse_invalidate_path(fuse_object, path.c_str());
  };
  callbacks.invalidate_entry = [self](const std::string& path) { self->invalidator->Add(path); };
  impl->notifier = std::make_unique<ChangeNotifier>(std::move(callbacks));
  if (Status s = impl->notifier->Watch(root, ""); !s.ok() && options.log) {
    options.log("fuse: not watching the root drive for changes: " + s.ToString());
  }
  std::promise<int> finished;
  impl->done = finished.get_future();
  struct fuse* f = impl->f;
  impl->loop = std::thread([f, finished = std::move(finished)]() mutable {
    fuse_loop_config config{};
    config.clone_fd = 0;
    config.max_idle_threads = 16;
    finished.set_value(fuse_loop_mt(f, &config));
  });
  if (options.log) options.log("fuse: mounted at " + impl->options.mountpoint);
  return std::unique_ptr<Mount>(new Mount(std::move(impl)));
}

Mount::~Mount() {
  Impl& m = *impl_;
  if (m.f == nullptr) return;
  m.notifier.reset();
  m.invalidator.reset();
  fuse_exit(m.f);
  // Detaches the mount; with nobody inside, the kernel ends the connection and every loop
  // thread's read returns.
  fuse_unmount(m.f);
  if (m.done.wait_for(kStopWait) == std::future_status::ready) {
    m.loop.join();
    fuse_destroy(m.f);
    m.fs->CommitAll();
    if (m.options.log) m.options.log("fuse: unmounted " + m.options.mountpoint);
    return;
  }
  // A process keeps the detached mount busy: its calls fail from now on, and the loop (and
  // the fuse object it uses) stay until the process exits.
  m.fs->Close();
  m.loop.detach();
  (void)m.fs.release();  // NOLINT(bugprone-unused-return-value): the loop still points at it
  if (m.options.log) {
    m.options.log("fuse: " + m.options.mountpoint +
                  " is still in use; detached, its calls now fail with EIO");
  }
}

}  // namespace hyper::fuse
