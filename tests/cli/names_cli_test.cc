// End to end: names, symlinks, mounts and numbers as a user (or a hostile drive) gives them to
// the `hyperdrive` binary (issue 21): names beginning with "..", walks over symlinks and mount
// cycles, writes through a directory symlink, quoting of names, --json for scripts, and every
// numeric option refusing what is not a number in its range.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/cli/cli_runner.h"
#include "tests/support/node_harness.h"
#include "tests/support/temp_dir.h"

namespace hyper::cli {
namespace {

namespace fs = std::filesystem;
using hyper::testing::ProcessRun;
using hyper::testing::TempDir;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

bool Has(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

// An exported folder, sorted: "dir/" for a folder, "file=content" for a file.
std::vector<std::string> ReadTree(const std::string& root) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    std::string rel = fs::relative(e.path(), root).string();
    if (e.is_directory()) {
      out.push_back(rel + "/");
    } else {
      std::ifstream in(e.path(), std::ios::binary);
      out.push_back(rel + "=" + std::string(std::istreambuf_iterator<char>(in), {}));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

class NamesCli : public CliTest {};

TEST_F(NamesCli, NamesBeginningWithTwoDotsAreListedExportedAndRemoved) {
  std::string src = tmp_.Sub("src");
  fs::create_directories(src + "/..dir");
  for (const char* name : {"/..hidden", "/...three", "/..dir/f", "/plain"}) {
    std::ofstream(src + name) << name;
  }
  std::string url = Ok({"import", src});
  EXPECT_EQ(Lines(Ok({"ls", url})),
            (std::vector<std::string>{"...three", "..dir/", "..hidden", "plain"}));
  EXPECT_TRUE(Has(Lines(Ok({"ls", "-R", url})), "..dir/f"));
  Ok({"export", url, tmp_.Sub("out")});
  EXPECT_TRUE(fs::exists(tmp_.Sub("out/..hidden")));
  EXPECT_TRUE(fs::exists(tmp_.Sub("out/...three")));
  EXPECT_TRUE(fs::exists(tmp_.Sub("out/..dir/f")));
  // Removed from the folder: a re-import removes them from the drive.
  fs::remove(src + "/..hidden");
  fs::remove_all(src + "/..dir");
  Ok({"import", src, url});
  EXPECT_EQ(Lines(Ok({"ls", "-R", url})), (std::vector<std::string>{"...three", "plain"}));
}

TEST_F(NamesCli, RecursiveListingListsSymlinksAndImplicitDirectories) {
  std::string url = Ok({"create"});
  Ok({"put", url + "/real/f", "-"}, "f");
  Ok({"put", url + "/x/y/z.txt", "-"}, "z");  // x and x/y are implicit directories
  Ok({"ln", "-s", "real", url + "/alias"});
  Ok({"ln", "-s", ".", url + "/real/dot"});
  Ok({"ln", "-s", "/l2", url + "/l1"});
  Ok({"ln", "-s", "/l1", url + "/l2"});
  EXPECT_EQ(Lines(Ok({"ls", "-R", url})),
            (std::vector<std::string>{"alias", "l1", "l2", "real/", "real/dot", "real/f", "x/",
                                      "x/y/", "x/y/z.txt"}));
  std::string long_listing = Ok({"ls", "-R", "-l", url});
  EXPECT_NE(long_listing.find(" alias -> real\n"), std::string::npos) << long_listing;
  EXPECT_NE(long_listing.find(" real/dot -> .\n"), std::string::npos) << long_listing;
  // Listing the link itself lists where it points.
  EXPECT_EQ(Lines(Ok({"ls", url + "/alias"})), (std::vector<std::string>{"dot", "f"}));
  // Export (the same walk) completes.
  Ok({"export", url, tmp_.Sub("out")});
  EXPECT_TRUE(fs::exists(tmp_.Sub("out/real/f")));
}

TEST_F(NamesCli, PutThroughADirectorySymlinkLandsWhereItPoints) {
  std::string url = Ok({"create"});
  Ok({"mkdir", url + "/real"});
  Ok({"ln", "-s", "real", url + "/alias"});
  Ok({"put", url + "/alias/x.txt", "-"}, "through the link");
  EXPECT_EQ(Lines(Ok({"ls", url + "/real"})), (std::vector<std::string>{"x.txt"}));
  EXPECT_EQ(Lines(Ok({"ls", url + "/alias"})), (std::vector<std::string>{"x.txt"}));
  EXPECT_EQ(Lines(Ok({"ls", "-R", url})), (std::vector<std::string>{"alias", "real/", "real/x.txt"}));
  EXPECT_EQ(Ok({"cat", url + "/alias/x.txt"}), "through the link");
  EXPECT_EQ(Ok({"cat", url + "/real/x.txt"}), "through the link");
}

TEST_F(NamesCli, AMountCycleIsShownNotDescendedInto) {
  std::string a = Ok({"create"});
  std::string b = Ok({"create"});
  Ok({"put", a + "/in-a.txt", "-"}, "a");
  Ok({"put", b + "/in-b.txt", "-"}, "b");
  Ok({"mount", a + "/b", b});
  Ok({"mount", b + "/a", a});
  ProcessRun run = Run({"ls", "-R", a});
  EXPECT_EQ(run.exit_code, 0) << run.stderr_text;
  EXPECT_EQ(Lines(run.stdout_text),
            (std::vector<std::string>{"b/", "b/a/", "b/in-b.txt", "in-a.txt"}));
  EXPECT_NE(run.stderr_text.find("warning: /b/a mounts a drive that is already being listed"),
            std::string::npos)
      << run.stderr_text;
  // A path through the cycle is finite: A/b/a is A's root.
  EXPECT_EQ(Lines(Ok({"ls", a + "/b/a"})), (std::vector<std::string>{"b/", "in-a.txt"}));
  EXPECT_EQ(Ok({"cat", a + "/b/a/in-a.txt"}), "a");
  // Export warns as ls -R does, and exports the rest: the cycle's mount as an empty folder.
  run = Run({"export", a, tmp_.Sub("out")});
  EXPECT_EQ(run.exit_code, 0) << run.stderr_text;
  EXPECT_NE(run.stderr_text.find("warning: /b/a mounts a drive that is already being exported "
                                 "(a mount cycle)"),
            std::string::npos)
      << run.stderr_text;
  EXPECT_EQ(ReadTree(tmp_.Sub("out")),
            (std::vector<std::string>{"b/", "b/a/", "b/in-b.txt=b", "in-a.txt=a"}));
  // From B's side the same cycle is met at /a/b.
  run = Run({"export", b, tmp_.Sub("out-b")});
  EXPECT_EQ(run.exit_code, 0) << run.stderr_text;
  EXPECT_NE(run.stderr_text.find("warning: /a/b mounts a drive"), std::string::npos)
      << run.stderr_text;
  EXPECT_EQ(ReadTree(tmp_.Sub("out-b")),
            (std::vector<std::string>{"a/", "a/b/", "a/in-a.txt=a", "in-b.txt=b"}));
}

TEST_F(NamesCli, MountVersionsAreCheckedBeforeAnythingIsWritten) {
  std::string a = Ok({"create"});
  std::string b = Ok({"create"});
  Ok({"put", b + "/f", "-"}, "f");
  const uint64_t before = Version(a);
  ProcessRun beyond = Run({"mount", a + "/m", b, "--version", "99999"});
  EXPECT_EQ(beyond.exit_code, 1);
  EXPECT_NE(beyond.stderr_text.find("does not exist"), std::string::npos) << beyond.stderr_text;
  for (const char* bad : {"-5", "0", "abc", "18446744073709551616"}) {
    ProcessRun run = Run({"mount", a + "/m", b, "--version", bad});
    EXPECT_EQ(run.exit_code, 2) << bad << ": " << run.stderr_text;
  }
  EXPECT_EQ(Version(a), before) << "nothing was written";
  Ok({"mount", a + "/m", b, "--version", "2"});
  EXPECT_EQ(Ok({"cat", a + "/m/f"}), "f");
  EXPECT_EQ(Lines(Ok({"ls", "-R", a})), (std::vector<std::string>{"m/", "m/f"}));
}

TEST_F(NamesCli, DiffAndLogReportMountsAsTheyHappened) {
  std::string a = Ok({"create"});
  std::string b = Ok({"create"});
  Ok({"put", a + "/keep.txt", "-"}, "k");
  const uint64_t before = Version(a);
  Ok({"mount", a + "/m", b});
  const uint64_t mounted = Version(a);  // (a mount writes two nodes: the record, then /m)
  EXPECT_EQ(Ok({"diff", a, "--from", std::to_string(before)}), "+ mount /m");
  auto j = Json({"diff", a, "--from", std::to_string(before), "--json"});
  ASSERT_EQ(j.size(), 1u) << j;
  EXPECT_EQ(j[0]["type"], "mount");
  EXPECT_EQ(j[0]["name"], "/m");
  // Unrelated writes and deletions (which rewrite neighbouring nodes) are not mount changes.
  for (int i = 0; i < 6; i++) Ok({"put", a + "/t" + std::to_string(i), "-"}, "t");
  for (int i = 0; i < 6; i++) Ok({"rm", a + "/t" + std::to_string(i)});
  std::vector<std::string> mount_lines;
  for (const auto& line : Lines(Ok({"log", a}))) {
    if (line.find("mount") != std::string::npos) mount_lines.push_back(line);
  }
  EXPECT_EQ(mount_lines, std::vector<std::string>{std::to_string(mounted) + " mount /m"});
  const uint64_t last = Version(a);
  Ok({"unmount", a + "/m"});
  EXPECT_EQ(Ok({"diff", a, "--from", std::to_string(last)}), "- unmount /m");
}

TEST_F(NamesCli, HostileNamesCannotSplitLinesOrReachTheTerminal) {
  std::string url = Ok({"create"});
  Ok({"put", url + "/two\nlines", "-"}, "x");
  Ok({"put", url + "/\x1b[31mred", "-"}, "x");
  Ok({"put", url + "/it's fine", "-"}, "x");
  // Not a terminal: plain names as they are, names with control bytes quoted (one line each).
  EXPECT_EQ(Lines(Ok({"ls", url})),
            (std::vector<std::string>{"$'\\033''[31mred'", "it's fine", "'two'$'\\n''lines'"}));
  EXPECT_EQ(Lines(Ok({"log", url}))[0], "2 put 1 '/two'$'\\n''lines'");
  // --json gives the exact names.
  auto j = Json({"ls", url, "--json"});
  std::set<std::string> names;
  for (const auto& e : j) names.insert(e["name"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"two\nlines", "\x1b[31mred", "it's fine"}));
}

TEST_F(NamesCli, JsonForScripts) {
  std::string url = Ok({"create"});
  Ok({"put", url + "/a.txt", "-"}, "abc");
  Ok({"mkdir", url + "/d"});
  const uint64_t tagged = Version(url);
  Ok({"tag", url, "first"});
  auto ls = Json({"ls", url, "--json"});
  ASSERT_EQ(ls.size(), 2u) << ls;
  EXPECT_EQ(ls[0]["name"], "a.txt");
  EXPECT_EQ(ls[0]["path"], "/a.txt");
  EXPECT_EQ(ls[0]["stat"]["size"], 3);
  EXPECT_EQ(ls[1]["stat"]["type"], "directory");
  auto log = Json({"log", url, "--json"});
  ASSERT_EQ(log.size(), 2u) << log;
  EXPECT_EQ(log[0]["version"], 2);
  EXPECT_EQ(log[0]["type"], "put");
  EXPECT_EQ(log[0]["name"], "/a.txt");
  EXPECT_EQ(log[1]["name"], "/d");
  auto tags = Json({"tags", url, "--json"});
  ASSERT_EQ(tags.size(), 1u);
  EXPECT_EQ(tags[0]["name"], "first");
  EXPECT_EQ(tags[0]["version"], tagged);
  auto drives = Json({"drives", "--json"});
  ASSERT_EQ(drives.size(), 1u);
  EXPECT_EQ(drives[0]["url"], url);
}

TEST_F(NamesCli, MkdirWithoutParentsRefusesAMissingParent) {
  std::string url = Ok({"create"});
  ProcessRun run = Run({"mkdir", url + "/a/b"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.stderr_text.find("no directory /a"), std::string::npos) << run.stderr_text;
  EXPECT_EQ(Ok({"ls", url}), "");
  Ok({"mkdir", "-p", url + "/a/b"});
  Ok({"mkdir", url + "/a/b/c"});
  EXPECT_EQ(Lines(Ok({"ls", "-R", url})), (std::vector<std::string>{"a/", "a/b/", "a/b/c/"}));
}

TEST_F(NamesCli, TagsDoNotMoveWithoutForceAndMustFitInAUrl) {
  std::string url = Ok({"create"});
  Ok({"put", url + "/a", "-"}, "a");
  Ok({"tag", url, "v1"});
  Ok({"put", url + "/b", "-"}, "b");
  ProcessRun moved = Run({"tag", url, "v1"});
  EXPECT_EQ(moved.exit_code, 1);
  EXPECT_NE(moved.stderr_text.find("--force"), std::string::npos) << moved.stderr_text;
  EXPECT_EQ(Ok({"ls", url + "+v1"}), "a");
  Ok({"tag", url, "v1", "--version", "2"});  // the same version: nothing to move
  const uint64_t latest = Version(url);
  Ok({"tag", url, "v1", "--force"});
  EXPECT_EQ(Lines(Ok({"ls", url + "+v1"})), (std::vector<std::string>{"a", "b"}));
  for (const char* bad : {"a/b", "a b", "x+y", "50%", "q?", "new\nline", "123"}) {
    ProcessRun run = Run({"tag", url, bad});
    EXPECT_EQ(run.exit_code, 1) << bad;
    EXPECT_EQ(std::count(run.stderr_text.begin(), run.stderr_text.end(), '\n'), 1) << bad;
  }
  EXPECT_EQ(Lines(Ok({"tags", url})), (std::vector<std::string>{"v1 " + std::to_string(latest)}));
}

TEST_F(NamesCli, EveryNumericOptionRefusesWhatIsNotANumberInRange) {
  std::string url = Ok({"create"});
  Ok({"put", url + "/f", "-"}, "0123456789");
  std::string core = Json({"info", url, "--json"})["contentKey"];
  const std::vector<std::vector<std::string>> cases = {
      {"cat", url + "/f", "--start", "-1"},
      {"cat", url + "/f", "--end", "-1"},
      {"cat", url + "/f", "--start", "18446744073709551616"},
      {"cat", url + "/f", "--start", "1.5"},
      {"cat", url + "/f", "--start", "+3"},
      {"cat", url + "/f", "--start", ""},
      {"diff", url, "--from", "-1"},
      {"diff", url, "--from", "1", "--to", "0"},
      {"tag", url, "t", "--version", "-5"},
      {"mount", url + "/m", url, "--version", "-5"},
      {"core", "cat", core, "--start", "-1"},
      {"core", "cat", core, "--end", "99999999999999999999"},
      {"ls", url, "--peer", "127.0.0.1:1", "--timeout", "abc"},
      {"cat", url + "/f", "--peer", "127.0.0.1:1", "--timeout", "-1"},
      {"export", url, tmp_.Sub("o"), "--peer", "127.0.0.1:1", "--timeout", "nan"},
      {"sync", url, "--peer", "127.0.0.1:1", "--timeout", "inf"},
      {"seed", url, "--listen", "127.0.0.1:0", "--timeout", "1e999"},
      {"seed", url, "--listen", "127.0.0.1:0", "--max-per-address", "-1"},
      {"seed", url, "--listen", "127.0.0.1:0", "--max-connections", "0"},
      {"seed", url, "--listen", "127.0.0.1:0", "--handshake-timeout", "abc"},
  };
  for (const auto& args : cases) {
    ProcessRun run = Run(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_EQ(run.exit_code, 2) << joined << "\n" << run.stderr_text;
    EXPECT_LT(run.stderr_text.size(), 300u) << joined << "\n" << run.stderr_text;
    // The message names the option (the last one given in each case).
    EXPECT_EQ(run.stderr_text.rfind(args[args.size() - 2] + ": ", 0), 0u)
        << joined << "\n" << run.stderr_text;
  }
  EXPECT_EQ(Ok({"cat", url + "/f", "--start", "3", "--end", "5"}), "34");
  EXPECT_EQ(Ok({"cat", url + "/f", "--start", "0010"}), "");
}

}  // namespace
}  // namespace hyper::cli
