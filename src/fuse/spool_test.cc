#include "spool.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/support/temp_dir.h"

namespace hyper::fuse {
namespace {

std::string ReadAll(const Spool& s) {
  std::string out(s.size(), '\0');
  auto n = s.Read(0, {reinterpret_cast<uint8_t*>(out.data()), out.size()});
  EXPECT_TRUE(n.ok());
  out.resize(n.ok() ? *n : 0);
  return out;
}

ByteView View(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(SpoolTest, WritesAnywhereTruncatesAndReadsBack) {
  hyper::testing::TempDir tmp;
  auto spool = Spool::Create(tmp.Sub("spool")).value();
  EXPECT_EQ(spool->size(), 0u);
  ASSERT_TRUE(spool->Write(0, View("hello world")).ok());
  ASSERT_TRUE(spool->Write(6, View("there")).ok());
  EXPECT_EQ(ReadAll(*spool), "hello there");
  // A write past the end leaves zeros in the gap.
  ASSERT_TRUE(spool->Write(13, View("!")).ok());
  EXPECT_EQ(ReadAll(*spool), std::string("hello there\0\0!", 14));
  ASSERT_TRUE(spool->Truncate(5).ok());
  EXPECT_EQ(ReadAll(*spool), "hello");
  ASSERT_TRUE(spool->Truncate(7).ok());
  EXPECT_EQ(ReadAll(*spool), std::string("hello\0\0", 7));
  // Reads past the end give what there is.
  uint8_t buf[10];
  EXPECT_EQ(spool->Read(5, buf).value(), 2u);
  EXPECT_EQ(spool->Read(50, buf).value(), 0u);
}

TEST(SpoolTest, LeavesNoFileBehind) {
  hyper::testing::TempDir tmp;
  const std::string dir = tmp.Sub("spool");
  {
    auto spool = Spool::Create(dir).value();
    ASSERT_TRUE(spool->Write(0, View("x")).ok());
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir));
}

}  // namespace
}  // namespace hyper::fuse
