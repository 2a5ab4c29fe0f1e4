// The command line through the daemon (issue 16, docs/daemon.md): while a daemon runs on the
// root, the drive commands run in it and print what they print without one; writes from a
// forwarded command and from a gRPC client meet in the same drive; Ctrl-C and a daemon that
// dies end a forwarded command with the same signal or a clear error, never a wait.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "hyper/client/client.h"
#include "hyper/util/bytes.h"
#include "tests/cli/cli_runner.h"
#include "tests/cli/local_tree.h"

extern char** environ;

namespace hyper::cli {
namespace {

using hyper::testing::ProcessRun;

// A `hyperdrive` whose stdin is a pipe the test writes to; stdout and stderr go to files.
class Piped {
 public:
  Piped(std::vector<std::string> argv, const std::string& out, const std::string& err) : err_(err) {
    int p[2];
    EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, p[0], 0);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    EXPECT_EQ(posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(p[0]);
    in_ = p[1];
  }
  ~Piped() {
    if (in_ >= 0) ::close(in_);
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      (void)::waitpid(pid_, nullptr, 0);
    }
  }
  Piped(const Piped&) = delete;
  Piped& operator=(const Piped&) = delete;

  // Writes `bytes` bytes to its stdin; returns once it took them (the pipe holds 64 KiB: most
  // of them were read by the process).
  bool Feed(size_t bytes) {
    const std::string chunk(1 << 16, 'x');
    for (size_t done = 0; done < bytes;) {
      const ssize_t n = ::write(in_, chunk.data(), std::min(chunk.size(), bytes - done));
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }
  pid_t pid() const { return pid_; }
  // Its wait status once it exited; nullopt when it still runs after `limit`.
  std::optional<int> Wait(std::chrono::seconds limit) {
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd < 0) return std::nullopt;
    pollfd p{pidfd, POLLIN, 0};
    const bool exited = ::poll(&p, 1, static_cast<int>(limit.count() * 1000)) == 1;
    ::close(pidfd);
    if (!exited) return std::nullopt;
    int status = 0;
    (void)::waitpid(pid_, &status, 0);
    reaped_ = true;
    return status;
  }
  std::string err() const { return ReadAll(err_); }

