#include "hyper/protocol/replicator.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <limits>

#include "hyper/util/interval_set.h"

namespace hyper::protocol {
namespace {

constexpr uint64_t kWantRegion = 1024 * 1024;  // the reference asks in regions of 2^20 blocks
constexpr uint64_t kWantAlign = 8192;          // and answers Wants aligned to bitfield pages
constexpr uint64_t kMaxInflightWants = 16;
// Block indexes past this are refused (2^53, as far as the reference's numbers go).
constexpr uint64_t kMaxIndex = uint64_t{1} << 53;
constexpr uint64_t kAll = IntervalSet::kNone;  // "no block" and "to the end"
// Deduplication (PeerOptions::dedup): after this many hashes in a row found nothing in the
// store, only one Request in kDedupProbe asks for the hash first (until one is found again),
// so that a feed sharing nothing with the store costs few extra round trips.
constexpr uint64_t kDedupMissRun = 32;
constexpr uint64_t kDedupProbe = 16;

}  // namespace

class FeedReplicator::Peer : public ChannelHandler {
 public:
  Peer(FeedReplicator* owner, ProtocolStream* stream, uint64_t id)
      : owner_(owner),
        stream_(stream),
        id_(id),
        feed_(owner->feed_),
        downloading_(owner->options_.download),
        uploading_(owner->options_.upload),
        default_downloading_(owner->options_.download) {}

  ProtocolStream* stream() const { return stream_; }
  uint64_t id() const { return id_; }
  uint64_t remote_length() const { return remote_length_; }
  bool informed() const { return have_received_; }
  bool remote_want() const { return remote_want_; }

  void OnChannelOpen() override {
    opened_ = true;
    if (!owner_->extensions_.empty()) {
      OptionsMessage o;
      for (const auto& [name, handler] : owner_->extensions_) o.extensions.push_back(name);
      Send(o);
    }
    if (!uploading_ || !downloading_) {
      Send(StatusMessage{uploading_, downloading_});
    }
    SendWants();
    Update();
  }

  Status OnChannelMessage(Message& m) override {
    if (const auto* x = std::get_if<HaveMessage>(&m)) return OnHave(*x);
    if (const auto* x = std::get_if<WantMessage>(&m)) return OnWant(*x);
    if (const auto* x = std::get_if<RequestMessage>(&m)) return OnRequest(*x);
    if (auto* x = std::get_if<DataMessage>(&m)) return OnData(*x);
    if (const auto* x = std::get_if<UnhaveMessage>(&m)) return OnUnhave(*x);
    if (const auto* x = std::get_if<StatusMessage>(&m)) return OnStatus(*x);
    if (auto* x = std::get_if<OptionsMessage>(&m)) {
      remote_extensions_ = std::move(x->extensions);
      return Status::Ok();
    }
    if (const auto* x = std::get_if<ExtensionMessage>(&m)) {
      // The id indexes the remote's own list (from its Options); anything else is dropped.
      if (x->id >= remote_extensions_.size()) return Status::Ok();
      if (x->payload.size() > kMaxExtensionPayload) return Status::Ok();
      owner_->OnExtension(this, remote_extensions_[x->id], x->payload);
      return Status::Ok();
    }
    return Status::Ok();  // Unwant, Cancel: nothing to do
  }

  // Whether the remote listed extension `name` (and the channel is open both ways).
  bool HasExtension(std::string_view name) const {
    if (!opened_ || closed_ || stream_->destroyed()) return false;
    return std::find(remote_extensions_.begin(), remote_extensions_.end(), name) !=
           remote_extensions_.end();
  }

  void SendExtension(uint64_t local_id, ByteView payload) {
    Send(ExtensionMessage{local_id, ToBytes(payload)});
  }

  void OnChannelClose() override {
    closed_ = true;
    ReleaseAll();
    owner_->RemovePeer(this);  // parks this in the owner's graveyard
  }

  // Announce a block range we now have (only to peers that asked with a Want).
  void Announce(uint64_t start, uint64_t length) {
    if (remote_want_ && !closed_) {
      HaveMessage h;
      h.start = start;
      if (length != 1) h.length = length;
      Send(h);
    }
  }

  void AskFor(uint64_t index) {
    SendWant(index);
    Update();
  }

  // Requests what we can and sends the Wants we need.
  void Update() {
    if (closed_ || !opened_ || stream_->destroyed()) return;
    if (downloading_ && remote_uploading_) {
      std::vector<uint64_t> prepare;  // with a BlockStore: Requests asked of it, in one batch
      while (inflight_.size() < owner_->options_.max_requests && !owner_->StoreFull()) {
        uint64_t i = NextToRequest();
        if (i == kAll) break;
        Reserve(i);
        if (Async()) {
          prepare.push_back(i);
        } else {
          SendFirstRequest(i, feed_->Digest(BlockIndex(i)));
        }
      }
      if (!prepare.empty()) owner_->PrepareAsync(this, std::move(prepare));
    }
    SendWants();
    CheckSynced();
  }

