// The root drive mounted through FUSE by the real daemon (`start --mountpoint`), used by the
// real shell tools on the real kernel mount; what they wrote is then read back from the drive
// with the CLI, after the daemon stopped. Every command runs under `timeout`, and every mount
// is taken down by a guard whatever the test did.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <thread>

#include "hyper/daemon/state_db.h"
#include "hyper/fuse/mount.h"
#include "hyper/util/bytes.h"
#include "tests/cli/background.h"
#include "tests/cli/cli_runner.h"

namespace hyper::cli {
namespace {

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Whether `dir` is a mountpoint now (/proc/self/mountinfo's fifth field).
bool IsMounted(const std::string& dir) {
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    fields >> id >> parent >> dev >> root >> point;
    if (point == dir) return true;
  }
  return false;
}

class FuseCli : public CliTest {
 protected:
  void TearDown() override {
    // The guard: the daemon stops (unmounting), and whatever is still mounted is detached, so
    // that no mount outlives the test (and the temporary folder can go).
    (void)RunCli(root_, {"stop"});
    if (IsMounted(mnt_)) (void)fuse::ForceUnmount(mnt_);
    EXPECT_FALSE(IsMounted(mnt_));
  }

  void Start(bool with_mountpoint = true, const std::vector<std::string>& more = {}) {
    std::vector<std::string> args = {"start", "--port", "0", "--offline"};
    args.insert(args.end(), more.begin(), more.end());
    if (with_mountpoint) {
      args.emplace_back("--mountpoint");
      args.push_back(mnt_);
    }
    const std::string out = ExpectSuccess(RunCli(root_, args), args);
    ASSERT_NE(out.find("hyperdrive daemon started"), std::string::npos) << out;
  }
  void Stop() { ExpectSuccess(RunCli(root_, {"stop"}), {"stop"}); }

  // `sh -c script` in `dir`, killed after two minutes: a hung mount fails the test, it does not
  // hang it.
  ProcessRun Sh(const std::string& script) {
    auto run = hyper::testing::RunProcess({"timeout", "-k", "5", "120", "sh", "-c", script});
    EXPECT_TRUE(run.ok()) << run.status().ToString();
    return run.ok() ? *run : ProcessRun{"", "", -1};
  }
  std::string ShOk(const std::string& script) { return ExpectSuccess(Sh(script), {script}); }

  // The root drive's key, from the daemon's log line.
  std::string RootKey() {
    const std::string log = ReadText(root_ + "/daemon.log");
    const std::string marker = "root drive ";
    const size_t at = log.rfind(marker);
    if (at == std::string::npos) return "";
    return log.substr(at + marker.size(), 64);
  }

  // A tree of `dirs` directories of `files` files each, of varied sizes, under `dir`.
  void MakeTree(const std::string& dir, int dirs, int files) {
    std::mt19937 rng(7);
    for (int d = 0; d < dirs; d++) {
      const std::string sub = dir + "/d" + std::to_string(d) + "/inner";
      std::filesystem::create_directories(sub);
      for (int f = 0; f < files; f++) {
        std::ofstream out((f % 2 ? sub : dir + "/d" + std::to_string(d)) + "/f" +
                          std::to_string(f) + ".txt");
        const size_t size = rng() % 20000;
        for (size_t i = 0; i < size; i++) out.put(static_cast<char>('a' + rng() % 26));
      }
    }
  }

  std::string root_ = tmp_.Sub("root");
  std::string mnt_ = tmp_.Sub("mnt");
};

TEST_F(FuseCli, ShellToolsWorkInTheMountAndWhatTheyWroteIsInTheDrive) {
  Start();
  ASSERT_TRUE(IsMounted(mnt_));
  const std::string src = tmp_.Sub("src");
  MakeTree(src, 10, 30);  // 300 files in 20 directories

  // cp -r in, diff -r back, find, ls -lR.
  ShOk("cp -r " + src + " " + mnt_ + "/tree");
  ShOk("diff -r " + src + " " + mnt_ + "/tree");
  EXPECT_EQ(ShOk("find " + mnt_ + "/tree | wc -l"), ShOk("find " + src + " | wc -l"));
  EXPECT_EQ(ShOk("cd " + mnt_ + "/tree && find . -type f | sort | xargs cat | sha256sum"),
            ShOk("cd " + src + " && find . -type f | sort | xargs cat | sha256sum"));
  const std::string listing = ShOk("ls -lR " + mnt_);
  EXPECT_NE(listing.find("f29.txt"), std::string::npos);

  // mv of a file and of a directory.
  ShOk("mv " + mnt_ + "/tree/d0/f0.txt " + mnt_ + "/tree/moved.txt");
  ShOk("mv " + mnt_ + "/tree/d1 " + mnt_ + "/tree/d1-renamed");
  ShOk("cmp " + src + "/d0/f0.txt " + mnt_ + "/tree/moved.txt");
  ShOk("diff -r " + src + "/d1 " + mnt_ + "/tree/d1-renamed");
  EXPECT_NE(Sh("ls " + mnt_ + "/tree/d1").exit_code, 0);
  // A directory does not replace a non-empty one, as rename(2) says.
  const auto refused = Sh("mv -T " + mnt_ + "/tree/d2 " + mnt_ + "/tree/d3");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.stderr_text.find("not empty"), std::string::npos) << refused.stderr_text;

  // An editor's save: a temporary file, fsynced, renamed over the original.
  ShOk("printf 'first draft' > " + mnt_ + "/doc.txt");
  ShOk("printf 'second draft' | dd of=" + mnt_ + "/.doc.txt.swp conv=fsync status=none && mv " +
       mnt_ + "/.doc.txt.swp " + mnt_ + "/doc.txt");
  EXPECT_EQ(ReadText(mnt_ + "/doc.txt"), "second draft");

  // Symlinks.
  ShOk("ln -s doc.txt " + mnt_ + "/link");
  EXPECT_EQ(ShOk("readlink " + mnt_ + "/link"), "doc.txt");
  EXPECT_EQ(ShOk("cat " + mnt_ + "/link"), "second draft");

  // A 6 MiB file written by 1,536 write() calls of 4 KiB; ranges read with dd skip.
  const std::string big = tmp_.Sub("big.bin");
  ShOk("head -c 6291456 /dev/urandom > " + big);
  ShOk("dd if=" + big + " of=" + mnt_ + "/big.bin bs=4096 status=none");
  EXPECT_EQ(ShOk("sha256sum < " + mnt_ + "/big.bin"), ShOk("sha256sum < " + big));
  EXPECT_EQ(ShOk("dd if=" + mnt_ + "/big.bin bs=4096 skip=1000 count=37 status=none | sha256sum"),
            ShOk("dd if=" + big + " bs=4096 skip=1000 count=37 status=none | sha256sum"));
  EXPECT_EQ(ShOk("stat -c %s " + mnt_ + "/big.bin"), "6291456");

