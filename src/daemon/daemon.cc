#include "daemon.h"

#include <grpcpp/grpcpp.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <mutex>

#include "downloads.h"
#include "drive_service.h"
#include "fuse_service.h"
#include "gateway_source.h"
#include "hyper/corestore/storage_root.h"
#include "hyper/daemon/state_db.h"
#include "hyper/fuse/mount.h"
#include "hyper/gateway/server.h"
#include "hyper/runtime/runtime.h"
#include "hyper/service/host.h"
#include "hyper/trie/trie.h"
#include "peers_service.h"
#include "peersockets_service.h"
#include "sessions.h"
#include "status_service.h"
#include "unsupported_services.h"

namespace hyper::daemon {

namespace {

// The log is rotated to daemon.log.1 when it passes this size.
constexpr uintmax_t kMaxLogBytes = 8u << 20;
// The largest gRPC message accepted (the client cuts writes into 3.9 MB chunks).
constexpr int kMaxMessageBytes = 8 << 20;

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kError:
      return "error";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kDebug:
      return "debug";
  }
  return "info";
}

Status MakeDirectories(const std::string& dir, mode_t mode) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("creating " + dir + ": " + ec.message());
  if (::chmod(dir.c_str(), mode) != 0) return Status::FromErrno(errno, "chmod " + dir);
  return Status::Ok();
}

}  // namespace

Result<LogLevel> ParseLogLevel(const std::string& text) {
  if (text == "error") return LogLevel::kError;
  if (text == "warn") return LogLevel::kWarn;
  if (text == "info") return LogLevel::kInfo;
  if (text == "debug" || text == "trace") return LogLevel::kDebug;
  return Status::InvalidArgument("log level '" + text + "': use error, warn, info or debug");
}

struct Daemon::Impl {
  DaemonOptions options;
  std::string token;
  int port = 0;

  std::mutex log_mu;
  std::FILE* log = nullptr;

  std::unique_ptr<StateDb> state;  // null with memory_only
  std::unique_ptr<service::Host> host;
  SessionTable sessions;
  DownloadTable downloads;
  std::unique_ptr<StatusService> status_service;
  std::unique_ptr<DriveService> drive_service;
  std::unique_ptr<PeersService> peers_service;
  std::unique_ptr<FuseService> fuse_service;
  std::unique_ptr<PeersocketsService> peersockets_service;
  std::unique_ptr<DebugService> debug_service;
  std::unique_ptr<HypercoreService> hypercore_service;
  std::unique_ptr<CommandService> command_service;
  std::unique_ptr<grpc::Server> server;
  // The root drive's FUSE mount (after `host`: it goes first).
  std::unique_ptr<fuse::Mount> mount;
  std::optional<crypto::PublicKey> root_drive;  // the mounted root drive's key
  // The HTTP gateway over the host's drives (after `host`: it goes first).
  std::unique_ptr<HostDriveSource> gateway_source;
  std::unique_ptr<gateway::DriveHandler> gateway_handler;
  std::unique_ptr<gateway::Server> gateway;
  std::string gateway_url;

  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stop = false;
  bool stopped = false;

  void Log(LogLevel level, const std::string& line) {
    if (static_cast<int>(level) > static_cast<int>(options.log_level)) return;
    char when[32];
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    const std::string text = std::string(when) + " " + LevelName(level) + " " + line;
    std::lock_guard<std::mutex> lock(log_mu);
    if (options.echo) options.echo(text);
    if (log == nullptr) return;
    std::fprintf(log, "%s\n", text.c_str());
    std::fflush(log);
    if (std::ftell(log) > static_cast<long>(kMaxLogBytes)) RotateLocked();
  }