  // A prepared Request (BlockStore::prepare) is back: send it, or drop it if the block is local
  // by now. Nothing to do if the request was released meanwhile.
  void OnPrepared(const RequestInfo& r) {
    if (closed_ || !inflight_.count(r.index)) return;
    if (r.local) {
      inflight_.erase(r.index);
      owner_->reserved_.erase(r.index);
      Forget(r.index);
      return;
    }
    if (stream_->destroyed()) return;
    SendFirstRequest(r.index, r.digest);
  }

  // A copy of block `index` from the store (after its hash answer) is done: Ok (it is stored)
  // or not (then ask for its data now). Returns whether the block is still in flight here.
  bool OnCopied(uint64_t index, bool stored) {
    auto c = copying_.find(index);
    const uint64_t digest = c == copying_.end() ? 0 : c->second;
    if (c != copying_.end()) copying_.erase(c);
    if (stored || closed_ || stream_->destroyed() || !inflight_.count(index)) {
      inflight_.erase(index);
      return false;
    }
    SendRequest(index, digest);
    return true;
  }

  // Drops requests in flight (so that other peers may ask for them).
  void ReleaseAll() {
    for (uint64_t i : inflight_) owner_->reserved_.erase(i);
    inflight_.clear();
    hash_inflight_.clear();
    copying_.clear();
  }

  // A block became local (from any peer): no need to ask this one for it.
  void Forget(uint64_t index) { missing_.Remove(index, index + 1); }

  // Ends the connection when requests have been in flight for `timeout` without an answer
  // (the reference's request timeout).
  void Tick(std::chrono::steady_clock::time_point now, std::chrono::milliseconds timeout) {
    if (closed_ || inflight_.empty() || stream_->destroyed()) return;
    if (now - last_progress_ > timeout) {
      stream_->Destroy(Status::Timeout("request timeout: the remote does not answer"));
    }
  }

 private:
  void Send(const Message& m) {
    if (!closed_) (void)stream_->Send(owner_->discovery_key_, m);
  }

  bool Synced() const {
    uint64_t end = std::max(feed_->length(), remote_length_);
    return end == 0 || feed_->Has(BlockIndex(0), BlockIndex(end));
  }

  void CheckSynced() {
    const PeerOptions& o = owner_->options_;
    if (o.sparse || !have_received_ || !inflight_.empty() || !downloading_) return;
    if (owner_->storing_ > 0) return;  // the last blocks are on their way to the feed
    if (!Synced()) {
      owner_->synced_ = false;
      return;
    }
    owner_->synced_ = true;
    if (!o.live && !full_done_) {
      full_done_ = true;
      End();
    }
  }

  // With a BlockStore, the feed is asked about blocks to request on the store thread
  // (BlockStore::prepare), not here.
  bool Async() const { return static_cast<bool>(owner_->store_.store); }

  // Whether a candidate for a request is local (without a BlockStore; with one, it is
  // checked when the request is prepared).
  bool LocalNow(uint64_t index) const { return !Async() && feed_->Has(BlockIndex(index)); }

  // The next block this peer has, we lack, nobody is fetching, and somebody wants.
  uint64_t NextToRequest() {
    // Blocks someone waits for first.
    for (const auto& [index, waiters] : owner_->waiting_) {
      if (missing_.Contains(index) && !owner_->reserved_.count(index) && !LocalNow(index)) {
        return index;
      }
    }
    const PeerOptions& o = owner_->options_;
    if (o.sparse) {
      for (const auto& [start, end] : owner_->ranges_) {
        uint64_t i = NextMissing(start);
        if (i < end) return i;
      }
      return kAll;
    }
    return NextMissing(0);
  }

  // The first block >= from that the remote has, we lack and nobody is fetching. Blocks that
  // became local behind our back are dropped from missing_ on the way, so the walk only ever
  // steps over blocks in flight or being stored (reserved: checked first, without asking the
  // feed, whose lock a store may hold).
  uint64_t NextMissing(uint64_t from) {
    uint64_t i = missing_.NextFrom(from);
    while (i != kAll) {
      if (!owner_->reserved_.count(i)) {
        if (!LocalNow(i)) return i;
        missing_.Remove(i, i + 1);
      }
      i = missing_.NextFrom(i + 1);
    }
    return kAll;
  }