 private:
  std::string err_;
  pid_t pid_ = -1;
  int in_ = -1;
  bool reaped_ = false;
};

class ForwardCli : public CliTest {
 protected:
  void TearDown() override {
    for (const auto& root : started_) (void)RunCli(root, {"stop"});
  }
  void Start(const std::string& root) {
    started_.push_back(root);
    const std::vector<std::string> args = {"start", "--port", "0", "--offline"};
    const std::string out = ExpectSuccess(RunCli(root, args), args);
    ASSERT_NE(out.find("hyperdrive daemon started"), std::string::npos) << out;
  }
  void Stop(const std::string& root) { ExpectSuccess(RunCli(root, {"stop"}), {"stop"}); }
  pid_t DaemonPid(const std::string& root) {
    std::ifstream in(root + "/daemon.pid");
    pid_t pid = 0;
    in >> pid;
    return pid;
  }
  std::vector<std::string> started_;
};

std::string Describe(const std::vector<std::string>& args, const ProcessRun& r) {
  std::string joined;
  for (const auto& a : args) joined += a + " ";
  return joined + "\n  exit " + std::to_string(r.exit_code) + "\n  stdout: " + r.stdout_text +
         "\n  stderr: " + r.stderr_text;
}

// Every reading command, and the errors of the writing ones, print the same (stdout, stderr,
// exit status) through the daemon as without it, on the same store.
TEST_F(ForwardCli, EveryCommandPrintsTheSameThroughTheDaemon) {
  const std::string root = store_;
  const std::string u = Ok({"create"});
  const std::string v = Ok({"create"});
  const std::string folder = tmp_.Sub("folder");
  std::filesystem::create_directories(folder + "/sub");
  WriteAll(folder + "/a.txt", "alpha\n");
  WriteAll(folder + "/sub/b.txt", std::string(100000, 'b'));
  std::filesystem::create_symlink("a.txt", folder + "/link");
  Ok({"import", folder, u});
  Ok({"put", u + "/put.txt"}, "from stdin\n");
  Ok({"mkdir", "-p", u + "/x/y"});
  Ok({"tag", u, "first", "--version", "2"});
  Ok({"put", v + "/v.txt"}, "in v\n");
  Ok({"mount", u + "/m", v});
  Ok({"rm", u + "/put.txt"});

  const std::vector<std::vector<std::string>> commands = {
      {"ls", u},
      {"ls", "-l", "-R", u},
      {"ls", "--json", "-R", u},
      {"ls", u + "+first"},
      {"ls", u + "/m"},
      {"cat", u + "/a.txt"},
      {"cat", u + "/sub/b.txt", "--start", "10", "--end", "99999"},
      {"cat", u + "/m/v.txt"},
      {"stat", u + "/a.txt"},
      {"stat", "--json", u + "/link"},
      {"info", u},
      {"info", "--json", u + "+2"},
      {"log", u},
      {"log", "--json", u},
      {"diff", u, "--from", "2"},
      {"diff", "--json", u, "--from", "2", "--to", "4"},
      {"tags", u},
      {"tags", "--json", u},
      {"drives"},
      {"drives", "--json"},
      // Errors: the same words and exit status.
      {"cat", u + "/nothing"},
      {"cat", u + "/sub"},
      {"ls", "hyper://" + std::string(64, 'a')},
      {"ls", "not-a-url"},
      {"ls", u + "+99"},
      {"put", u + "+2/f.txt", folder + "/a.txt"},
      {"put", u + "/sub", folder},
      {"rm", u + "/sub"},
      {"rm", u},
      {"mkdir", u + "/no/such"},
      {"rmdir", u + "/sub"},
      {"mv", u + "/a.txt", v + "/a.txt"},
      {"mount", u + "/self", u},
      {"tag", u, "first"},
      {"tag", u, "12"},
      {"diff", u, "--from", "99"},
      {"ln", u + "/a.txt", u + "/l2"},
      {"export", u, folder},  // exists and is not empty: a warning, then the copy
      {"import", tmp_.Sub("no-such-folder"), u},
  };
  std::vector<ProcessRun> local;
  for (const auto& c : commands) local.push_back(Run(c));
  Start(root);
  for (size_t i = 0; i < commands.size(); i++) {
    const ProcessRun through = Run(commands[i]);
    EXPECT_EQ(through.exit_code, local[i].exit_code) << Describe(commands[i], through);
    EXPECT_EQ(through.stdout_text, local[i].stdout_text) << Describe(commands[i], through);
    EXPECT_EQ(through.stderr_text, local[i].stderr_text) << Describe(commands[i], through);
  }
  // A usage error stays local and says the same.
  const ProcessRun usage = Run({"ls"});
  EXPECT_EQ(usage.exit_code, 2);
  // `core`, `gc`, ... need the store alone: they say so.
  const ProcessRun core = Run({"core", "list"});
  EXPECT_EQ(core.exit_code, 1);
  EXPECT_NE(core.stderr_text.find("a daemon runs on " + root), std::string::npos)
      << core.stderr_text;
  EXPECT_NE(core.stderr_text.find("hyperdrive stop"), std::string::npos) << core.stderr_text;
}

// The same writes, once without a daemon and once through one, leave drives whose logs and
// contents are the same; relative paths are the client's.
TEST_F(ForwardCli, WritesThroughTheDaemonAreThoseOfALocalRun) {
  const std::string work = tmp_.Sub("work");
  std::filesystem::create_directories(work + "/folder/d");
  WriteAll(work + "/folder/one.txt", "one\n");
  WriteAll(work + "/folder/d/two.txt", "two\n");
  WriteAll(work + "/file.bin", std::string(300000, 'f'));
  auto script = [&](const std::string& root) {
    auto run = [&](std::vector<std::string> args, const std::string& in = "") {
      args.insert(args.begin(), {HYPERDRIVE_BINARY, "--storage", root});
      auto r = hyper::testing::RunProcess(args, in, work);
      EXPECT_TRUE(r.ok());
      EXPECT_EQ(r->exit_code, 0) << Describe(args, *r);
      std::string out = r->stdout_text;
      while (!out.empty() && out.back() == '\n') out.pop_back();
      return out;
    };
    const std::string u = run({"import", "folder"});  // relative: the client's folder
    const std::string other = run({"create"});
    run({"put", u + "/stdin.txt"}, "typed\n");
    run({"put", u + "/file.bin", "file.bin"});
    run({"mkdir", "-p", u + "/p/q"});
    run({"ln", "-s", "/one.txt", u + "/link"});
    run({"mv", u + "/one.txt", u + "/p/one.txt"});
    run({"rm", "-r", u + "/d"});
    run({"rmdir", u + "/p/q"});
    run({"tag", u, "t1"});
    run({"mount", u + "/m", other});
    run({"unmount", u + "/m"});
    run({"export", u, "exported"});  // relative: into the client's working directory
    std::string logs = run({"log", u}) + "\n" + run({"ls", "-R", u}) + "\n" +
                       run({"cat", u + "/stdin.txt"}) + run({"cat", u + "/p/one.txt"}) +
                       run({"tags", u});
    LocalTree tree = ReadLocalTree(work + "/exported", /*dir_times=*/false);
    tree["stdin.txt"].mtime_ms = 0;  // the time it was written: stdin has no mtime
    std::filesystem::remove_all(work + "/exported");
    return std::make_pair(logs, tree);
  };
  const auto local = script(tmp_.Sub("local"));
  const std::string root = tmp_.Sub("daemon");
  Start(root);
  const auto through = script(root);
  EXPECT_EQ(through.first, local.first);
  EXPECT_EQ(through.second, local.second);
  Stop(root);
  // What the daemon wrote is on disk, for the command line without it.
  EXPECT_EQ(Ok({"drives"}, "").empty(), true);  // store_ is another root
  auto after = RunCli(root, {"drives"});
  EXPECT_EQ(after.exit_code, 0);
  EXPECT_EQ(std::count(after.stdout_text.begin(), after.stdout_text.end(), '\n'), 2);
}

// A forwarded put and a gRPC client's write meet in the same drive: each sees the other's at
// once.
TEST_F(ForwardCli, AGrpcClientAndTheCommandLineSeeEachOthersWrites) {
  const std::string root = store_;
  Start(root);
  const std::string u = Ok({"create"});
  Ok({"put", u + "/from-cli.txt"}, "cli\n");
  auto address = client::FindDaemon(root);
  ASSERT_TRUE(address.ok()) << address.status().ToString();
  auto c = client::DaemonClient::Connect(*address);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto key = FromHex(u.substr(8));
  ASSERT_TRUE(key.ok());
  std::array<uint8_t, 32> k{};
  std::copy(key->begin(), key->end(), k.begin());
  auto d = (*c)->GetDrive(k);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  auto read = (*d)->ReadFile("/from-cli.txt");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, "cli\n");
  ASSERT_TRUE((*d)->WriteFile("/from-grpc.txt", "grpc").ok());
  EXPECT_EQ(Ok({"cat", u + "/from-grpc.txt"}), "grpc");
  EXPECT_EQ(Ok({"ls", u}), "from-cli.txt\nfrom-grpc.txt");
  // And one more through the command line, seen by the open session.
  Ok({"put", u + "/again.txt"}, "again");
  read = (*d)->ReadFile("/again.txt");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, "again");
}