  // The remembered network configurations and the mirrors of the state database, applied
  // again (a drive that cannot be opened is logged and skipped).
  void Restore() {
    auto configs = state->NetworkConfigurations();
    if (!configs.ok()) {
      Log(LogLevel::kError, "reading the network configurations: " + configs.status().ToString());
    } else {
      for (const auto& r : *configs) {
        const service::NetworkConfig c{.lookup = r.network.lookup,
                                       .announce = r.network.announce,
                                       .remember = r.network.remember};
        Status s = host->ConfigureNetwork(r.key, c);
        Log(s.ok() ? LogLevel::kInfo : LogLevel::kError,
            "drive " + ToHex(r.key) + ": lookup " + (c.lookup ? "on" : "off") + ", announce " +
                (c.announce ? "on" : "off") + (s.ok() ? "" : ": " + s.ToString()));
      }
    }
    auto mirrors = state->Mirrors();
    if (!mirrors.ok()) {
      Log(LogLevel::kError, "reading the mirrors: " + mirrors.status().ToString());
      return;
    }
    for (const auto& key : *mirrors) {
      auto d = host->Get(key);
      Status s = d.ok() ? host->SetMirrored(*d, true) : d.status();
      Log(s.ok() ? LogLevel::kInfo : LogLevel::kError,
          "drive " + ToHex(key) + ": mirrored" + (s.ok() ? "" : ": " + s.ToString()));
    }
  }

  // Mounts the root drive where --mountpoint says, or where the state database recorded it;
  // nowhere when neither says. The root drive's key is kept in the state database (as the
  // reference keeps it): a root without one gets a new drive.
  Status MountRoot() {
    std::optional<RootDriveRecord> record;
    if (state) {
      auto r = state->RootDrive();
      if (!r.ok()) return r.status().Annotate("reading the root drive's record");
      record = std::move(r).value();
    }
    std::string mountpoint = options.mountpoint.value_or(record ? record->mountpoint : "");
    if (mountpoint.empty()) return Status::Ok();
    std::error_code ec;
    mountpoint = std::filesystem::absolute(mountpoint, ec).lexically_normal().string();
    if (mountpoint.size() > 1 && mountpoint.back() == '/') mountpoint.pop_back();
    std::optional<crypto::PublicKey> key;
    if (record) key = record->key;
    auto drive = host->Get(key);
    if (!drive.ok()) return drive.status().Annotate("opening the root drive");
    if (state && (!record || record->mountpoint != mountpoint || record->key != (*drive)->key())) {
      RootDriveRecord r = record.value_or(RootDriveRecord{});
      r.mountpoint = mountpoint;
      r.key = (*drive)->key();
      RETURN_IF_ERROR(state->PutRootDrive(r));
      RETURN_IF_ERROR(state->PutDrive((*drive)->key()));
    }
    fuse::MountOptions mo;
    mo.mountpoint = mountpoint;
    mo.spool_dir = options.root.dir + "/fuse-spool";
    mo.statfs_dir = options.root.dir;
    mo.log = [this](const std::string& line) { Log(LogLevel::kInfo, line); };
    service::Host* h = host.get();
    mo.open_drive = [h](const crypto::PublicKey& k) { return h->Get(k); };
    mo.host = h;
    auto m = fuse::Mount::Start(*drive, mo);
    if (!m.ok()) return m.status().Annotate("mounting the root drive at " + mountpoint);
    mount = std::move(m).value();
    root_drive = (*drive)->key();
    Log(LogLevel::kInfo, "root drive " + ToHex((*drive)->key()) + " mounted at " + mountpoint);
    return Status::Ok();
  }

