#include "hyper/swarm/mdns_message.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "tests/support/node_harness.h"

namespace hyper::swarm {
namespace {

// Packets captured from Node's @hyperswarm/discovery 2.0.1 (tests/interop/scripts/mdns_peer.js
// "capture", the topic 0xab * 32 announced on TCP port 4321), kept in the fuzzer's corpus.
Bytes CorpusFile(const std::string& name) {
  std::ifstream in(testing::InteropDir() + "/../../fuzz/corpus/mdns_message/" + name,
                   std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// "abab...ab" (20 bytes of 0xab in hex) in the domain.
const std::string kName = ToHex(Bytes(20, 0xab)) + ".hyperswarm.local";

TEST(MdnsMessage, ReadsNodesQueryAndWritesTheSameBytes) {
  const Bytes bytes = CorpusFile("node_query");
  auto m = DecodeMdnsMessage(bytes);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_FALSE(m->response());
  EXPECT_EQ(m->flags, 0);
  ASSERT_EQ(m->questions.size(), 1u);
  EXPECT_EQ(m->questions[0], (MdnsQuestion{kName, kDnsTypeSrv, kDnsClassIn}));
  EXPECT_TRUE(m->answers.empty());
  EXPECT_EQ(EncodeMdnsMessage(*m).value(), bytes);
}

TEST(MdnsMessage, ReadsNodesAnswersAndWritesTheSameBytes) {
  for (const char* file : {"node_unasked_answer", "node_answer_with_referrer"}) {
    SCOPED_TRACE(file);
    const Bytes bytes = CorpusFile(file);
    auto m = DecodeMdnsMessage(bytes);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_TRUE(m->response());
    EXPECT_EQ(m->flags, kDnsFlagResponse | kDnsFlagAuthoritative);
    ASSERT_GE(m->answers.size(), 2u);
    const MdnsRecord& srv = m->answers[0];
    EXPECT_EQ(srv.type, kDnsTypeSrv);
    EXPECT_EQ(srv.name, kName);
    EXPECT_EQ(srv.port, 4321);
    EXPECT_EQ(srv.target, "0.0.0.0");
    EXPECT_EQ(srv.ttl, 0u);
    const MdnsRecord& txt = m->answers[1];
    EXPECT_EQ(txt.type, kDnsTypeTxt);
    EXPECT_EQ(txt.name, kName);
    ASSERT_EQ(txt.strings.size(), 1u);
    EXPECT_EQ(txt.strings[0].size(), 35u);
    EXPECT_EQ(AsString(txt.strings[0]).substr(0, 3), "id=");
    EXPECT_EQ(EncodeMdnsMessage(*m).value(), bytes);
  }
  auto referred = DecodeMdnsMessage(CorpusFile("node_answer_with_referrer")).value();
  ASSERT_EQ(referred.answers.size(), 3u);
  EXPECT_EQ(referred.answers[2].type, kDnsTypeA);
  EXPECT_EQ(referred.answers[2].name, "referrer.hyperswarm.local");
  EXPECT_EQ(FormatIpv4(referred.answers[2].address), "127.0.0.1");
}

TEST(MdnsMessage, FollowsCompressionAndSkipsOtherTypesAndSections) {
  auto m = DecodeMdnsMessage(CorpusFile("compressed_answer_with_other_types"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  // SRV, TXT, AAAA (skipped), A; the additional NSEC record is skipped too.
  ASSERT_EQ(m->answers.size(), 3u);
  EXPECT_EQ(m->answers[0].target, "10.0.0.7");
  EXPECT_EQ(m->answers[0].port, 4001);
  EXPECT_EQ(m->answers[0].rclass, 0x8001);  // the cache-flush bit, kept as sent
  EXPECT_EQ(m->answers[0].ttl, 120u);
  EXPECT_EQ(m->answers[1].name, kName);
  EXPECT_EQ(m->answers[1].strings[0].size(), 35u);
  EXPECT_EQ(m->answers[2].name, "referrer.hyperswarm.local");
  EXPECT_EQ(FormatIpv4(m->answers[2].address), "10.0.0.9");
  // Written back uncompressed, it decodes to the same message.
  EXPECT_EQ(DecodeMdnsMessage(EncodeMdnsMessage(*m).value()).value(), *m);
}

Bytes Header(uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns = 0, uint16_t ar = 0) {
  Bytes b(12);
  PutUint16BE(&b[2], flags);
  PutUint16BE(&b[4], qd);
  PutUint16BE(&b[6], an);
  PutUint16BE(&b[8], ns);
  PutUint16BE(&b[10], ar);
  return b;
}

void Append(Bytes& b, std::initializer_list<int> bytes) {
  for (int v : bytes) b.push_back(static_cast<uint8_t>(v));
}

TEST(MdnsMessage, BadNamesAreErrors) {
  {
    Bytes b = Header(0, 1, 0);
    Append(b, {0xc0, 12, 0, 33, 0, 1});  // points at itself
    EXPECT_EQ(DecodeMdnsMessage(b).status().code(), Code::kCorruption);
  }
  {
    Bytes b = Header(0, 1, 0);
    Append(b, {0xc0, 20, 0, 33, 0, 1, 1, 'a', 0});  // points forwards
    EXPECT_EQ(DecodeMdnsMessage(b).status().code(), Code::kCorruption);
  }
  {
    Bytes b = Header(0, 1, 0);
    Append(b, {0x40, 'a'});  // a label kind that does not exist
    EXPECT_EQ(DecodeMdnsMessage(b).status().code(), Code::kCorruption);
  }
  {
    Bytes b = Header(0, 1, 0);
    Append(b, {3, 'a', '.', 'b', 0, 0, 33, 0, 1});  // a dot inside a label
    EXPECT_EQ(DecodeMdnsMessage(b).status().code(), Code::kCorruption);
  }
  {
    Bytes b = Header(0, 1, 0);
    for (int i = 0; i < 5; ++i) {  // 5 labels of 63: over 255 bytes
      b.push_back(63);
      b.insert(b.end(), 63, 'x');
    }
    Append(b, {0, 0, 33, 0, 1});
    EXPECT_EQ(DecodeMdnsMessage(b).status().code(), Code::kCorruption);
  }
  {
    // A chain of 40 pointers, each to the one before, kept in the data of a record of an
    // unknown type; a second record's name starts at its end: more jumps than allowed.
    Bytes b = Header(0x8400, 0, 2);
    Append(b, {1, 'a', 0, 0, 99, 0, 1, 0, 0, 0, 0, 0, 80});
    const size_t chain = b.size();
    Append(b, {0xc0, 12});
    for (int i = 1; i < 40; ++i) Append(b, {0xc0, static_cast<int>(chain + 2 * (i - 1))});
    Append(b, {0xc0, static_cast<int>(chain + 2 * 39), 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4});
    auto m = DecodeMdnsMessage(b);
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.status().ToString().find("too many pointers"), std::string::npos)
        << m.status().ToString();
  }
}

TEST(MdnsMessage, RecordsThatDoNotFitTheirLengthAreErrors) {
  auto record = [](uint16_t type, std::initializer_list<int> rdata, int rdlength) {
    Bytes b = Header(0x8400, 0, 1);
    Append(b, {1, 'a', 0});
    Append(b, {type >> 8, type & 0xff, 0, 1, 0, 0, 0, 0, rdlength >> 8, rdlength & 0xff});
    Append(b, rdata);
    return DecodeMdnsMessage(b);
  };
  EXPECT_TRUE(record(kDnsTypeA, {1, 2, 3, 4}, 4).ok());
  EXPECT_FALSE(record(kDnsTypeA, {1, 2, 3, 4, 5}, 5).ok());
  EXPECT_FALSE(record(kDnsTypeA, {1, 2, 3}, 4).ok());  // runs off the end
  EXPECT_TRUE(record(kDnsTypeTxt, {2, 'h', 'i', 0}, 4).ok());
  EXPECT_FALSE(record(kDnsTypeTxt, {3, 'h', 'i'}, 3).ok());
  EXPECT_TRUE(record(kDnsTypeSrv, {0, 0, 0, 0, 0x10, 0xe1, 0}, 7).ok());
  EXPECT_FALSE(record(kDnsTypeSrv, {0, 0, 0, 0, 0x10, 0xe1, 0, 9}, 8).ok());  // target ends early
  EXPECT_FALSE(record(kDnsTypeSrv, {0, 0, 0, 0, 0x10}, 5).ok());
  EXPECT_TRUE(record(99, {1, 2, 3, 4, 5}, 5).ok());  // unknown: skipped
  EXPECT_TRUE(record(99, {1, 2, 3, 4, 5}, 5)->answers.empty());
  EXPECT_FALSE(record(99, {1, 2, 3}, 5).ok());
}

TEST(MdnsMessage, EveryTruncationIsAnErrorNeverACrash) {
  for (const char* file : {"node_answer_with_referrer", "compressed_answer_with_other_types"}) {
    const Bytes bytes = CorpusFile(file);
    for (size_t n = 0; n < bytes.size(); ++n) {
      EXPECT_FALSE(DecodeMdnsMessage(ByteView(bytes.data(), n)).ok()) << file << " at " << n;
    }
  }
}

TEST(MdnsMessage, LimitsOnSizeAndCounts) {
  EXPECT_FALSE(DecodeMdnsMessage(Bytes(9001)).ok());
  EXPECT_FALSE(DecodeMdnsMessage(Header(0, 33, 0)).ok());
  EXPECT_FALSE(DecodeMdnsMessage(Header(0, 0, 30, 20, 15)).ok());
  MdnsMessage m;
  m.questions.resize(33, MdnsQuestion{"a", kDnsTypeSrv, kDnsClassIn});
  EXPECT_EQ(EncodeMdnsMessage(m).status().code(), Code::kInvalidArgument);
}

TEST(MdnsMessage, BadNamesAreNotWritten) {
  for (const std::string& name :
       {std::string("a..b"), std::string(".a"), std::string("a."), std::string(64, 'x'),
        std::string(60, 'x') + "." + std::string(60, 'x') + "." + std::string(60, 'x') + "." +
            std::string(60, 'x') + "." + std::string(60, 'x')}) {
    MdnsMessage m;
    m.questions.push_back({name, kDnsTypeSrv, kDnsClassIn});
    EXPECT_EQ(EncodeMdnsMessage(m).status().code(), Code::kInvalidArgument) << name;
  }
  MdnsMessage root;
  root.questions.push_back({"", kDnsTypeSrv, kDnsClassIn});
  EXPECT_EQ(DecodeMdnsMessage(EncodeMdnsMessage(root).value()).value(), root);
}

TEST(MdnsMessage, Ipv4Text) {
  EXPECT_EQ(FormatIpv4(ParseIpv4("10.0.255.1").value()), "10.0.255.1");
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "a.b.c.d", "1.2.3.4 ", "1..2.3"}) {
    EXPECT_FALSE(ParseIpv4(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace hyper::swarm
