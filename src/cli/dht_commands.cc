#include "dht_commands.h"

#include <signal.h>

#include <cstdio>
#include <iostream>

#include "hyper/runtime/runtime.h"
#include "hyper/swarm/bootstrap.h"
#include "hyper/swarm/udp_dht.h"

namespace hyper::cli {
namespace {

Status RunDhtNode(const DhtArgs& args) {
  auto listen = swarm::ParseHostPort(args.listen);
  if (!listen.ok()) return listen.status().Annotate("--listen");
  // Never the default list: with none, this is the first node of its network.
  auto bootstrap = swarm::ParseBootstrapList(args.bootstrap);
  if (!bootstrap.ok()) return bootstrap.status().Annotate("--bootstrap");

  // SIGINT and SIGTERM are taken by sigwait below, in this thread; the runtime's threads,
  // started after this, inherit the mask.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  runtime::Runtime& rt = runtime::Default();
  swarm::UdpDhtOptions options;
  options.host = listen->host;
  options.port = listen->port;
  options.node.ephemeral = false;
  options.node.bootstrap = bootstrap->nodes;
  auto dht = rt.loop().Call([&]() -> Result<std::unique_ptr<swarm::UdpDht>> {
    auto d = swarm::UdpDht::Open(rt.udp(), rt.clock(), options);
    if (!d.ok()) return d.status();
    (*d)->node().Bootstrap([](const Status& s) {
      if (!s.ok()) {
        std::fprintf(stderr, "hyperdrive: dht-node: bootstrap: %s (serving anyway)\n",
                     s.ToString().c_str());
      }
    });
    return d;
  });
  if (!dht.ok()) return dht.status();
  const auto [local, id] =
      rt.loop().Call([&] { return std::make_pair((*dht)->local(), (*dht)->node().id()); });
  std::cout << "dht-node listening on " << local.ToString() << "\n"
            << "id " << ToHex(id) << "\n"
            << std::flush;

  int sig = 0;
  sigwait(&stop, &sig);

  const auto [nodes, records, in, answered] = rt.loop().Call([&] {
    auto& node = (*dht)->node();
    auto r = std::make_tuple(node.table().size(), (*dht)->store().size(),
                             node.counters().datagrams_in, node.counters().requests_answered);
    dht->reset();
    return r;
  });
  std::cout << "stopped: " << in << " datagrams received, " << answered << " answered, " << nodes
            << " nodes known, " << records << " announces stored\n";
  return Status::Ok();
}

}  // namespace

void AddDhtCommands(CLI::App& app, DhtArgs& args, Action* action) {
  CLI::App* cmd = app.add_subcommand(
      "dht-node",
      "Run a persistent DHT node (compatible with @hyperswarm/dht 4) until stopped (Ctrl-C or "
      "SIGTERM): it answers other nodes, stores their announces for 8-16 minutes, and serves "
      "as the bootstrap node of a network of your own. Prints 'dht-node listening on "
      "HOST:PORT' and its id; on stop, what it did");
  cmd->add_option("--listen", args.listen,
                  "The UDP address to listen on, IPv4 HOST:PORT (port 0: any free port)")
      ->capture_default_str();
  cmd->add_option("--bootstrap", args.bootstrap,
                  "Other DHT nodes to join, HOST:PORT[,HOST:PORT...] (IPv4); none by default: "
                  "this node is the first of its network");
  cmd->callback([&args, action] { *action = [&args] { return RunDhtNode(args); }; });
}

}  // namespace hyper::cli
