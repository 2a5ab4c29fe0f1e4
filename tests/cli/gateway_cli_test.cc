// `hyperdrive serve` end to end: the real binary serves a drive over HTTP and `curl` asks for it
// (ranges, 416, HEAD, ETag and 304, redirects, listings, hostile paths, errors); a gateway whose
// store does not hold the drive reads it from a seed and fetches only the blocks a range needs;
// a silent peer is a 504, not a hung request.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/cli/background.h"
#include "tests/cli/cli_runner.h"

namespace hyper::cli {
namespace {

std::string GenBytes(uint32_t seed, size_t size) {
  std::string b(size, '\0');
  for (size_t j = 0; j < size; ++j) {
    b[j] = static_cast<char>((seed * 131 + j * 7 + (j >> 9)) & 0xff);
  }
  return b;
}

void WriteFile(const std::string& path, const std::string& data) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << data;
}

// An HTTP answer as curl saw it.
struct Answer {
  int status = 0;
  std::string headers;  // lower-cased names, as sent otherwise
  std::string body;
  std::string out;  // curl's stdout (what -w writes)
  std::string Header(const std::string& lower_name) const {
    size_t at = headers.find("\n" + lower_name + ": ");
    if (at == std::string::npos) return "";
    at += lower_name.size() + 3;
    size_t end = headers.find('\r', at);
    return headers.substr(at, end - at);
  }
};

class GatewayCliTest : public CliTest {
 protected:
  void SetUp() override {
    const std::string src = tmp_.Sub("src");
    big_ = GenBytes(3, kBigSize);
    WriteFile(src + "/big.bin", big_);
    WriteFile(src + "/docs/a b.txt", "a");
    WriteFile(src + "/docs/c.json", "{}");
    WriteFile(src + "/site/index.html", "<p>hello</p>");
    url_ = Ok({"import", src});
    key_ = url_.substr(std::string("hyper://").size());
  }

  // `serve` on a free port of 127.0.0.1 with `args`; sets base_ to "http://127.0.0.1:PORT".
  std::unique_ptr<Background> StartGateway(const std::string& store,
                                           std::vector<std::string> args) {
    std::vector<std::string> argv = {HYPERDRIVE_BINARY, "--storage", store,
                                     "serve",           "--listen",  "127.0.0.1:0"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto g = std::make_unique<Background>(argv, tmp_.Sub("gw.out"), tmp_.Sub("gw.err"));
    EXPECT_TRUE(g->WaitFor("gateway listening on http://")) << g->err();
    std::string out = g->out();
    size_t at = out.find("http://");
    base_ = out.substr(at, out.find('/', at + 7) - at);
    return g;
  }

  // `curl` of base_ + target with extra curl `args`; the answer's status, head and body.
  Answer Curl(const std::string& target, std::vector<std::string> args = {}) {
    const std::string head_file = tmp_.Sub("curl.head");
    const std::string body_file = tmp_.Sub("curl.body");
    std::filesystem::remove(head_file);
    std::filesystem::remove(body_file);
    std::vector<std::string> argv = {"curl",    "-sS", "--path-as-is", "-g",         "-D",
                                     head_file, "-o",  body_file,      "--max-time", "30"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(base_ + target);
    auto run = hyper::testing::RunProcess(argv, "");
    EXPECT_TRUE(run.ok() && run->exit_code == 0)
        << target << ": " << (run.ok() ? run->stderr_text : run.status().ToString());
    Answer a;
    if (run.ok()) a.out = run->stdout_text;
    std::ifstream h(head_file, std::ios::binary), b(body_file, std::ios::binary);
    std::string head((std::istreambuf_iterator<char>(h)), std::istreambuf_iterator<char>());
    // With -L, the heads of every answer: the last one is the answer.
    if (size_t last = head.rfind("\r\n\r\nHTTP/"); last != std::string::npos) {
      head.erase(0, last + 4);
    }
    a.body.assign((std::istreambuf_iterator<char>(b)), std::istreambuf_iterator<char>());
    if (head.size() > 12) a.status = std::stoi(head.substr(9, 3));
    // Names in lower case, for Header().
    a.headers = "\n";
    size_t pos = 0;
    while (pos < head.size()) {
      size_t end = head.find('\n', pos);
      std::string line = head.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
      size_t colon = line.find(':');
      for (size_t i = 0; i < colon && colon != std::string::npos; ++i) {
        line[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(line[i])));
      }
      a.headers += line + "\n";
      if (end == std::string::npos) break;
      pos = end + 1;
    }
    return a;
  }

  static constexpr size_t kBigSize = 8 * 1024 * 1024 + 1234;
  std::string big_, url_, key_, base_;
};

TEST_F(GatewayCliTest, FilesRangesHeadAndConditionalRequests) {
  auto gw = StartGateway(store_, {"--offline"});
  const std::string path = "/" + key_ + "/big.bin";
  Answer whole = Curl(path);
  EXPECT_EQ(whole.status, 200);
  EXPECT_EQ(whole.body == big_, true) << "the body differs (" << whole.body.size() << " bytes)";
  EXPECT_EQ(whole.Header("accept-ranges"), "bytes");
  EXPECT_EQ(whole.Header("x-content-type-options"), "nosniff");
  EXPECT_EQ(whole.Header("content-type"), "application/octet-stream");

  Answer part = Curl("/hyper" + path, {"-r", "1000000-1999999"});
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.Header("content-range"), "bytes 1000000-1999999/" + std::to_string(kBigSize));
  EXPECT_EQ(part.body == big_.substr(1000000, 1000000), true);
  Answer tail = Curl(path, {"-H", "Range: bytes=-100"});
  EXPECT_EQ(tail.status, 206);
  EXPECT_EQ(tail.body == big_.substr(kBigSize - 100), true);

