#include "hyper/swarm/bootstrap.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdlib>

#include "hyper/swarm/compact_address.h"

namespace hyper::swarm {
namespace {

// HOST:PORT with HOST an IPv4 address or a name resolved to its first IPv4 address.
Result<runtime::UdpEndpoint> Resolve(const std::string& one) {
  const size_t colon = one.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::InvalidArgument("expected HOST:PORT, got '" + one + "'");
  }
  auto literal = ParseHostPort(one);
  if (literal.ok()) {
    if (literal->port == 0) return Status::InvalidArgument("port 0 in '" + one + "'");
    return literal;
  }
  const std::string host = one.substr(0, colon);
  const std::string port = one.substr(colon + 1);
  auto numeric = ParseHostPort("0.0.0.0:" + port);  // checks the port alone
  if (!numeric.ok() || numeric->port == 0) {
    return Status::InvalidArgument("bad port in '" + one + "'");
  }
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (rc != 0 || found == nullptr) {
    return Status::NotFound("cannot resolve '" + host + "': " + gai_strerror(rc));
  }
  char text[INET_ADDRSTRLEN] = {};
  const auto* in = reinterpret_cast<const sockaddr_in*>(found->ai_addr);
  inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
  freeaddrinfo(found);
  return runtime::UdpEndpoint{text, numeric->port};
}

}  // namespace

bool BootstrapList::loopback_only() const {
  if (nodes.empty()) return false;
  for (const auto& n : nodes) {
    if (n.host.rfind("127.", 0) != 0) return false;
  }
  return true;
}

Result<BootstrapList> ParseBootstrapList(std::string_view list, bool skip_unresolved) {
  BootstrapList out;
  size_t start = 0;
  while (start < list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    std::string one(list.substr(start, comma - start));
    while (!one.empty() && one.back() == ' ') one.pop_back();
    while (!one.empty() && one.front() == ' ') one.erase(one.begin());
    start = comma + 1;
    if (one.empty()) continue;
    auto ep = Resolve(one);
    if (!ep.ok()) {
      if (skip_unresolved && ep.status().code() == Code::kNotFound) {
        out.unresolved.push_back(one);
        continue;
      }
      return ep.status();
    }
    out.nodes.push_back(*ep);
  }
  return out;
}

Result<BootstrapList> ChooseBootstrap(const std::optional<std::string>& flag) {
  if (flag) return ParseBootstrapList(*flag);
  if (const char* env = std::getenv(kBootstrapEnvironment); env != nullptr) {
    auto r = ParseBootstrapList(env);
    if (!r.ok()) return r.status().Annotate(kBootstrapEnvironment);
    return r;
  }
  ASSIGN_OR_RETURN(BootstrapList out, ParseBootstrapList(kDefaultBootstrap, true));
  out.is_default = true;
  return out;
}

}  // namespace hyper::swarm
