// `hyperdrive dht-node`: a persistent DHT node that Node @hyperswarm/dht nodes bootstrap from
// and announce through (on loopback; the Node nodes bind 127.0.0.2).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/cli/background.h"
#include "tests/cli/cli_runner.h"

namespace hyper::cli {
namespace {

using nlohmann::json;

class DhtCli : public CliTest {};

TEST_F(DhtCli, ADhtNodeBootstrapsTwoNodeNodesThatFindEachOther) {
  Background node({HYPERDRIVE_BINARY, "dht-node", "--listen", "127.0.0.1:0"}, tmp_.Sub("node.out"),
                  tmp_.Sub("node.err"));
  ASSERT_TRUE(node.WaitFor("dht-node listening on 127.0.0.1:")) << node.err();
  std::string out = node.out();
  const size_t at = out.find("listening on ") + 13;
  const std::string address = out.substr(at, out.find('\n', at) - at);
  ASSERT_NE(address, "127.0.0.1:0");
  EXPECT_NE(out.find("\nid "), std::string::npos);

  auto run = hyper::testing::RunNode(
      "dht_peer",
      {json{{"mode", "two-nodes"}, {"bootstrap", address}, {"topic", std::string(64, 'e')}}
           .dump()});
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ((*run)["found"], json::array({(*run)["announcer"]}));

  EXPECT_EQ(node.Stop(SIGTERM), 0) << node.err();
  EXPECT_NE(node.out().find("1 announces stored"), std::string::npos) << node.out();
}

TEST_F(DhtCli, BadAddressesAreClearErrorsAndHelpSaysWhatItDoes) {
  auto bad = Run({"dht-node", "--listen", "localhost:1"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.stderr_text.find("--listen"), std::string::npos) << bad.stderr_text;
  auto bad_boot = Run({"dht-node", "--listen", "127.0.0.1:0", "--bootstrap", "127.0.0.1:x"});
  EXPECT_EQ(bad_boot.exit_code, 1);
  EXPECT_NE(bad_boot.stderr_text.find("--bootstrap"), std::string::npos) << bad_boot.stderr_text;
  // A taken port.
  Background first({HYPERDRIVE_BINARY, "dht-node", "--listen", "127.0.0.1:0"},
                   tmp_.Sub("first.out"), tmp_.Sub("first.err"));
  ASSERT_TRUE(first.WaitFor("listening on "));
  std::string out = first.out();
  const size_t at = out.find("listening on ") + 13;
  auto taken = Run({"dht-node", "--listen", out.substr(at, out.find('\n', at) - at)});
  EXPECT_EQ(taken.exit_code, 1);
  EXPECT_NE(taken.stderr_text.find("binding UDP"), std::string::npos) << taken.stderr_text;
  auto help = Run({"dht-node", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.stdout_text.find("persistent DHT node"), std::string::npos);
  EXPECT_NE(help.stdout_text.find("--bootstrap"), std::string::npos);
}

}  // namespace
}  // namespace hyper::cli
