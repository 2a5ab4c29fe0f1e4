// `hyperdrive gc` and `hyperdrive clear` end to end: what they print against what the store's
// files take on disk (measured here, as du does), what still reads afterwards, and a replica
// cleared and fetched again from a seed over TCP on 127.0.0.1.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>

#include "hyper/crypto/crypto.h"
#include "tests/cli/background.h"
#include "tests/cli/cli_runner.h"
#include "tests/cli/local_tree.h"

namespace hyper::cli {
namespace {

std::string Gen(uint32_t seed, size_t size) {
  std::string b(size, '\0');
  for (size_t j = 0; j < size; j++) {
    b[j] = static_cast<char>((seed * 131 + j * 7 + (j >> 9) + (j >> 17)) & 0xff);
  }
  return b;
}

class GcCliTest : public CliTest {
 protected:
  // Writes `data` to a local file and puts it at url+path.
  void Put(const std::string& url, const std::string& path, const std::string& data,
           const std::string& store = "") {
    const std::string local = tmp_.Sub("put.bin");
    WriteAll(local, data);
    ExpectSuccess(Run({"put", url + path, local}, "", store), {"put", url + path});
  }
  std::string Cat(const std::string& url, const std::string& store = "") {
    return ExpectSuccess(Run({"cat", url}, "", store), {"cat", url});
  }
  // What the content feed of the drive at `url` takes on disk: st_blocks * 512 of its data
  // file, found from the content key `info` prints.
  uint64_t ContentDiskBytes(const std::string& url, const std::string& store = "") {
    auto info = nlohmann::json::parse(
        ExpectSuccess(Run({"info", url, "--json"}, "", store), {"info", url}), nullptr, false);
    EXPECT_FALSE(info.is_discarded());
    auto key = FromHex(info["contentKey"].get<std::string>());
    EXPECT_TRUE(key.ok() && key->size() == 32);
    crypto::PublicKey pk{};
    std::copy(key->begin(), key->end(), pk.begin());
    const std::string dk = ToHex(crypto::DiscoveryKey(pk));
    const std::string path = Cores(store.empty() ? store_ : store) + "/" + dk.substr(0, 2) + "/" +
                             dk.substr(2, 2) + "/" + dk + "/data";
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return static_cast<uint64_t>(st.st_blocks) * 512;
  }
  // The filesystem block size of the store (a punched hole is whole blocks of it).
  uint64_t FsBlock() {
    struct stat st {};
    EXPECT_EQ(::stat(store_.c_str(), &st), 0);
    return static_cast<uint64_t>(st.st_blksize);
  }
};

TEST_F(GcCliTest, FreesWhatNoKeptVersionReadsAndPrintsWhatTheDiskShows) {
  const std::string url = Ok({"create"});
  const std::string first = Gen(1, 3 * 1024 * 1024 + 17);
  const std::string second = Gen(2, 2 * 1024 * 1024 + 5);
  const std::string latest = Gen(3, 700 * 1024);
  const std::string other = Gen(4, 1000);
  Put(url, "/a", first);
  Ok({"tag", url, "release"});
  Put(url, "/b", other);
  Put(url, "/a", second);
  const uint64_t second_version = Version(url);
  Put(url, "/a", latest);

  // A dry run: the report a real run gives, and the disk untouched.
  const uint64_t before = ContentDiskBytes(url);
  auto dry = Json({"gc", url, "--dry-run", "--json"});
  EXPECT_EQ(dry["dryRun"], true);
  ASSERT_EQ(dry["drives"].size(), 1u);
  EXPECT_EQ(dry["drives"][0]["files"], 1);
  EXPECT_EQ(dry["drives"][0]["bytes"], second.size());
  EXPECT_EQ(dry["drives"][0]["diskBefore"], before);
  EXPECT_EQ(dry["drives"][0]["diskAfter"], before);
  EXPECT_EQ(ContentDiskBytes(url), before);

  auto done = Json({"gc", url, "--json"});
  const auto& r = done["drives"][0];
  EXPECT_EQ(r["url"], url);
  EXPECT_EQ(r["files"], 1);
  EXPECT_EQ(r["bytes"], second.size());
  EXPECT_EQ(r["blocks"], dry["drives"][0]["blocks"]);
  EXPECT_EQ(r["latest"], Version(url));
  EXPECT_EQ(r["firstRetained"], Version(url));
  ASSERT_EQ(r["tags"].size(), 1u);
  EXPECT_EQ(r["tags"][0]["name"], "release");
  const uint64_t after = ContentDiskBytes(url);
  EXPECT_EQ(r["diskBefore"], before);
  EXPECT_EQ(r["diskAfter"], after);
  // The freed range became a hole: all of it but the file system blocks it shares with its
  // neighbours at both ends.
  EXPECT_LE(after + second.size(), before + 2 * FsBlock());

  // The latest version and the tag read as before; the freed version says why it cannot.
  EXPECT_EQ(Cat(url + "/a"), latest);
  EXPECT_EQ(Cat(url + "/b"), other);
  EXPECT_EQ(Cat(url + "+release/a"), first);
  ProcessRun old = Run({"cat", url + "+" + std::to_string(second_version) + "/a"});
  EXPECT_EQ(old.exit_code, 1);
  EXPECT_EQ(old.stdout_text, "");
  EXPECT_NE(old.stderr_text.find("/a is not available locally"), std::string::npos)
      << old.stderr_text;

  // The text form: the same figures, and nothing left to free.
  const std::string text = Ok({"gc", url});
  EXPECT_NE(text.find("freed: 0 files, 0 blocks, 0 bytes"), std::string::npos) << text;
  EXPECT_NE(text.find("tag release"), std::string::npos) << text;
  const std::string disk = std::to_string(after) + " bytes before, " + std::to_string(after);
  EXPECT_NE(text.find(disk), std::string::npos) << text;
}

TEST_F(GcCliTest, KeepVersionsAllDrivesAndBadUsage) {
  const std::string one = Ok({"create"});
  const std::string two = Ok({"create"});
  std::vector<std::string> contents;
  for (uint32_t i = 0; i < 4; i++) {
    contents.push_back(Gen(10 + i, 200000 + i * 1000));
    Put(one, "/f", contents.back());
  }
  Put(two, "/g", Gen(20, 5000));
  Put(two, "/g", Gen(21, 6000));

  const uint64_t before_one = ContentDiskBytes(one);
  const uint64_t before_two = ContentDiskBytes(two);
  auto all = Json({"gc", "--all", "--keep-versions", "2", "--json"});
  ASSERT_EQ(all["drives"].size(), 2u);
  for (const auto& d : all["drives"]) {
    if (d["url"] == one) {
      // The last two versions read contents 2 and 3.
      EXPECT_EQ(d["bytes"], contents[0].size() + contents[1].size());
      EXPECT_EQ(d["files"], 2);
      EXPECT_EQ(d["firstRetained"], Version(one) - 1);
      EXPECT_EQ(d["diskBefore"], before_one);
      EXPECT_EQ(d["diskAfter"], ContentDiskBytes(one));
    } else {
      EXPECT_EQ(d["url"], two);
      EXPECT_EQ(d["bytes"], 0);  // both versions of /g are among the last two
      EXPECT_EQ(d["diskBefore"], before_two);
    }
  }
  EXPECT_EQ(Cat(one + "/f"), contents[3]);
  EXPECT_EQ(Cat(one + "+" + std::to_string(Version(one) - 1) + "/f"), contents[2]);

  // --keep-since with a date before every write keeps everything still held.
  auto since = Json({"gc", one, "--keep-since", "2000-01-01", "--json"});
  EXPECT_EQ(since["drives"][0]["bytes"], 0);
  EXPECT_EQ(since["drives"][0]["firstRetained"], 1);

  EXPECT_EQ(Run({"gc", one, "--keep-since", "yesterday"}).exit_code, 2);
  EXPECT_EQ(Run({"gc", one, "--keep-versions", "0"}).exit_code, 2);
  EXPECT_EQ(Run({"gc"}).exit_code, 1);
  EXPECT_EQ(Run({"gc", one + "+2"}).exit_code, 1);
  ProcessRun refused = Run({"clear", one});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.stderr_text.find("use gc"), std::string::npos) << refused.stderr_text;
  EXPECT_EQ(Cat(one + "/f"), contents[3]);
}

// A replica fetched from our seed: `clear url/path` frees one file, `clear url` the rest; what
// was cleared reads as not downloaded, and fetching it again gives the same bytes.
TEST_F(GcCliTest, ClearFreesAReplicaWhichFetchesItAgain) {
  const std::string url = Ok({"create"});
  const std::string big = Gen(30, 3 * 1024 * 1024 + 3);
  const std::string small = Gen(31, 4000);
  Put(url, "/big", big);
  Put(url, "/small", small);
  std::string addr;
  auto seed = StartSeed(store_, url, tmp_.path(), &addr);
  const std::string replica = tmp_.Sub("replica");
  ExpectSuccess(Run({"export", url, tmp_.Sub("out"), "--peer", addr}, "", replica), {"export"});
  EXPECT_EQ(Cat(url + "/big", replica), big);

  const uint64_t before = ContentDiskBytes(url, replica);
  auto one = nlohmann::json::parse(
      ExpectSuccess(Run({"clear", url + "/big", "--json"}, "", replica), {"clear"}), nullptr,
      false);
  ASSERT_FALSE(one.is_discarded());
  const auto& r = one["drives"][0];
  EXPECT_EQ(r["files"], 1);
  EXPECT_EQ(r["bytes"], big.size());
  EXPECT_EQ(r["diskBefore"], before);
  const uint64_t after = ContentDiskBytes(url, replica);
  EXPECT_EQ(r["diskAfter"], after);
  EXPECT_LE(after + big.size(), before + 2 * FsBlock());

  ProcessRun gone = Run({"cat", url + "/big"}, "", replica);
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_NE(gone.stderr_text.find("not downloaded here"), std::string::npos) << gone.stderr_text;
  EXPECT_EQ(Cat(url + "/small", replica), small);
  // From the seed again: the same bytes.
  EXPECT_EQ(ExpectSuccess(Run({"cat", url + "/big", "--peer", addr}, "", replica), {"cat"}), big);

  const std::string text = ExpectSuccess(Run({"clear", url}, "", replica), {"clear"});
  const std::string freed = "freed: 2 files, ";
  EXPECT_NE(text.find(freed), std::string::npos) << text;
  EXPECT_NE(text.find(std::to_string(big.size() + small.size()) + " bytes"), std::string::npos)
      << text;
  EXPECT_EQ(Run({"cat", url + "/small"}, "", replica).exit_code, 1);
  EXPECT_EQ(seed->Stop(SIGTERM), 0) << seed->err();
}

}  // namespace
}  // namespace hyper::cli