  Answer bad = Curl(path, {"-H", "Range: bytes=" + std::to_string(kBigSize) + "-"});
  EXPECT_EQ(bad.status, 416);
  EXPECT_EQ(bad.Header("content-range"), "bytes */" + std::to_string(kBigSize));

  // (curl -I writes the head where the body would go; -w says how many body bytes came.)
  Answer head = Curl(path, {"-I", "-w", "%{size_download}"});
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("content-length"), std::to_string(kBigSize));
  EXPECT_EQ(head.out, "0");

  const std::string etag = whole.Header("etag");
  ASSERT_FALSE(etag.empty());
  Answer again = Curl(path, {"-H", "If-None-Match: " + etag});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  Answer if_range = Curl(path, {"-r", "0-9", "-H", "If-Range: " + etag});
  EXPECT_EQ(if_range.status, 206);
  Answer stale = Curl(path, {"-r", "0-9", "-H", "If-Range: \"stale\""});
  EXPECT_EQ(stale.status, 200);
  EXPECT_EQ(stale.body.size(), kBigSize);

  // A pinned version is immutable; the live drive is not.
  EXPECT_EQ(whole.Header("cache-control"), "no-cache");
  Answer pinned = Curl("/" + key_ + "+" + std::to_string(Version(url_)) + "/big.bin", {"-I"});
  EXPECT_EQ(pinned.status, 200);
  EXPECT_NE(pinned.Header("cache-control").find("immutable"), std::string::npos);
  EXPECT_EQ(gw->Stop(SIGTERM), 0) << gw->err();
}

TEST_F(GatewayCliTest, DirectoriesRedirectsAndListings) {
  auto gw = StartGateway(store_, {"--offline"});
  Answer r = Curl("/" + key_ + "/docs");
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(r.Header("location"), "/" + key_ + "/docs/");
  Answer followed = Curl("/" + key_ + "/docs", {"-L"});
  EXPECT_EQ(followed.status, 200);
  EXPECT_NE(followed.body.find("href=\"/" + key_ + "/docs/a%20b.txt\""), std::string::npos)
      << followed.body;
  EXPECT_EQ(followed.Header("content-type"), "text/html; charset=utf-8");

  Answer json = Curl("/" + key_ + "/docs/", {"-H", "Accept: application/json"});
  EXPECT_EQ(json.status, 200);
  auto j = nlohmann::json::parse(json.body, nullptr, false);
  ASSERT_TRUE(j.is_array()) << json.body;
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["name"], "a b.txt");
  EXPECT_EQ(j[0]["size"], 1);
  EXPECT_EQ(j[1]["name"], "c.json");

  Answer site = Curl("/" + key_ + "/site/");
  EXPECT_EQ(site.status, 200);
  EXPECT_EQ(site.body, "<p>hello</p>");
  Answer root = Curl("/" + key_ + "/");
  EXPECT_EQ(root.status, 200);
  EXPECT_NE(root.body.find("big.bin"), std::string::npos);
  EXPECT_EQ(Curl("/" + key_ + "/docs/a%20b.txt").body, "a");
  EXPECT_EQ(Curl("/" + key_ + "/docs/c.json").Header("content-type"), "application/json");
}