  // truncate, in place writes (conv=notrunc), chmod.
  ShOk("cp " + big + " " + mnt_ + "/cut.bin && truncate -s 1000000 " + mnt_ + "/cut.bin");
  EXPECT_EQ(ShOk("stat -c %s " + mnt_ + "/cut.bin"), "1000000");
  EXPECT_EQ(ShOk("sha256sum < " + mnt_ + "/cut.bin"),
            ShOk("head -c 1000000 " + big + " | sha256sum"));
  ShOk("printf XYZ | dd of=" + mnt_ + "/cut.bin bs=1 seek=10 conv=notrunc status=none");
  EXPECT_EQ(ShOk("head -c 13 " + mnt_ + "/cut.bin | tail -c 3"), "XYZ");
  ShOk("chmod 600 " + mnt_ + "/doc.txt && chmod 700 " + mnt_ + "/tree");
  EXPECT_EQ(ShOk("stat -c %a " + mnt_ + "/doc.txt"), "600");
  EXPECT_EQ(ShOk("stat -c %a " + mnt_ + "/tree"), "700");

  // POSIX errors.
  EXPECT_NE(Sh("rmdir " + mnt_ + "/tree").stderr_text.find("not empty"), std::string::npos);
  EXPECT_NE(Sh("cat " + mnt_ + "/none").stderr_text.find("No such file"), std::string::npos);
  EXPECT_NE(Sh("mkdir " + mnt_ + "/tree").stderr_text.find("exists"), std::string::npos);

  const std::string key = RootKey();
  ASSERT_EQ(key.size(), 64u);
  Stop();
  EXPECT_FALSE(IsMounted(mnt_));

