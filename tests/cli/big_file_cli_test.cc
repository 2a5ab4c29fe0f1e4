// The big-file paths of the CLI (issue 20): cat, export, put and import of files of many
// chunks, each block still checked on its first read, and read-only commands that leave the
// store untouched.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "tests/cli/cli_runner.h"
#include "tests/support/node_harness.h"
#include "tests/support/temp_dir.h"

namespace hyper::cli {
namespace {

namespace fs = std::filesystem;
using hyper::testing::ProcessRun;
using hyper::testing::TempDir;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

std::string RandomText(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::string FromBase64(const std::string& in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char* at = c == '\0' ? nullptr : std::strchr(table, c);
    if (at == nullptr) continue;  // '=' padding
    acc = (acc << 6) | static_cast<uint32_t>(at - table);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

class BigFileCli : public ::testing::Test {
 protected:
  ProcessRun Run(std::vector<std::string> args) {
    args.insert(args.begin(), {HYPERDRIVE_BINARY, "--storage", store_});
    auto run = hyper::testing::RunProcess(args);
    EXPECT_TRUE(run.ok()) << run.status().ToString();
    return run.ok() ? *run : ProcessRun{};
  }
  std::string Ok(std::vector<std::string> args) { return ExpectSuccess(Run(args), args); }

  // A drive holding /big.bin (put from a local file) and /dir/{a,b} (imported).
  std::string MakeDrive() {
    WriteAll(tmp_.Sub("big.bin"), big_);
    fs::create_directories(tmp_.Sub("src/dir"));
    WriteAll(tmp_.Sub("src/dir/a"), RandomText((9 << 20) + 1, 2));
    WriteAll(tmp_.Sub("src/dir/b"), RandomText(3000, 3));
    std::string url = Ok({"import", tmp_.Sub("src")});
    Ok({"put", url + "/big.bin", tmp_.Sub("big.bin")});
    return url;
  }

  // Every file of the store: size and modification time.
  std::map<std::string, std::pair<uint64_t, int64_t>> StoreFiles() {
    std::map<std::string, std::pair<uint64_t, int64_t>> out;
    for (const auto& e : fs::recursive_directory_iterator(store_)) {
      if (!e.is_regular_file()) continue;
      struct stat st;
      EXPECT_EQ(::stat(e.path().c_str(), &st), 0);
      out[e.path().string()] = {static_cast<uint64_t>(st.st_size),
                                int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec};
    }
    return out;
  }

  // The content feed's data file: the largest `data` file of the store.
  std::string ContentData() {
    std::string best;
    uintmax_t best_size = 0;
    for (const auto& e : fs::recursive_directory_iterator(store_)) {
      if (e.is_regular_file() && e.path().filename() == "data" && e.file_size() > best_size) {
        best = e.path().string();
        best_size = e.file_size();
      }
    }
    return best;
  }

  TempDir tmp_;
  std::string store_ = tmp_.Sub("store");
  const std::string big_ = RandomText((21 << 20) + 5, 1);  // 43 blocks, three read chunks
};

TEST_F(BigFileCli, CatAndExportStreamBigFilesExactly) {
  std::string url = MakeDrive();
  ProcessRun cat = Run({"cat", url + "/big.bin"});
  ASSERT_EQ(cat.exit_code, 0) << cat.stderr_text;
  EXPECT_TRUE(cat.stdout_text == big_) << "cat gave " << cat.stdout_text.size() << " bytes";
  for (auto [start, end] :
       std::vector<std::pair<uint64_t, uint64_t>>{{0, 1},
                                                  {524287, 524289},
                                                  {(8 << 20) - 1, (17 << 20) + 3},
                                                  {big_.size() - 2, big_.size()},
                                                  {1000, big_.size()}}) {
    ProcessRun part = Run(
        {"cat", url + "/big.bin", "--start", std::to_string(start), "--end", std::to_string(end)});
    ASSERT_EQ(part.exit_code, 0) << part.stderr_text;
    EXPECT_TRUE(part.stdout_text == big_.substr(start, end - start)) << start << ".." << end;
  }
  Ok({"export", url, tmp_.Sub("out")});
  EXPECT_TRUE(ReadAll(tmp_.Sub("out/big.bin")) == big_);
  EXPECT_TRUE(ReadAll(tmp_.Sub("out/dir/a")) == ReadAll(tmp_.Sub("src/dir/a")));
  EXPECT_TRUE(ReadAll(tmp_.Sub("out/dir/b")) == ReadAll(tmp_.Sub("src/dir/b")));
  // What put and import wrote, the Node reference reads the same.
  auto node = hyper::testing::RunNode(
      "cli_tree", {Cores(store_), url.substr(std::string("hyper://").size(), 64)});
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  const auto& entries = (*node)["entries"];
  ASSERT_TRUE(entries.contains("/big.bin"));
  EXPECT_EQ(entries["/big.bin"]["size"], big_.size());
  EXPECT_TRUE(FromBase64(entries["/big.bin"]["content"]) == big_);
}

TEST_F(BigFileCli, ABlockChangedOnDiskIsRefusedByCatAndExport) {
  std::string url = MakeDrive();
  // Change one byte of /big.bin's content at 13 MiB + 7 (its second 8 MiB chunk), behind the
  // store's back.
  std::string data = ContentData();
  ASSERT_FALSE(data.empty());
  std::string bytes = ReadAll(data);
  size_t at = bytes.find(big_.substr(0, 4096));
  ASSERT_NE(at, std::string::npos);
  at += (13 << 20) + 7;
  {
    std::fstream f(data, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(at));
    char c = static_cast<char>(bytes[at] ^ 0x40);
    f.write(&c, 1);
  }
  ProcessRun cat = Run({"cat", url + "/big.bin"});
  EXPECT_NE(cat.exit_code, 0);
  EXPECT_NE(cat.stderr_text.find("does not match its hash"), std::string::npos) << cat.stderr_text;
  // Only bytes before the changed block's chunk came out, and they are right.
  EXPECT_LE(cat.stdout_text.size(), size_t{13} << 20);
  EXPECT_TRUE(cat.stdout_text == big_.substr(0, cat.stdout_text.size()));
  // A range around the byte is refused too; one before it still reads.
  EXPECT_NE(Run({"cat", url + "/big.bin", "--start", std::to_string((13 << 20) + 1), "--end",
                 std::to_string((13 << 20) + 9)})
                .exit_code,
            0);
  ProcessRun before = Run({"cat", url + "/big.bin", "--end", std::to_string(1 << 20)});
  EXPECT_EQ(before.exit_code, 0) << before.stderr_text;
  EXPECT_TRUE(before.stdout_text == big_.substr(0, 1 << 20));
  ProcessRun exported = Run({"export", url, tmp_.Sub("out")});
  EXPECT_NE(exported.exit_code, 0);
  EXPECT_NE(exported.stderr_text.find("does not match its hash"), std::string::npos)
      << exported.stderr_text;
}

TEST_F(BigFileCli, CommandsThatOnlyReadLeaveTheStoreUntouched) {
  std::string url = MakeDrive();
  auto before = StoreFiles();
  ASSERT_FALSE(before.empty());
  Ok({"cat", url + "/big.bin"});
  Ok({"cat", url + "/dir/b"});
  Ok({"ls", "-l", url + "/dir"});
  Ok({"stat", url + "/big.bin"});
  Ok({"export", url, tmp_.Sub("out")});
  Ok({"drives"});
  EXPECT_EQ(StoreFiles(), before) << "a read-only command wrote to the store";
}

}  // namespace
}  // namespace hyper::cli