TEST_F(GatewayCliTest, ErrorsAndHostilePaths) {
  // Another file beside the store: no path may reach it.
  WriteFile(tmp_.Sub("secret.txt"), "secret");
  auto gw = StartGateway(store_, {"--offline"});
  EXPECT_EQ(Curl("/" + key_ + "/missing.txt").status, 404);
  EXPECT_EQ(Curl("/" + std::string(64, 'e') + "/x").status, 404);  // no such drive
  EXPECT_EQ(Curl("/notakey/x").status, 400);
  EXPECT_EQ(Curl("/" + key_.substr(1) + "/x").status, 400);
  for (const char* hostile :
       {"/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/%2e%2e/secret.txt", "/docs/../big.bin",
        "/a%00b", "/docs%2f..%2fbig.bin", "/%c0%ae%c0%ae/secret.txt", "/..%5csecret.txt"}) {
    Answer a = Curl("/" + key_ + std::string(hostile));
    EXPECT_EQ(a.status, 400) << hostile;
    EXPECT_EQ(a.body.find("secret\n"), std::string::npos) << hostile;
  }
  Answer longer = Curl("/" + key_ + "/" + std::string(5000, 'a'));
  EXPECT_EQ(longer.status, 400);
  Answer post = Curl("/" + key_ + "/big.bin", {"-X", "DELETE"});
  EXPECT_EQ(post.status, 405);
  // The gateway is still up and well.
  EXPECT_EQ(Curl("/" + key_ + "/docs/a%20b.txt").body, "a");
  EXPECT_EQ(gw->Stop(SIGTERM), 0) << gw->err();
}

TEST_F(GatewayCliTest, ServingOneDriveRedirectsTheRootToIt) {
  auto gw = StartGateway(store_, {url_, "--offline"});
  Answer r = Curl("/");
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(r.Header("location"), "/" + key_ + "/");
  EXPECT_EQ(Curl("/" + std::string(64, 'e') + "/x").status, 404);
  EXPECT_NE(gw->out().find("serving " + url_), std::string::npos) << gw->out();
}

// A gateway whose store does not hold the drive reads it from a seed: a range fetches only the
// blocks that hold it.
TEST_F(GatewayCliTest, ARemoteRangeFetchesOnlyItsBlocks) {
  std::string addr;
  auto seed = StartSeed(store_, url_, tmp_.path(), &addr);
  const std::string gw_store = tmp_.Sub("gateway-store");
  auto gw = StartGateway(gw_store, {"--peer", addr});
  Answer part = Curl("/" + key_ + "/big.bin", {"-r", "4000000-4099999"});
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.body == big_.substr(4000000, 100000), true);
  // A range that ends at a content block's end (the import writes 512 KiB blocks) needs no
  // tree node of the block after it.
  Answer block = Curl("/" + key_ + "/big.bin", {"-r", "524288-1048575"});
  EXPECT_EQ(block.status, 206);
  EXPECT_EQ(block.body == big_.substr(524288, 524288), true) << block.body.size() << " bytes";
  Answer small = Curl("/" + key_ + "/docs/a%20b.txt");
  EXPECT_EQ(small.body, "a");
  EXPECT_EQ(gw->Stop(SIGTERM), 0) << gw->err();
  // What the gateway's store holds of the content core: a few blocks, not the file.
  const std::string content_key = Json({"info", url_, "--json"})["contentKey"].get<std::string>();
  auto cores = nlohmann::json::parse(
      ExpectSuccess(RunCli(gw_store, {"core", "list", "--json"}), {"core list"}), nullptr, false);
  ASSERT_TRUE(cores.is_array()) << cores;
  bool found = false;
  for (const auto& c : cores) {
    if (c["key"] != content_key) continue;
    found = true;
    const uint64_t length = c["length"].get<uint64_t>();
    const uint64_t downloaded = c["downloaded"].get<uint64_t>();
    EXPECT_GT(downloaded, 0u);
    EXPECT_LE(downloaded * 4, length) << downloaded << " of " << length << " blocks fetched";
  }
  EXPECT_TRUE(found) << cores;
}

// A whole file read through a peer, a window of blocks at a time, is the file.
TEST_F(GatewayCliTest, ARemoteFileStreamsWhole) {
  std::string addr;
  auto seed = StartSeed(store_, url_, tmp_.path(), &addr);
  auto gw = StartGateway(tmp_.Sub("gateway-store"), {"--peer", addr});
  Answer whole = Curl("/" + key_ + "/big.bin");
  EXPECT_EQ(whole.status, 200);
  EXPECT_EQ(whole.body == big_, true) << whole.body.size() << " bytes of " << kBigSize;
  EXPECT_EQ(gw->Stop(SIGTERM), 0) << gw->err();
}

// A peer that accepts the connection and never answers: 504 after --timeout, not a hung request.
TEST_F(GatewayCliTest, ASilentPeerIsAGatewayTimeout) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(listen(fd, 16), 0);
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const std::string silent = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  auto gw = StartGateway(tmp_.Sub("empty"), {"--peer", silent, "--timeout", "1"});
  const auto start = std::chrono::steady_clock::now();
  Answer r = Curl("/" + key_ + "/big.bin");
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_LT(took, std::chrono::seconds(10));
  // And the gateway still answers.
  EXPECT_EQ(Curl("/notakey").status, 400);
  close(fd);
}

}  // namespace
}  // namespace hyper::cli
