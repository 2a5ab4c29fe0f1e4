#include "hyper/protocol/replicator.h"

#include <gtest/gtest.h>

#include "hyper/storage/file.h"

namespace hyper::protocol {
namespace {

struct MemFeed {
  storage::MemoryDirectory dir;
  std::unique_ptr<core::Feed> feed;
};

std::unique_ptr<MemFeed> NewWriter(int blocks) {
  auto f = std::make_unique<MemFeed>();
  f->feed = std::move(core::Feed::Open(f->dir.factory()).value());
  for (int i = 0; i < blocks; ++i) {
    EXPECT_TRUE(f->feed->Append(ToBytes("block " + std::to_string(i))).ok());
  }
  return f;
}

std::unique_ptr<MemFeed> NewReplica(const crypto::PublicKey& key) {
  auto f = std::make_unique<MemFeed>();
  core::FeedOptions o;
  o.key = key;
  f->feed = std::move(core::Feed::Open(f->dir.factory(), o).value());
  return f;
}

// Moves bytes both ways until quiet; returns the number of rounds.
int Pump(ProtocolStream& a, ProtocolStream& b, FeedReplicator* ra = nullptr,
         FeedReplicator* rb = nullptr) {
  for (int round = 0; round < 10000; ++round) {
    bool moved = false;
    for (auto [from, to] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
      Bytes out = from->TakeOutput();
      if (out.empty()) continue;
      moved = true;
      (void)to->Recv(out);
    }
    if (ra) ra->Collect();
    if (rb) rb->Collect();
    if (!moved) return round;
  }
  return -1;
}

// A replica that fetches only what it is asked for and stays open.
PeerOptions SparseLive() {
  PeerOptions o;
  o.sparse = true;
  o.live = true;
  return o;
}

// A "seed" driven by hand: it says it has blocks 0..4 when asked what it has, and answers
// every request with a block that does not verify.
struct Forger : ChannelHandler {
  Forger(ProtocolStream* stream, const crypto::Hash& discovery_key)
      : s(stream), dk(discovery_key) {}
  ProtocolStream* s;
  crypto::Hash dk;
  Status OnChannelMessage(Message& m) override {
    if (const auto* req = std::get_if<RequestMessage>(&m)) {
      DataMessage d;
      d.index = req->index;
      d.value = ToBytes("forged");
      (void)s->Send(dk, d);
    }
    if (std::holds_alternative<WantMessage>(m)) {
      (void)s->Send(dk, HaveMessage{0, 5, std::nullopt, std::nullopt});
    }
    return Status::Ok();
  }
};

class ReplicatorTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(crypto::Init().ok()); }
  ProtocolStream a{StreamOptions{true, std::nullopt, {}}};
  ProtocolStream b{StreamOptions{false, std::nullopt, {}}};

  // Starts the handshake and attaches the seed to stream a, the leech to stream b.
  void Connect(FeedReplicator& seed, FeedReplicator& leech) {
    a.Start();
    ASSERT_TRUE(seed.Attach(&a).ok());
    ASSERT_TRUE(leech.Attach(&b).ok());
  }
};

TEST_F(ReplicatorTest, FullDownloadThenBothSidesClose) {
  auto w = NewWriter(50);
  auto r = NewReplica(w->feed->key());
  FeedReplicator seed(w->feed.get(), {}), leech(r->feed.get(), {});
  ASSERT_NO_FATAL_FAILURE(Connect(seed, leech));
  ASSERT_GE(Pump(a, b, &seed, &leech), 0);
  EXPECT_EQ(r->feed->length(), 50u);
  EXPECT_EQ(r->feed->Downloaded(), 50u);
  EXPECT_EQ(AsString(*r->feed->Get(BlockIndex(49))), "block 49");
  EXPECT_TRUE(leech.synced());
  EXPECT_EQ(leech.stats().downloaded_blocks, 50u);
  EXPECT_EQ(seed.stats().uploaded_blocks, 50u);
  // Non-live: both ends closed their channel.
  EXPECT_EQ(a.channel_count(), 0u);
  EXPECT_EQ(b.channel_count(), 0u);
}