  // The drive holds it all, read without the daemon.
  const std::string url = "hyper://" + key;
  EXPECT_EQ(ShOk(std::string(HYPERDRIVE_BINARY) + " --storage " + root_ + " cat " + url +
                 "/big.bin | sha256sum"),
            ShOk("sha256sum < " + big));
  EXPECT_EQ(ExpectSuccess(RunCli(root_, {"cat", url + "/doc.txt"}), {"cat"}), "second draft");
  EXPECT_EQ(ExpectSuccess(RunCli(root_, {"cat", url + "/tree/moved.txt"}), {"cat"}),
            ReadText(src + "/d0/f0.txt"));
  // One version per file closed: the 1,536 writes of big.bin made one.
  const std::string log = ExpectSuccess(RunCli(root_, {"log", url}), {"log"});
  size_t puts = 0;
  for (size_t at = log.find(" /big.bin\n"); at != std::string::npos;
       at = log.find(" /big.bin\n", at + 1)) {
    puts++;
  }
  EXPECT_EQ(puts, 1u) << log;
}

TEST_F(FuseCli, ExtendedAttributesAreTheFilesMetadata) {
  Start();
  const std::string f = mnt_ + "/x.txt";
  ShOk("printf hello > " + f);
  ShOk("setfattr -n user.color -v blue " + f + " && setfattr -n user.bin -v 0x00ff01 " + f);
  EXPECT_EQ(ShOk("getfattr --only-values -n user.color " + f), "blue");
  EXPECT_EQ(ShOk("getfattr -e hex --only-values -n user.bin " + f + " | od -An -tx1 | tr -d ' '"),
            "00ff01");
  EXPECT_EQ(ShOk("getfattr -d " + f + " | grep user. | sort"),
            "user.bin=0sAP8B\nuser.color=\"blue\"");
  // The errors POSIX programs expect.
  const auto none = Sh("getfattr -n user.none " + f);
  EXPECT_NE(none.exit_code, 0);
  EXPECT_NE(none.stderr_text.find("No such attribute"), std::string::npos) << none.stderr_text;
  char small[2];
  errno = 0;
  EXPECT_EQ(::getxattr(f.c_str(), "user.color", small, sizeof(small)), -1);
  EXPECT_EQ(errno, ERANGE);
  EXPECT_EQ(::getxattr(f.c_str(), "user.color", nullptr, 0), 4);  // the size alone
  EXPECT_EQ(::setxattr(f.c_str(), "user.color", "red", 3, XATTR_CREATE), -1);
  EXPECT_EQ(errno, EEXIST);
  EXPECT_EQ(::setxattr(f.c_str(), "user.new", "x", 1, XATTR_REPLACE), -1);
  EXPECT_EQ(errno, ENODATA);
  EXPECT_EQ(::removexattr(f.c_str(), "user.none"), -1);
  EXPECT_EQ(errno, ENODATA);
  const std::string huge(65537, 'v');
  EXPECT_EQ(::setxattr(f.c_str(), "user.huge", huge.data(), huge.size(), 0), -1);
  EXPECT_EQ(errno, E2BIG);
  EXPECT_EQ(::setxattr(f.c_str(), "security.x", "x", 1, 0), -1);
  EXPECT_EQ(errno, ENOTSUP);
  char names[64];
  EXPECT_EQ(::listxattr(f.c_str(), names, 3), -1);
  EXPECT_EQ(errno, ERANGE);
  // Removed; kept by a later write and by a rename; set on a file still being written.
  ShOk("setfattr -x user.bin " + f + " && printf ' world' >> " + f + " && mv " + f + " " + mnt_ +
       "/y.txt");
  EXPECT_EQ(ShOk("getfattr -d " + mnt_ + "/y.txt | grep user."), "user.color=\"blue\"");
  ShOk("exec 3>" + mnt_ + "/open.txt && printf abc >&3 && setfattr -n user.k -v v " + mnt_ +
       "/open.txt && printf def >&3 && exec 3>&-");
  EXPECT_EQ(ShOk("getfattr --only-values -n user.k " + mnt_ + "/open.txt"), "v");
  EXPECT_EQ(ReadText(mnt_ + "/open.txt"), "abcdef");
  // On a directory too.
  ShOk("mkdir " + mnt_ + "/dir && setfattr -n user.d -v 1 " + mnt_ + "/dir");
  EXPECT_EQ(ShOk("getfattr --only-values -n user.d " + mnt_ + "/dir"), "1");

  // chown: stored in the Stat (root may give a file away); link: EPERM, no hard links.
  ShOk("chown 1234:5678 " + mnt_ + "/y.txt");
  EXPECT_EQ(::link((mnt_ + "/y.txt").c_str(), (mnt_ + "/hard").c_str()), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_NE(Sh("ln " + mnt_ + "/y.txt " + mnt_ + "/hard2").stderr_text.find("not permitted"),
            std::string::npos);

  const std::string url = "hyper://" + RootKey();
  Stop();
  // What a Node reader sees: the Stat's metadata map and owner.
  const std::string stat = ExpectSuccess(RunCli(root_, {"stat", url + "/y.txt"}), {"stat"});
  EXPECT_NE(stat.find("user.color"), std::string::npos) << stat;
  EXPECT_EQ(stat.find("user.bin"), std::string::npos) << stat;
  EXPECT_NE(stat.find("1234"), std::string::npos) << stat;
  EXPECT_NE(stat.find("5678"), std::string::npos) << stat;
  EXPECT_EQ(ExpectSuccess(RunCli(root_, {"cat", url + "/y.txt"}), {"cat"}), "hello world");
}

// A drive changed through the daemon (not through the mount) is seen at once through it: the
// kernel's cached size and pages, kept 1 s otherwise, are dropped when the version comes
// (change_notifier.h). Each read follows the last one by less than the attribute timeout.
TEST_F(FuseCli, AChangeMadeThroughTheDaemonIsSeenThroughTheMountAtOnce) {
  Start();
  const std::string url = "hyper://" + RootKey();
  // In the root drive, and in another drive shown under Network.
  const std::string created = ExpectSuccess(RunCli(root_, {"create"}), {"create"});
  const size_t at = created.find("hyper://");
  ASSERT_NE(at, std::string::npos) << created;
  const std::string other = created.substr(at, 8 + 64);
  ExpectSuccess(RunCli(root_, {"put", other + "/n.txt"}, "first"), {"put"});
  const std::vector<std::pair<std::string, std::string>> places = {
      {url + "/live.txt", mnt_ + "/live.txt"},
      {other + "/n.txt", mnt_ + "/Network/" + other.substr(8) + "/n.txt"}};
  ExpectSuccess(RunCli(root_, {"put", places[0].first}, "first"), {"put"});
  for (const auto& [where, path] : places) {
    std::string before = ReadText(path);
    EXPECT_EQ(before, "first") << path;
    for (int i = 0; i < 4; i++) {
      const std::string next = std::string(static_cast<size_t>(i) * 3 + 2, 'a' + i);
      EXPECT_EQ(ShOk("stat -c %s " + path), std::to_string(before.size()));  // cached now
      const auto start = std::chrono::steady_clock::now();
      ExpectSuccess(RunCli(root_, {"put", where}, next), {"put"});
      // The notification is sent by a thread of the daemon right after the version: allow it a
      // moment, far less than the 1 s the kernel would keep the old size.
      std::string seen = ReadText(path);
      while (seen != next &&
             std::chrono::steady_clock::now() - start < std::chrono::milliseconds(600)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        seen = ReadText(path);
      }
      EXPECT_EQ(seen, next) << path << " after put " << i;
      EXPECT_EQ(ShOk("stat -c %s " + path), std::to_string(next.size()));
      before = next;
    }
  }
  // A file removed through the daemon is gone at once; one added is there.
  ExpectSuccess(RunCli(root_, {"rm", url + "/live.txt"}), {"rm"});
  ExpectSuccess(RunCli(root_, {"put", url + "/new.txt"}, "new"), {"put"});
  const auto start = std::chrono::steady_clock::now();
  while (std::filesystem::exists(mnt_ + "/live.txt") &&
         std::chrono::steady_clock::now() - start < std::chrono::milliseconds(600)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(std::filesystem::exists(mnt_ + "/live.txt"));
  EXPECT_EQ(ReadText(mnt_ + "/new.txt"), "new");
}

// rsync -a, tar c | tar x, du -s, ls -lR, in and out of the mount (a tree with a symlink, modes
// and times, which -a and tar keep).
TEST_F(FuseCli, RsyncTarAndDuWorkInTheMount) {
  Start();
  const std::string src = tmp_.Sub("src");
  MakeTree(src, 6, 20);
  ShOk("ln -s d0/f0.txt " + src + "/link && chmod 640 " + src + "/d1/f2.txt && touch -d " +
       "'2001-02-03 04:05:06' " + src + "/d2/f4.txt");
  // rsync -a in, and back out to a fresh folder: the same tree, modes, times and link.
  ShOk("rsync -a " + src + "/ " + mnt_ + "/rs/");
  ShOk("diff -r " + src + " " + mnt_ + "/rs");
  EXPECT_EQ(ShOk("readlink " + mnt_ + "/rs/link"), "d0/f0.txt");
  EXPECT_EQ(ShOk("stat -c %a " + mnt_ + "/rs/d1/f2.txt"), "640");
  EXPECT_EQ(ShOk("stat -c %Y " + mnt_ + "/rs/d2/f4.txt"), ShOk("stat -c %Y " + src + "/d2/f4.txt"));
  const std::string back = tmp_.Sub("back");
  ShOk("rsync -a " + mnt_ + "/rs/ " + back + "/");
  ShOk("diff -r " + src + " " + back);
  // A second rsync finds nothing to do (sizes and times match; a link's time is not stored).
  EXPECT_EQ(ShOk("rsync -ai --omit-link-times " + src + "/ " + mnt_ + "/rs/"), "");
  // tar c | tar x, into the mount and out of it.
  ShOk("mkdir " + mnt_ + "/tx && tar c -C " + src + " . | tar x -C " + mnt_ + "/tx");
  ShOk("diff -r " + src + " " + mnt_ + "/tx");
  const std::string untar = tmp_.Sub("untar");
  ShOk("mkdir " + untar + " && tar c -C " + mnt_ + "/tx . | tar x -C " + untar);
  ShOk("diff -r " + src + " " + untar);
  EXPECT_EQ(ShOk("stat -c %Y " + untar + "/d2/f4.txt"), ShOk("stat -c %Y " + src + "/d2/f4.txt"));
  // du -s: the blocks of 512 bytes each file takes (directories and links take none here).
  uint64_t blocks = 0;
  uint64_t bytes = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(src)) {
    if (!e.is_regular_file() || e.is_symlink()) continue;
    blocks += (e.file_size() + 511) / 512;
    bytes += e.file_size();
  }
  EXPECT_EQ(ShOk("du -s -B512 " + mnt_ + "/rs | cut -f1"), std::to_string(blocks));
  EXPECT_EQ(ShOk("find " + mnt_ + "/rs -type f -printf '%s\\n' | awk '{s+=$1} END {print s}'"),
            std::to_string(bytes));
  // ls -lR lists every file of both copies.
  const std::string listing = ShOk("ls -lR " + mnt_ + "/rs " + mnt_ + "/tx");
  size_t files = 0;
  for (size_t at = listing.find("\n-"); at != std::string::npos; at = listing.find("\n-", at + 1)) {
    files++;
  }
  EXPECT_EQ(files, 2 * 120u);
}

// An fsx-style random test: writes, truncates, reads, renames, mmap reads, fsyncs and reopens of
// one file through the mount, each checked against a model of its bytes. HYPER_FSX_OPS sets the
// number of operations (default 10,000), HYPER_FSX_SEED the seed.
TEST_F(FuseCli, RandomOperationsMatchAModel) {
  Start();
  const char* ops_env = std::getenv("HYPER_FSX_OPS");
  const char* seed_env = std::getenv("HYPER_FSX_SEED");
  const int ops = ops_env != nullptr ? std::atoi(ops_env) : 10000;
  const unsigned seed = seed_env != nullptr ? static_cast<unsigned>(std::atoi(seed_env)) : 1234;
  std::mt19937 rng(seed);
  constexpr size_t kMaxSize = 256u << 10;
  std::string model;
  std::string names[2] = {mnt_ + "/fsx-a", mnt_ + "/fsx-b"};
  int which = 0;
  int fd = ::open(names[0].c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  auto check = [&](size_t off, size_t len, const std::string& got, const char* how, int op) {
    if (got == model.substr(std::min(off, model.size()), len)) return true;
    ADD_FAILURE() << how << " mismatch at op " << op << " (seed " << seed << "), offset " << off
                  << " length " << len << ", file size " << model.size();
    return false;
  };
  int counts[8] = {};
  for (int op = 0; op < ops; op++) {
    const int kind = static_cast<int>(rng() % 100);
    if (kind < 35) {  // write at a random place, maybe past the end (a hole)
      const size_t off = rng() % kMaxSize;
      const size_t len = 1 + rng() % std::min<size_t>(32768, kMaxSize - off);
      std::string data(len, '\0');
      for (auto& c : data) c = static_cast<char>('A' + rng() % 26);
      ASSERT_EQ(::pwrite(fd, data.data(), len, static_cast<off_t>(off)), static_cast<ssize_t>(len));
      if (model.size() < off + len) model.resize(off + len, '\0');
      model.replace(off, len, data);
      counts[0]++;
    } else if (kind < 65) {  // read a random range (past the end too)
      const size_t off = rng() % (model.size() + 1000);
      const size_t len = rng() % 40000;
      std::string got(len, '\0');
      const ssize_t n = ::pread(fd, got.data(), len, static_cast<off_t>(off));
      ASSERT_GE(n, 0);
      got.resize(static_cast<size_t>(n));
      const size_t want = off >= model.size() ? 0 : std::min(len, model.size() - off);
      ASSERT_EQ(got.size(), want) << "read at op " << op;
      if (!check(off, want, got, "read", op)) break;
      counts[1]++;
    } else if (kind < 75) {  // truncate, shorter or longer
      const size_t size = rng() % kMaxSize;
      ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
      model.resize(size, '\0');
      counts[2]++;
    } else if (kind < 85) {  // mmap read
      if (model.empty()) continue;
      void* map = ::mmap(nullptr, model.size(), PROT_READ, MAP_SHARED, fd, 0);
      ASSERT_NE(map, MAP_FAILED) << "mmap at op " << op;
      const size_t off = rng() % model.size();
      const size_t len = std::min<size_t>(rng() % 40000, model.size() - off);
      const std::string got(static_cast<const char*>(map) + off, len);
      ::munmap(map, model.size());
      if (!check(off, len, got, "mmap read", op)) break;
      counts[3]++;
    } else if (kind < 90) {  // rename, the file open
      ASSERT_EQ(::rename(names[which].c_str(), names[1 - which].c_str()), 0);
      which = 1 - which;
      counts[4]++;
    } else if (kind < 95) {  // the size as stat says it
      struct stat st {};
      ASSERT_EQ(::stat(names[which].c_str(), &st), 0);
      ASSERT_EQ(static_cast<size_t>(st.st_size), model.size()) << "stat at op " << op;
      counts[5]++;
    } else if (kind < 98) {  // fsync: a version
      ASSERT_EQ(::fsync(fd), 0);
      counts[6]++;
    } else {  // close and open again: a version, read back from the drive
      ASSERT_EQ(::close(fd), 0);
      fd = ::open(names[which].c_str(), O_RDWR);
      ASSERT_GE(fd, 0);
      counts[7]++;
    }
  }
  ASSERT_EQ(::close(fd), 0);
  EXPECT_EQ(ReadText(names[which]), model);
  EXPECT_FALSE(std::filesystem::exists(names[1 - which]));
  // Every kind of operation ran.
  for (int c : counts) EXPECT_GT(c, 0);
  const std::string url = "hyper://" + RootKey();
  Stop();
  const std::string file = url + (which == 0 ? "/fsx-a" : "/fsx-b");
  EXPECT_EQ(ExpectSuccess(RunCli(root_, {"cat", file}), {"cat"}), model);
}

// A user who is not root starts the daemon, which mounts through fusermount3 (no sudo), and
// works in the mount as root did: files, directories, rename, chmod, xattrs, chown to itself
// (to anyone else: EPERM), cp -r and diff -r, git. The user is `nobody` (uid 65534, always
// there), through setpriv.
TEST_F(FuseCli, AUserWhoIsNotRootMountsAndWorksInIt) {
  const uid_t uid = 65534;
  const gid_t gid = 65534;
  ASSERT_EQ(::geteuid(), 0u) << "this test becomes the user nobody with setpriv, as root";
  struct stat dev {};
  ASSERT_EQ(::stat("/dev/fuse", &dev), 0);
  ASSERT_EQ(dev.st_mode & 0006, 0006u)
      << "/dev/fuse is not open to every user (scripts/setup.sh makes it 0666, as Debian's udev "
         "rule does)";
  const std::string home = tmp_.Sub("user");
  std::filesystem::create_directories(home);
  ASSERT_EQ(::chmod(tmp_.path().c_str(), 0711), 0);
  ASSERT_EQ(::chown(home.c_str(), uid, gid), 0);
  // The user runs its own copy of the binary (the build folder may be closed to it).
  const std::string bin = home + "/hyperdrive";
  std::filesystem::copy_file(HYPERDRIVE_BINARY, bin);
  ASSERT_EQ(::chmod(bin.c_str(), 0755), 0);
  const std::string root = home + "/root";
  const std::string mnt = home + "/mnt";
  auto as_user = [&](const std::string& script) {
    auto run = hyper::testing::RunProcess(
        {"timeout", "-k", "5", "120", "setpriv", "--reuid=" + std::to_string(uid),
         "--regid=" + std::to_string(gid), "--clear-groups", "env", "HOME=" + home,
         "HYPERDRIVE_STORAGE=" + root, "sh", "-c", script});
    EXPECT_TRUE(run.ok()) << run.status().ToString();
    return run.ok() ? *run : ProcessRun{"", "", -1};
  };
  auto as_user_ok = [&](const std::string& script) {
    return ExpectSuccess(as_user(script), {script});
  };
  struct Guard {
    std::function<void()> f;
    ~Guard() { f(); }
  } guard{[&] {
    (void)as_user(bin + " stop");
    if (IsMounted(mnt)) (void)fuse::ForceUnmount(mnt);
    EXPECT_FALSE(IsMounted(mnt));
  }};
  const std::string started =
      as_user_ok(bin + " start --port 0 --offline --mountpoint " + mnt + " && id -u");
  EXPECT_NE(started.find("hyperdrive daemon started"), std::string::npos) << started;
  EXPECT_NE(started.find("65534"), std::string::npos) << started;
  ASSERT_TRUE(IsMounted(mnt));
  // The mount is the user's: FUSE keeps other users out, root included (no allow_other).
  struct stat st {};
  EXPECT_NE(::stat((mnt + "/").c_str(), &st), 0);
  EXPECT_EQ(errno, EACCES);

  as_user_ok("cd " + mnt + " && echo hi > a.txt && mkdir d && mv a.txt d/b.txt && chmod 600 " +
             "d/b.txt && setfattr -n user.k -v v d/b.txt && ln -s d/b.txt l");
  EXPECT_EQ(as_user_ok("cd " + mnt + " && stat -c '%U %G %a' d/b.txt && cat l && getfattr " +
                       "--only-values -n user.k d/b.txt"),
            "nobody nogroup 600\nhi\nv");
  // chown: to itself and its own group, yes; to anyone else, EPERM; link: EPERM.
  as_user_ok("chown nobody:nogroup " + mnt + "/d/b.txt");
  for (const std::string& refused :
       {"chown root " + mnt + "/d/b.txt", "chgrp root " + mnt + "/d/b.txt",
        "ln " + mnt + "/d/b.txt " + mnt + "/hard"}) {
    const auto run = as_user(refused);
    EXPECT_NE(run.exit_code, 0) << refused;
    EXPECT_NE(run.stderr_text.find("Operation not permitted"), std::string::npos)
        << refused << ": " << run.stderr_text;
  }
  // A tree copied in and compared; git.
  as_user_ok("mkdir -p " + home + "/src/x/y && for i in 1 2 3 4 5 6 7 8 9; do seq $i 1000 > " +
             home + "/src/x/f$i; seq $i > " + home + "/src/x/y/g$i; done && cp -r " + home +
             "/src " + mnt + "/src && diff -r " + home + "/src " + mnt + "/src");
  as_user_ok("mkdir " + mnt + "/repo && cd " + mnt + "/repo && git init -q && git config " +
             "user.email u@example.com && git config user.name u && echo one > a && git add a " +
             "&& git commit -qm first && git log --format=%s | grep -qx first");
  as_user_ok(bin + " stop");
  EXPECT_FALSE(IsMounted(mnt));
  // What the user wrote is in the drive (read by the user, the root's owner, without daemon).
  EXPECT_EQ(as_user_ok(bin + " drives | head -1 | xargs -I{} " + bin + " cat {}/d/b.txt"), "hi");
}

TEST_F(FuseCli, GitWorksInTheMount) {
  Start();
  const std::string repo = mnt_ + "/repo";
  ShOk("mkdir " + repo + " && cd " + repo +
       " && git init -q && git config user.email t@example.com && git config user.name t"
       " && echo one > a.txt && git add a.txt && git commit -qm first"
       " && echo two >> a.txt && git commit -qam second");
  const std::string log = ShOk("cd " + repo + " && git log --format=%s");
  EXPECT_EQ(log, "second\nfirst");
  EXPECT_EQ(ShOk("cd " + repo + " && git status --porcelain"), "");
  ShOk("cd " + repo + " && git fsck");
}

TEST_F(FuseCli, ARecordedMountpointIsMountedAgainAndAFreshRootMountsNothing) {
  Start(/*with_mountpoint=*/false);
  EXPECT_FALSE(IsMounted(mnt_));
  // The daemon's status says what is mounted (FUSE itself is there on this machine).
  EXPECT_NE(
      ExpectSuccess(RunCli(root_, {"status"}), {"status"}).find("fuse: available, nothing mounted"),
      std::string::npos);
  Stop();
  Start();
  ASSERT_TRUE(IsMounted(mnt_));
  EXPECT_NE(
      ExpectSuccess(RunCli(root_, {"status"}), {"status"}).find("fuse: the root drive is mounted"),
      std::string::npos);
  ShOk("echo kept > " + mnt_ + "/kept.txt");
  const std::string key = RootKey();
  Stop();
  EXPECT_FALSE(IsMounted(mnt_));
  // The same root drive, at the recorded place, without the flag.
  Start(/*with_mountpoint=*/false);
  ASSERT_TRUE(IsMounted(mnt_));
  EXPECT_EQ(ReadText(mnt_ + "/kept.txt"), "kept\n");
  EXPECT_EQ(RootKey(), key);
}

// fuse-setup checks the machine and records where to mount: the next plain `start` mounts a new
// root drive there (and the same one again after that). The default place is ~/Hyperdrive.
TEST_F(FuseCli, FuseSetupRecordsTheMountpointForTheNextStart) {
  const std::string home = tmp_.Sub("home");
  std::filesystem::create_directories(home);
  const std::string out =
      ShOk("HOME=" + home + " " + HYPERDRIVE_BINARY + " --storage " + root_ + " fuse-setup");
  EXPECT_NE(out.find("ok  /dev/fuse: present and usable"), std::string::npos) << out;
  EXPECT_NE(out.find("ok  fusermount3"), std::string::npos) << out;
  EXPECT_NE(out.find("ok  user_allow_other"), std::string::npos) << out;
  EXPECT_NE(out.find("at " + home + "/Hyperdrive when it next starts"), std::string::npos) << out;
  EXPECT_TRUE(std::filesystem::is_directory(home + "/Hyperdrive"));

  // Set up again at another place: the record follows.
  const std::string again =
      ExpectSuccess(RunCli(root_, {"fuse-setup", "--mountpoint", mnt_}), {"fuse-setup"});
  EXPECT_NE(again.find("at " + mnt_ + " when it next starts"), std::string::npos) << again;
  Start(/*with_mountpoint=*/false);
  ASSERT_TRUE(IsMounted(mnt_));
  EXPECT_FALSE(IsMounted(home + "/Hyperdrive"));
  ShOk("echo set-up > " + mnt_ + "/f.txt");
  const std::string key = RootKey();
  ASSERT_EQ(key.size(), 64u);

  // The running daemon holds the root: fuse-setup says what to do, and changes nothing.
  const auto busy = RunCli(root_, {"fuse-setup", "--mountpoint", home + "/elsewhere"});
  EXPECT_EQ(busy.exit_code, 1);
  EXPECT_NE(busy.stderr_text.find("`hyperdrive stop`, run fuse-setup again"), std::string::npos)
      << busy.stderr_text;
  Stop();
  Start(/*with_mountpoint=*/false);
  ASSERT_TRUE(IsMounted(mnt_));
  EXPECT_EQ(ReadText(mnt_ + "/f.txt"), "set-up\n");
  EXPECT_EQ(RootKey(), key);
}

TEST_F(FuseCli, AMountLeftByAKilledDaemonIsClearedByForceUnmountAndByStart) {
  Start();
  ShOk("echo data > " + mnt_ + "/f.txt");
  auto kill_daemon = [&] {
    const pid_t pid = std::stoi(ReadText(root_ + "/daemon.pid"));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    // Gone when the pid no longer answers.
    ShOk("while kill -0 " + std::to_string(pid) + " 2>/dev/null; do sleep 0.05; done");
  };
  // A shell with its cwd inside the mount, and a reader with the file open, when the daemon
  // dies: neither hangs; their next calls fail (ENOTCONN) and they go on.
  Background shell(
      {"sh", "-c", "cd " + mnt_ + " && echo inside && sleep 1; ls; echo shell-done $?"},
      tmp_.Sub("shell.out"), tmp_.Sub("shell.err"));
  Background reader(
      {"sh", "-c",
       "exec 3<" + mnt_ + "/f.txt && echo open && sleep 1; cat <&3; " + "echo reader-done $?"},
      tmp_.Sub("reader.out"), tmp_.Sub("reader.err"));
  ASSERT_TRUE(shell.WaitFor("inside")) << shell.err();
  ASSERT_TRUE(reader.WaitFor("open")) << reader.err();
  kill_daemon();
  EXPECT_TRUE(shell.WaitFor("shell-done", std::chrono::seconds(10))) << shell.err();
  EXPECT_TRUE(reader.WaitFor("reader-done", std::chrono::seconds(10))) << reader.err();
  EXPECT_NE(shell.err().find("not connected"), std::string::npos) << shell.err();
  EXPECT_NE(reader.out().find("reader-done 1"), std::string::npos) << reader.out();
  ASSERT_TRUE(IsMounted(mnt_));
  const auto stale = Sh("ls " + mnt_);
  EXPECT_NE(stale.exit_code, 0);
  EXPECT_NE(stale.stderr_text.find("not connected"), std::string::npos) << stale.stderr_text;
  const std::string out = ExpectSuccess(RunCli(root_, {"force-unmount"}), {"force-unmount"});
  EXPECT_NE(out.find("unmounted " + mnt_), std::string::npos) << out;
  EXPECT_FALSE(IsMounted(mnt_));

  Start();
  EXPECT_EQ(ReadText(mnt_ + "/f.txt"), "data\n");
  kill_daemon();
  // start clears the stale mount itself.
  Start(/*with_mountpoint=*/false);
  EXPECT_EQ(ReadText(mnt_ + "/f.txt"), "data\n");
}

TEST_F(FuseCli, NetworkShowsAnyDriveByKeyReadOnly) {
  // A second drive of the store, written with the CLI before the daemon starts.
  const std::string created = ExpectSuccess(RunCli(root_, {"create"}), {"create"});
  const size_t at = created.find("hyper://");
  ASSERT_NE(at, std::string::npos) << created;
  const std::string url = created.substr(at, 8 + 64);
  const std::string key = url.substr(8);
  ExpectSuccess(RunCli(root_, {"put", url + "/hello.txt"}, "remote content\n"), {"put"});
  ExpectSuccess(RunCli(root_, {"mkdir", url + "/sub"}), {"mkdir"});
  Start();
  const std::string dir = mnt_ + "/Network/" + key;
  EXPECT_EQ(ShOk("ls " + mnt_), "Network");
  EXPECT_EQ(ShOk("ls " + dir), "hello.txt\nsub");
  EXPECT_EQ(ReadText(dir + "/hello.txt"), "remote content\n");
  EXPECT_EQ(ShOk("stat -c %A " + dir + "/hello.txt"), "-r--r--r--");
  // Every write is refused, and nothing changes.
  for (const std::string& script :
       {"echo x > " + dir + "/new", "rm " + dir + "/hello.txt", "mkdir " + dir + "/d",
        "mv " + dir + "/hello.txt " + dir + "/moved", "ln -s a " + dir + "/l",
        "truncate -s 0 " + dir + "/hello.txt", "touch " + dir + "/hello.txt",
        "chmod 777 " + dir + "/hello.txt", "mv " + dir + "/hello.txt " + mnt_ + "/stolen"}) {
    const auto run = Sh(script);
    EXPECT_NE(run.exit_code, 0) << script;
    EXPECT_NE(run.stderr_text.find("Read-only file system"), std::string::npos)
        << script << ": " << run.stderr_text;
  }
  EXPECT_EQ(ShOk("ls " + dir), "hello.txt\nsub");
  EXPECT_EQ(ReadText(dir + "/hello.txt"), "remote content\n");
  // A name that is not a key is not there.
  EXPECT_NE(Sh("ls " + mnt_ + "/Network/not-a-key").stderr_text.find("No such file"),
            std::string::npos);
}

// A key nobody has: EIO after the read timeout (`start --read-timeout`, 1.5 s here), never a
// hang, and nothing is left of it: not listed in Network or Stats, no replica in the store.
TEST_F(FuseCli, ALookupOfAnUnknownKeyLeavesNothingBehind) {
  Start(/*with_mountpoint=*/true, {"--read-timeout", "1.5"});
  const std::string unknown(64, 'a');
  const auto cores_before = ShOk("find " + Cores(root_) + " | sort");
  const auto start = std::chrono::steady_clock::now();
  const auto run = Sh("ls " + mnt_ + "/Network/" + unknown);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, std::chrono::milliseconds(1400));
  EXPECT_LT(took, std::chrono::seconds(6));
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.stderr_text.find("Input/output error"), std::string::npos) << run.stderr_text;
  EXPECT_EQ(ShOk("ls " + mnt_ + "/Network"), "Active\nStats");
  EXPECT_EQ(ShOk("ls " + mnt_ + "/Network/Stats").find(unknown), std::string::npos);
  EXPECT_EQ(ShOk("find " + Cores(root_) + " | sort"), cores_before);
}

// A block no peer sends: the read fails with EIO once the read timeout (`start --read-timeout`)
// has passed, never a hang; the blocks held here still read. The drive is a replica fetched
// from a seed that is gone, with one file's content cleared.
TEST_F(FuseCli, ABlockNoPeerSendsIsEioAfterTheReadTimeout) {
  const std::string origin = tmp_.Sub("origin");
  const std::string created = ExpectSuccess(RunCli(origin, {"create"}), {"create"});
  const size_t at = created.find("hyper://");
  ASSERT_NE(at, std::string::npos) << created;
  const std::string url = created.substr(at, 8 + 64);
  const std::string big(300000, 'b');
  ExpectSuccess(RunCli(origin, {"put", url + "/big"}, big), {"put"});
  ExpectSuccess(RunCli(origin, {"put", url + "/small"}, "small"), {"put"});
  {
    std::string addr;
    auto seed = StartSeed(origin, url, tmp_.path(), &addr);
    ExpectSuccess(RunCli(root_, {"export", url, tmp_.Sub("out"), "--peer", addr}), {"export"});
  }
  ExpectSuccess(RunCli(root_, {"clear", url + "/big"}), {"clear"});
  // Online (so that the read waits for peers), with no DHT and no LAN: nobody will send it.
  const std::vector<std::string> args = {"start",    "--port",       "0",  "--bootstrap",    "",
                                         "--no-lan", "--mountpoint", mnt_, "--read-timeout", "1"};
  ExpectSuccess(RunCli(root_, args), args);
  const std::string dir = mnt_ + "/Network/" + url.substr(8);
  EXPECT_EQ(ReadText(dir + "/small"), "small");
  EXPECT_EQ(ShOk("stat -c %s " + dir + "/big"), "300000");
  const auto start = std::chrono::steady_clock::now();
  const auto run = Sh("cat " + dir + "/big > /dev/null");
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.stderr_text.find("Input/output error"), std::string::npos) << run.stderr_text;
  EXPECT_GE(took, std::chrono::milliseconds(900));
  EXPECT_LT(took, std::chrono::seconds(8));
  EXPECT_EQ(ReadText(dir + "/small"), "small");
}