  // Records that the remote has [a, b): keeps the part we lack.
  void AddRemote(uint64_t a, uint64_t b) {
    if (a >= b) return;
    uint64_t local_end = std::min(b, feed_->length());  // past our length nothing is local
    if (a < local_end) {
      if (feed_->Downloaded(BlockIndex(a), BlockIndex(local_end)) == 0) {
        missing_.Add(a, local_end);
      } else if (!feed_->Has(BlockIndex(a), BlockIndex(local_end))) {
        uint64_t run = kAll;
        for (uint64_t j = a; j < local_end; ++j) {
          bool need = !feed_->Has(BlockIndex(j));
          if (need && run == kAll) run = j;
          if (!need && run != kAll) {
            missing_.Add(run, j);
            run = kAll;
          }
        }
        if (run != kAll) missing_.Add(run, local_end);
      }
    }
    if (b > std::max(a, local_end)) missing_.Add(std::max(a, local_end), b);
  }

  // Counts a request as in flight (from when it is prepared).
  void Reserve(uint64_t index) {
    if (inflight_.empty()) last_progress_ = std::chrono::steady_clock::now();
    owner_->reserved_.insert(index);
    inflight_.insert(index);
  }

  // The first Request for a block: for its hash only when deduplicating (PeerOptions::dedup);
  // the answer decides whether its data is asked for (OnHashAnswer).
  void SendFirstRequest(uint64_t index, uint64_t digest) {
    if (!owner_->AskHashFirst()) {
      SendRequest(index, digest);
      return;
    }
    hash_inflight_[index] = digest;
    owner_->stats_.hash_requests++;
    SendRequest(index, digest, /*hash=*/true);
  }

  // The answer to a hash-only Request: the block's leaf node first, then the proof of it (as
  // the reference's proof with `hash` orders them). A leaf the store may hold is copied from
  // there (verified against this feed's tree by Feed::Put); otherwise its data is asked for.
  Status OnHashAnswer(const DataMessage& d, uint64_t digest) {
    last_progress_ = std::chrono::steady_clock::now();
    const bool has_leaf = !d.nodes.empty() && d.nodes[0].index == 2 * d.index &&
                          d.nodes[0].size <= core::kMaxBlockBytes;
    if (has_leaf && owner_->options_.dedup->MayHold(d.nodes[0].hash)) {
      core::TreeNode leaf{TreeIndex(d.nodes[0].index), d.nodes[0].hash, d.nodes[0].size};
      core::Proof proof;
      proof.nodes.reserve(d.nodes.size() - 1);
      for (size_t k = 1; k < d.nodes.size(); ++k) {
        const auto& n = d.nodes[k];
        proof.nodes.push_back(core::TreeNode{TreeIndex(n.index), n.hash, n.size});
      }
      proof.signature = d.signature;
      copying_[d.index] = digest;
      owner_->CopyAsync(this, d.index, leaf, std::move(proof));
      return Status::Ok();
    }
    owner_->NoteDedupOutcome(false);
    SendRequest(d.index, digest);
    return Status::Ok();
  }

  // A Request for block `index`: its data, or with `hash` only its leaf node and proof.
  void SendRequest(uint64_t index, uint64_t digest, bool hash = false) {
    RequestMessage r;
    r.index = index;
    r.bytes = 0;
    r.hash = hash;
    r.nodes = digest;
    Send(r);
  }

  void SendWants() {
    if (!downloading_ || !opened_ || !remote_uploading_ || closed_) return;
    for (const auto& [index, waiters] : owner_->waiting_) {
      if (inflight_wants_ >= kMaxInflightWants) return;
      SendWant(index);
    }
    const PeerOptions& o = owner_->options_;
    if (o.sparse) {
      for (const auto& [start, end] : owner_->ranges_) {
        for (uint64_t w = start / kWantRegion * kWantRegion; w < end && w < kMaxIndex;
             w += kWantRegion) {
          if (inflight_wants_ >= kMaxInflightWants) return;
          if (w > start && w >= remote_length_) break;
          SendWant(w);
        }
      }
    } else {
      for (uint64_t w = 0; w < remote_length_ && w < kMaxIndex; w += kWantRegion) {
        if (inflight_wants_ >= kMaxInflightWants) return;
        if (!wants_sent_.count(w / kWantRegion)) SendWant(w);
      }
    }
    SendWant(0);  // always subscribe to the first region, as the reference does
  }

  void SendWant(uint64_t index) {
    if (!opened_ || closed_) return;
    uint64_t region = index / kWantRegion;
    if (wants_sent_.count(region)) return;
    wants_sent_.insert(region);
    ++inflight_wants_;
    Send(WantMessage{region * kWantRegion, kWantRegion});
  }