TEST_F(ReplicatorTest, SparseFetchesOnlyWhatIsWanted) {
  auto w = NewWriter(100);
  auto r = NewReplica(w->feed->key());
  const PeerOptions sparse = SparseLive();
  FeedReplicator seed(w->feed.get(), {}), leech(r->feed.get(), sparse);
  ASSERT_NO_FATAL_FAILURE(Connect(seed, leech));
  Pump(a, b, &seed, &leech);
  EXPECT_EQ(r->feed->Downloaded(), 0u);
  Status got = Status::Internal("not called");
  leech.Want(BlockIndex(42), [&](Status s) { got = s; });
  Pump(a, b, &seed, &leech);
  EXPECT_TRUE(got.ok()) << got.ToString();
  EXPECT_TRUE(r->feed->Has(BlockIndex(42)));
  EXPECT_EQ(r->feed->Downloaded(), 1u);
  leech.Download(BlockIndex(10), BlockIndex(20));
  Pump(a, b, &seed, &leech);
  EXPECT_EQ(r->feed->Downloaded(), 11u);
  EXPECT_TRUE(r->feed->Has(BlockIndex(10), BlockIndex(20)));
  EXPECT_EQ(b.channel_count(), 1u);  // live: still open
}

TEST_F(ReplicatorTest, AnUndownloadedSelectionIsNotFetchedAndOverlapsStay) {
  auto w = NewWriter(100);
  auto r = NewReplica(w->feed->key());
  FeedReplicator seed(w->feed.get(), {}), leech(r->feed.get(), SparseLive());
  ASSERT_NO_FATAL_FAILURE(Connect(seed, leech));
  // Three selections before the peers have said anything (so before any block is asked for:
  // requests already sent would still land); the wide one is taken back, and the one inside
  // it and the one beside it stay.
  const uint64_t wide = leech.Download(BlockIndex(10), BlockIndex(40));
  const uint64_t inner = leech.Download(BlockIndex(20), BlockIndex(25));
  const uint64_t beside = leech.Download(BlockIndex(60), BlockIndex(62));
  EXPECT_NE(wide, inner);
  EXPECT_EQ(leech.Download(BlockIndex(5), BlockIndex(5)), 0u);  // empty: nothing selected
  leech.Undownload(wide);
  leech.Undownload(wide);   // twice: ignored
  leech.Undownload(12345);  // unknown: ignored
  Pump(a, b, &seed, &leech);
  EXPECT_EQ(r->feed->Downloaded(), 7u);
  EXPECT_TRUE(r->feed->Has(BlockIndex(20), BlockIndex(25)));
  EXPECT_TRUE(r->feed->Has(BlockIndex(60), BlockIndex(62)));
  EXPECT_FALSE(r->feed->Has(BlockIndex(10)));
  EXPECT_FALSE(r->feed->Has(BlockIndex(39)));
  leech.Undownload(inner);
  leech.Undownload(beside);
  // With no selection left, a Want still fetches its block.
  Status got = Status::Internal("not called");
  leech.Want(BlockIndex(90), [&](Status s) { got = s; });
  Pump(a, b, &seed, &leech);
  EXPECT_TRUE(got.ok()) << got.ToString();
  EXPECT_EQ(r->feed->Downloaded(), 8u);
}

TEST_F(ReplicatorTest, LiveAppendsAreAnnouncedAndFetched) {
  auto w = NewWriter(3);
  auto r = NewReplica(w->feed->key());
  PeerOptions live;
  live.live = true;
  FeedReplicator seed(w->feed.get(), live), leech(r->feed.get(), live);
  ASSERT_NO_FATAL_FAILURE(Connect(seed, leech));
  Pump(a, b, &seed, &leech);
  EXPECT_EQ(r->feed->Downloaded(), 3u);
  ASSERT_TRUE(w->feed->Append(ToBytes("late")).ok());
  seed.OnLocalAppend(w->feed->length());
  Pump(a, b, &seed, &leech);
  EXPECT_EQ(r->feed->length(), 4u);
  EXPECT_EQ(AsString(*r->feed->Get(BlockIndex(3))), "late");
}

