#include "hyper/swarm/lan_discovery.h"

#include <algorithm>
#include <optional>

#include "hyper/crypto/crypto.h"

namespace hyper::swarm {
namespace {

// Topics per response datagram: 2 records each plus the A record stays under the record limit
// and far under 9000 bytes (a topic's two records are about 200 bytes).
constexpr size_t kTopicsPerAnswer = 20;
constexpr std::string_view kIdPrefix = "id=";

// The id in the first TXT record named `name` that has a string, as the reference reads it.
const Bytes* IdIn(const MdnsMessage& m, const std::string& name) {
  for (const MdnsRecord& r : m.answers) {
    if (r.type == kDnsTypeTxt && r.name == name && !r.strings.empty()) return &r.strings[0];
  }
  return nullptr;
}

}  // namespace

struct LanDiscovery::TopicState {
  explicit TopicState(runtime::Clock& clock) : rounds(clock) {}
  std::string name;
  Bytes id;           // "id=" and 32 random bytes: our answers carry it
  uint16_t port = 0;  // announced when not 0
  OnPeer on_peer;     // looked up when set
  runtime::Timer rounds;
  size_t round = 0;
  std::optional<runtime::TimePoint> last_answer;
  std::map<std::string, runtime::TimePoint> reported;  // peer -> when last reported
};

LanDiscovery::LanDiscovery(runtime::Clock& clock, Send send, LanDiscoveryOptions options)
    : clock_(clock), send_(std::move(send)), options_(std::move(options)), answer_timer_(clock) {}

Result<std::unique_ptr<LanDiscovery>> LanDiscovery::Open(runtime::UdpSocketFactory& sockets,
                                                         runtime::Clock& clock,
                                                         LanDiscoveryOptions options) {
  runtime::MulticastOptions multicast;
  multicast.group = options.group.host;
  multicast.interface_address = options.interface_address;
  const std::string bind_host = options.bind_host;
  const uint16_t port = options.group.port;
  auto discovery = std::make_unique<LanDiscovery>(clock, nullptr, std::move(options));
  LanDiscovery* self = discovery.get();
  auto socket = sockets.BindMulticast(
      bind_host, port, multicast,
      [self](const UdpEndpoint& from, ByteView datagram) { self->OnDatagram(from, datagram); });
  if (!socket.ok()) return socket.status();
  discovery->socket_ = std::move(*socket);
  discovery->send_ = [self](const UdpEndpoint& to, ByteView datagram) {
    if (self->socket_) self->socket_->Send(to, datagram);
  };
  return discovery;
}

LanDiscovery::~LanDiscovery() { Close(); }

std::string LanDiscovery::NameOf(const Topic& topic) const {
  return ToHex(ByteView(topic.data(), 20)) + "." + options_.domain;
}

Result<LanDiscovery::TopicState*> LanDiscovery::Join(const Topic& topic) {
  if (closed_) return Status::Cancelled("LAN discovery is closed");
  std::string name = NameOf(topic);
  auto it = topics_.find(name);
  if (it != topics_.end()) return it->second.get();
  if (topics_.size() >= options_.max_topics) {
    return Status::Busy("LAN discovery already has " + std::to_string(topics_.size()) +
                        " topics (the limit)");
  }
  MdnsMessage probe;
  probe.questions.push_back({name, kDnsTypeSrv, kDnsClassIn});
  if (auto encoded = EncodeMdnsMessage(probe); !encoded.ok()) return encoded.status();
  auto t = std::make_unique<TopicState>(clock_);
  t->name = name;
  t->id = ToBytes(kIdPrefix);
  t->id.resize(kIdPrefix.size() + 32);
  crypto::RandomBytes(MutableByteView(t->id).subspan(kIdPrefix.size()));
  TopicState* raw = t.get();
  topics_.emplace(std::move(name), std::move(t));
  return raw;
}

Status LanDiscovery::Announce(const Topic& topic, uint16_t tcp_port) {
  if (tcp_port == 0) return Status::InvalidArgument("announcing TCP port 0");
  ASSIGN_OR_RETURN(TopicState * t, Join(topic));
  t->port = tcp_port;
  StartRounds(*t);
  return Status::Ok();
}

Status LanDiscovery::Lookup(const Topic& topic, OnPeer on_peer) {
  if (!on_peer) return Status::InvalidArgument("a lookup without a callback");
  ASSIGN_OR_RETURN(TopicState * t, Join(topic));
  t->on_peer = std::move(on_peer);
  StartRounds(*t);
  return Status::Ok();
}

void LanDiscovery::Leave(const Topic& topic) {
  const std::string name = NameOf(topic);
  owed_.erase(name);
  topics_.erase(name);
}

void LanDiscovery::Close() {
  if (closed_) return;
  closed_ = true;
  answer_timer_.Cancel();
  owed_.clear();
  topics_.clear();
  if (socket_) socket_->Close();
}

void LanDiscovery::StartRounds(TopicState& t) {
  t.round = 0;
  const runtime::Duration first =
      options_.first_sends.empty() ? runtime::Duration::zero() : options_.first_sends[0];
  t.rounds.Start(first, [this, name = t.name] { OnRound(name); });
}

void LanDiscovery::OnRound(const std::string& name) {
  auto it = topics_.find(name);
  if (closed_ || it == topics_.end()) return;
  TopicState& t = *it->second;
  const bool query = static_cast<bool>(t.on_peer);
  // Tells the group unasked, unless an answer went out less than answer_interval ago.
  const bool tell =
      t.port != 0 && (!t.last_answer || clock_.Now() >= *t.last_answer + options_.answer_interval);
  ++t.round;
  const auto& first = options_.first_sends;
  if (t.round < first.size()) {
    t.rounds.Start(first[t.round] - first[t.round - 1], [this, name] { OnRound(name); });
  } else if (query) {
    t.rounds.Start(Jitter(options_.requery), [this, name] { OnRound(name); });
  }
  // `t` is not used below: a send that delivers inline may end in a callback that leaves.
  if (tell) owed_.insert(name);
  if (query) SendQuery(name);
  if (tell) FlushAnswers();
}

void LanDiscovery::SendQuery(const std::string& name) {
  MdnsMessage q;
  q.questions.push_back({name, kDnsTypeSrv, kDnsClassIn});
  ++counters_.queries_sent;
  SendDatagram(q);
}

void LanDiscovery::OnDatagram(const UdpEndpoint& from, ByteView datagram) {
  if (closed_) return;
  ++counters_.datagrams_in;
  auto m = DecodeMdnsMessage(datagram);
  if (!m.ok()) {
    ++counters_.malformed_in;
    return;
  }
  if (m->response()) {
    OnResponse(*m, from);
  } else {
    OnQuery(*m, from);
  }
}

void LanDiscovery::OnQuery(const MdnsMessage& m, const UdpEndpoint& from) {
  bool owed = false;
  for (const MdnsQuestion& q : m.questions) {
    if (q.type != kDnsTypeSrv) continue;
    auto it = topics_.find(q.name);
    if (it == topics_.end() || it->second->port == 0) continue;
    // A query that holds our id already has our answer (the reference's rule).
    const Bytes* id = IdIn(m, q.name);
    if (id != nullptr && *id == it->second->id) continue;
    owed_.insert(q.name);
    owed = true;
  }
  if (!owed) return;
  if (ParseIpv4(from.host).ok()) referrer_ = from.host;
  FlushAnswers();
}

void LanDiscovery::FlushAnswers() {
  if (closed_) return;
  const runtime::TimePoint now = clock_.Now();
  std::optional<runtime::TimePoint> next_due;
  std::vector<MdnsMessage> answers;
  auto add = [&](MdnsRecord record) {
    if (answers.empty() || answers.back().answers.size() >= 2 * kTopicsPerAnswer) {
      answers.emplace_back();
      answers.back().flags = kDnsFlagResponse | kDnsFlagAuthoritative;
    }
    answers.back().answers.push_back(std::move(record));
  };
  for (auto it = owed_.begin(); it != owed_.end();) {
    auto t = topics_.find(*it);
    if (t == topics_.end() || t->second->port == 0) {
      it = owed_.erase(it);
      continue;
    }
    TopicState& topic = *t->second;
    if (topic.last_answer && now < *topic.last_answer + options_.answer_interval) {
      const runtime::TimePoint due = *topic.last_answer + options_.answer_interval;
      if (!next_due || due < *next_due) next_due = due;
      ++it;
      continue;
    }
    MdnsRecord srv;
    srv.name = topic.name;
    srv.type = kDnsTypeSrv;
    srv.port = topic.port;
    srv.target = "0.0.0.0";
    add(std::move(srv));
    MdnsRecord txt;
    txt.name = topic.name;
    txt.type = kDnsTypeTxt;
    txt.strings.push_back(topic.id);
    add(std::move(txt));
    topic.last_answer = now;
    it = owed_.erase(it);
  }
  if (!referrer_.empty()) {
    for (MdnsMessage& m : answers) {
      MdnsRecord a;
      a.name = "referrer." + options_.domain;
      a.type = kDnsTypeA;
      a.address = ParseIpv4(referrer_).value();
      m.answers.push_back(std::move(a));
    }
  }
  if (owed_.empty()) referrer_.clear();
  if (next_due) answer_timer_.Start(*next_due - now, [this] { FlushAnswers(); });
  // Sent last, once our state is settled: a send may deliver inline and call us back.
  for (const MdnsMessage& m : answers) {
    if (closed_) return;
    ++counters_.answers_sent;
    SendDatagram(m);
  }
}

void LanDiscovery::OnResponse(const MdnsMessage& m, const UdpEndpoint& from) {
  const runtime::TimePoint now = clock_.Now();
  std::vector<std::pair<std::string, UdpEndpoint>> found;
  for (const MdnsRecord& a : m.answers) {
    if (a.type != kDnsTypeSrv || a.port == 0) continue;
    auto it = topics_.find(a.name);
    if (it == topics_.end() || !it->second->on_peer) continue;
    TopicState& t = *it->second;
    const Bytes* id = IdIn(m, a.name);
    if (id != nullptr && *id == t.id) continue;  // our own answer
    UdpEndpoint peer;
    peer.port = a.port;
    if (a.target == "0.0.0.0") {
      if (!ParseIpv4(from.host).ok()) continue;
      peer.host = from.host;
    } else {
      auto address = ParseIpv4(a.target);
      if (!address.ok()) continue;  // a host name: we resolve none
      peer.host = FormatIpv4(*address);
    }
    const std::string key = peer.ToString();
    auto seen = t.reported.find(key);
    if (seen != t.reported.end() && now < seen->second + options_.peer_repeat) continue;
    if (seen == t.reported.end() && t.reported.size() >= options_.max_peers_per_topic) {
      std::erase_if(t.reported,
                    [&](const auto& e) { return now >= e.second + options_.peer_repeat; });
      if (t.reported.size() >= options_.max_peers_per_topic) continue;
    }
    t.reported[key] = now;
    found.emplace_back(a.name, std::move(peer));
  }
  // The callbacks may leave topics or close us: look each topic up again.
  for (const auto& [name, peer] : found) {
    if (closed_) return;
    auto it = topics_.find(name);
    if (it == topics_.end() || !it->second->on_peer) continue;
    OnPeer on_peer = it->second->on_peer;
    ++counters_.peers_reported;
    on_peer(peer);
  }
}

void LanDiscovery::SendDatagram(const MdnsMessage& m) {
  auto bytes = EncodeMdnsMessage(m);
  // Our names were checked when their topic joined; nothing else can fail to encode.
  if (closed_ || !bytes.ok() || !send_) return;
  send_(options_.group, *bytes);
}

runtime::Duration LanDiscovery::Jitter(runtime::Duration base) {
  if (base.count() <= 0) return base;
  uint64_t r = 0;
  crypto::RandomBytes(MutableByteView(reinterpret_cast<uint8_t*>(&r), sizeof r));
  return base + runtime::Duration(
                    static_cast<runtime::Duration::rep>(r % static_cast<uint64_t>(base.count())));
}

}  // namespace hyper::swarm
