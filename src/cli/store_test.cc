#include "store.h"

#include <gtest/gtest.h>

namespace hyper::cli {
namespace {

const std::string kHex = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";

TEST(HyperUrl, Forms) {
  auto a = ParseHyperUrl("hyper://" + kHex + "/docs/a.txt");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(ToHex(a->key), kHex);
  EXPECT_EQ(a->path, "/docs/a.txt");
  EXPECT_FALSE(a->version);

  auto b = ParseHyperUrl(kHex);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->path, "/");

  auto c = ParseHyperUrl(kHex + "+12/x/");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c->version, "12");
  EXPECT_EQ(c->path, "/x");

  auto d = ParseHyperUrl("hyper://" + kHex + "+release-1");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d->version, "release-1");
  EXPECT_EQ(FormatUrl(d->key), "hyper://" + kHex);
}

TEST(HyperUrl, Rejects) {
  for (std::string bad : {std::string("hyper://abc"), std::string(""), kHex.substr(0, 63) + "g",
                          "hyper://" + kHex.substr(0, 63) + "z/x", kHex + "x/y", kHex + "+",
                          kHex + "+/a", "hyper://" + kHex + "/../etc/passwd"}) {
    auto r = ParseHyperUrl(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
    }
  }
}

TEST(NormalizePath, NeverEscapesTheRoot) {
  EXPECT_EQ(*NormalizePath(""), "/");
  EXPECT_EQ(*NormalizePath("a//b/./c/"), "/a/b/c");
  EXPECT_EQ(*NormalizePath("/a/b/../c"), "/a/c");
  EXPECT_EQ(*NormalizePath("/a/.."), "/");
  EXPECT_FALSE(NormalizePath("/..").ok());
  EXPECT_FALSE(NormalizePath("/a/../../b").ok());
  EXPECT_FALSE(NormalizePath(std::string("/a\0b", 4)).ok());
}

TEST(StorageRoot, Precedence) {
  EXPECT_EQ(ResolveStorageRoot("/flag"), "/flag");
  setenv("HYPERDRIVE_STORAGE", "/env", 1);
  EXPECT_EQ(ResolveStorageRoot(""), "/env");
  unsetenv("HYPERDRIVE_STORAGE");
  setenv("HOME", "/home/u", 1);
  EXPECT_EQ(ResolveStorageRoot(""), "/home/u/.hyperdrive");
  setenv("HYPERDRIVE_STORAGE", "", 1);
  EXPECT_EQ(ResolveStorageRoot(""), "/home/u/.hyperdrive") << "set but empty is unset";
  unsetenv("HOME");
  EXPECT_EQ(ResolveStorageRoot(""), "") << "no default without HOME";
  EXPECT_EQ(ResolveStorageRoot("/flag"), "/flag");
}

}  // namespace
}  // namespace hyper::cli