TEST_F(ReplicatorTest, DifferentFeedsNeverMeet) {
  auto w = NewWriter(5);
  auto other = NewWriter(0);
  // The replica claims w's discovery key but does not know w's key: it cannot even open.
  FeedReplicator seed(w->feed.get(), {}), leech(other->feed.get(), {});
  ASSERT_NO_FATAL_FAILURE(Connect(seed, leech));
  Pump(a, b, &seed, &leech);
  EXPECT_EQ(other->feed->length(), 0u);
  EXPECT_EQ(seed.stats().uploaded_blocks, 0u);
}

TEST_F(ReplicatorTest, ForgedDataDestroysTheStream) {
  auto w = NewWriter(5);
  auto r = NewReplica(w->feed->key());
  const PeerOptions sparse = SparseLive();
  Status got = Status::Ok();  // outlives leech, whose destructor cancels the want
  FeedReplicator leech(r->feed.get(), sparse);
  // The "seed" side is driven by hand: a stream that opens the feed and answers a request
  // with a block that does not verify.
  Forger forger(&a, w->feed->discovery_key());
  a.Start();
  ASSERT_TRUE(a.Open(w->feed->key(), &forger).ok());
  ASSERT_TRUE(leech.Attach(&b).ok());
  leech.Want(BlockIndex(2), [&](Status s) { got = s; });
  Pump(a, b, nullptr, &leech);
  EXPECT_TRUE(b.destroyed());
  EXPECT_FALSE(r->feed->Has(BlockIndex(2)));
  EXPECT_EQ(leech.stats().rejected_blocks, 1u);
}

// A BlockStore that keeps the jobs until the test runs them (as a store thread would, later).
struct DeferredStore {
  explicit DeferredStore(core::Feed* f) : feed(f) {}
  core::Feed* feed;
  std::vector<std::pair<StoreJob, std::function<void(Status)>>> jobs;
  std::vector<std::pair<std::vector<uint64_t>, std::function<void(std::vector<RequestInfo>)>>>
      preps;
  size_t most_waiting = 0;
  BlockStore Bind() {
    BlockStore s;
    s.store = [this](StoreJob job, std::function<void(Status)> done) {
      jobs.emplace_back(std::move(job), std::move(done));
      most_waiting = std::max(most_waiting, jobs.size());
    };
    s.prepare = [this](std::vector<uint64_t> indexes,
                       std::function<void(std::vector<RequestInfo>)> done) {
      preps.emplace_back(std::move(indexes), std::move(done));
    };
    return s;
  }
  // Prepares the waiting requests (as a store thread does, first), then stores what is
  // waiting; returns how many jobs ran.
  size_t RunAll() {
    auto p = std::move(preps);
    preps.clear();
    for (auto& [indexes, done] : p) {
      std::vector<RequestInfo> infos;
      for (uint64_t i : indexes) {
        infos.push_back(RequestInfo{i, feed->Has(BlockIndex(i)), feed->Digest(BlockIndex(i))});
      }
      done(infos);
    }
    auto batch = std::move(jobs);
    jobs.clear();
    for (auto& [job, done] : batch) done(feed->Put(job.index, job.data, job.proof));
    return p.size() + batch.size();
  }
};

// Pumps bytes and runs the deferred stores until neither has anything left.
void PumpWithStore(ProtocolStream& a, ProtocolStream& b, FeedReplicator& ra, FeedReplicator& rb,
                   DeferredStore& store) {
  for (int round = 0; round < 10000; ++round) {
    int moved = Pump(a, b, &ra, &rb);
    if (store.RunAll() == 0 && moved == 0) return;
  }
}

TEST_F(ReplicatorTest, DeferredStoreDownloadsEverythingWithinItsBound) {
  auto w = NewWriter(50);
  auto r = NewReplica(w->feed->key());
  FeedReplicator seed(w->feed.get(), {}), leech(r->feed.get(), {});
  DeferredStore store(r->feed.get());
  leech.SetBlockStore(store.Bind(), 3, 1 << 20);
  ASSERT_NO_FATAL_FAILURE(Connect(seed, leech));
  PumpWithStore(a, b, seed, leech, store);
  EXPECT_EQ(r->feed->Downloaded(), 50u);
  EXPECT_EQ(AsString(*r->feed->Get(BlockIndex(49))), "block 49");
  EXPECT_TRUE(leech.synced());
  EXPECT_EQ(leech.stats().downloaded_blocks, 50u);
  EXPECT_EQ(seed.stats().uploaded_blocks, 50u);  // nothing asked twice
  // No new request while 3 blocks wait: at most those 3 plus the requests in flight then.
  EXPECT_LE(store.most_waiting, 3u + PeerOptions{}.max_requests);
  EXPECT_EQ(a.channel_count(), 0u);
  EXPECT_EQ(b.channel_count(), 0u);
}

