// The daemon's gRPC server as a hostile or careless client meets it: no token, a wrong token,
// bytes that are not the message the method expects, unknown sessions.
#include "daemon/daemon.h"

#include <google/protobuf/descriptor.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "daemon/root.h"
#include "daemon/rpc/services.grpc.pb.h"
#include "hyper/client/client.h"
#include "tests/support/temp_dir.h"

namespace hyper::daemon {
namespace {

// Every method path of every service in the API ("/Drive/get", ...).
std::vector<std::string> AllMethods() {
  // Links services.pb.cc in, whose static initializer registers the file (nothing else in the
  // daemon uses its descriptor).
  const void* volatile registered = &descriptor_table_daemon_2frpc_2fservices_2eproto;
  (void)registered;
  const auto* file = google::protobuf::DescriptorPool::generated_pool()->FindFileByName(
      "daemon/rpc/services.proto");
  std::vector<std::string> out;
  if (file == nullptr) {
    ADD_FAILURE() << "daemon/rpc/services.proto is not in the generated pool";
    return out;
  }
  for (int s = 0; s < file->service_count(); s++) {
    const auto* service = file->service(s);
    for (int m = 0; m < service->method_count(); m++) {
      out.push_back("/" + service->full_name() + "/" + service->method(m)->name());
    }
  }
  return out;
}

// Calls `method` with one message of `payload` bytes (whatever the method's kind: a stream
// call carries unary ones too) and returns the status.
grpc::Status CallRaw(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                     const std::optional<std::string>& token, const std::string& payload,
                     std::chrono::seconds deadline = std::chrono::seconds(20)) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  if (token) ctx.AddMetadata("token", *token);
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  grpc::CompletionQueue cq;
  auto call = stub.PrepareCall(&ctx, method, &cq);
  void* tag = nullptr;
  bool ok = false;
  call->StartCall(reinterpret_cast<void*>(1));
  cq.Next(&tag, &ok);
  grpc::Slice slice(payload);
  grpc::ByteBuffer buffer(&slice, 1);
  call->Write(buffer, reinterpret_cast<void*>(2));
  cq.Next(&tag, &ok);
  call->WritesDone(reinterpret_cast<void*>(3));
  cq.Next(&tag, &ok);
  grpc::ByteBuffer in;
  call->Read(&in, reinterpret_cast<void*>(4));
  cq.Next(&tag, &ok);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DaemonOptions o;
    o.root = Root{tmp_.Sub("root")};
    o.port = 0;
    auto d = Daemon::Start(o);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    daemon_ = std::move(d).value();
    auto config = ReadClientConfig(o.root);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    config_ = *config;
    channel_ = grpc::CreateChannel(config_.endpoint, grpc::InsecureChannelCredentials());
  }
  hyper::testing::TempDir tmp_;
  std::unique_ptr<Daemon> daemon_;
  ClientConfig config_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(DaemonTest, EveryRpcRefusesAMissingOrWrongToken) {
  const auto methods = AllMethods();
  EXPECT_EQ(methods.size(), 50u);  // hyperdrive-schemas 1.11: 7 services, 50 rpcs
  for (const auto& method : methods) {
    for (const std::optional<std::string>& token :
         {std::optional<std::string>(), std::optional<std::string>("wrong"),
          std::optional<std::string>(config_.token + "0"), std::optional<std::string>("")}) {
      grpc::Status s = CallRaw(channel_, method, token, "");
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << method;
      EXPECT_EQ(s.error_message(), "Invalid auth token.") << method;
    }
  }
}

// Our own CommandLine service (the command line through the daemon) checks the token as every
// rpc does, before it reads a command.
TEST_F(DaemonTest, TheCommandLineServiceRefusesAMissingOrWrongToken) {
  const std::string method = "/hyperdrive_cpp.CommandLine/Run";
  for (const std::optional<std::string>& token :
       {std::optional<std::string>(), std::optional<std::string>("wrong"),
        std::optional<std::string>(config_.token + "0"), std::optional<std::string>("")}) {
    grpc::Status s = CallRaw(channel_, method, token, "");
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(s.error_message(), "Invalid auth token.");
  }
  // With the token, a daemon started without commands (no run_command) says so.
  grpc::Status s = CallRaw(channel_, method, config_.token, "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED) << s.error_message();
}

TEST_F(DaemonTest, MalformedMessagesGetAnErrorAndTheDaemonGoesOn) {
  // Bytes that are no valid protobuf, and valid protobuf of the wrong shape, to every method.
  const std::vector<std::string> payloads = {std::string("\xff\xff\xff\xff\x0f", 5),
                                             std::string("\x0a\x05hello\x12\xff", 8),
                                             std::string(1000, '\x08'), std::string("\x08\x01", 2)};
  for (const auto& method : AllMethods()) {
    for (const auto& payload : payloads) {
      // Streams that run until the client leaves (watchPeers) end at the deadline.
      grpc::Status s = CallRaw(channel_, method, config_.token, payload, std::chrono::seconds(1));
      // Refused or answered; never a crash (the status call below would then fail).
      (void)s;
    }
  }
  auto client = client::DaemonClient::Connect({config_.endpoint, config_.token});
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto status = (*client)->GetStatus();
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(status->api_version, 0u);
}

TEST_F(DaemonTest, UnknownSessionsAndBadKeysAreClearErrors) {
  auto drive = ::Drive::NewStub(channel_);
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("token", config_.token);
    rpc::StatRequest req;
    req.set_id(12345);
    req.set_path("/x");
    rpc::StatResponse rsp;
    grpc::Status s = drive->stat(&ctx, req, &rsp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_NE(s.error_message().find("no drive session 12345"), std::string::npos)
        << s.error_message();
  }
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("token", config_.token);
    rpc::GetDriveRequest req;
    req.mutable_opts()->set_key("short");
    rpc::GetDriveResponse rsp;
    grpc::Status s = drive->get(&ctx, req, &rsp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    // Sessions count from 1.
    grpc::ClientContext ctx;
    ctx.AddMetadata("token", config_.token);
    rpc::GetDriveResponse rsp;
    ASSERT_TRUE(drive->get(&ctx, rpc::GetDriveRequest(), &rsp).ok());
    EXPECT_EQ(rsp.id(), 1u);
    EXPECT_TRUE(rsp.opts().writable());
    EXPECT_EQ(rsp.opts().key().size(), 32u);
  }
}

TEST_F(DaemonTest, TheCppClientWritesReadsAndListsADrive) {
  auto c = client::DaemonClient::Connect({config_.endpoint, config_.token});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto d = (*c)->GetDrive();
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE((*d)->writable());
  const std::string big(3 << 20, 'x');  // three messages of 1 MiB
  ASSERT_TRUE((*d)->WriteFile("/big", big).ok());
  ASSERT_TRUE((*d)->Mkdir("/dir").ok());
  ASSERT_TRUE((*d)->WriteFile("/dir/a", "hello").ok());
  ASSERT_TRUE((*d)->Symlink("/dir/a", "/link").ok());
  EXPECT_EQ(*(*d)->ReadFile("/big"), big);
  EXPECT_EQ(*(*d)->ReadRange("/dir/a", 1, 3), "ell");
  EXPECT_EQ(*(*d)->ReadFile("/link"), "hello");
  auto st = (*d)->Stat("/dir");
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->IsDirectory());
  auto names = (*d)->Readdir("/", true);
  ASSERT_TRUE(names.ok());
  std::sort(names->begin(), names->end());
  EXPECT_EQ(*names, (std::vector<std::string>{"big", "dir", "dir/a", "link"}));
  const uint64_t v = *(*d)->Version();
  ASSERT_TRUE((*d)->Unlink("/dir/a").ok());
  EXPECT_EQ((*d)->ReadFile("/dir/a").status().code(), Code::kNotFound);
  EXPECT_EQ((*d)->Mkdir("/big").code(), Code::kExists);
  // A checkout of the version before the unlink still has the file, and is read-only.
  auto old = (*c)->GetDrive((*d)->key(), v);
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_FALSE((*old)->writable());
  EXPECT_EQ(*(*old)->ReadFile("/dir/a"), "hello");
  EXPECT_EQ((*old)->WriteFile("/x", "x").code(), Code::kNotWritable);
}

TEST_F(DaemonTest, FileDescriptorsWriteAndReadAndOtherWritersWaitForThem) {
  auto drive = ::Drive::NewStub(channel_);
  auto prepare = [&](grpc::ClientContext& ctx) {
    ctx.AddMetadata("token", config_.token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  };
  uint64_t id = 0;
  {
    grpc::ClientContext ctx;
    prepare(ctx);
    rpc::GetDriveResponse rsp;
    ASSERT_TRUE(drive->get(&ctx, rpc::GetDriveRequest(), &rsp).ok());
    id = rsp.id();
  }
  auto open = [&](const std::string& path, uint32_t flags) {
    grpc::ClientContext ctx;
    prepare(ctx);
    rpc::OpenRequest req;
    req.set_id(id);
    req.set_path(path);
    req.set_flags(flags);
    rpc::OpenResponse rsp;
    grpc::Status s = drive->open(&ctx, req, &rsp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return rsp.fd();
  };
  const uint32_t wfd = open("/fd.txt", 01 | 0100);  // O_WRONLY | O_CREAT
  grpc::ClientContext wctx;
  prepare(wctx);
  auto writes = drive->write(&wctx);
  rpc::WriteRequest w;
  w.set_id(id);
  w.set_fd(wfd);
  w.set_offset(0);
  w.set_contents("hello ");
  ASSERT_TRUE(writes->Write(w));
  rpc::WriteResponse ack;
  ASSERT_TRUE(writes->Read(&ack));
  // Another client writes a file meanwhile: it waits for the stream (no deadlock) and lands.
  std::atomic<bool> other_done{false};
  grpc::Status other_status;
  std::thread other([&] {
    grpc::ClientContext ctx;
    prepare(ctx);
    rpc::WriteFileResponse rsp;
    auto writer = drive->writeFile(&ctx, &rsp);
    rpc::WriteFileRequest first;
    first.set_id(id);
    first.set_path("/other.txt");
    first.set_chunk("other");
    writer->Write(first);
    writer->WritesDone();
    other_status = writer->Finish();
    other_done = true;
  });
  w.set_offset(6);
  w.set_contents("world");
  ASSERT_TRUE(writes->Write(w));
  ASSERT_TRUE(writes->Read(&ack));
  writes->WritesDone();
  grpc::Status ended = writes->Finish();
  ASSERT_TRUE(ended.ok()) << ended.error_message();
  other.join();
  EXPECT_TRUE(other_done);
  EXPECT_TRUE(other_status.ok()) << other_status.error_message();
  // Read back through a descriptor.
  const uint32_t rfd = open("/fd.txt", 0);
  grpc::ClientContext rctx;
  prepare(rctx);
  auto reads = drive->read(&rctx);
  rpc::ReadRequest r;
  r.set_id(id);
  r.set_fd(rfd);
  r.set_offset(0);
  r.set_length(100);
  ASSERT_TRUE(reads->Write(r));
  rpc::ReadResponse got;
  ASSERT_TRUE(reads->Read(&got));
  EXPECT_EQ(got.content(), "hello world");
  reads->WritesDone();
  EXPECT_TRUE(reads->Finish().ok());
}

TEST_F(DaemonTest, DownloadsHaveIdsAndUndownloadCancelsAnyOfThem) {
  auto drive = ::Drive::NewStub(channel_);
  auto prepare = [&](grpc::ClientContext& ctx) {
    ctx.AddMetadata("token", config_.token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  };
  auto c = client::DaemonClient::Connect({config_.endpoint, config_.token});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto d = (*c)->GetDrive();
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_TRUE((*d)->WriteFile("/dir/a", std::string(200000, 'a')).ok());
  uint64_t session = 0;
  {
    grpc::ClientContext ctx;
    prepare(ctx);
    rpc::GetDriveRequest req;
    const auto& key = (*d)->key();
    req.mutable_opts()->set_key(std::string(key.begin(), key.end()));
    rpc::GetDriveResponse rsp;
    ASSERT_TRUE(drive->get(&ctx, req, &rsp).ok());
    session = rsp.id();
  }
  auto download = [&](uint64_t id, const std::string& path, uint64_t* download_id) {
    grpc::ClientContext ctx;
    prepare(ctx);
    rpc::DownloadRequest req;
    req.set_id(id);
    req.set_path(path);
    rpc::DownloadResponse rsp;
    grpc::Status s = drive->download(&ctx, req, &rsp);
    if (download_id != nullptr) *download_id = rsp.downloadid();
    return s;
  };
  auto undownload = [&](uint64_t id, uint64_t download_id) {
    grpc::ClientContext ctx;
    prepare(ctx);
    rpc::UndownloadRequest req;
    req.set_id(id);
    req.set_downloadid(download_id);
    rpc::UndownloadResponse rsp;
    return drive->undownload(&ctx, req, &rsp);
  };
  // A drive written here has every block: its downloads are done at once, and still get ids,
  // from 1, one more each time; no path is the whole drive.
  uint64_t first = 0;
  uint64_t second = 0;
  ASSERT_TRUE(download(session, "", &first).ok());
  ASSERT_TRUE(download(session, "/", &second).ok());
  EXPECT_EQ(first, 1u);
  EXPECT_EQ(second, 2u);
  // Cancelling: a finished one, twice, an unknown one: no error (as the reference); id 0 is a
  // malformed request.
  EXPECT_TRUE(undownload(session, first).ok());
  EXPECT_TRUE(undownload(session, first).ok());
  EXPECT_TRUE(undownload(session, 999).ok());
  EXPECT_EQ(undownload(session, 0).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(undownload(4242, second).error_code(), grpc::StatusCode::NOT_FOUND);
  // A path that is not there, a path above the root, an unknown session.
  EXPECT_EQ(download(session, "/nothing", nullptr).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(download(session, "/../x", nullptr).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(download(4242, "/", nullptr).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(DaemonTest, ASecondDaemonOnTheSameRootIsRefused) {
  DaemonOptions o;
  o.root = Root{tmp_.Sub("root")};
  o.port = 0;
  auto second = Daemon::Start(o);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kBusy) << second.status().ToString();
}

TEST(DaemonClientTest, ACallToADaemonThatIsGoneFailsInsteadOfHanging) {
  hyper::testing::TempDir tmp;
  std::string endpoint;
  std::string token;
  {
    DaemonOptions o;
    o.root = Root{tmp.Sub("root")};
    o.port = 0;
    auto d = Daemon::Start(o);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    endpoint = (*d)->endpoint();
    token = ReadClientConfig(o.root)->token;
  }
  const auto start = std::chrono::steady_clock::now();
  auto client = client::DaemonClient::Connect({endpoint, token}, std::chrono::seconds(1));
  EXPECT_FALSE(client.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(RootTest, ClientConfigIsWrittenOwnerOnlyAndReadBack) {
  hyper::testing::TempDir tmp;
  Root root{tmp.Sub("r")};
  std::filesystem::create_directories(root.dir);
  ASSERT_TRUE(WriteClientConfig(root, {"localhost:1", "abc"}).ok());
  struct stat st {};
  ASSERT_EQ(::stat(root.config_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto back = ReadClientConfig(root);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->endpoint, "localhost:1");
  EXPECT_EQ(back->token, "abc");
  std::ofstream(root.config_path()) << "{not json";
  EXPECT_EQ(ReadClientConfig(root).status().code(), Code::kCorruption);
  EXPECT_EQ(ReadClientConfig(Root{tmp.Sub("none")}).status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace hyper::daemon