  Status OnWant(const WantMessage& w) {
    if (!uploading_) return Status::Ok();
    uint64_t length = w.length.value_or(0);
    if ((w.start & (kWantAlign - 1)) || (length & (kWantAlign - 1))) return Status::Ok();
    uint64_t feed_length = feed_->length();
    if (!remote_want_ && feed_length > 0 && feed_->Has(BlockIndex(feed_length - 1))) {
      Send(HaveMessage{feed_length - 1, std::nullopt, std::nullopt, std::nullopt});
    }
    remote_want_ = true;
    if (!w.length) length = feed_length > w.start ? feed_length - w.start : 0;
    HaveMessage h;
    h.start = w.start;
    h.length = length;
    h.bitfield = Compress(w.start, length);
    Send(h);
    return Status::Ok();
  }

  // The data bits of [start, start + length) clipped to the feed, RLE encoded.
  Bytes Compress(uint64_t start, uint64_t length) const {
    uint64_t feed_length = feed_->length();
    uint64_t n = start >= feed_length ? 0 : std::min(length, feed_length - start);
    Bytes bits((n + 7) / 8, 0);
    if (n > 0 && feed_->Has(BlockIndex(start), BlockIndex(start + n))) {
      std::fill(bits.begin(), bits.end(), 0xff);
      if (n % 8) bits.back() = static_cast<uint8_t>(0xff << (8 - n % 8));
    } else {
      for (uint64_t j = 0; j < n; ++j) {
        if (feed_->Has(BlockIndex(start + j))) bits[j / 8] |= static_cast<uint8_t>(128 >> (j % 8));
      }
    }
    return RleEncode(bits);
  }

  Status OnHave(const HaveMessage& h) {
    if (h.start >= kMaxIndex) return Status::Ok();
    have_received_ = true;
    uint64_t length = h.length.value_or(1);
    if (h.length && *h.length == kWantRegion && inflight_wants_ > 0) --inflight_wants_;
    if (h.bitfield) {
      ASSIGN_OR_RETURN(Bytes bits, RleDecode(*h.bitfield, Limits{}.max_bitfield_bytes, 4));
      uint64_t run_start = 0;
      uint64_t last = 0;  // end of the last block the remote has
      bool in_run = false;
      uint64_t total = bits.size() * 8;
      // Bit j is (or, with step 8, the whole byte from bit j is) `set`: runs of set bits
      // become remote ranges.
      auto see = [&](uint64_t j, bool set) {
        if (set && !in_run) {
          in_run = true;
          run_start = j;
        } else if (!set && in_run) {
          in_run = false;
          AddRemote(h.start + run_start, h.start + j);
          last = h.start + j;
        }
      };
      for (uint64_t j = 0; j < total; ++j) {
        uint8_t byte = bits[j / 8];
        if (j % 8 == 0 && (byte == 0 || byte == 0xff)) {  // a whole byte at once
          see(j, byte == 0xff);
          j += 7;
          continue;
        }
        see(j, byte & (128 >> (j % 8)));
      }
      if (in_run) {
        AddRemote(h.start + run_start, h.start + total);
        last = h.start + total;
      }
      remote_length_ = std::max(remote_length_, last);
    } else {
      length = std::min(length, kMaxIndex - h.start);
      AddRemote(h.start, h.start + length);
      remote_length_ = std::max(remote_length_, h.start + length);
    }
    Update();
    return Status::Ok();
  }

  Status OnUnhave(const UnhaveMessage& u) {
    if (u.start >= kMaxIndex) return Status::Ok();
    uint64_t length = std::min(u.length.value_or(1), kMaxIndex - u.start);
    if (u.start == 0 && length >= remote_length_) {
      missing_.Clear();
      remote_length_ = 0;
    } else {
      missing_.Remove(u.start, u.start + length);
    }
    // Our requests for those blocks will not be answered (the remote says so when asked for a
    // block it no longer has, such as one its gc freed): let other peers be asked now.
    bool released = false;
    for (auto it = inflight_.lower_bound(u.start);
         it != inflight_.end() && *it < u.start + length;) {
      if (copying_.count(*it)) {  // being copied from the store: its outcome decides
        ++it;
        continue;
      }
      hash_inflight_.erase(*it);
      owner_->reserved_.erase(*it);
      it = inflight_.erase(it);
      released = true;
    }
    if (released) owner_->UpdateAll();
    return Status::Ok();
  }