TEST_F(ReplicatorTest, DeferredStoreDoesNotRequestABlockThatBecameLocal) {
  auto w = NewWriter(10);
  auto r = NewReplica(w->feed->key());
  FeedReplicator seed(w->feed.get(), {}), leech(r->feed.get(), {});
  DeferredStore store(r->feed.get());
  leech.SetBlockStore(store.Bind(), 32, 1 << 20);
  ASSERT_NO_FATAL_FAILURE(Connect(seed, leech));
  Pump(a, b, &seed, &leech);
  ASSERT_FALSE(store.preps.empty());  // requests for the 10 blocks, being prepared
  // Block 3 arrives by another way before the requests go out.
  auto proof = w->feed->MakeProof(BlockIndex(3));
  ASSERT_TRUE(proof.ok());
  ASSERT_TRUE(r->feed->Put(BlockIndex(3), *w->feed->Get(BlockIndex(3)), *proof).ok());
  PumpWithStore(a, b, seed, leech, store);
  EXPECT_EQ(r->feed->Downloaded(), 10u);
  EXPECT_EQ(seed.stats().uploaded_blocks, 9u);
  EXPECT_EQ(leech.stats().downloaded_blocks, 9u);
  EXPECT_TRUE(leech.synced());
}

TEST_F(ReplicatorTest, DeferredStoreGivesAWantedBlockOnceStored) {
  auto w = NewWriter(20);
  auto r = NewReplica(w->feed->key());
  const PeerOptions sparse = SparseLive();
  FeedReplicator seed(w->feed.get(), {}), leech(r->feed.get(), sparse);
  DeferredStore store(r->feed.get());
  leech.SetBlockStore(store.Bind(), 8, 1 << 20);
  ASSERT_NO_FATAL_FAILURE(Connect(seed, leech));
  Pump(a, b, &seed, &leech);
  Status got = Status::Internal("not called");
  leech.Want(BlockIndex(7), [&](Status s) { got = s; });
  Pump(a, b, &seed, &leech);
  EXPECT_TRUE(store.jobs.empty());
  ASSERT_EQ(store.preps.size(), 1u);  // the Request waits for the feed's digest
  store.RunAll();
  Pump(a, b, &seed, &leech);
  ASSERT_EQ(store.jobs.size(), 1u);  // arrived, not stored yet
  EXPECT_EQ(got.code(), Code::kInternal);
  EXPECT_FALSE(r->feed->Has(BlockIndex(7)));
  store.RunAll();
  EXPECT_TRUE(got.ok()) << got.ToString();
  EXPECT_TRUE(r->feed->Has(BlockIndex(7)));
  EXPECT_EQ(leech.stats().downloaded_blocks, 1u);
}

TEST_F(ReplicatorTest, DeferredStoreOfForgedDataDestroysTheStream) {
  auto w = NewWriter(5);
  auto r = NewReplica(w->feed->key());
  const PeerOptions sparse = SparseLive();
  FeedReplicator leech(r->feed.get(), sparse);
  DeferredStore store(r->feed.get());
  leech.SetBlockStore(store.Bind(), 8, 1 << 20);
  Forger forger(&a, w->feed->discovery_key());
  a.Start();
  ASSERT_TRUE(a.Open(w->feed->key(), &forger).ok());
  ASSERT_TRUE(leech.Attach(&b).ok());
  leech.Want(BlockIndex(2), [](Status) {});
  Pump(a, b, nullptr, &leech);
  store.RunAll();  // the Request
  Pump(a, b, nullptr, &leech);
  ASSERT_EQ(store.jobs.size(), 1u);
  EXPECT_FALSE(b.destroyed());  // not known to be bad before it is verified
  store.RunAll();
  EXPECT_TRUE(b.destroyed());
  EXPECT_FALSE(r->feed->Has(BlockIndex(2)));
  EXPECT_EQ(leech.stats().rejected_blocks, 1u);
  EXPECT_EQ(leech.stats().downloaded_blocks, 0u);
}