// The rest of the reference's Network layout: <key>+<version> checkouts, Stats/<key>/*.json
// with the reference's fields, Active/ (links to the stats of the drives announced); all of it
// read-only. `ls -a` shows "." and "..".
TEST_F(FuseCli, NetworkHasVersionsStatsAndActive) {
  const std::string created = ExpectSuccess(RunCli(root_, {"create"}), {"create"});
  const size_t at = created.find("hyper://");
  ASSERT_NE(at, std::string::npos) << created;
  const std::string url = created.substr(at, 8 + 64);
  const std::string key = url.substr(8);
  ExpectSuccess(RunCli(root_, {"put", url + "/a.txt"}, "one\n"), {"put"});
  const std::string after_first = ExpectSuccess(RunCli(root_, {"info", url}), {"info"});
  ExpectSuccess(RunCli(root_, {"put", url + "/a.txt"}, "two\n"), {"put"});
  ExpectSuccess(RunCli(root_, {"put", url + "/b.txt"}, "bee\n"), {"put"});
  // The drive is remembered as announced (as `configureNetwork` with remember leaves it).
  {
    auto db = daemon::StateDb::Open(corestore::StateDbDirectory(root_));
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    auto k = FromHex(key);
    ASSERT_TRUE(k.ok());
    crypto::PublicKey pk{};
    std::copy(k->begin(), k->end(), pk.begin());
    ASSERT_TRUE((*db)
                    ->PutNetworkConfiguration({crypto::DiscoveryKey(pk), pk,
                                               daemon::NetworkConfiguration{true, true, true}})
                    .ok());
  }
  Start();
  const std::string net = mnt_ + "/Network";
  EXPECT_EQ(ShOk("ls -a " + mnt_), ".\n..\nNetwork");
  EXPECT_EQ(ShOk("ls -a " + net), ".\n..\nActive\nStats");

  // Versions: the version after the first put has the first a.txt and no b.txt.
  EXPECT_EQ(ReadText(net + "/" + key + "/a.txt"), "two\n");
  // The first put's version is the drive's version printed by info after it.
  const size_t vat = after_first.find("version:");
  ASSERT_NE(vat, std::string::npos) << after_first;
  const std::string first = std::to_string(std::stoull(after_first.substr(vat + 8)));
  const std::string old_dir = net + "/" + key + "+" + first;
  EXPECT_EQ(ReadText(old_dir + "/a.txt"), "one\n");
  EXPECT_EQ(ShOk("ls " + old_dir), "a.txt");
  EXPECT_EQ(ShOk("ls " + net + "/" + key), "a.txt\nb.txt");
  EXPECT_NE(ShOk("ls " + net).find(key + "+" + first), std::string::npos);
  for (const std::string& missing : {key + "+0", key + "+99", key + "+x", key + "+"}) {
    EXPECT_NE(Sh("ls " + net + "/" + missing).stderr_text.find("No such file"), std::string::npos)
        << missing;
  }

  // Stats: the reference's fields, with figures of what we wrote (3 files of one block each).
  EXPECT_NE(ShOk("ls " + net + "/Stats").find(key), std::string::npos);
  EXPECT_EQ(ShOk("ls " + net + "/Stats/" + key), "networking.json\nstorage.json");
  auto storage =
      nlohmann::json::parse(ReadText(net + "/Stats/" + key + "/storage.json"), nullptr, false);
  ASSERT_TRUE(storage.is_object()) << storage;
  EXPECT_EQ(storage["/a.txt"],
            (nlohmann::json{{"blocks", 1}, {"size", 4}, {"downloadedBlocks", 1}}));
  EXPECT_EQ(storage["/b.txt"]["size"], 4);
  EXPECT_EQ(storage.size(), 2u);
  auto networking =
      nlohmann::json::parse(ReadText(net + "/Stats/" + key + "/networking.json"), nullptr, false);
  ASSERT_TRUE(networking.is_array() && networking.size() == 1) << networking;
  const auto& meta = networking[0]["metadata"];
  EXPECT_EQ(networking[0]["path"], "/");
  EXPECT_EQ(meta["key"], key);
  auto k = FromHex(key);
  crypto::PublicKey pk{};
  std::copy(k->begin(), k->end(), pk.begin());
  EXPECT_EQ(meta["discoveryKey"], ToHex(crypto::DiscoveryKey(pk)));
  EXPECT_EQ(meta["peerCount"], 0);
  EXPECT_EQ(meta["downloadedBlocks"], meta["totalBlocks"]);
  EXPECT_EQ(networking[0]["content"]["totalBlocks"], 3);
  for (const char* field : {"peers", "uploadedBytes", "downloadedBytes"}) {
    EXPECT_TRUE(meta.contains(field)) << field;
  }
  // `stat` gives the size a read gives.
  EXPECT_EQ(std::stoul(ShOk("stat -c %s " + net + "/Stats/" + key + "/storage.json")),
            ReadText(net + "/Stats/" + key + "/storage.json").size());

  // Active: the announced drive, a link to its networking.json.
  EXPECT_EQ(ShOk("ls " + net + "/Active"), key + ".json");
  EXPECT_EQ(ShOk("readlink " + net + "/Active/" + key + ".json"),
            "../Stats/" + key + "/networking.json");
  EXPECT_TRUE(
      nlohmann::json::parse(ReadText(net + "/Active/" + key + ".json"), nullptr, false).is_array());

  // Nothing under Network can be written.
  for (const std::string& script :
       {"echo x > " + net + "/Stats/" + key + "/storage.json", "touch " + net + "/Stats/new",
        "mkdir " + net + "/Active/d", "echo x > " + old_dir + "/new",
        "rm " + net + "/Active/" + key + ".json", "ln -s x " + net + "/Stats/l"}) {
    const auto run = Sh(script);
    EXPECT_NE(run.exit_code, 0) << script;
    EXPECT_NE(run.stderr_text.find("Read-only file system"), std::string::npos)
        << script << ": " << run.stderr_text;
  }
}

