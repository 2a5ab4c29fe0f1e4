#include "number_options.h"

#include <gtest/gtest.h>

namespace hyper::cli {
namespace {

TEST(NumberOptions, WholeNumbers) {
  EXPECT_EQ(*ParseWholeNumber("0"), 0u);
  EXPECT_EQ(*ParseWholeNumber("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(*ParseWholeNumber("007"), 7u);
  for (const char* bad : {"", "-1", "-0", "+1", " 1", "1 ", "1.5", "1e3", "0x10", "abc",
                          "18446744073709551616", "99999999999999999999999"}) {
    auto r = ParseWholeNumber(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_LT(r.status().message().size(), 120u) << r.status().message();
  }
  EXPECT_NE(ParseWholeNumber("-5").status().message().find("negative"), std::string::npos);
  EXPECT_FALSE(ParseWholeNumber("0", 1).ok());
  EXPECT_FALSE(ParseWholeNumber("11", 1, 10).ok());
  EXPECT_EQ(*ParseWholeNumber("10", 1, 10), 10u);
}

TEST(NumberOptions, Seconds) {
  EXPECT_EQ(*ParseSeconds("10"), 10.0);
  EXPECT_EQ(*ParseSeconds("0.5"), 0.5);
  EXPECT_EQ(*ParseSeconds(".25"), 0.25);
  for (const char* bad :
       {"", "0", "0.0", "-1", "abc", "nan", "inf", "1e999", "1e3", "1..2", ".", "86401", "+3"}) {
    auto r = ParseSeconds(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_LT(r.status().message().size(), 120u) << r.status().message();
  }
}

TEST(NumberOptions, OptionsRefuseBadNumbersAsParseErrors) {
  CLI::App app;
  std::optional<uint64_t> start;
  uint64_t count = 0;
  double timeout = 10;
  AddNumberOption(&app, "--start", start, "");
  AddNumberOption(&app, "--count", count, "", 1, 5);
  AddSecondsOption(&app, "--timeout", timeout, "");
  app.parse("--start 7 --count 5 --timeout 0.5", false);
  EXPECT_EQ(start, 7u);
  EXPECT_EQ(count, 5u);
  EXPECT_EQ(timeout, 0.5);
  for (const char* bad : {"--start -1", "--count 6", "--timeout abc"}) {
    CLI::App fresh;
    std::optional<uint64_t> s;
    uint64_t c = 0;
    double t = 10;
    AddNumberOption(&fresh, "--start", s, "");
    AddNumberOption(&fresh, "--count", c, "", 1, 5);
    AddSecondsOption(&fresh, "--timeout", t, "");
    EXPECT_THROW(fresh.parse(bad, false), CLI::ParseError) << bad;
  }
}

}  // namespace
}  // namespace hyper::cli