  Status OnRequest(const RequestMessage& r) {
    if (!uploading_) return Status::Ok();
    uint64_t index = r.index;
    if (r.bytes && *r.bytes > 0) {
      auto pos = feed_->Seek(ByteOffset(*r.bytes));
      if (pos.ok()) index = pos->first.value;
    }
    if (index >= feed_->length()) return Status::Ok();
    bool hash = r.hash.value_or(false);
    core::ProofOptions po;
    po.digest = (r.bytes && *r.bytes > 0) ? 0 : r.nodes.value_or(0);
    po.hash = hash;
    // A block we do not have (never downloaded, or freed by a clear or gc): say so, so that
    // the remote asks someone else instead of waiting for an answer (the reference stays
    // silent; it takes the Unhave like any other).
    if (!hash && !feed_->Has(BlockIndex(index))) {
      Send(UnhaveMessage{index, std::nullopt});
      return Status::Ok();
    }
    auto proof = feed_->MakeProof(BlockIndex(index), po);
    if (!proof.ok()) return Status::Ok();  // nothing we can prove: stay silent
    DataMessage d;
    d.index = index;
    if (!hash) {
      core::GetOptions go;
      go.wait = false;
      auto value = feed_->Get(BlockIndex(index), go);
      if (!value.ok()) {  // cleared meanwhile, or lost
        Send(UnhaveMessage{index, std::nullopt});
        return Status::Ok();
      }
      owner_->stats_.uploaded_blocks++;
      owner_->stats_.uploaded_bytes += value->size();
      d.value = std::move(*value);
    }
    for (const auto& n : proof->nodes) d.nodes.push_back(DataNode{n.index.value, n.hash, n.size});
    d.signature = proof->signature;
    Send(d);
    return Status::Ok();
  }

  Status OnData(DataMessage& d) {
    if (!d.value && inflight_.count(d.index)) {
      auto h = hash_inflight_.find(d.index);
      if (h != hash_inflight_.end()) {
        const uint64_t digest = h->second;
        hash_inflight_.erase(h);
        return OnHashAnswer(d, digest);
      }
    }
    if (!inflight_.count(d.index) || !d.value || hash_inflight_.count(d.index) ||
        copying_.count(d.index)) {
      // Unrequested: tell the remote we did not take it (unless it is on its way to the feed).
      if (d.index < kMaxIndex && !owner_->reserved_.count(d.index) &&
          !feed_->Has(BlockIndex(d.index))) {
        Send(UnhaveMessage{d.index, std::nullopt});
      }
      return Status::Ok();
    }
    inflight_.erase(d.index);
    last_progress_ = std::chrono::steady_clock::now();
    core::Proof proof;
    proof.nodes.reserve(d.nodes.size());
    for (const auto& n : d.nodes) {
      proof.nodes.push_back(core::TreeNode{TreeIndex(n.index), n.hash, n.size});
    }
    proof.signature = d.signature;
    if (Async()) {
      // Verified and stored elsewhere; the block stays reserved until then (OnStored).
      owner_->StoreAsync(this, d.index, std::move(*d.value), std::move(proof));
      Update();  // the request window has room again
      return Status::Ok();
    }
    owner_->reserved_.erase(d.index);
    Status s = feed_->Put(BlockIndex(d.index), *d.value, proof);
    if (!s.ok()) {
      owner_->stats_.rejected_blocks++;
      return s.Annotate("block " + std::to_string(d.index) + " from the remote");
    }
    owner_->stats_.downloaded_blocks++;
    owner_->stats_.downloaded_bytes += d.value->size();
    if (owner_->options_.dedup) owner_->options_.dedup->Stored(*feed_, d.index);
    owner_->OnBlockStored(d.index, this);
    return Status::Ok();
  }

  Status OnStatus(const StatusMessage& s) {
    remote_uploading_ = s.uploading.value_or(false);
    remote_downloading_ = s.downloading.value_or(false);
    if (!remote_uploading_) {
      ReleaseAll();
      inflight_wants_ = 0;
      wants_sent_.clear();
    }
    Update();
    if (closed_) return Status::Ok();
    if (remote_downloading_ || owner_->options_.live) return Status::Ok();
    if (downloading_ && !owner_->options_.sparse && !full_done_) return Status::Ok();
    AutoEnd();
    return Status::Ok();
  }

  void AutoEnd() {
    const PeerOptions& o = owner_->options_;
    if (uploading_ && remote_downloading_) return;
    if ((o.sparse || o.live) && (remote_uploading_ || downloading_)) return;
    End();
  }

  void End() {
    const PeerOptions& o = owner_->options_;
    if (!downloading_ && !remote_downloading_ && !o.live) {
      if (!default_downloading_) Send(StatusMessage{false, false});
      Close();
      return;
    }
    if (!ended_once_) {
      ended_once_ = true;
      downloading_ = false;
      Send(StatusMessage{true, false});
    } else if (!o.live) {
      Close();
    }
  }

  void Close() {
    if (closed_) return;
    stream_->Close(owner_->discovery_key_);  // calls OnChannelClose
  }