// A drive of the store with hello.txt (version 2) and then sub/ (version 3), made with the CLI
// before the daemon starts; returns its key.
std::string MakeOtherDrive(const std::string& root) {
  const std::string created = ExpectSuccess(RunCli(root, {"create"}), {"create"});
  const size_t at = created.find("hyper://");
  EXPECT_NE(at, std::string::npos) << created;
  if (at == std::string::npos) return "";
  const std::string url = created.substr(at, 8 + 64);
  ExpectSuccess(RunCli(root, {"put", url + "/hello.txt"}, "other drive\n"), {"put"});
  ExpectSuccess(RunCli(root, {"mkdir", url + "/sub"}), {"mkdir"});
  return url.substr(8);
}

// `ln -s` into Network/<key>[+version] in the root drive makes a mount of that drive there (the
// mount record the reference reads); any other target stays a symlink.
TEST_F(FuseCli, ASymlinkIntoNetworkBecomesAMountOfThatDrive) {
  const std::string key = MakeOtherDrive(root_);
  Start();
  const std::string live = mnt_ + "/live";
  // An absolute target, listed right after the link is made, by the same shell.
  EXPECT_EQ(ShOk("ln -s " + mnt_ + "/Network/" + key + " " + live + " && ls " + live),
            "hello.txt\nsub");
  EXPECT_EQ(ReadText(live + "/hello.txt"), "other drive\n");
  EXPECT_EQ(ShOk("stat -c %F " + live), "directory");
  const auto readlink = Sh("readlink " + live);
  EXPECT_NE(readlink.exit_code, 0) << "a mount is not a link: " << readlink.stdout_text;
  EXPECT_EQ(ShOk("LC_ALL=C ls -F " + mnt_), "Network/\nlive/");
  // A relative target naming a version: that checkout, read-only.
  const std::string old = mnt_ + "/d/v2";
  ShOk("mkdir " + mnt_ + "/d && ln -s ../Network/" + key + "+2 " + old);
  EXPECT_EQ(ShOk("ls " + old), "hello.txt");
  EXPECT_EQ(ShOk("stat -c %F " + old), "directory");
  // Targets that are not a drive under Network stay symlinks.
  ShOk("ln -s /tmp/elsewhere " + mnt_ + "/plain && ln -s " + mnt_ + "/Network/Stats " + mnt_ +
       "/stats && ln -s Network/" + key + "/sub " + mnt_ + "/inner");
  EXPECT_EQ(ShOk("readlink " + mnt_ + "/plain"), "/tmp/elsewhere");
  EXPECT_EQ(ShOk("readlink " + mnt_ + "/stats"), mnt_ + "/Network/Stats");
  EXPECT_EQ(ShOk("readlink " + mnt_ + "/inner"), "Network/" + key + "/sub");
  // Made over a name that exists: EEXIST, as any symlink.
  EXPECT_NE(Sh("ln -s -T " + mnt_ + "/Network/" + key + " " + live).stderr_text.find("File exists"),
            std::string::npos);
  const std::string root_url = "hyper://" + RootKey();
  Stop();
  // In the drive: mount records (what `hyperdrive mount` writes and the reference reads).
  const std::string listing =
      ExpectSuccess(RunCli(root_, {"ls", "-l", root_url + "/live"}), {"ls"});
  EXPECT_NE(listing.find("hello.txt"), std::string::npos) << listing;
  const std::string info = ExpectSuccess(RunCli(root_, {"info", root_url}), {"info"});
  EXPECT_NE(info.find("mount:         /live -> hyper://" + key), std::string::npos) << info;
  EXPECT_NE(info.find("mount:         /d/v2 -> hyper://" + key), std::string::npos) << info;
  const std::string plain = ExpectSuccess(RunCli(root_, {"ls", "-l", root_url}), {"ls"});
  EXPECT_NE(plain.find("plain -> /tmp/elsewhere"), std::string::npos) << plain;
}