// Ctrl-C during a forwarded put (stdin still open): the client ends by SIGINT as a local run
// would, the daemon stops the command, nothing is written, and the drive takes writes again.
TEST_F(ForwardCli, CtrlCStopsAForwardedPutAndWritesNothing) {
  const std::string root = store_;
  Start(root);
  const std::string u = Ok({"create"});
  Piped put({HYPERDRIVE_BINARY, "--storage", root, "put", u + "/partial.bin"}, tmp_.Sub("p.out"),
            tmp_.Sub("p.err"));
  // Taken: the client is past its connection and streams stdin to the daemon's put.
  ASSERT_TRUE(put.Feed(4 << 20));
  // While the put waits for more of its stdin, the drive is not held from other readers.
  EXPECT_EQ(Ok({"ls", u}), "");
  ASSERT_EQ(::kill(put.pid(), SIGINT), 0);
  const auto status = put.Wait(std::chrono::seconds(30));
  ASSERT_TRUE(status.has_value()) << "the client did not end after Ctrl-C";
  EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGINT) << *status << put.err();
  // The write turn is free again (the command ended) and nothing was written.
  Ok({"put", u + "/after.txt"}, "after");
  EXPECT_EQ(Ok({"ls", u}), "after.txt");
}

// A daemon killed during a forwarded command: the client says so and exits 1.
TEST_F(ForwardCli, ADaemonThatDiesDuringACommandIsAClearErrorNotAWait) {
  const std::string root = store_;
  Start(root);
  const std::string u = Ok({"create"});
  Piped put({HYPERDRIVE_BINARY, "--storage", root, "put", u + "/f.bin"}, tmp_.Sub("p.out"),
            tmp_.Sub("p.err"));
  ASSERT_TRUE(put.Feed(4 << 20));
  ASSERT_EQ(::kill(DaemonPid(root), SIGKILL), 0);
  const auto status = put.Wait(std::chrono::seconds(30));
  ASSERT_TRUE(status.has_value()) << "the client waits for a dead daemon";
  ASSERT_TRUE(WIFEXITED(*status)) << *status;
  EXPECT_EQ(WEXITSTATUS(*status), 1);
  EXPECT_NE(put.err().find("went away or stopped answering during the command"), std::string::npos)
      << put.err();
}

