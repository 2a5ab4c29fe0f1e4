#include "gateway_commands.h"

#include <cstdio>
#include <iostream>

#include "gateway_source.h"
#include "hyper/gateway/server.h"
#include "hyper/runtime/runtime.h"
#include "net_commands.h"
#include "number_options.h"
#include "session.h"
#include "stop_signal.h"

namespace hyper::cli {

namespace {

Status Serve(const std::string& storage, const GatewayArgs& a) {
  ASSIGN_OR_RETURN(PeerAddress listen, ParsePeerAddress(a.listen, /*allow_zero=*/true));
  std::optional<HyperUrl> url;
  if (!a.url.empty()) {
    ASSIGN_OR_RETURN(url, ParseHyperUrl(a.url));
    if (url->path != "/" || url->version) {
      return Status::InvalidArgument("serve takes a drive's URL without a path or version");
    }
  }
  if (!a.peer.empty()) RETURN_IF_ERROR(ParsePeerAddress(a.peer).status());
  const bool discover = !a.peer.empty() || DiscoveryConfigured(a.discovery);
  if (a.peer.empty() && discover) {
    RETURN_IF_ERROR(SwarmOptionsFor(a.discovery, /*listen=*/false).status());
  }
  const std::string root = ResolveStorageRoot(storage);
  // What is fetched from peers is stored: as a writer beside readers. Beside another writer (a
  // seed of this store), the gateway reads what the store holds, and fetches nothing.
  bool fetch = discover;
  auto opened = Session::Open(root, fetch ? Access::kWriteBesideReaders : Access::kRead);
  if (!opened.ok() && opened.status().code() == Code::kBusy) {
    std::cerr << "hyperdrive: another process writes to the store (" << opened.status().message()
              << "): serving what it holds, fetching nothing from peers\n";
    fetch = false;
    opened = Session::Open(root, Access::kRead);
  }
  ASSIGN_OR_RETURN(auto session, std::move(opened));
  {
    GatewaySourceOptions so;
    so.peer = a.peer;
    so.discovery = a.discovery;
    so.timeout = std::chrono::milliseconds(static_cast<int64_t>(a.timeout * 1000));
    so.fetch = fetch;
    GatewaySource source(*session, so);
    gateway::DriveHandlerOptions ho;
    if (url) {
      ho.default_key = url->key;
      ho.any_key = false;
      // Said now rather than at the first request: the drive is reachable.
      RETURN_IF_ERROR(source.Open(url->key).status());
    }
    gateway::DriveHandler handler(source, ho);
    gateway::ServerOptions o;
    o.host = listen.host;
    o.port = listen.port;
    o.max_connections = a.max_connections;
    auto& rt = runtime::Default();
    StopSignal stop;
    ASSIGN_OR_RETURN(
        auto server,
        gateway::Server::Start(
            rt.loop(), rt.sockets(),
            [&handler](const gateway::HttpRequest& r) { return handler.Handle(r); }, o));
    PeerAddress bound{listen.host, server->port()};
    std::printf("gateway listening on http://%s/\n", bound.ToString().c_str());
    if (url) {
      std::printf("serving %s at http://%s/%s/\n", FormatUrl(url->key).c_str(),
                  bound.ToString().c_str(), ToHex(url->key).c_str());
    }
    std::fflush(stdout);
    std::mutex mu;
    std::condition_variable cv;
    bool stopped = false;
    stop.OnStop([&] {
      std::lock_guard lock(mu);
      stopped = true;
      cv.notify_all();
    });
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return stopped; });
    }
    server->Stop();
  }
  return session->Close();
}

}  // namespace

void AddGatewayCommands(CLI::App& app, const std::string& storage, GatewayArgs& a, Action* action) {
  auto serve = app.add_subcommand(
      "serve",
      "Run an HTTP gateway: GET and HEAD of /<key>[+version|+tag]/path (and /hyper/<key>/...) "
      "answer files (with Range, ETag, If-None-Match), directories (index.html, else a listing: "
      "HTML, or JSON with Accept: application/json); a drive the store does not hold whole is "
      "read through peers, fetching only the blocks a request reads (docs/gateway.md). Runs until "
      "SIGINT or SIGTERM");
  serve->add_option("url", a.url,
                    "Serve only this drive (hyper://<key>); / redirects to it. Default: any drive "
                    "asked for by key");
  serve
      ->add_option("--listen", a.listen,
                   "HOST:PORT to listen on (default 127.0.0.1:8080, this machine only; port 0: "
                   "any free port, printed)")
      ->check(PeerAddressValidator(/*allow_zero=*/true));
  serve
      ->add_option("--peer", a.peer,
                   "Read drives the store does not hold whole from this peer (HOST:PORT) instead "
                   "of the peers the DHT finds by key")
      ->check(PeerAddressValidator());
  AddSecondsOption(serve, "--timeout", a.timeout,
                   "Seconds to find a peer, and that a peer may stay silent, before a request "
                   "is answered 504 (default 10)");
  AddNumberOption(serve, "--max-connections", a.max_connections,
                  "Connections open at once; more are closed at once (default 1024)", 1, 65536);
  AddDiscoveryOptions(serve, a.discovery);
  serve->callback(
      [&storage, &a, action] { *action = [&storage, &a] { return Serve(storage, a); }; });
}

}  // namespace hyper::cli