  FeedReplicator* owner_;
  ProtocolStream* stream_;
  uint64_t id_;
  core::Feed* feed_;
  bool opened_ = false;
  bool closed_ = false;
  bool downloading_;
  bool uploading_;
  bool default_downloading_;
  bool remote_uploading_ = true;
  bool remote_downloading_ = true;
  bool remote_want_ = false;
  bool have_received_ = false;
  bool ended_once_ = false;
  bool full_done_ = false;
  uint64_t remote_length_ = 0;
  uint64_t inflight_wants_ = 0;
  IntervalSet missing_;  // blocks the remote has and we lack
  std::set<uint64_t> inflight_;
  // Of inflight_: blocks whose hash was asked for, and blocks being copied from the store after
  // their hash answer, each with the digest to ask for its data with.
  std::map<uint64_t, uint64_t> hash_inflight_;
  std::map<uint64_t, uint64_t> copying_;
  std::chrono::steady_clock::time_point last_progress_{};
  std::set<uint64_t> wants_sent_;               // regions
  std::vector<std::string> remote_extensions_;  // the remote's sorted names (its Options)
};

FeedReplicator::FeedReplicator(core::Feed* feed, PeerOptions options)
    : feed_(feed), options_(std::move(options)), alive_(std::make_shared<FeedReplicator*>(this)) {
  discovery_key_ = feed->discovery_key();
  announced_length_ = feed->length();
}

FeedReplicator::~FeedReplicator() {
  alive_.reset();  // stores still running report to nobody
  // Close every channel (this deletes the peers) and fail the waiters.
  while (!peers_.empty()) {
    Peer* p = peers_.front().get();
    ProtocolStream* s = p->stream();
    size_t before = peers_.size();
    s->Close(discovery_key_);
    if (peers_.size() == before) peers_.pop_front();
  }
  dead_.clear();
  auto waiting = std::move(waiting_);
  for (auto& [index, ws] : waiting) {
    for (auto& w : ws) w.done(Status::Cancelled("replication stopped"));
  }
}

void FeedReplicator::Collect() { dead_.clear(); }

void FeedReplicator::Tick(std::chrono::steady_clock::time_point now,
                          std::chrono::milliseconds request_timeout) {
  std::vector<Peer*> snapshot;
  for (auto& p : peers_) snapshot.push_back(p.get());
  for (Peer* p : snapshot) {
    bool alive =
        std::any_of(peers_.begin(), peers_.end(), [&](const auto& q) { return q.get() == p; });
    if (alive) p->Tick(now, request_timeout);
  }
}

Status FeedReplicator::Attach(ProtocolStream* stream) {
  Collect();
  for (const auto& p : peers_) {
    if (p->stream() == stream) return Status::Ok();
  }
  peers_.push_back(std::make_unique<Peer>(this, stream, next_peer_id_++));
  Peer* peer = peers_.back().get();
  Status s = stream->Open(feed_->key(), peer);
  if (!s.ok()) {
    peers_.remove_if([&](const auto& p) { return p.get() == peer; });
  }
  return s;
}

void FeedReplicator::RemovePeer(Peer* peer) {
  // Not deleted here: the peer may be deep in its own call stack. Collected later.
  for (auto it = peers_.begin(); it != peers_.end(); ++it) {
    if (it->get() == peer) {
      dead_.push_back(std::move(*it));
      peers_.erase(it);
      break;
    }
  }
  // Reservations it held are gone: let the others ask for them.
  UpdateAll();
}

void FeedReplicator::UpdateAll() {
  // Update may close channels (and so remove peers): iterate over a snapshot.
  std::vector<Peer*> snapshot;
  for (auto& p : peers_) snapshot.push_back(p.get());
  for (Peer* p : snapshot) {
    bool alive =
        std::any_of(peers_.begin(), peers_.end(), [&](const auto& q) { return q.get() == p; });
    if (alive) p->Update();
  }
}

uint64_t FeedReplicator::Want(BlockIndex index, WantCallback done) {
  uint64_t handle = next_handle_++;
  if (feed_->Has(index)) {
    done(Status::Ok());
    return handle;
  }
  waiting_[index.value].push_back(Waiter{handle, std::move(done)});
  handles_[handle] = index.value;
  std::vector<Peer*> snapshot;
  for (auto& p : peers_) snapshot.push_back(p.get());
  for (Peer* p : snapshot) {
    bool alive =
        std::any_of(peers_.begin(), peers_.end(), [&](const auto& q) { return q.get() == p; });
    if (alive) p->AskFor(index.value);
  }
  return handle;
}

void FeedReplicator::CancelWant(uint64_t handle) {
  auto h = handles_.find(handle);
  if (h == handles_.end()) return;
  uint64_t index = h->second;
  handles_.erase(h);
  auto it = waiting_.find(index);
  if (it == waiting_.end()) return;
  auto& ws = it->second;
  for (auto w = ws.begin(); w != ws.end(); ++w) {
    if (w->handle == handle) {
      WantCallback done = std::move(w->done);
      ws.erase(w);
      if (ws.empty()) waiting_.erase(it);
      done(Status::Cancelled("want cancelled"));
      return;
    }
  }
}

uint64_t FeedReplicator::Download(BlockIndex start, BlockIndex end) {
  if (end <= start) return 0;
  const uint64_t handle = next_selection_++;
  selections_[handle] = {start.value, end.value};
  MergeSelections();
  UpdateAll();
  return handle;
}

void FeedReplicator::Undownload(uint64_t handle) {
  if (selections_.erase(handle) == 0) return;
  MergeSelections();
  UpdateAll();
}

void FeedReplicator::MergeSelections() {
  std::vector<std::pair<uint64_t, uint64_t>> all;
  all.reserve(selections_.size());
  for (const auto& [handle, range] : selections_) all.push_back(range);
  std::sort(all.begin(), all.end());
  ranges_.clear();
  uint64_t start = 0;
  uint64_t end = 0;
  bool open = false;
  for (const auto& [a, b] : all) {
    if (open && a <= end) {
      end = std::max(end, b);
      continue;
    }
    if (open) ranges_[start] = end;
    start = a;
    end = b;
    open = true;
  }
  if (open) ranges_[start] = end;
}

void FeedReplicator::OnBlockStored(uint64_t index, Peer* from) {
  auto it = waiting_.find(index);
  if (it != waiting_.end()) {
    auto ws = std::move(it->second);
    waiting_.erase(it);
    for (auto& w : ws) {
      handles_.erase(w.handle);
      w.done(Status::Ok());
    }
  }
  for (auto& p : peers_) {
    p->Forget(index);
    if (p.get() != from) p->Announce(index, 1);
  }
  UpdateAll();
}

void FeedReplicator::SetBlockStore(BlockStore store, size_t max_blocks, uint64_t max_bytes) {
  store_ = std::move(store);
  max_storing_ = std::max<size_t>(max_blocks, 1);
  max_storing_bytes_ = max_bytes;
}

bool FeedReplicator::StoreFull() const {
  return store_.store && storing_ > 0 &&
         (storing_ >= max_storing_ || storing_bytes_ >= max_storing_bytes_);
}

void FeedReplicator::StoreAsync(Peer* from, uint64_t index, Bytes data, core::Proof proof) {
  uint64_t bytes = data.size();
  ++storing_;
  storing_bytes_ += bytes;
  std::weak_ptr<FeedReplicator*> alive = alive_;
  uint64_t peer_id = from->id();
  store_.store(StoreJob{BlockIndex(index), std::move(data), std::move(proof)},
               [alive, peer_id, index, bytes](const Status& s) {
                 if (auto self = alive.lock()) (*self)->OnStored(peer_id, index, bytes, s);
               });
}

FeedReplicator::Peer* FeedReplicator::FindPeer(uint64_t peer_id) const {
  for (const auto& p : peers_) {
    if (p->id() == peer_id) return p.get();
  }
  return nullptr;
}

void FeedReplicator::PrepareAsync(Peer* from, std::vector<uint64_t> indexes) {
  std::weak_ptr<FeedReplicator*> alive = alive_;
  uint64_t peer_id = from->id();
  store_.prepare(std::move(indexes), [alive, peer_id](const std::vector<RequestInfo>& infos) {
    if (auto self = alive.lock()) (*self)->OnPrepared(peer_id, infos);
  });
}

void FeedReplicator::OnPrepared(uint64_t peer_id, const std::vector<RequestInfo>& infos) {
  // A closed peer released its requests when it closed (nothing to undo).
  Peer* peer = FindPeer(peer_id);
  if (peer == nullptr) return;
  bool any_local = false;
  for (const RequestInfo& r : infos) {
    peer->OnPrepared(r);
    any_local |= r.local;
  }
  if (any_local) UpdateAll();  // they leave room for other requests
}

void FeedReplicator::OnStored(uint64_t peer_id, uint64_t index, uint64_t bytes, const Status& s) {
  --storing_;
  storing_bytes_ -= bytes;
  reserved_.erase(index);
  Peer* from = FindPeer(peer_id);
  if (!s.ok()) {
    stats_.rejected_blocks++;
    // As when Put runs inline: a block that does not verify ends the connection it came on.
    if (from)
      from->stream()->Destroy(s.Annotate("block " + std::to_string(index) + " from the remote"));
    UpdateAll();  // someone else may have it
    return;
  }
  stats_.downloaded_blocks++;
  stats_.downloaded_bytes += bytes;
  OnBlockStored(index, from);
}

bool FeedReplicator::AskHashFirst() {
  if (!options_.dedup || !options_.dedup->Active()) return false;
  if (dedup_misses_ < kDedupMissRun) return true;
  if (++dedup_skipped_ < kDedupProbe) return false;
  dedup_skipped_ = 0;
  return true;
}

void FeedReplicator::NoteDedupOutcome(bool hit) {
  if (hit) {
    dedup_misses_ = 0;
    dedup_skipped_ = 0;
  } else {
    ++dedup_misses_;
  }
}

void FeedReplicator::CopyAsync(Peer* from, uint64_t index, core::TreeNode leaf, core::Proof proof) {
  const uint64_t peer_id = from->id();
  const uint64_t bytes = leaf.size;
  if (!store_.copy) {  // inline, as Put is without a BlockStore
    Status s = options_.dedup->Copy(*feed_, index, leaf, proof);
    OnCopied(peer_id, index, bytes, s);
    return;
  }
  std::weak_ptr<FeedReplicator*> alive = alive_;
  store_.copy(CopyJob{BlockIndex(index), leaf, std::move(proof)},
              [alive, peer_id, index, bytes](const Status& s) {
                if (auto self = alive.lock()) (*self)->OnCopied(peer_id, index, bytes, s);
              });
}

void FeedReplicator::OnCopied(uint64_t peer_id, uint64_t index, uint64_t bytes, const Status& s) {
  NoteDedupOutcome(s.ok());
  Peer* from = FindPeer(peer_id);
  if (s.ok()) {
    stats_.copied_blocks++;
    stats_.copied_bytes += bytes;
    if (from) from->OnCopied(index, true);
    reserved_.erase(index);
    OnBlockStored(index, from);
    return;
  }
  // Not in the store after all (or it did not verify): its data comes from the peer, which
  // keeps it reserved; if that peer is gone, anyone may ask for it.
  if (from && from->OnCopied(index, false)) return;
  reserved_.erase(index);
  UpdateAll();
}

Status FeedReplicator::RegisterExtension(const std::string& name, ExtensionHandler handler) {
  const Limits limits;
  if (name.empty() || name.size() > limits.max_extension_name) {
    return Status::InvalidArgument("bad extension name");
  }
  if (extensions_.size() >= limits.max_extensions) {
    return Status::InvalidArgument("too many extensions");
  }
  if (!handler.on_message) return Status::InvalidArgument("extension without a handler");
  if (!extensions_.emplace(name, std::move(handler)).second) {
    return Status::InvalidArgument("extension " + name + " registered twice");
  }
  return Status::Ok();
}

void FeedReplicator::OnExtension(Peer* from, const std::string& name, ByteView payload) {
  auto it = extensions_.find(name);
  if (it == extensions_.end()) return;
  // A copy: the handler may register nothing, but keep it alive whatever it does meanwhile.
  auto on_message = it->second.on_message;
  on_message(from->id(), payload);
}

bool FeedReplicator::SendExtension(uint64_t peer_id, std::string_view name, ByteView payload) {
  auto it = extensions_.find(name);
  if (it == extensions_.end()) return false;
  Peer* p = FindPeer(peer_id);
  if (p == nullptr || !p->HasExtension(name)) return false;
  p->SendExtension(static_cast<uint64_t>(std::distance(extensions_.begin(), it)), payload);
  return true;
}

size_t FeedReplicator::BroadcastExtension(std::string_view name, ByteView payload) {
  auto it = extensions_.find(name);
  if (it == extensions_.end()) return 0;
  const auto id = static_cast<uint64_t>(std::distance(extensions_.begin(), it));
  size_t sent = 0;
  for (auto& p : peers_) {
    if (!p->HasExtension(name)) continue;
    p->SendExtension(id, payload);
    ++sent;
  }
  return sent;
}

size_t FeedReplicator::PeersWithExtension(std::string_view name) const {
  return static_cast<size_t>(std::count_if(peers_.begin(), peers_.end(),
                                           [&](const auto& p) { return p->HasExtension(name); }));
}

void FeedReplicator::OnLocalAppend(uint64_t new_length) {
  if (!feed_->writable()) return;  // replica growth is announced block by block
  if (new_length <= announced_length_) return;
  uint64_t start = announced_length_;
  announced_length_ = new_length;
  for (auto& p : peers_) p->Announce(start, new_length - start);
}

bool FeedReplicator::remote_informed() const {
  return std::any_of(peers_.begin(), peers_.end(), [](const auto& p) { return p->informed(); });
}

uint64_t FeedReplicator::remote_length() const {
  uint64_t l = 0;
  for (const auto& p : peers_) l = std::max(l, p->remote_length());
  return l;
}

}  // namespace hyper::protocol
