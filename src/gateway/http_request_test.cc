#include "hyper/gateway/http_request.h"

#include <gtest/gtest.h>

#include <string>

namespace hyper::gateway {
namespace {

TEST(HttpRequestTest, ParsesAHeadAndSaysWhereItEnds) {
  const std::string head = "GET /k/a%20b?x=1 HTTP/1.1\r\nHost: h\r\nRange:  bytes=0-9 \r\n\r\n";
  auto r = ParseRequest(head + "GET / HTTP/1.1\r\n");
  ASSERT_EQ(r.state, ParseState::kDone) << r.why;
  EXPECT_EQ(r.consumed, head.size());
  EXPECT_EQ(r.request.method, "GET");
  EXPECT_EQ(r.request.target, "/k/a%20b?x=1");
  EXPECT_EQ(r.request.minor_version, 1);
  ASSERT_NE(r.request.Header("range"), nullptr);
  EXPECT_EQ(*r.request.Header("range"), "bytes=0-9");
  EXPECT_TRUE(r.request.KeepAlive());
}

TEST(HttpRequestTest, IncompleteUntilTheEmptyLineAtAnySplit) {
  const std::string head = "HEAD /x HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n";
  for (size_t n = 0; n < head.size(); ++n) {
    EXPECT_EQ(ParseRequest(head.substr(0, n)).state, ParseState::kIncomplete) << n;
  }
  EXPECT_EQ(ParseRequest(head).state, ParseState::kDone);
}

TEST(HttpRequestTest, BareLineFeedsAndKeepAliveRules) {
  auto r = ParseRequest("GET / HTTP/1.0\nConnection: Keep-Alive\n\n");
  ASSERT_EQ(r.state, ParseState::kDone) << r.why;
  EXPECT_TRUE(r.request.KeepAlive());
  r = ParseRequest("GET / HTTP/1.0\r\n\r\n");
  ASSERT_EQ(r.state, ParseState::kDone);
  EXPECT_FALSE(r.request.KeepAlive());
  r = ParseRequest("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, close\r\n\r\n");
  ASSERT_EQ(r.state, ParseState::kDone);
  EXPECT_FALSE(r.request.KeepAlive());
}

TEST(HttpRequestTest, RefusesMalformedHeads) {
  const char* bad[] = {
      "GET /\r\n\r\n",                                  // no version
      "GET  / HTTP/1.1\r\nHost: h\r\n\r\n",             // two spaces
      "G(T / HTTP/1.1\r\nHost: h\r\n\r\n",              // not a token
      "GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n",         // control byte in the target
      "GET / HTTP/1.1\r\n\r\n",                         // 1.1 without Host
      "GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n",   // obsolete folding
      "GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n",       // no name
      "GET / HTTP/1.1\r\nHost: h\r\nA b: v\r\n\r\n",    // space in the name
      "GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n",  // control byte in a value
  };
  for (const char* text : bad) {
    auto r = ParseRequest(text);
    EXPECT_EQ(r.state, ParseState::kError) << text;
    EXPECT_EQ(r.status, 400) << text;
  }
  EXPECT_EQ(ParseRequest("GET / HTTP/2.0\r\n\r\n").status, 505);
  EXPECT_EQ(ParseRequest("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc").status, 501);
  EXPECT_EQ(ParseRequest("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n").status,
            501);
  EXPECT_EQ(ParseRequest("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n").state,
            ParseState::kDone);
}

TEST(HttpRequestTest, LimitsAreHardEvenBeforeTheLineEnds) {
  RequestLimits limits;
  limits.max_request_line = 64;
  limits.max_headers = 3;
  limits.max_header_bytes = 100;
  // A request line that never ends is refused once it is too long, not buffered for ever.
  std::string endless = "GET /" + std::string(100, 'a');
  EXPECT_EQ(ParseRequest(endless, limits).status, 414);
  EXPECT_EQ(ParseRequest("GET /" + std::string(60, 'a') + " HTTP/1.1\r\n", limits).status, 414);
  EXPECT_EQ(ParseRequest("GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(200, 'v'), limits).status,
            431);
  EXPECT_EQ(
      ParseRequest("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits).status,
      431);
  EXPECT_EQ(ParseRequest("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", limits).state,
            ParseState::kDone);
}

}  // namespace
}  // namespace hyper::gateway
