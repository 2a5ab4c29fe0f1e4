// `hyperdrive start / status / stop`, and the daemon driven by the reference's own Node client
// (hyperdrive-daemon-client 1.16.0), which finds it through the root's config.json as it does
// for its users.
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "tests/cli/background.h"
#include "tests/cli/cli_runner.h"
#include "tests/support/net_namespace.h"

namespace hyper::cli {
namespace {

using json = nlohmann::json;

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class DaemonCli : public CliTest {
 protected:
  void TearDown() override {
    // Never leave a daemon behind, whatever the test did.
    for (const auto& root : started_) (void)RunCli(root, {"stop"});
  }
  // Starts a daemon on `root` (no network unless `extra` says) and checks it answers.
  void Start(const std::string& root, std::vector<std::string> extra = {"--offline"}) {
    std::vector<std::string> args = {"start", "--port", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    started_.push_back(root);
    const std::string out = ExpectSuccess(RunCli(root, args), args);
    EXPECT_NE(out.find("hyperdrive daemon started"), std::string::npos) << out;
  }
  json Node(const json& config) {
    auto out = hyper::testing::RunNode("daemon_client", {config.dump()});
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? *out : json::object();
  }
  // A DHT of one node on loopback, the daemons' bootstrap: its "host:port" ("" on failure).
  std::string StartDht() {
    dht_ = std::make_unique<Background>(
        std::vector<std::string>{HYPERDRIVE_BINARY, "dht-node", "--listen", "127.0.0.1:0"},
        tmp_.Sub("dht.out"), tmp_.Sub("dht.err"));
    if (!dht_->WaitFor("dht-node listening on 127.0.0.1:")) {
      ADD_FAILURE() << dht_->err();
      return "";
    }
    std::string boot = dht_->out();
    boot = boot.substr(boot.find("listening on ") + 13);
    return boot.substr(0, boot.find('\n'));
  }
  // Two daemons, on roots a and b, whose swarms meet through a local DHT; false (the failure
  // added) when the DHT did not start.
  bool StartTwoDaemons(std::string& a, std::string& b) {
    const std::string boot = StartDht();
    if (boot.empty()) return false;
    a = tmp_.Sub("a");
    b = tmp_.Sub("b");
    Start(a, {"--bootstrap", boot, "--swarm-port", "0"});
    Start(b, {"--bootstrap", boot, "--swarm-port", "0"});
    return true;
  }
  std::vector<std::string> started_;
  std::unique_ptr<Background> dht_;
};

TEST_F(DaemonCli, StartAnswersStatusRefusesASecondAndStops) {
  const std::string root = tmp_.Sub("root");
  Start(root);
  // The token is the owner's alone.
  struct stat st {};
  ASSERT_EQ(::stat((root + "/config.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(root.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  const json config = json::parse(ReadText(root + "/config.json"));
  EXPECT_EQ(config["token"].get<std::string>().size(), 64u);  // 32 random bytes
  EXPECT_EQ(config["endpoint"].get<std::string>().rfind("localhost:", 0), 0u);

  const std::string status = ExpectSuccess(RunCli(root, {"status"}), {"status"});
  EXPECT_NE(status.find("running: hyperdrive-cpp"), std::string::npos) << status;
  EXPECT_NE(status.find(config["endpoint"].get<std::string>()), std::string::npos) << status;

  auto again = RunCli(root, {"start", "--port", "0", "--offline"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.stderr_text.find("already runs"), std::string::npos) << again.stderr_text;

  const std::string stopped = ExpectSuccess(RunCli(root, {"stop"}), {"stop"});
  EXPECT_NE(stopped.find("stopped"), std::string::npos) << stopped;
  EXPECT_FALSE(std::filesystem::exists(root + "/daemon.pid"));
  auto after = RunCli(root, {"status"});
  EXPECT_EQ(after.exit_code, 1);
  EXPECT_NE(after.stderr_text.find("no daemon runs"), std::string::npos) << after.stderr_text;
}

TEST_F(DaemonCli, APortInUseIsSaidAndNothingIsLeftRunning) {
  const std::string first = tmp_.Sub("first");
  Start(first);
  const std::string endpoint = json::parse(ReadText(first + "/config.json"))["endpoint"];
  const std::string port = endpoint.substr(endpoint.find(':') + 1);
  const std::string second = tmp_.Sub("second");
  started_.push_back(second);
  auto busy = RunCli(second, {"start", "--port", port, "--offline"});
  EXPECT_EQ(busy.exit_code, 1);
  EXPECT_NE(busy.stderr_text.find("port is taken"), std::string::npos) << busy.stderr_text;
  EXPECT_FALSE(std::filesystem::exists(second + "/daemon.pid"));
  // The first one is unharmed.
  EXPECT_EQ(RunCli(first, {"status"}).exit_code, 0);
}

TEST_F(DaemonCli, TheNodeClientDrivesEveryDriveOperation) {
  const std::string root = tmp_.Sub("root");
  Start(root);
  const json out = Node({{"scenario", "tour"}, {"storage", root}});
  // The announcement's example.
  EXPECT_EQ(out["apiVersion"], 0);
  EXPECT_EQ(out["noiseKey"].get<std::string>().size(), 64u);
  EXPECT_EQ(out["writable"], true);
  EXPECT_EQ(out["foo"], "bar");
  // Streams, a 40 MB file, ranges.
  EXPECT_EQ(out["bigSize"], 40000000);
  EXPECT_EQ(out["bigSame"], true);
  EXPECT_EQ(out["bigReadFileSame"], true);
  EXPECT_EQ(out["rangeEndSame"], true);
  EXPECT_EQ(out["rangeLengthSame"], true);
  // Directories, symlinks, stats and metadata.
  EXPECT_EQ(out["names"], json::array({"big.bin", "dir", "foo.txt", "link"}));
  const json listing = out["listing"];
  ASSERT_EQ(listing.size(), 5u) << listing;
  EXPECT_EQ(listing[2], json({{"name", "dir/a.txt"}, {"dir", false}, {"file", true}, {"size", 3}}));
  EXPECT_EQ(listing[1]["dir"], true);
  EXPECT_EQ(out["statSize"], 3);
  EXPECT_EQ(out["statMetadata"], json({{"hello", "world"}}));
  EXPECT_EQ(out["updatedMetadata"], json({{"extra", "1"}}));
  EXPECT_EQ(out["linkname"], "/dir/a.txt");
  EXPECT_EQ(out["linkIsSymlink"], true);
  EXPECT_EQ(out["linkTarget"], "aaa");
  EXPECT_EQ(out["fileStats"]["/dir/a.txt"]["size"], 3);
  EXPECT_EQ(out["fileStats"]["/dir/a.txt"]["downloadedBlocks"], 1);
  EXPECT_EQ(out["missing"], 5);  // NOT_FOUND
  EXPECT_EQ(out["escape"], 3);   // INVALID_ARGUMENT: `..` above the root
  // Versions, checkouts, diff.
  EXPECT_EQ(out["versionsGrow"], true);
  EXPECT_EQ(out["oldFoo"], "bar");
  EXPECT_EQ(out["oldWritable"], false);
  EXPECT_EQ(out["oldLater"], 5);
  EXPECT_EQ(out["diff"], json::array({"put foo.txt", "put later.txt"}));
  // Watch: one call for one change, none for the watch's start.
  EXPECT_EQ(out["watchCalls"], 1);
  // Mounts.
  EXPECT_EQ(out["throughMount"], "mounted");
  EXPECT_EQ(out["mounts"], json::array({json{{"path", "/"}, {"key", out["key"]}},
                                        json{{"path", "/mnt"}, {"key", out["otherKey"]}}}));
  EXPECT_EQ(out["afterUnmount"], 5);
  EXPECT_EQ(out["afterRemove"], json::array({"big.bin", "foo.txt", "later.txt", "link"}));
  // The network configuration, stats, peers.
  EXPECT_EQ(out["networkConfig"], json({{"lookup", true}, {"announce", true}, {"remember", true}}));
  EXPECT_GT(out["statsMetadataBlocks"].get<int>(), 10);
  EXPECT_EQ(out["peers"], 0);
  EXPECT_EQ(out["peerCounts"], json::array({0}));
}

TEST_F(DaemonCli, AWrongTokenIsRefusedAsTheReferenceDoes) {
  const std::string root = tmp_.Sub("root");
  Start(root);
  const json out = Node({{"scenario", "badtoken"}, {"storage", root}});
  EXPECT_EQ(out["error"], 16);  // UNAUTHENTICATED
  EXPECT_EQ(out["details"], "Invalid auth token.");
}

TEST_F(DaemonCli, TwoDaemonsReplicateADriveFoundByItsKey) {
  std::string a, b;
  ASSERT_TRUE(StartTwoDaemons(a, b));
  const json written = Node({{"scenario", "write"},
                             {"storage", a},
                             {"files", {{"/hello.txt", "hello from a"}, {"/d/x.txt", "x"}}}});
  const std::string key = written["key"];
  ASSERT_EQ(key.size(), 64u) << written;
  const json read = Node({{"scenario", "read"},
                          {"storage", b},
                          {"key", key},
                          {"paths", json::array({"/hello.txt", "/d/x.txt"})}});
  EXPECT_EQ(read["files"]["/hello.txt"], "hello from a") << read;
  EXPECT_EQ(read["files"]["/d/x.txt"], "x") << read;
}

TEST_F(DaemonCli, ADaemonDownloadsAFolderOfADriveItReadsAndNothingElse) {
  std::string a, b;
  ASSERT_TRUE(StartTwoDaemons(a, b));
  const json written = Node({{"scenario", "write"},
                             {"storage", a},
                             {"files", {{"/d/small.txt", "small"}}},
                             {"sized", {{"/d/sub/big", 700000}, {"/other", 300000}}}});
  const std::string key = written["key"];
  ASSERT_EQ(key.size(), 64u) << written;
  const json out = Node({{"scenario", "download"},
                         {"storage", b},
                         {"key", key},
                         {"path", "/d"},
                         {"other", "/other"}});
  ASSERT_TRUE(out.contains("after")) << out;
  // Nothing of the content was here before; once the folder is done, its files are all here and
  // the file outside it (written right after them) is not.
  for (const char* path : {"/d/small.txt", "/d/sub/big", "/other"}) {
    EXPECT_EQ(out["before"][path]["downloadedBlocks"], 0) << path << " " << out;
  }
  const json& done = out["done"];
  EXPECT_GT(done["/d/sub/big"]["blocks"].get<int>(), 1) << out;
  EXPECT_EQ(done["/d/sub/big"]["downloadedBlocks"], done["/d/sub/big"]["blocks"]) << out;
  EXPECT_EQ(done["/d/small.txt"]["downloadedBlocks"], 1) << out;
  EXPECT_GT(done["/other"]["blocks"].get<int>(), 0) << out;
  EXPECT_EQ(done["/other"]["downloadedBlocks"], 0) << out;
  // The folder's blocks stay after its download is cancelled.
  EXPECT_EQ(out["after"]["/d/sub/big"]["downloadedBlocks"], done["/d/sub/big"]["blocks"]) << out;
}

// `curl -s` of `url` with extra arguments: its stdout, or "curl failed: ..." .
std::string Curl(const std::string& url, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {"curl", "-s", "--max-time", "30"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url);
  auto run = hyper::testing::RunProcess(argv);
  if (!run.ok()) return "curl failed: " + run.status().ToString();
  if (run->exit_code != 0) return "curl failed: exit " + std::to_string(run->exit_code);
  return run->stdout_text;
}

TEST_F(DaemonCli, ItsGatewayServesItsDrivesAndDrivesFoundByKey) {
  const std::string boot = StartDht();
  ASSERT_FALSE(boot.empty());
  const std::string a = tmp_.Sub("a");
  const std::string b = tmp_.Sub("b");
  std::string gateway[2];
  int i = 0;
  for (const std::string& root : {a, b}) {
    started_.push_back(root);
    const std::string out = ExpectSuccess(RunCli(root, {"start", "--port", "0", "--bootstrap", boot,
                                                        "--swarm-port", "0", "--gateway", "0"}),
                                          {"start --gateway 0"});
    const size_t at = out.find("HTTP gateway on http://127.0.0.1:");
    ASSERT_NE(at, std::string::npos) << out;
    gateway[i] = out.substr(at + 16, out.find('\n', at) - at - 16);
    // status says where it is too.
    const std::string status = ExpectSuccess(RunCli(root, {"status"}), {"status"});
    EXPECT_NE(status.find("gateway: " + gateway[i]), std::string::npos) << status;
    i++;
  }
  const json written = Node({{"scenario", "write"},
                             {"storage", a},
                             {"files", {{"/hello.txt", "hello from a"}}},
                             {"sized", {{"/big", 700000}}}});
  const std::string key = written["key"];
  ASSERT_EQ(key.size(), 64u) << written;
  // a serves its own drive; b finds it on the DHT by its key and fetches what is asked.
  EXPECT_EQ(Curl(gateway[0] + key + "/hello.txt"), "hello from a");
  EXPECT_EQ(Curl(gateway[1] + key + "/hello.txt"), "hello from a");
  const std::string whole = Curl(gateway[0] + key + "/big");
  ASSERT_EQ(whole.size(), 700000u);
  const std::string range = Curl(gateway[1] + key + "/big", {"-r", "300000-400009"});
  EXPECT_TRUE(range == whole.substr(300000, 100010))
      << range.size() << " bytes: " << range.substr(0, 100);
  EXPECT_EQ(Curl(gateway[1] + key + "/nothing", {"-o", "/dev/null", "-w", "%{http_code}"}), "404");
  // b fetched the blocks it served (hello.txt's, the range's), not the whole of /big.
  const std::string stats = ExpectSuccess(RunCli(b, {"stats", "hyper://" + key}), {"stats"});
  std::smatch m;
  ASSERT_TRUE(std::regex_search(stats, m, std::regex("content:  ([0-9]+)/([0-9]+) blocks")))
      << stats;
  const int held = std::stoi(m[1]);
  const int total = std::stoi(m[2]);
  EXPECT_GT(held, 0) << stats;
  EXPECT_LT(held, total) << stats;
}

// `hyperdrive serve` reading a drive through peers serves its live version as the peer's
// grows: a file the Node client writes on the daemon that has the drive appears at the gateway.
TEST_F(DaemonCli, AServeGatewayFollowsTheLiveDriveItReadsThroughPeers) {
  const std::string boot = StartDht();
  ASSERT_FALSE(boot.empty());
  const std::string a = tmp_.Sub("a");
  Start(a, {"--bootstrap", boot, "--swarm-port", "0"});
  const json written =
      Node({{"scenario", "write"}, {"storage", a}, {"files", {{"/one.txt", "one"}}}});
  const std::string key = written["key"];
  ASSERT_EQ(key.size(), 64u) << written;
  Background gw({HYPERDRIVE_BINARY, "--storage", tmp_.Sub("gw"), "serve", "--listen", "127.0.0.1:0",
                 "--bootstrap", boot},
                tmp_.Sub("gw.out"), tmp_.Sub("gw.err"));
  ASSERT_TRUE(gw.WaitFor("gateway listening on http://")) << gw.err();
  std::string base = gw.out();
  base = base.substr(base.find("http://"));
  base = base.substr(0, base.find('\n'));
  EXPECT_EQ(Curl(base + key + "/one.txt"), "one");
  EXPECT_EQ(Curl(base + key + "/two.txt", {"-o", "/dev/null", "-w", "%{http_code}"}), "404");
  Node({{"scenario", "write"}, {"storage", a}, {"key", key}, {"files", {{"/two.txt", "two"}}}});
  // The gateway asks the peer for its latest version at most once a second: a client retries.
  std::string two;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((two = Curl(base + key + "/two.txt", {"-f"})) != "two" &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(two, "two");
  EXPECT_EQ(Curl(base + key + "/one.txt"), "one");
}

TEST_F(DaemonCli, TwoDaemonsExchangePeersocketsMessagesOnATopic) {
  std::string a, b;
  ASSERT_TRUE(StartTwoDaemons(a, b));
  // The daemons meet through a drive that b reads from a (peersockets ride on the connection).
  const json written =
      Node({{"scenario", "write"}, {"storage", a}, {"files", {{"/hello.txt", "hi"}}}});
  const std::string key = written["key"];
  ASSERT_EQ(key.size(), 64u) << written;
  const json read = Node(
      {{"scenario", "read"}, {"storage", b}, {"key", key}, {"paths", json::array({"/hello.txt"})}});
  ASSERT_EQ(read["files"]["/hello.txt"], "hi") << read;
  const json out =
      Node({{"scenario", "peersockets"}, {"storage", a}, {"other", b}, {"topic", "chat"}});
  ASSERT_TRUE(out.contains("got")) << out;
  // b heard a (under a's alias at b) and a heard b's answer (under b's alias at a), once.
  ASSERT_GE(out["got"]["b"].size(), 1u) << out;
  EXPECT_EQ(out["got"]["b"][0]["msg"].get<std::string>().rfind("hello from a ", 0), 0u) << out;
  EXPECT_EQ(out["got"]["b"][0]["alias"], out["aliasOfA"]) << out;
  ASSERT_EQ(out["got"]["a"].size(), 1u) << out;
  EXPECT_EQ(out["got"]["a"][0]["msg"], "hello from b") << out;
  EXPECT_EQ(out["got"]["a"][0]["alias"], out["aliasOfB"]) << out;
}

TEST_F(DaemonCli, TheReferencePeersocketsModuleTalksToOurDaemon) {
  const std::string boot = StartDht();
  ASSERT_FALSE(boot.empty());
  const std::string root = tmp_.Sub("root");
  Start(root, {"--bootstrap", boot, "--swarm-port", "0"});
  // The swarm's port, from the line the daemon logs once it listens.
  const std::string log = ReadText(root + "/daemon.log");
  const size_t at = log.find("; swarm port ");
  ASSERT_NE(at, std::string::npos) << log;
  const int port = std::atoi(log.c_str() + at + 13);
  ASSERT_GT(port, 0) << log;
  // Node's peersockets 0.3.4 on a hypercore-protocol 8 stream to our swarm port, and our
  // daemon's client on the same topic, answering.
  auto out = hyper::testing::RunNode(
      "peersockets_node", {json({{"storage", root}, {"port", port}, {"topic", "ping"}}).dump()});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const json& o = *out;
  ASSERT_GE(o["daemon"].size(), 1u) << o;
  EXPECT_EQ(o["daemon"][0]["msg"].get<std::string>().rfind("hello from node ", 0), 0u) << o;
  EXPECT_EQ(o["daemon"][0]["alias"], o["aliasOfNode"]) << o;
  ASSERT_GE(o["node"].size(), 1u) << o;
  EXPECT_EQ(o["node"][0]["from"], o["daemonKey"]) << o;
  EXPECT_EQ(o["node"][0]["msg"], "pong: " + o["daemon"][0]["msg"].get<std::string>()) << o;
}

TEST_F(DaemonCli, StatsComeFromTheRunningDaemon) {
  const std::string root = tmp_.Sub("root");
  const auto none = RunCli(root, {"stats"});
  EXPECT_NE(none.exit_code, 0);
  EXPECT_NE(none.stderr_text.find("no daemon runs on"), std::string::npos) << none.stderr_text;
  Start(root);
  EXPECT_NE(ExpectSuccess(RunCli(root, {"stats"}), {"stats"}).find("no drive is open"),
            std::string::npos);
  const json written =
      Node({{"scenario", "write"}, {"storage", root}, {"sized", {{"/big", 700000}}}});
  const std::string key = written["key"];
  ASSERT_EQ(key.size(), 64u) << written;
  // The drive (written here: every block held) with its two cores; the metadata holds the
  // header and the file's Stat, the content the file's two blocks.
  const std::string one =
      ExpectSuccess(RunCli(root, {"stats", "hyper://" + key}), {"stats", "hyper://" + key});
  EXPECT_EQ(one.rfind("hyper://" + key + "\n  /\n    metadata: 2/2 blocks of ", 0), 0u) << one;
  // (ExpectSuccess drops the output's last newline.)
  EXPECT_NE(one.find("\n    content:  2/2 blocks of 683.6 KiB, 0 peers, up 0 B, down 0 B"),
            std::string::npos)
      << one;
  // Every open drive: it is open (configured to be announced), so it is listed.
  const std::string all = ExpectSuccess(RunCli(root, {"stats"}), {"stats"});
  EXPECT_NE(all.find("hyper://" + key + "\n"), std::string::npos) << all;
  const auto bad = RunCli(root, {"stats", "hyper://nothex"});
  EXPECT_NE(bad.exit_code, 0);
}

TEST_F(DaemonCli, RememberedNetworkConfigurationsSurviveARestart) {
  const std::string root = tmp_.Sub("root");
  Start(root);
  const json written =
      Node({{"scenario", "write"}, {"storage", root}, {"files", {{"/a.txt", "a"}}}});
  const std::string key = written["key"];
  ExpectSuccess(RunCli(root, {"stop"}), {"stop"});
  Start(root);
  const json out = Node({{"scenario", "configs"}, {"storage", root}});
  EXPECT_EQ(out["configs"][key], json({{"lookup", true}, {"announce", true}, {"remember", true}}))
      << out;
  const json read = Node(
      {{"scenario", "read"}, {"storage", root}, {"key", key}, {"paths", json::array({"/a.txt"})}});
  EXPECT_EQ(read["files"]["/a.txt"], "a");
}

TEST_F(DaemonCli, ItTakesOverARootTheNodeDaemonWrote) {
  // The Node daemon binds every interface: it runs in a network namespace of the test's own
  // (only loopback), as everything this test starts after this line.
  ASSERT_TRUE(hyper::testing::EnterPrivateNetworkNamespace().ok());
  const std::string root = tmp_.Sub("noderoot");
  auto node = hyper::testing::RunNode("daemon_state", {"write", root, "3141"});
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  const std::string a = (*node)["drives"]["A"]["key"];
  const std::string b = (*node)["drives"]["B"]["key"];
  Start(root);
  // Its remembered configurations are ours now, and its drives read the same.
  const json out = Node({{"scenario", "configs"}, {"storage", root}});
  EXPECT_EQ(out["configs"][a], json({{"lookup", true}, {"announce", true}, {"remember", true}}))
      << out;
  EXPECT_EQ(out["configs"][b], json({{"lookup", true}, {"announce", false}, {"remember", true}}))
      << out;
  const json read = Node(
      {{"scenario", "read"}, {"storage", root}, {"key", a}, {"paths", json::array({"/foo.txt"})}});
  EXPECT_EQ(read["files"]["/foo.txt"], "bar") << read;
}

TEST_F(DaemonCli, TheApiIsReachableOnLoopbackOnly) {
  // In a network namespace of the test's own, where the machine has a second address: the
  // daemon answers on 127.0.0.1 and refuses connections to the other address.
  const std::string root = tmp_.Sub("root");
  const std::string script =
      std::string("set -e; ip link set lo up; ip addr add 10.211.0.1/32 dev lo; ") +
      HYPERDRIVE_BINARY + " --storage " + root +
      " start --port 0 --offline >/dev/null; "
      "port=$(sed 's/.*localhost:\\([0-9]*\\).*/\\1/' " +
      root +
      "/config.json); "
      "if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then echo "
      "loopback-open; fi; "
      "if (exec 3<>/dev/tcp/10.211.0.1/$port) 2>/dev/null; then echo "
      "other-open; else echo other-refused; fi; " +
      HYPERDRIVE_BINARY + " --storage " + root + " stop >/dev/null";
  auto run = hyper::testing::RunProcess({"unshare", "-n", "bash", "-c", script});
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->exit_code, 0) << run->stderr_text;
  EXPECT_EQ(run->stdout_text, "loopback-open\nother-refused\n") << run->stderr_text;
}

}  // namespace
}  // namespace hyper::cli
