// The daemon killed with SIGKILL in the middle of writes, again and again: every restart
// succeeds, and the drive opens at a version whose every file reads back whole and right.
#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "daemon/root.h"
#include "daemon/rpc/services.grpc.pb.h"
#include "tests/cli/background.h"
#include "tests/cli/cli_runner.h"

namespace hyper::cli {
namespace {

// The bytes of file number n: its size and content follow from n alone.
std::string ContentOf(uint64_t n) {
  std::string s = "file " + std::to_string(n) + ":";
  const size_t size = 100 + (n * 7919) % 30000;
  while (s.size() < size) s += static_cast<char>('a' + (n + s.size()) % 26);
  return s;
}

class DaemonCrashTest : public CliTest {
 protected:
  struct Connection {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<::Drive::Stub> drive;
    std::string token;
  };

  Connection Connect(const std::string& root) {
    auto config = daemon::ReadClientConfig(daemon::Root{root});
    EXPECT_TRUE(config.ok()) << config.status().ToString();
    Connection c;
    c.channel = grpc::CreateChannel(config->endpoint, grpc::InsecureChannelCredentials());
    c.drive = ::Drive::NewStub(c.channel);
    c.token = config->token;
    return c;
  }
  void Prepare(grpc::ClientContext& ctx, const Connection& c) {
    ctx.AddMetadata("token", c.token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  }
  // A session on the drive (a new one when key is empty); its id and key.
  std::pair<uint64_t, std::string> Get(Connection& c, const std::string& key) {
    grpc::ClientContext ctx;
    Prepare(ctx, c);
    hyper::rpc::GetDriveRequest req;
    req.mutable_opts()->set_key(key);
    hyper::rpc::GetDriveResponse rsp;
    grpc::Status s = c.drive->get(&ctx, req, &rsp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {rsp.id(), rsp.opts().key()};
  }
  grpc::Status WriteFile(Connection& c, uint64_t id, uint64_t n) {
    grpc::ClientContext ctx;
    Prepare(ctx, c);
    hyper::rpc::WriteFileResponse rsp;
    auto writer = c.drive->writeFile(&ctx, &rsp);
    hyper::rpc::WriteFileRequest first;
    first.set_id(id);
    first.set_path("/f/" + std::to_string(n));
    first.set_chunk(ContentOf(n));
    writer->Write(first);
    writer->WritesDone();
    return writer->Finish();
  }
  // The files of the drive numbered `from` and up read back as written; returns how many files
  // there are in all.
  size_t Check(Connection& c, uint64_t id, uint64_t from) {
    grpc::ClientContext ctx;
    Prepare(ctx, c);
    hyper::rpc::ReadDirectoryRequest req;
    req.set_id(id);
    req.set_path("/f");
    hyper::rpc::ReadDirectoryResponse rsp;
    grpc::Status s = c.drive->readdir(&ctx, req, &rsp);
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) return 0;  // nothing written yet
    EXPECT_TRUE(s.ok()) << s.error_message();
    for (const std::string& name : rsp.files()) {
      if (std::stoull(name) < from) continue;
      grpc::ClientContext rctx;
      Prepare(rctx, c);
      hyper::rpc::ReadFileRequest rreq;
      rreq.set_id(id);
      rreq.set_path("/f/" + name);
      auto reader = c.drive->readFile(&rctx, rreq);
      std::string data;
      hyper::rpc::ReadFileResponse chunk;
      while (reader->Read(&chunk)) data += chunk.chunk();
      grpc::Status rs = reader->Finish();
      EXPECT_TRUE(rs.ok()) << name << ": " << rs.error_message();
      EXPECT_EQ(data, ContentOf(std::stoull(name))) << name;
    }
    return static_cast<size_t>(rsp.files_size());
  }
};

TEST_F(DaemonCrashTest, KilledDuringWritesAHundredTimesEveryRestartReadsRight) {
  const std::string root = tmp_.Sub("root");
  std::string key;
  // Files 0 .. next-1 were confirmed by the daemon before it was killed (a write cut by the
  // kill may be there too: file `next`, written again in the next cycle).
  uint64_t next = 0;
  uint64_t last_start = 0;  // the first file the cycle before wrote
  std::mt19937 rng(1234);
  for (int cycle = 0; cycle < 100; cycle++) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    std::filesystem::remove(root + "/config.json");
    Background daemon(
        {HYPERDRIVE_BINARY, "--storage", root, "start", "--foreground", "--port", "0", "--offline"},
        tmp_.Sub("out"), tmp_.Sub("err"));
    ASSERT_TRUE(daemon.WaitFor("hyperdrive daemon listening on")) << daemon.err();
    Connection c = Connect(root);
    const auto [id, got] = Get(c, key);
    const uint64_t session = id;  // (a lambda cannot capture a structured binding in C++20)
    ASSERT_NE(id, 0u);
    if (key.empty()) key = got;
    ASSERT_EQ(got, key);
    // What the last cycles confirmed is all there (a write cut by the kill may be there too),
    // and every file reads right.
    // Every file every tenth cycle; else those of the cycle before (older ones were read
    // back already, and a write never rewrites what is stored).
    const size_t count = Check(c, id, cycle % 10 == 9 ? 0 : last_start);
    last_start = next;
    ASSERT_GE(count, next);
    ASSERT_LE(count, next + 1);
    // Write until killed.
    std::atomic<bool> stop{false};
    std::thread writer([&] {
      while (!stop) {
        if (!WriteFile(c, session, next).ok()) break;
        next++;
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 60));
    daemon.Stop(SIGKILL);
    stop = true;
    writer.join();
  }
}

}  // namespace
}  // namespace hyper::cli
