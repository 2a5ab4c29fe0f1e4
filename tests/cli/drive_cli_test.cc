// End to end: the real `hyperdrive` binary imports, exports and edits drives in a real store,
// and the Node reference reads what it wrote (and the other way round).
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "hyper/crypto/crypto.h"
#include "hyper/drive/drive.h"
#include "hyper/trie/trie.h"
#include "tests/cli/cli_runner.h"
#include "tests/support/node_harness.h"
#include "tests/support/temp_dir.h"

namespace hyper::cli {
namespace {

namespace fs = std::filesystem;
using hyper::testing::ProcessRun;
using hyper::testing::TempDir;

struct Entry {
  std::string type;  // file, directory, symlink
  uint32_t perms = 0;
  uint64_t mtime_ms = 0;
  std::string content;  // files: bytes; symlinks: target
  bool operator==(const Entry&) const = default;
};
using Tree = std::map<std::string, Entry>;

std::ostream& operator<<(std::ostream& os, const Entry& e) {
  return os << e.type << " " << std::oct << e.perms << std::dec << " " << e.mtime_ms << " ("
            << e.content.size() << " bytes)";
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

void SetMtime(const std::string& path, uint64_t ms) {
  struct timespec t[2];
  t[0].tv_sec = t[1].tv_sec = static_cast<time_t>(ms / 1000);
  t[0].tv_nsec = t[1].tv_nsec = static_cast<long>(ms % 1000) * 1000000;
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), t, AT_SYMLINK_NOFOLLOW), 0) << path;
}

// The tree under root as the drive keeps it: times in milliseconds, symlink times not kept.
Tree ReadTree(const std::string& root) {
  Tree tree;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    std::string rel = "/" + it->path().lexically_relative(root).generic_string();
    struct stat st;
    EXPECT_EQ(lstat(it->path().c_str(), &st), 0);
    Entry e;
    e.perms = st.st_mode & 07777;
    e.mtime_ms = uint64_t(st.st_mtim.tv_sec) * 1000 + uint64_t(st.st_mtim.tv_nsec) / 1000000;
    if (S_ISLNK(st.st_mode)) {
      e.type = "symlink";
      e.content = fs::read_symlink(it->path()).string();
      e.perms = 0;
      e.mtime_ms = 0;
    } else if (S_ISDIR(st.st_mode)) {
      e.type = "directory";
    } else {
      e.type = "file";
      e.content = ReadAll(it->path());
    }
    tree[rel] = e;
  }
  return tree;
}

