#include "display_names.h"

#include <gtest/gtest.h>

namespace hyper::cli {
namespace {

TEST(DisplayNames, OnATerminalAsGnuLsShellEscape) {
  EXPECT_EQ(DisplayName("plain-name_1.txt", true), "plain-name_1.txt");
  EXPECT_EQ(DisplayName("héllo wörld", true), "'héllo wörld'");
  EXPECT_EQ(DisplayName("名前", true), "名前");
  EXPECT_EQ(DisplayName("it's", true), "'it'\\''s'");
  EXPECT_EQ(DisplayName("two\nlines", true), "'two'$'\\n''lines'");
  EXPECT_EQ(DisplayName("\x1b[31mred", true), "$'\\033''[31mred'");
  EXPECT_EQ(DisplayName("bad\xff", true), "'bad'$'\\377'");
  EXPECT_EQ(DisplayName("c1\xc2\x9b", true), "'c1'$'\\302\\233'");
  EXPECT_EQ(DisplayName("", true), "''");
}

TEST(DisplayNames, ElsewhereRawUnlessAControlByte) {
  EXPECT_EQ(DisplayName("a b", false), "a b");
  EXPECT_EQ(DisplayName("it's", false), "it's");
  EXPECT_EQ(DisplayName("bad\xff", false), "bad\xff");
  EXPECT_EQ(DisplayName("two\nlines", false), "'two'$'\\n''lines'");
  EXPECT_EQ(DisplayName("tab\there", false), "'tab'$'\\t''here'");
  EXPECT_EQ(DisplayName("\x1b]0;title\x07", false), "$'\\033'']0;title'$'\\a'");
}

TEST(DisplayNames, InMessagesControlBytesAndBackslashesAreHexEscaped) {
  EXPECT_EQ(MessageName("plain name ✓"), "plain name ✓");
  EXPECT_EQ(MessageName("two\nlines"), "two\\x0alines");
  EXPECT_EQ(MessageName("\x1b[31m"), "\\x1b[31m");
  EXPECT_EQ(MessageName("a\\b"), "a\\x5cb");
  EXPECT_EQ(MessageName(std::string("nul\0", 4)), "nul\\x00");
  EXPECT_EQ(MessageName("del\x7f"), "del\\x7f");
  EXPECT_EQ(MessageName("bad\xff"), "bad\xff");
}

TEST(DisplayNames, JsonKeepsTheExactBytes) {
  nlohmann::json j;
  SetJsonText(j, "name", "ok ✓");
  EXPECT_EQ(j["name"], "ok ✓");
  EXPECT_FALSE(j.contains("nameHex"));
  SetJsonText(j, "bad", "a\xff");
  EXPECT_EQ(j["bad"], "a\xef\xbf\xbd");
  EXPECT_EQ(j["badHex"], "61ff");
  EXPECT_FALSE(IsValidUtf8("\xc0\x80"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));  // a surrogate
  EXPECT_TRUE(IsValidUtf8("\xf0\x9f\x98\x80"));
}

}  // namespace
}  // namespace hyper::cli
