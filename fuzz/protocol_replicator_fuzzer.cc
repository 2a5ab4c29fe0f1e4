// Fuzzes the replication state machine with hostile messages from an authenticated peer:
// byte 0 picks our role (even: we serve a 40-block feed; odd: we download into an empty sparse
// replica and wait for block 5), the rest is a sequence of frames whose messages the remote
// sends on the feed's channel (through a real, encrypted ProtocolStream). We register two
// extensions ("echo" answers every message with its payload, "hypertrie" swallows it), so that
// Options and Extension messages with any names, ids and payloads reach the routing.
#include <cstdint>
#include <memory>

#include "hyper/crypto/crypto.h"
#include "hyper/protocol/replicator.h"
#include "hyper/storage/file.h"

namespace {

using namespace hyper;
using namespace hyper::protocol;

struct Quiet : ChannelHandler {};

struct Writer {
  storage::MemoryDirectory dir;
  std::unique_ptr<core::Feed> feed;
  Writer() {
    (void)crypto::Init();
    core::FeedOptions o;
    auto kp = crypto::KeyPairFromSeed(Bytes(32, 3));
    o.key = kp.public_key;
    o.secret_key = kp.secret_key;
    feed = std::move(core::Feed::Open(dir.factory(), o).value());
    for (int i = 0; i < 40; ++i) (void)feed->Append(ToBytes("block " + std::to_string(i)));
  }
};

void Pump(ProtocolStream& a, ProtocolStream& b, FeedReplicator& rep) {
  for (int round = 0; round < 64; ++round) {
    bool moved = false;
    for (auto [from, to] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
      Bytes out = from->TakeOutput();
      if (out.empty()) continue;
      moved = true;
      (void)to->Recv(out);
    }
    rep.Collect();
    if (!moved) return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Writer* writer = new Writer();
  if (size < 1) return 0;
  bool download = data[0] & 1;
  storage::MemoryDirectory replica_dir;
  std::unique_ptr<core::Feed> replica;
  core::Feed* feed = writer->feed.get();
  PeerOptions options;
  if (download) {
    core::FeedOptions o;
    o.key = writer->feed->key();
    replica = std::move(core::Feed::Open(replica_dir.factory(), o).value());
    feed = replica.get();
    options.sparse = true;
    options.live = true;
  }
  ProtocolStream ours(StreamOptions{false, std::nullopt, {}});
  ProtocolStream theirs(StreamOptions{true, std::nullopt, {}});
  Quiet attacker;
  {
    FeedReplicator rep(feed, options);
    ExtensionHandler echo;
    echo.on_message = [&rep](uint64_t peer, ByteView payload) {
      (void)rep.SendExtension(peer, "echo", payload);
    };
    (void)rep.RegisterExtension("echo", std::move(echo));
    ExtensionHandler swallow;
    swallow.on_message = [](uint64_t, ByteView payload) {
      volatile size_t n = payload.size();  // touch it: ASan checks the view is valid
      (void)n;
    };
    (void)rep.RegisterExtension("hypertrie", std::move(swallow));
    if (download) rep.Want(BlockIndex(5), [](Status) {});
    theirs.Start();
    (void)rep.Attach(&ours);
    (void)theirs.Open(writer->feed->key(), &attacker);
    Pump(ours, theirs, rep);
    FrameDecoder frames;
    crypto::Hash dk = writer->feed->discovery_key();
    (void)frames.Feed(ByteView(data + 1, size - 1), [&](uint64_t, uint8_t type, ByteView body) {
      auto m = DecodeBody(type, body);
      if (m.ok() && !std::holds_alternative<OpenMessage>(*m)) {
        (void)theirs.Send(dk, *m);
        Pump(ours, theirs, rep);
      }
      return Status::Ok();
    });
  }
  return 0;
}