// A daemon that stops answering without closing its socket (stopped, or hung) during a
// forwarded command: the client's HTTP/2 pings go unanswered, and it says so and exits 1
// within two keepalive periods (10 s each) instead of waiting forever.
TEST_F(ForwardCli, ADaemonThatStopsAnsweringIsAClearErrorNotAWait) {
  const std::string root = store_;
  Start(root);
  const std::string u = Ok({"create"});
  Piped put({HYPERDRIVE_BINARY, "--storage", root, "put", u + "/f.bin"}, tmp_.Sub("p.out"),
            tmp_.Sub("p.err"));
  ASSERT_TRUE(put.Feed(1 << 20));
  const pid_t daemon = DaemonPid(root);
  ASSERT_EQ(::kill(daemon, SIGSTOP), 0);
  const auto status = put.Wait(std::chrono::seconds(60));
  ASSERT_EQ(::kill(daemon, SIGCONT), 0);
  ASSERT_TRUE(status.has_value()) << "the client waits for a daemon that does not answer";
  ASSERT_TRUE(WIFEXITED(*status)) << *status;
  EXPECT_EQ(WEXITSTATUS(*status), 1);
  EXPECT_NE(put.err().find("went away or stopped answering during the command"), std::string::npos)
      << put.err();
  // The daemon goes on once it runs again: the put that was cut off left nothing.
  EXPECT_EQ(Ok({"ls", u}), "");
}

// seed URL with a daemon: the daemon seeds it (announce and look up), again after a restart,
// and the command returns at once; unseed stops that, for later starts too.
TEST_F(ForwardCli, SeedAndUnseedGoThroughTheDaemonAndSurviveRestarts) {
  const std::string root = store_;
  const std::string u = Ok({"create"});
  const std::string key = u.substr(8);
  // Without a daemon, unseed has nothing to stop.
  const ProcessRun none = Run({"unseed", u});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.stderr_text.find("no daemon runs on " + root), std::string::npos)
      << none.stderr_text;
  Start(root);
  const std::string said = Ok({"seed", u});
  EXPECT_NE(said.find("seeding " + u + " in the daemon"), std::string::npos) << said;
  EXPECT_NE(said.find("lookup on, announce on, again after restarts"), std::string::npos);
  const ProcessRun all = Run({"seed", "--all"});
  EXPECT_EQ(all.exit_code, 1);
  EXPECT_NE(all.stderr_text.find("a daemon runs on the store"), std::string::npos);
  auto configs = [&] {
    auto out = hyper::testing::RunNode(
        "daemon_client", {nlohmann::json{{"scenario", "configs"}, {"storage", root}}.dump()});
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? (*out)["configs"] : nlohmann::json();
  };
  const nlohmann::json on = {{"lookup", true}, {"announce", true}, {"remember", true}};
  EXPECT_EQ(configs()[key], on);
  Stop(root);
  Start(root);
  EXPECT_EQ(configs()[key], on) << "not seeded again after the restart";
  EXPECT_EQ(Ok({"unseed", u}), "stopped seeding " + u);
  const nlohmann::json now = configs();
  EXPECT_TRUE(!now.contains(key) || (now[key]["lookup"] == false && now[key]["announce"] == false))
      << now;
  Stop(root);
  Start(root);
  EXPECT_FALSE(configs().contains(key)) << "seeded again after unseed and a restart";
  EXPECT_EQ(Ok({"unseed", u}), "was not seeding " + u);
}

}  // namespace
}  // namespace hyper::cli