// The same, from the Node reference's view of a drive.
Tree NodeTree(const nlohmann::json& entries, bool with_dir_times = true) {
  Tree tree;
  for (const auto& [path, j] : entries.items()) {
    Entry e;
    e.type = j["type"];
    e.perms = j["mode"].get<uint32_t>() & 07777;
    e.mtime_ms = j["mtime"];
    if (e.type == "file") {
      std::string b64 = j["content"];
      // base64 decode
      static const std::string kAlphabet =
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      uint32_t acc = 0;
      int bits = 0;
      for (char c : b64) {
        if (c == '=') break;
        acc = acc << 6 | static_cast<uint32_t>(kAlphabet.find(c));
        bits += 6;
        if (bits >= 8) {
          bits -= 8;
          e.content.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
      }
    } else if (e.type == "symlink") {
      e.content = j["linkname"];
      e.perms = 0;
      e.mtime_ms = 0;
    }
    if (e.type == "directory" && !with_dir_times) e.mtime_ms = 0;
    tree[path] = e;
  }
  return tree;
}

class DriveCli : public CliTest {
 protected:
  // A folder with every kind of thing import must keep.
  void MakeFolder(const std::string& src) {
    fs::create_directories(src + "/docs/deep/deeper");
    fs::create_directories(src + "/empty dir");
    WriteAll(src + "/hello.txt", "hello world\n");
    WriteAll(src + "/empty-file", "");
    WriteAll(src + "/docs/héllo wörld ✓.md", "non-ascii name\n");
    std::string big(1536 * 1024 + 17, '\0');
    crypto::RandomBytes(MutableByteView(reinterpret_cast<uint8_t*>(big.data()), big.size()));
    WriteAll(src + "/docs/deep/big.bin", big);
    WriteAll(src + "/docs/deep/deeper/script.sh", "#!/bin/sh\necho hi\n");
    chmod((src + "/docs/deep/deeper/script.sh").c_str(), 0755);
    chmod((src + "/hello.txt").c_str(), 0600);
    fs::create_symlink("hello.txt", src + "/link-to-hello");
    fs::create_symlink("../../hello.txt", src + "/docs/deep/up-link");
    uint64_t t = 1600000000123;
    for (const auto& p : {"/hello.txt", "/empty-file", "/docs/héllo wörld ✓.md",
                          "/docs/deep/big.bin", "/docs/deep/deeper/script.sh", "/docs/deep/deeper",
                          "/docs/deep", "/docs", "/empty dir"}) {
      SetMtime(src + p, t += 1111);
    }
  }
  std::string KeyOf(const std::string& url) {
    return url.substr(std::string("hyper://").size(), 64);
  }
};

TEST_F(DriveCli, ImportThenExportGivesBackTheSameTreeAndNodeReadsIt) {
  std::string src = tmp_.Sub("src");
  MakeFolder(src);
  std::string url = Ok({"import", src});
  ASSERT_EQ(url.rfind("hyper://", 0), 0u) << url;
  EXPECT_EQ(Ok({"drives"}), url);

  Ok({"export", url, tmp_.Sub("out")});
  Tree want = ReadTree(src);
  EXPECT_EQ(ReadTree(tmp_.Sub("out")), want);

  auto node = hyper::testing::RunNode("cli_tree", {Cores(store_), KeyOf(url)});
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  EXPECT_EQ(NodeTree((*node)["entries"]), want) << "the Node reference reads what import wrote";
  EXPECT_EQ((*node)["writable"], true) << "and can write to it from the same store";

  // A subfolder, and a single file, at a version.
  Ok({"export", url + "/docs/deep", tmp_.Sub("sub")});
  EXPECT_EQ(ReadAll(tmp_.Sub("sub/big.bin")), ReadAll(src + "/docs/deep/big.bin"));
  // The bytes exactly as written to stdout (Ok trims a trailing newline, which random bytes may
  // end with).
  ProcessRun range = Run({"cat", url + "/docs/deep/big.bin", "--start", "70000", "--end", "70010"});
  EXPECT_EQ(range.exit_code, 0) << range.stderr_text;
  EXPECT_EQ(range.stdout_text, ReadAll(src + "/docs/deep/big.bin").substr(70000, 10));
}

TEST_F(DriveCli, ReimportWritesOnlyWhatChanged) {
  std::string src = tmp_.Sub("src");
  MakeFolder(src);
  std::string url = Ok({"import", src});
  auto before = Json({"info", url, "--json"});
  std::string content_key = before["contentKey"];
  auto content_before = Json({"core", "info", content_key, "--json"});

  EXPECT_EQ(Ok({"import", src, url}), url);
  EXPECT_EQ(Json({"info", url, "--json"})["version"], before["version"]) << "nothing changed";

  WriteAll(src + "/hello.txt", "hello again\n");  // changed (12 bytes)
  fs::remove(src + "/empty-file");                // removed
  WriteAll(src + "/docs/new.txt", "new\n");       // added (4 bytes)
  EXPECT_EQ(Ok({"import", src, url}), url);
  auto after = Json({"info", url, "--json"});
  EXPECT_EQ(after["version"].get<uint64_t>(), before["version"].get<uint64_t>() + 3);
  auto content_after = Json({"core", "info", content_key, "--json"});
  EXPECT_EQ(content_after["byteLength"].get<uint64_t>(),
            content_before["byteLength"].get<uint64_t>() + 12 + 4)
      << "only the changed and the new file went into the content feed";
  std::string log = Ok({"log", url});
  EXPECT_NE(log.find("put 12 /hello.txt"), std::string::npos) << log;
  EXPECT_NE(log.find("del /empty-file"), std::string::npos) << log;
  std::string diff = Ok({"diff", url, "--from", std::to_string(before["version"].get<uint64_t>())});
  EXPECT_EQ(diff, "+ put 4 /docs/new.txt\n- del /empty-file\n+ put 12 /hello.txt") << diff;

  // Directories already in the drive keep their Stat: the drive has no call that rewrites a
  // directory's times, so compare everything but directory mtimes.
  Ok({"export", url, tmp_.Sub("out")});
  Tree out = ReadTree(tmp_.Sub("out")), want = ReadTree(src);
  for (auto* t : {&out, &want}) {
    for (auto& [path, e] : *t) {
      if (e.type == "directory") e.mtime_ms = 0;
    }
  }
  EXPECT_EQ(out, want);
  // The old version is still there, by number and by tag.
  std::string v = std::to_string(before["version"].get<uint64_t>());
  Ok({"tag", url, "first", "--version", v});
  EXPECT_EQ(Ok({"tags", url}), "first " + v);
  EXPECT_EQ(Ok({"cat", url + "+first/hello.txt"}), "hello world");
  EXPECT_EQ(Ok({"cat", url + "+" + v + "/empty-file"}), "");
}

TEST_F(DriveCli, NodeWrittenDriveExportsIdentically) {
  nlohmann::json ops = nlohmann::json::array({
      {{"op", "writeFile"},
       {"path", "/readme.md"},
       {"data", {{"text", "# written by node\n"}}},
       {"opts", {{"mode", 0644}, {"mtime", 1500000000000}}}},
      {{"op", "mkdir"}, {"path", "/photos"}, {"opts", {{"mtime", 1500000001000}}}},
      {{"op", "writeFile"},
       {"path", "/photos/ünïcode.txt"},
       {"data", {{"text", "ü\n"}}},
       {"opts", {{"mode", 0600}, {"mtime", 1500000002000}}}},
      {{"op", "writeFile"},
       {"path", "/photos/empty"},
       {"data", {{"text", ""}}},
       {"opts", {{"mtime", 1500000003000}}}},
      {{"op", "symlink"}, {"target", "../readme.md"}, {"path", "/photos/readme-link"}},
  });
  auto applied = hyper::testing::RunNode("drive_apply", {Cores(store_)}, ops.dump());
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  std::string key = (*applied)["key"];
  auto node = hyper::testing::RunNode("cli_tree", {Cores(store_), key});
  ASSERT_TRUE(node.ok()) << node.status().ToString();

  EXPECT_EQ(Ok({"drives"}), "hyper://" + key);
  Ok({"export", "hyper://" + key, tmp_.Sub("out")});
  // Directory mtimes are compared too: export sets them after writing their contents.
  EXPECT_EQ(ReadTree(tmp_.Sub("out")), NodeTree((*node)["entries"]));
  EXPECT_EQ(Ok({"cat", key + "/photos/ünïcode.txt"}), "ü");
  std::string listing = Ok({"ls", "-R", key});
  EXPECT_EQ(listing, "photos/\nphotos/empty\nphotos/readme-link\nphotos/ünïcode.txt\nreadme.md");
}

TEST_F(DriveCli, EditingCommands) {
  std::string url = Ok({"create"});
  Ok({"put", url + "/notes/today.txt", "-"}, "buy milk");
  EXPECT_EQ(Ok({"cat", url + "/notes/today.txt"}), "buy milk");
  Ok({"mkdir", url + "/a"});
  Ok({"mkdir", "-p", url + "/a/b/c"});
  Ok({"mkdir", "-p", url + "/a/b/c"});
  Ok({"ln", "-s", "../notes/today.txt", url + "/a/today"});
  EXPECT_EQ(Ok({"cat", url + "/a/today"}), "buy milk") << "cat follows symlinks";
  auto st = Json({"stat", url + "/a/today", "--json"});
  EXPECT_EQ(st["type"], "symlink");
  EXPECT_EQ(st["linkname"], "../notes/today.txt");
  EXPECT_EQ(Ok({"ls", url}), "a/\nnotes/");
  EXPECT_EQ(Run({"rmdir", url + "/a"}).exit_code, 1) << "not empty";
  EXPECT_EQ(Run({"rm", url + "/a"}).exit_code, 1) << "a directory needs -r";
  Ok({"rm", "-r", url + "/a"});
  EXPECT_EQ(Ok({"ls", url}), "notes/");

  std::string mounted = Ok({"create"});
  Ok({"put", mounted + "/inside.txt", "-"}, "from the mounted drive");
  Ok({"mount", url + "/shared", mounted});
  EXPECT_EQ(Ok({"cat", url + "/shared/inside.txt"}), "from the mounted drive");
  auto info = Json({"info", url, "--json"});
  ASSERT_EQ(info["mounts"].size(), 1u);
  EXPECT_EQ(info["mounts"][0]["path"], "/shared");
  EXPECT_EQ("hyper://" + info["mounts"][0]["key"].get<std::string>(), mounted);
  Ok({"unmount", url + "/shared"});
  EXPECT_EQ(Run({"cat", url + "/shared/inside.txt"}).exit_code, 1);
}

TEST_F(DriveCli, MvMovesInOneVersionAndRefusesWhatRenameRefuses) {
  std::string url = Ok({"create"});
  Ok({"put", url + "/docs/a.txt", "-"}, "doc a");
  Ok({"put", url + "/docs/sub/b.txt", "-"}, "doc b");
  Ok({"put", url + "/other.txt", "-"}, "other");
  Ok({"mkdir", url + "/archive"});
  const uint64_t before = Version(url);
  EXPECT_EQ(Ok({"mv", url + "/docs", url + "/archive/docs"}), "");
  EXPECT_EQ(Ok({"cat", url + "/archive/docs/sub/b.txt"}), "doc b");
  EXPECT_EQ(Ok({"ls", url}), "archive/\nother.txt");
  // The version before the move still has the old tree.
  EXPECT_EQ(Ok({"cat", url + "+" + std::to_string(before) + "/docs/a.txt"}), "doc a");
  std::string another = Ok({"create"});
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  std::vector<Case> cases = {
      {{"mv", url + "/missing", url + "/x"}, "does not exist"},
      {{"mv", url + "/archive", url + "/archive/docs/inner"}, "into itself"},
      {{"mv", url + "/other.txt", url + "/archive"}, "is a directory"},
      {{"mv", url + "/archive/docs", url + "/other.txt"}, "not a directory"},
      {{"mv", url + "/other.txt", another + "/x"}, "same drive"},
      {{"mv", url + "/other.txt", url + "+1/x"}, "version"},
      {{"mv", url + "/other.txt", url + "/../../x"}, "climbs above the root"},
  };
  const uint64_t version = Version(url);
  for (const Case& c : cases) {
    ProcessRun run = Run(c.args);
    EXPECT_EQ(run.exit_code, 1) << c.args[1] << " " << c.args[2] << "\n" << run.stderr_text;
    EXPECT_NE(run.stderr_text.find(c.says), std::string::npos) << run.stderr_text;
  }
  EXPECT_EQ(Version(url), version) << "nothing written";
  EXPECT_EQ(Run({"mv", url + "/other.txt"}).exit_code, 2) << "two URLs are needed";
  EXPECT_NE(Ok({"mv", "--help"}).find("rename(2)"), std::string::npos);
  // A file replaces a file.
  Ok({"mv", url + "/other.txt", url + "/archive/docs/a.txt"});
  EXPECT_EQ(Ok({"cat", url + "/archive/docs/a.txt"}), "other");
}

TEST_F(DriveCli, BadInputGivesOneLineErrorsAndLeavesTheStoreUsable) {
  std::string url = Ok({"create"});
  Ok({"put", url + "/file.txt", "-"}, "content");
  std::string unknown = "hyper://" + ToHex(crypto::RandomKeyPair().public_key);
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string says;
  };
  std::vector<Case> cases = {
      {{"import", tmp_.Sub("no-such-folder")}, 1, "No such file"},
      {{"ls", unknown}, 1, "no drive"},
      {{"cat", "hyper://not-a-key/file"}, 1, "not a drive URL"},
      {{"cat", url + "/../../etc/passwd"}, 1, "climbs above the root"},
      {{"cat", url + "/missing"}, 1, "NotFound"},
      {{"cat", url + "/"}, 1, "directory"},
      {{"put", url + "+1/file.txt", "-"}, 1, "read-only"},
      {{"ls", url + "+99"}, 1, "does not exist"},
      {{"ls", url + "+no-such-tag"}, 1, "no version or tag"},
      {{"mkdir", url + "/file.txt"}, 1, "exists"},
      {{"ln", url + "/x", url + "/y"}, 1, "ln -s"},
      {{"mount", url + "/m", "zz"}, 1, "not a drive URL"},
      {{"diff", url}, 2, "--from"},
      {{"export"}, 2, "url"},
      {{"frobnicate"}, 2, ""},
  };
  for (const Case& c : cases) {
    ProcessRun run = Run(c.args, c.args[0] == "put" ? "x" : "");
    std::string joined;
    for (auto& a : c.args) joined += a + " ";
    EXPECT_EQ(run.exit_code, c.exit_code) << joined << "\n" << run.stderr_text;
    EXPECT_NE(run.stderr_text.find(c.says), std::string::npos) << joined << "\n" << run.stderr_text;
    if (c.exit_code == 1) {
      EXPECT_EQ(std::count(run.stderr_text.begin(), run.stderr_text.end(), '\n'), 1) << joined;
    }
  }
  EXPECT_EQ(Ok({"cat", url + "/file.txt"}), "content") << "the store is still usable";
}