// create, mount, unmount and info take paths under the mountpoint (relative ones against the
// caller's directory), as the reference daemon's CLI; a path outside it is a clear error.
TEST_F(FuseCli, CreateMountUnmountAndInfoTakePathsUnderTheMountpoint) {
  const std::string key = MakeOtherDrive(root_);
  Start();
  const std::string cli = std::string(HYPERDRIVE_BINARY) + " --storage " + root_;
  // create <path>: a new drive mounted there (not seeded here: --no-seed).
  const std::string created = ShOk(cli + " create --no-seed " + mnt_ + "/mine");
  ASSERT_EQ(created.rfind("hyper://", 0), 0u) << created;
  const std::string mine = created.substr(8, 64);
  EXPECT_NE(created.find("is mounted at " + mnt_ + "/mine"), std::string::npos) << created;
  ShOk("echo hi > " + mnt_ + "/mine/a.txt");
  // info <path> of a file inside it: that drive, and where it is mounted (the daemon opens the
  // drive its root drive's replication already follows as a mount: the feeds are shared).
  const std::string inside = ShOk("cd " + mnt_ + "/mine && " + cli + " info a.txt");
  EXPECT_NE(inside.find("url:           hyper://" + mine), std::string::npos) << inside;
  EXPECT_NE(inside.find("mounted at:    " + mnt_ + "/mine"), std::string::npos) << inside;
  EXPECT_NE(ShOk(cli + " ls hyper://" + mine).find("a.txt"), std::string::npos);
  // mount <path> <key> --version N: that checkout.
  const std::string mounted = ShOk(cli + " mount " + mnt_ + "/other " + key + " --version 2");
  EXPECT_NE(mounted.find("hyper://" + key + " (version 2) is mounted at " + mnt_ + "/other"),
            std::string::npos)
      << mounted;
  EXPECT_EQ(ShOk("ls " + mnt_ + "/other"), "hello.txt");
  const auto other = nlohmann::json::parse(ShOk(cli + " info --json " + mnt_ + "/other"));
  EXPECT_EQ(other["key"], key) << other.dump();
  EXPECT_EQ(other["version"], 2) << other.dump();
  EXPECT_EQ(other["isMount"], true) << other.dump();
  EXPECT_EQ(other["mountpoint"], mnt_ + "/other") << other.dump();
  // info of the mountpoint itself: the root drive, with its mounts.
  const std::string info = ShOk(cli + " info " + mnt_);
  EXPECT_NE(info.find("url:           hyper://" + RootKey()), std::string::npos) << info;
  EXPECT_NE(info.find("mounted at:    " + mnt_ + "\n"), std::string::npos) << info;
  EXPECT_NE(info.find("mount:         /other -> hyper://" + key), std::string::npos) << info;
  EXPECT_NE(info.find("mount:         /mine -> hyper://" + mine), std::string::npos) << info;
  // unmount <path>, relative to the caller's directory.
  EXPECT_EQ(ShOk("cd " + mnt_ + " && " + cli + " unmount other"), "unmounted " + mnt_ + "/other");
  EXPECT_EQ(ShOk("LC_ALL=C ls " + mnt_), "Network\nmine");
  // Clear errors, and nothing changes.
  auto outside = Sh(cli + " info " + tmp_.Sub("elsewhere"));
  EXPECT_EQ(outside.exit_code, 1);
  EXPECT_NE(outside.stderr_text.find("is not under the mountpoint of the root drive, " + mnt_),
            std::string::npos)
      << outside.stderr_text;
  auto root_itself = Sh(cli + " unmount " + mnt_);
  EXPECT_NE(root_itself.stderr_text.find("`hyperdrive stop` unmounts it"), std::string::npos)
      << root_itself.stderr_text;
  auto in_network = Sh(cli + " mount " + mnt_ + "/Network/" + key + "/x " + key);
  EXPECT_NE(in_network.stderr_text.find("read-only"), std::string::npos) << in_network.stderr_text;
  EXPECT_EQ(ShOk("LC_ALL=C ls " + mnt_), "Network\nmine");
}

