#include "hyper/gateway/request_path.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hyper::gateway {
namespace {

const std::string kKey(64, 'a');

TEST(RequestPathTest, KeyVersionAndPath) {
  auto p = ParseRequestPath("/" + kKey + "/dir/a%20b.txt?x=1");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->has_key);
  EXPECT_EQ(ToHex(p->key), kKey);
  EXPECT_FALSE(p->version);
  EXPECT_EQ(p->path, "/dir/a b.txt");
  EXPECT_FALSE(p->trailing_slash);
  EXPECT_EQ(p->prefix, "/" + kKey);

  p = ParseRequestPath("/hyper/" + kKey + "+12/dir//sub/");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(*p->version, "12");
  EXPECT_EQ(p->path, "/dir/sub");
  EXPECT_TRUE(p->trailing_slash);
  EXPECT_EQ(p->prefix, "/hyper/" + kKey + "+12");

  p = ParseRequestPath("/" + kKey + "+v1.0");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p->version, "v1.0");
  EXPECT_EQ(p->path, "/");

  p = ParseRequestPath("/");
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->has_key);
  // UTF-8 names pass.
  p = ParseRequestPath("/" + kKey + "/%C3%A9t%C3%A9");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->path, "/\xc3\xa9t\xc3\xa9");
}

TEST(RequestPathTest, HostilePathsAreRefused) {
  const std::string k = "/" + kKey;
  const std::vector<std::string> targets = {k + "/../x",
                                            k + "/a/..",
                                            k + "/%2e%2e/x",
                                            k + "/%2E%2e",
                                            k + "/./x",
                                            k + "/%2e/x",
                                            k + "/a%2f..%2fb",
                                            k + "/a%5c..",
                                            k + "/a%00b",
                                            k + "/a%0ab",
                                            k + "/a%zz",
                                            k + "/a%2",
                                            k + "/%c0%ae%c0%ae/x",  // overlong '.'
                                            k + "/%c0%af",          // overlong '/'
                                            k + "/%ed%a0%80",       // a surrogate
                                            k + "/%ff",
                                            "/" + std::string(63, 'a'),
                                            "/" + std::string(64, 'g'),
                                            "//x",
                                            "/hyper/",
                                            "/hyper",
                                            "x",
                                            "",
                                            k + "+/x",
                                            k + "/" + std::string(kMaxTargetBytes, 'a')};
  for (const std::string& t : targets) {
    auto p = ParseRequestPath(t);
    EXPECT_FALSE(p.ok()) << t;
    if (!p.ok()) {
      EXPECT_EQ(p.status().code(), Code::kInvalidArgument) << t;
    }
  }
}

TEST(RequestPathTest, PercentEncodePath) {
  EXPECT_EQ(PercentEncodePath("/a b/\xc3\xa9?#%\"<"), "/a%20b/%C3%A9%3F%23%25%22%3C");
  EXPECT_EQ(PercentEncodePath("/A-z_0.9~/"), "/A-z_0.9~/");
}

}  // namespace
}  // namespace hyper::gateway