TEST_F(DriveCli, ExportNeverWritesOutsideTheFolder) {
  // A drive whose symlink points outside, with a file "below" the symlink in the drive (a put
  // through the link lands where it points, so a hostile writer's raw trie key makes it).
  std::string url = Ok({"create"});
  std::string outside = tmp_.Sub("outside");
  fs::create_directories(outside);
  Ok({"ln", "-s", outside, url + "/escape"});
  Ok({"put", url + "/inside.txt", "-"}, "should stay inside");
  {
    auto store = std::move(corestore::Corestore::OpenDirectory(Cores(store_))).value();
    drive::DriveOptions options;
    crypto::PublicKey key;
    auto raw = *FromHex(KeyOf(url));
    std::copy(raw.begin(), raw.end(), key.begin());
    options.key = key;
    auto d = std::move(drive::Drive::Open(*store, options)).value();
    Bytes stat = d->Lstat("/inside.txt")->Encode();
    auto trie = std::move(trie::Trie::Open(d->metadata_feed())).value();
    ASSERT_TRUE(trie->Put("escape/pwned.txt", stat).ok());
    ASSERT_TRUE(store->Close().ok());
  }
  ProcessRun run = Run({"export", url, tmp_.Sub("out")});
  EXPECT_FALSE(fs::exists(outside + "/pwned.txt")) << "export followed a symlink out";
  if (run.exit_code == 0) {
    EXPECT_EQ(ReadAll(tmp_.Sub("out/escape/pwned.txt")), "should stay inside");
  } else {
    EXPECT_NE(run.stderr_text.find("refusing"), std::string::npos) << run.stderr_text;
  }
}