// The reference's own Node client drives the Fuse service (`client.fuse`): mounts by path under
// the mountpoint, files through the kernel mount, info, unmount, and what it refuses.
TEST_F(FuseCli, TheNodeClientMountsUnmountsAndDescribesPaths) {
  Start();
  auto run = hyper::testing::RunNode(
      "daemon_client",
      {nlohmann::json({{"scenario", "fuse"}, {"storage", root_}, {"mnt", mnt_}}).dump()});
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  const nlohmann::json& out = *run;
  const std::string root_key = RootKey();
  EXPECT_EQ(
      out["rootInfo"],
      nlohmann::json({{"key", root_key}, {"mountPath", ""}, {"writable", true}, {"path", ""}}));
  // A new writable drive, mounted where asked; a file written through the kernel is in it.
  const std::string made = out["createdKey"];
  EXPECT_EQ(made.size(), 64u);
  EXPECT_NE(made, root_key);
  EXPECT_EQ(out["createdPath"], mnt_ + "/made");
  EXPECT_EQ(out["createdWritable"], true);
  EXPECT_EQ(out["madeRead"], "hello through fuse");
  EXPECT_EQ(out["madeInfo"], nlohmann::json({{"key", made},
                                             {"mountPath", "sub/hello.txt"},
                                             {"writable", true},
                                             {"path", "/made/sub/hello.txt"}}));
  // A drive by key, mounted inside the new one, read through the kernel, then unmounted.
  EXPECT_EQ(out["byKeySame"], true);
  EXPECT_EQ(out["nestedRead"], "from the drive service");
  const std::string other = out["otherKey"];
  EXPECT_EQ(out["nestedInfo"], nlohmann::json({{"key", other},
                                               {"mountPath", "x.txt"},
                                               {"writable", true},
                                               {"path", "/made/nested/x.txt"}}));
  EXPECT_EQ(out["nestedGone"], true);
  EXPECT_EQ(out["networkInfo"]["key"], other);
  EXPECT_EQ(out["networkInfo"]["mountPath"], "x.txt");
  // gRPC codes: PERMISSION_DENIED 7, INVALID_ARGUMENT 3, FAILED_PRECONDITION 9.
  EXPECT_EQ(out["errors"], nlohmann::json({{"mountUnderNetwork", 7},
                                           {"outside", 3},
                                           {"relative", 3},
                                           {"unmountRoot", 3},
                                           {"badKey", 3},
                                           {"itself", 9}}));
  // What the client mounted is in the root drive after the daemon stopped.
  Stop();
  const std::string listing = ExpectSuccess(RunCli(root_, {"ls", "hyper://" + root_key}), {"ls"});
  EXPECT_NE(listing.find("made"), std::string::npos) << listing;
}

}  // namespace
}  // namespace hyper::cli
