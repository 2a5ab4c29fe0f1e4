#include "hyper/swarm/bootstrap.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace hyper::swarm {
namespace {

TEST(Bootstrap, ParsesAListSkippingEmptyEntries) {
  auto l = ParseBootstrapList(" 127.0.0.1:49737,,10.0.0.5:1 ").value();
  ASSERT_EQ(l.nodes.size(), 2u);
  EXPECT_EQ(l.nodes[0], (runtime::UdpEndpoint{"127.0.0.1", 49737}));
  EXPECT_EQ(l.nodes[1], (runtime::UdpEndpoint{"10.0.0.5", 1}));
  EXPECT_FALSE(l.loopback_only());
  EXPECT_TRUE(ParseBootstrapList("127.0.0.2:5").value().loopback_only());
  EXPECT_TRUE(ParseBootstrapList("").value().nodes.empty());
}

TEST(Bootstrap, BadEntriesAreErrors) {
  for (const char* bad : {"127.0.0.1", "127.0.0.1:x", "127.0.0.1:0", "127.0.0.1:70000", ":80"}) {
    EXPECT_FALSE(ParseBootstrapList(bad).ok()) << bad;
  }
  // A name that cannot resolve is an error when given, skipped in the default list.
  EXPECT_FALSE(ParseBootstrapList("no-such-host.invalid:1").ok());
  auto skipped = ParseBootstrapList("no-such-host.invalid:1,127.0.0.1:2", true).value();
  EXPECT_EQ(skipped.nodes.size(), 1u);
  EXPECT_EQ(skipped.unresolved, std::vector<std::string>{"no-such-host.invalid:1"});
}

TEST(Bootstrap, TheFlagWinsOverTheEnvironmentWhichWinsOverTheDefault) {
  setenv(kBootstrapEnvironment, "127.0.0.3:7", 1);
  EXPECT_EQ(ChooseBootstrap(std::string("127.0.0.4:8")).value().nodes.front().host, "127.0.0.4");
  EXPECT_EQ(ChooseBootstrap(std::nullopt).value().nodes.front().host, "127.0.0.3");
  setenv(kBootstrapEnvironment, "", 1);
  EXPECT_TRUE(ChooseBootstrap(std::nullopt).value().nodes.empty());  // no DHT
  unsetenv(kBootstrapEnvironment);
  EXPECT_TRUE(ChooseBootstrap(std::nullopt).value().is_default);
}

}  // namespace
}  // namespace hyper::swarm