TEST_F(DriveCli, ExportRefusesNamesThatWouldEscapeTheFolder) {
  std::string url = Ok({"create"});
  Ok({"put", url + "/ok.txt", "-"}, "fine");
  {
    // A hostile writer can put any key in its trie; the reference's API never would.
    auto store = std::move(corestore::Corestore::OpenDirectory(Cores(store_))).value();
    drive::DriveOptions options;
    crypto::PublicKey key;
    auto raw = *FromHex(KeyOf(url));
    std::copy(raw.begin(), raw.end(), key.begin());
    options.key = key;
    auto d = std::move(drive::Drive::Open(*store, options)).value();
    Bytes stat = d->Lstat("/ok.txt")->Encode();
    auto trie = std::move(trie::Trie::Open(d->metadata_feed())).value();
    ASSERT_TRUE(trie->Put("sub/../../../escaped.txt", stat).ok());
    ASSERT_TRUE(store->Close().ok());
  }
  std::string out = tmp_.Sub("deep/inside/out");
  ProcessRun run = Run({"export", url, out});
  // Either the entry is refused with a clear error, or it is not a visible entry of the drive
  // at all (listings walk segment by segment); never is it written outside.
  if (run.exit_code != 0) {
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_NE(run.stderr_text.find("refusing"), std::string::npos) << run.stderr_text;
  } else {
    EXPECT_EQ(ReadAll(out + "/ok.txt"), "fine");
  }
  for (auto it = fs::recursive_directory_iterator(tmp_.path());
       it != fs::recursive_directory_iterator(); ++it) {
    EXPECT_NE(it->path().filename(), "escaped.txt") << it->path();
  }
  EXPECT_FALSE(fs::exists(tmp_.Sub("deep/escaped.txt")));
  EXPECT_FALSE(fs::exists(tmp_.Sub("escaped.txt")));
  EXPECT_EQ(Ok({"cat", url + "/ok.txt"}), "fine") << "the drive is still readable";
}

