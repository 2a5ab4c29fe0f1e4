#include "tests/support/node_harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

extern char** environ;

namespace hyper::testing {
namespace {

// Every process a test starts (the hyperdrive binary above all) finds peers through no DHT unless
// the test names a bootstrap list of its own, and never on the LAN unless the test asks (inside
// a network namespace of its own): nothing a test runs may reach the reference's public
// bootstrap nodes, nor multicast on the machine's interfaces.
[[maybe_unused]] const bool kNoPublicNetwork = [] {
  setenv("HYPERDRIVE_BOOTSTRAP", "", /*overwrite=*/0);
  setenv("HYPERDRIVE_LAN", "0", /*overwrite=*/0);
  return true;
}();

}  // namespace

std::string InteropDir() {
  if (const char* dir = std::getenv("HYPER_INTEROP_DIR")) return dir;
  return HYPER_INTEROP_DIR;
}

Result<NodeRun> RunNodeRaw(const std::string& script, const std::vector<std::string>& args,
                           const std::string& stdin_text) {
  std::string dir = InteropDir();
  std::string path = dir + "/scripts/" + script + ".js";
  if (!std::filesystem::exists(path)) return Status::NotFound("no Node script " + path);
  if (!std::filesystem::exists(dir + "/node_modules/hypercore")) {
    return Status::NotFound("the Node reference is not installed in " + dir +
                            "/node_modules: run scripts/test.sh (it runs npm ci there)");
  }
  std::vector<std::string> argv = {"node", path};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, stdin_text, dir);
}

Result<ProcessRun> RunProcess(const std::vector<std::string>& argv_in,
                              const std::string& stdin_text, const std::string& cwd) {
  // A broken pipe to the child must be an error return, not a signal that kills the test.
  signal(SIGPIPE, SIG_IGN);

  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) || pipe2(out_pipe, O_CLOEXEC) || pipe2(err_pipe, O_CLOEXEC)) {
    return Status::FromErrno(errno, "pipe");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());

  std::vector<std::string> argv_s = argv_in;
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(in_pipe[1]);
    close(out_pipe[0]);
    close(err_pipe[0]);
    return Status::FromErrno(rc, "spawning " + argv_s[0]);
  }

  ProcessRun run;
  size_t written = 0;
  int in_fd = in_pipe[1];
  if (stdin_text.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  bool out_open = true, err_open = true;
  char buf[65536];
  while (out_open || err_open || in_fd >= 0) {
    pollfd fds[3];
    int n = 0;
    if (out_open) fds[n++] = {out_pipe[0], POLLIN, 0};
    if (err_open) fds[n++] = {err_pipe[0], POLLIN, 0};
    if (in_fd >= 0) fds[n++] = {in_fd, POLLOUT, 0};
    if (poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < n; i++) {
      if (!fds[i].revents) continue;
      if (fds[i].fd == in_fd) {
        ssize_t w = write(in_fd, stdin_text.data() + written, stdin_text.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 || written == stdin_text.size()) {
          close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      ssize_t r = read(fds[i].fd, buf, sizeof buf);
      bool is_out = fds[i].fd == out_pipe[0];
      if (r <= 0) {
        (is_out ? out_open : err_open) = false;
      } else {
        (is_out ? run.stdout_text : run.stderr_text).append(buf, static_cast<size_t>(r));
      }
    }
  }
  close(out_pipe[0]);
  close(err_pipe[0]);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  run.exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  return run;
}

Result<nlohmann::json> RunNode(const std::string& script, const std::vector<std::string>& args,
                               const std::string& stdin_text) {
  ASSIGN_OR_RETURN(NodeRun run, RunNodeRaw(script, args, stdin_text));
  if (run.exit_code != 0) {
    return Status::Internal("node " + script + " exited with " + std::to_string(run.exit_code) +
                            ": " + run.stderr_text);
  }
  auto parsed = nlohmann::json::parse(run.stdout_text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return Status::Corruption("node " + script + " printed something that is not JSON: " +
                              run.stdout_text.substr(0, 500) + "\nstderr: " + run.stderr_text);
  }
  return parsed;
}

}  // namespace hyper::testing