TEST_F(ReplicatorTest, StoreFinishingAfterTheReplicatorIsGoneDoesNothing) {
  auto w = NewWriter(10);
  auto r = NewReplica(w->feed->key());
  FeedReplicator seed(w->feed.get(), {});
  auto leech = std::make_unique<FeedReplicator>(r->feed.get(), PeerOptions{});
  DeferredStore store(r->feed.get());
  leech->SetBlockStore(store.Bind(), 4, 1 << 20);
  ASSERT_NO_FATAL_FAILURE(Connect(seed, *leech));
  Pump(a, b, &seed, leech.get());
  store.RunAll();  // the Requests
  Pump(a, b, &seed, leech.get());
  ASSERT_FALSE(store.jobs.empty());
  leech.reset();
  size_t stored = store.RunAll();  // Put still verifies and stores; the completions go nowhere
  EXPECT_EQ(r->feed->Downloaded(), stored);
}

// ---------------------------------------------------------------------------------------------
// Extension messages

struct Received {
  uint64_t peer = 0;
  std::string payload;
};

ExtensionHandler Record(std::vector<Received>* into) {
  ExtensionHandler h;
  h.on_message = [into](uint64_t peer, ByteView payload) {
    into->push_back({peer, std::string(payload.begin(), payload.end())});
  };
  return h;
}

TEST_F(ReplicatorTest, ExtensionsAreRoutedByNameNotById) {
  auto w = NewWriter(3);
  auto r = NewReplica(w->feed->key());
  FeedReplicator seed(w->feed.get(), SparseLive()), leech(r->feed.get(), SparseLive());
  // The two sides' sorted lists differ: "hypertrie" is id 0 at the seed and id 1 at the leech,
  // "zz" exists only at the seed, "aa" only at the leech.
  std::vector<Received> seed_trie, seed_zz, leech_trie, leech_aa;
  ASSERT_TRUE(seed.RegisterExtension("zz", Record(&seed_zz)).ok());
  ASSERT_TRUE(seed.RegisterExtension("hypertrie", Record(&seed_trie)).ok());
  ASSERT_TRUE(leech.RegisterExtension("hypertrie", Record(&leech_trie)).ok());
  ASSERT_TRUE(leech.RegisterExtension("aa", Record(&leech_aa)).ok());
  ASSERT_NO_FATAL_FAILURE(Connect(seed, leech));
  Pump(a, b, &seed, &leech);
  EXPECT_EQ(seed.PeersWithExtension("hypertrie"), 1u);
  EXPECT_EQ(seed.PeersWithExtension("aa"), 1u);
  EXPECT_EQ(seed.PeersWithExtension("zz"), 0u);
  EXPECT_EQ(leech.PeersWithExtension("zz"), 1u);

  EXPECT_EQ(leech.BroadcastExtension("hypertrie", AsBytes("get x")), 1u);
  // Known here but not listed by the remote: not sent.
  EXPECT_EQ(leech.BroadcastExtension("aa", AsBytes("nobody")), 0u);
  EXPECT_EQ(leech.BroadcastExtension("unregistered", AsBytes("nobody")), 0u);
  Pump(a, b, &seed, &leech);
  ASSERT_EQ(seed_trie.size(), 1u);
  EXPECT_EQ(seed_trie[0].payload, "get x");
  EXPECT_TRUE(seed_zz.empty());

  // The seed answers the peer the message came from.
  EXPECT_TRUE(seed.SendExtension(seed_trie[0].peer, "hypertrie", AsBytes("cache y")));
  EXPECT_FALSE(seed.SendExtension(seed_trie[0].peer + 99, "hypertrie", AsBytes("no such peer")));
  EXPECT_TRUE(seed.SendExtension(seed_trie[0].peer, "zz", AsBytes("ignored there")) == false);
  Pump(a, b, &seed, &leech);
  ASSERT_EQ(leech_trie.size(), 1u);
  EXPECT_EQ(leech_trie[0].payload, "cache y");
  EXPECT_TRUE(leech_aa.empty());
  // Replication itself is unaffected.
  Status got = Status::Internal("not called");
  leech.Want(BlockIndex(2), [&](Status s) { got = s; });
  Pump(a, b, &seed, &leech);
  EXPECT_TRUE(got.ok()) << got.ToString();
}