  // What the Drive service records in the state database (nothing with memory_only).
  // The HTTP gateway on the options' host and port, over the host's drives.
  Status StartGateway() {
    gateway_source = std::make_unique<HostDriveSource>(*host);
    gateway_handler =
        std::make_unique<gateway::DriveHandler>(*gateway_source, gateway::DriveHandlerOptions{});
    gateway::ServerOptions so;
    so.host = options.gateway_host;
    so.port = *options.gateway_port;
    auto& rt = runtime::Default();
    gateway::DriveHandler* handler = gateway_handler.get();
    auto server = gateway::Server::Start(
        rt.loop(), rt.sockets(),
        [handler](const gateway::HttpRequest& r) { return handler->Handle(r); }, so);
    if (!server.ok()) {
      return server.status().Annotate("starting the HTTP gateway on " + options.gateway_host + ":" +
                                      std::to_string(so.port));
    }
    gateway = std::move(server).value();
    const bool v6 = options.gateway_host.find(':') != std::string::npos;
    gateway_url = "http://" + (v6 ? "[" + options.gateway_host + "]" : options.gateway_host) + ":" +
                  std::to_string(gateway->port()) + "/";
    Log(LogLevel::kInfo, "HTTP gateway listening on " + gateway_url);
    return Status::Ok();
  }

  DriveStateHooks Hooks() {
    DriveStateHooks hooks;
    if (!state) return hooks;
    StateDb* db = state.get();
    hooks.opened = [db](const crypto::PublicKey& key) { return db->PutDrive(key); };
    hooks.configured = [db](const crypto::PublicKey& key, const service::NetworkConfig& c) {
      // As the reference: remembered when `remember` and the drive is on the network; a
      // remembered configuration that takes it off the network is forgotten.
      if (!c.remember) return Status::Ok();
      const crypto::Hash dk = crypto::DiscoveryKey(key);
      if (!c.lookup && !c.announce) return db->DeleteNetworkConfiguration(dk);
      SeedingRecord r;
      r.discovery_key = dk;
      r.key = key;
      r.network = NetworkConfiguration{c.lookup, c.announce, c.remember};
      return db->PutNetworkConfiguration(r);
    };
    hooks.mirrored = [db](const crypto::PublicKey& key, bool mirrored) {
      return mirrored ? db->PutMirror(key) : db->DeleteMirror(key);
    };
    return hooks;
  }

  // Records a drive's network configuration for the next start (the command line's `seed`),
  // or forgets it (nullopt); nothing with memory_only.
  Status RememberNetwork(const crypto::PublicKey& key,
                         const std::optional<service::NetworkConfig>& c) {
    if (!state) return Status::Ok();
    const crypto::Hash dk = crypto::DiscoveryKey(key);
    if (!c || (!c->lookup && !c->announce)) return state->DeleteNetworkConfiguration(dk);
    RETURN_IF_ERROR(state->PutDrive(key));
    SeedingRecord r;
    r.discovery_key = dk;
    r.key = key;
    r.network = NetworkConfiguration{c->lookup, c->announce, true};
    return state->PutNetworkConfiguration(r);
  }

  Status OpenLog() {
    std::lock_guard<std::mutex> lock(log_mu);
    log = std::fopen(options.root.log_path().c_str(), "a");
    if (log == nullptr) return Status::FromErrno(errno, "opening " + options.root.log_path());
    if (std::ftell(log) > static_cast<long>(kMaxLogBytes)) RotateLocked();
    return Status::Ok();
  }

  void RotateLocked() {
    const std::string path = options.root.log_path();
    std::fclose(log);
    (void)std::rename(path.c_str(), (path + ".1").c_str());
    log = std::fopen(path.c_str(), "a");
  }
};

