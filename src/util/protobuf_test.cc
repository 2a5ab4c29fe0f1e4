#include "hyper/util/protobuf.h"

#include <gtest/gtest.h>

namespace hyper::pb {
namespace {

TEST(Protobuf, WriteThenRead) {
  Writer nested;
  nested.String(1, "inner");
  Writer w;
  w.Varint(1, 150);
  w.String(2, "testing");
  w.Bool(3, true);
  w.SInt(4, -3);
  w.Fixed64(5, 0x1122334455667788ull);
  w.Fixed32(6, 0xa1b2c3d4u);
  w.Message(7, nested);
  // Field 1 = 150 is the canonical example of the protobuf docs.
  EXPECT_EQ(Bytes(w.data().begin(), w.data().begin() + 3), (Bytes{0x08, 0x96, 0x01}));

  Reader r(w.data());
  Field f;
  std::vector<uint32_t> numbers;
  while (true) {
    auto more = r.Next(&f);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    if (!*more) break;
    numbers.push_back(f.number);
    switch (f.number) {
      case 1: EXPECT_EQ(f.varint, 150u); break;
      case 2: EXPECT_EQ(AsString(f.bytes), "testing"); break;
      case 3: EXPECT_EQ(f.varint, 1u); break;
      case 4: EXPECT_EQ(ZigZagDecode(f.varint), -3); break;
      case 5: EXPECT_EQ(f.varint, 0x1122334455667788ull); break;
      case 6: EXPECT_EQ(f.varint, 0xa1b2c3d4u); break;
      case 7: {
        Reader inner(f.bytes);
        Field g;
        ASSERT_TRUE(*inner.Next(&g));
        EXPECT_EQ(AsString(g.bytes), "inner");
        break;
      }
    }
  }
  EXPECT_EQ(numbers, (std::vector<uint32_t>{1, 2, 3, 4, 5, 6, 7}));
}

Code FirstError(const Bytes& in, Limits limits = {}) {
  Reader r(in, limits);
  Field f;
  while (true) {
    auto more = r.Next(&f);
    if (!more.ok()) return more.status().code();
    if (!*more) return Code::kOk;
  }
}

TEST(Protobuf, RejectsMalformed) {
  EXPECT_EQ(FirstError({0x12, 0x05, 'a'}), Code::kCorruption);           // length past the end
  EXPECT_EQ(FirstError({0x12, 0xff, 0xff, 0xff, 0xff, 0x0f}), Code::kCorruption);  // 4 GiB claim
  EXPECT_EQ(FirstError({0x0b}), Code::kCorruption);                      // group wire type 3
  EXPECT_EQ(FirstError({0x00, 0x01}), Code::kCorruption);                // field number 0
  EXPECT_EQ(FirstError({0x08}), Code::kCorruption);                      // truncated varint
  EXPECT_EQ(FirstError({0x09, 1, 2, 3}), Code::kCorruption);             // truncated fixed64
  Limits small;
  small.max_message_bytes = 2;
  EXPECT_EQ(FirstError({0x08, 0x01, 0x08, 0x01}, small), Code::kCorruption);
  Limits few;
  few.max_fields = 1;
  EXPECT_EQ(FirstError({0x08, 0x01, 0x08, 0x01}, few), Code::kCorruption);
  EXPECT_EQ(FirstError({}), Code::kOk);
}

}  // namespace
}  // namespace hyper::pb
