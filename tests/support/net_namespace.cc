#include "tests/support/net_namespace.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace hyper::testing {
namespace {

sockaddr_in Ipv4(const char* text) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, text, &a.sin_addr);
  return a;
}

Status EnableLoopback(int fd) {
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) return Status::FromErrno(errno, "reading lo's flags");
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_MULTICAST);
  if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) {
    return Status::FromErrno(errno, "bringing lo up with multicast");
  }
  rtentry route{};
  const sockaddr_in dst = Ipv4("224.0.0.0");
  const sockaddr_in mask = Ipv4("240.0.0.0");
  std::memcpy(&route.rt_dst, &dst, sizeof dst);
  std::memcpy(&route.rt_genmask, &mask, sizeof mask);
  char dev[] = "lo";
  route.rt_dev = dev;
  route.rt_flags = RTF_UP;
  if (ioctl(fd, SIOCADDRT, &route) != 0) {
    return Status::FromErrno(errno, "routing 224.0.0.0/4 to lo");
  }
  return Status::Ok();
}

}  // namespace

Status EnterPrivateNetworkNamespace() {
  if (unshare(CLONE_NEWNET) != 0) {
    return Status::FromErrno(errno, "unshare(CLONE_NEWNET) (the multicast tests need root)");
  }
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::FromErrno(errno, "socket");
  Status s = EnableLoopback(fd);
  close(fd);
  if (!s.ok()) return s;
  struct if_nameindex* interfaces = if_nameindex();
  if (interfaces == nullptr) return Status::FromErrno(errno, "listing the interfaces");
  std::string names;
  for (const struct if_nameindex* i = interfaces; i->if_index != 0; ++i) {
    names += std::string(names.empty() ? "" : " ") + i->if_name;
  }
  if_freenameindex(interfaces);
  if (names != "lo") {
    return Status::Internal("the new network namespace has interfaces other than lo: " + names);
  }
  return Status::Ok();
}

}  // namespace hyper::testing