TEST_F(ReplicatorTest, RegisterExtensionRefusesBadNames) {
  auto w = NewWriter(1);
  FeedReplicator rep(w->feed.get(), {});
  std::vector<Received> got;
  EXPECT_TRUE(rep.RegisterExtension("one", Record(&got)).ok());
  EXPECT_EQ(rep.RegisterExtension("one", Record(&got)).code(), Code::kInvalidArgument);
  EXPECT_EQ(rep.RegisterExtension("", Record(&got)).code(), Code::kInvalidArgument);
  EXPECT_EQ(rep.RegisterExtension(std::string(300, 'n'), Record(&got)).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(rep.RegisterExtension("nohandler", ExtensionHandler{}).code(), Code::kInvalidArgument);
}

// A remote driven by hand sends Extension messages before its Options, with ids past its list,
// with an oversized payload, and after an Options that empties its list: only the messages whose
// id names one of our extensions in the remote's current list reach the handler, and the
// connection stays up.
TEST_F(ReplicatorTest, MalformedExtensionMessagesAreDropped) {
  auto w = NewWriter(5);
  std::vector<Received> trie, echo;
  FeedReplicator seed(w->feed.get(), SparseLive());
  ASSERT_TRUE(seed.RegisterExtension("hypertrie", Record(&trie)).ok());
  ASSERT_TRUE(seed.RegisterExtension("echo", Record(&echo)).ok());
  struct Quiet : ChannelHandler {
    std::vector<Message> got;
    Status OnChannelMessage(Message& m) override {
      got.push_back(m);
      return Status::Ok();
    }
  } remote;
  const crypto::Hash dk = w->feed->discovery_key();
  a.Start();
  ASSERT_TRUE(seed.Attach(&a).ok());
  ASSERT_TRUE(b.Open(w->feed->key(), &remote).ok());
  Pump(a, b, &seed);
  // Our Options came, with our names sorted.
  bool saw_options = false;
  for (const auto& m : remote.got) {
    if (const auto* o = std::get_if<OptionsMessage>(&m)) {
      saw_options = true;
      EXPECT_EQ(o->extensions, (std::vector<std::string>{"echo", "hypertrie"}));
    }
  }
  EXPECT_TRUE(saw_options);

  ASSERT_TRUE(b.Send(dk, ExtensionMessage{0, ToBytes("before options")}).ok());
  ASSERT_TRUE(b.Send(dk, OptionsMessage{{"hypertrie", "other", "zzz"}, std::nullopt}).ok());
  ASSERT_TRUE(b.Send(dk, ExtensionMessage{3, ToBytes("past the list")}).ok());
  ASSERT_TRUE(b.Send(dk, ExtensionMessage{uint64_t{1} << 60, ToBytes("huge id")}).ok());
  ASSERT_TRUE(b.Send(dk, ExtensionMessage{1, ToBytes("a name we lack")}).ok());
  ASSERT_TRUE(
      b.Send(dk, ExtensionMessage{0, Bytes(FeedReplicator::kMaxExtensionPayload + 1, 7)}).ok());
  ASSERT_TRUE(b.Send(dk, ExtensionMessage{0, ToBytes("good")}).ok());
  ASSERT_TRUE(b.Send(dk, ExtensionMessage{0, Bytes{}}).ok());
  ASSERT_TRUE(b.Send(dk, OptionsMessage{{}, std::nullopt}).ok());
  ASSERT_TRUE(b.Send(dk, ExtensionMessage{0, ToBytes("after the list emptied")}).ok());
  Pump(a, b, &seed);
  ASSERT_EQ(trie.size(), 2u);
  EXPECT_EQ(trie[0].payload, "good");
  EXPECT_EQ(trie[1].payload, "");
  EXPECT_TRUE(echo.empty());
  EXPECT_FALSE(a.destroyed());
  EXPECT_EQ(seed.peer_count(), 1u);
}

}  // namespace
}  // namespace hyper::protocol