TEST_F(DriveCli, FullDiskIsAClearErrorAndTheStoreStaysUsable) {
  std::string small = tmp_.Sub("small");
  fs::create_directories(small);
  ASSERT_EQ(mount("tmpfs", small.c_str(), "tmpfs", 0, "size=3m"), 0)
      << "mounting a small tmpfs needs root: " << strerror(errno);
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{small};
  std::string store = small + "/store";
  std::string src = tmp_.Sub("src");
  fs::create_directories(src);
  WriteAll(src + "/small.txt", "fits");
  auto ok = Run({"import", src}, "", store);
  ASSERT_EQ(ok.exit_code, 0) << ok.stderr_text;
  std::string url = ok.stdout_text.substr(0, ok.stdout_text.size() - 1);

  std::string big(8 << 20, 'x');
  WriteAll(src + "/big.bin", big);
  ProcessRun full = Run({"import", src, url}, "", store);
  EXPECT_EQ(full.exit_code, 1);
  EXPECT_NE(full.stderr_text.find("NoSpace"), std::string::npos) << full.stderr_text;
  EXPECT_EQ(std::count(full.stderr_text.begin(), full.stderr_text.end(), '\n'), 1)
      << full.stderr_text;

  // Still readable, and writable once there is room again.
  auto cat = Run({"cat", url + "/small.txt"}, "", store);
  EXPECT_EQ(cat.exit_code, 0) << cat.stderr_text;
  EXPECT_EQ(cat.stdout_text, "fits");
  fs::remove(src + "/big.bin");
  WriteAll(src + "/second.txt", "after the disk filled");
  auto again = Run({"import", src, url}, "", store);
  EXPECT_EQ(again.exit_code, 0) << again.stderr_text;
  EXPECT_EQ(Run({"cat", url + "/second.txt"}, "", store).stdout_text, "after the disk filled");
}

}  // namespace
}  // namespace hyper::cli