Daemon::Daemon(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Daemon>> Daemon::Start(DaemonOptions options) {
  // Fewer malloc arenas than glibc's default (8 per core): each keeps its own free fragments,
  // and the daemon's threads are many (gRPC's, the executor's, FUSE's) but mostly idle.
  ::mallopt(M_ARENA_MAX, 4);
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  Impl& d = *impl;
  const Root& root = d.options.root;
  if (root.dir.empty()) return Status::InvalidArgument("the daemon needs a root directory");
  // The root holds the token and the keys: the owner's alone.
  RETURN_IF_ERROR(MakeDirectories(root.dir, 0700));
  RETURN_IF_ERROR(MakeDirectories(root.dir + "/storage", 0700));
  RETURN_IF_ERROR(d.OpenLog());
  trie::SetProcessNodeBudget(d.options.trie_node_budget);

  service::HostOptions ho;
  ho.store_dir = root.store_dir();
  ho.memory_only = d.options.memory_only;
  ho.holder = "hyperdrive daemon (pid " + std::to_string(::getpid()) + ")";
  ho.network = d.options.network;
  if (ho.network) {
    Impl* self = impl.get();
    ho.network->log = [self](const std::string& line) { self->Log(LogLevel::kInfo, line); };
  }
  ho.announce = d.options.announce;
  ho.fetch_timeout = d.options.read_timeout;
  {
    Impl* self = impl.get();
    ho.log = [self](const std::string& line) { self->Log(LogLevel::kInfo, line); };
  }
  if (!d.options.memory_only) {
    // A store the command line laid out before the root had this layout moves into place.
    ASSIGN_OR_RETURN(corestore::LegacyMove moved, corestore::MoveLegacyStore(root.dir));
    if (!moved.entries.empty()) {
      d.Log(LogLevel::kInfo, "moved the store laid out before (" +
                                 std::to_string(moved.entries.size()) + " entries) from " +
                                 moved.from + " to " + root.store_dir());
    }
    RETURN_IF_ERROR(MakeDirectories(root.store_dir(), 0700));
    // The state database is a lock too: a second daemon on the root stops here.
    auto state = StateDb::Open(root.db_dir());
    if (!state.ok()) return state.status().Annotate("opening the daemon's state " + root.db_dir());
    d.state = std::move(state).value();
  }
  auto host = service::Host::Open(ho);
  if (!host.ok()) return host.status();
  d.host = std::move(host).value();
  if (d.state) d.Restore();
  {
    Status mounted = d.MountRoot();
    if (!mounted.ok()) {
      // An explicit --mountpoint that cannot be used stops the start; a recorded one is logged.
      if (d.options.mountpoint) return mounted;
      d.Log(LogLevel::kError, mounted.ToString());
    }
  }

  if (d.options.gateway_port) RETURN_IF_ERROR(d.StartGateway());

  d.token = NewToken();
  d.status_service = std::make_unique<StatusService>(*d.host, d.token, d.mount != nullptr);
  d.drive_service =
      std::make_unique<DriveService>(*d.host, d.sessions, d.downloads, d.token, d.Hooks());
  d.peers_service = std::make_unique<PeersService>(*d.host, d.token);
  d.peersockets_service = std::make_unique<PeersocketsService>(*d.host, *d.peers_service, d.token);
  d.debug_service = std::make_unique<DebugService>(d.token);
  d.hypercore_service = std::make_unique<HypercoreService>(d.token);
  {
    Impl* self = impl.get();
    d.command_service = std::make_unique<CommandService>(
        *d.host, d.token, d.options.run_command,
        [self](const crypto::PublicKey& key, const std::optional<service::NetworkConfig>& c) {
          return self->RememberNetwork(key, c);
        });
  }
  {
    Impl* self = impl.get();
    d.fuse_service = std::make_unique<FuseService>(
        *d.host, d.token,
        [self](const crypto::PublicKey& key, const std::optional<service::NetworkConfig>& c) {
          return self->RememberNetwork(key, c);
        });
  }
  if (d.mount && d.root_drive) {
    d.command_service->SetRootMount(d.mount->mountpoint(), *d.root_drive);
    d.fuse_service->SetRootMount(d.mount->mountpoint(), *d.root_drive);
  }
  // A forwarded command writes to pipes whose reader (the client's stream) may go: that is an
  // EPIPE for the command, never a signal that ends the daemon.
  std::signal(SIGPIPE, SIG_IGN);

  grpc::ServerBuilder builder;
  // Loopback only: the token travels in clear text, and the API is for this machine's users.
  builder.AddListeningPort("127.0.0.1:" + std::to_string(d.options.port),
                           grpc::InsecureServerCredentials(), &d.port);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  // SO_REUSEPORT would let a second daemon bind the same port and steal half the calls.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // The command line's client pings every 10 s of silence to notice a daemon that stopped
  // answering (src/cli/forward.cc): pings that often, during a call or not, are welcome.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.RegisterService(d.status_service.get());
  builder.RegisterService(d.drive_service.get());
  builder.RegisterService(d.peers_service.get());
  builder.RegisterService(d.fuse_service.get());
  builder.RegisterService(d.peersockets_service.get());
  builder.RegisterService(d.debug_service.get());
  builder.RegisterService(d.hypercore_service.get());
  builder.RegisterService(d.command_service.get());
  d.server = builder.BuildAndStart();
  if (!d.server || d.port == 0) {
    return Status::Busy("cannot listen on 127.0.0.1:" + std::to_string(d.options.port) +
                        " (the port is taken: another daemon, or give --port)");
  }
  const std::string endpoint = "localhost:" + std::to_string(d.port);
  RETURN_IF_ERROR(WriteClientConfig(root, ClientConfig{endpoint, d.token, d.gateway_url}));
  {
    std::FILE* pid = std::fopen(root.pid_path().c_str(), "w");
    if (pid == nullptr) return Status::FromErrno(errno, "writing " + root.pid_path());
    std::fprintf(pid, "%d\n", static_cast<int>(::getpid()));
    std::fclose(pid);
  }
  d.Log(LogLevel::kInfo, "listening on 127.0.0.1:" + std::to_string(d.port) + " (gRPC); swarm " +
                             (d.host->swarm_port() ? "port " + std::to_string(d.host->swarm_port())
                                                   : std::string("off")) +
                             "; storage " + (d.options.memory_only ? "in memory" : root.dir));
  return std::unique_ptr<Daemon>(new Daemon(std::move(impl)));
}

Daemon::~Daemon() {
  Shutdown();
  Impl& d = *impl_;
  d.mount.reset();  // programs using the folder get their answers before the drive goes
  if (d.gateway) d.gateway->Stop();  // requests in flight end before the drives go
  d.gateway.reset();
  if (d.server) {
    d.server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    d.server->Wait();
  }
  d.Log(LogLevel::kInfo, "stopped");
  d.server.reset();
  d.drive_service.reset();
  d.peers_service.reset();
  d.status_service.reset();
  d.fuse_service.reset();
  d.peersockets_service.reset();
  d.debug_service.reset();
  d.hypercore_service.reset();
  d.command_service.reset();
  d.downloads.Clear();  // the downloads and the sessions hold the host's drives
  d.sessions.Clear();
  d.host.reset();
  d.state.reset();
  (void)::unlink(d.options.root.pid_path().c_str());
  std::lock_guard<std::mutex> lock(d.log_mu);
  if (d.log) std::fclose(d.log);
  d.log = nullptr;
}

void Daemon::Wait() {
  std::unique_lock<std::mutex> lock(impl_->stop_mu);
  // Once a minute, the allocator gives its free pages back to the kernel. A heap profile of the
  // soak (bench/daemon_soak.sh --heaptrack) found the heap itself bounded (a 25 MB peak, nothing
  // leaked) while the anonymous RSS kept growing past 50 MiB: freed memory scattered over
  // glibc's per-thread arenas (gRPC's threads, the executor's), which glibc keeps unless trimmed.
  while (!impl_->stop_cv.wait_for(lock, std::chrono::seconds(60), [&] { return impl_->stop; })) {
    lock.unlock();
    ::malloc_trim(0);
    lock.lock();
  }
}

void Daemon::Shutdown() {
  std::lock_guard<std::mutex> lock(impl_->stop_mu);
  impl_->stop = true;
  impl_->stop_cv.notify_all();
}

uint16_t Daemon::port() const { return static_cast<uint16_t>(impl_->port); }

std::string Daemon::endpoint() const { return "localhost:" + std::to_string(impl_->port); }

std::string Daemon::gateway_url() const { return impl_->gateway_url; }

void Daemon::Log(LogLevel level, const std::string& line) { impl_->Log(level, line); }

}  // namespace hyper::daemon
