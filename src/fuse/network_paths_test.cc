#include "network_paths.h"

#include <gtest/gtest.h>

#include "hyper/util/bytes.h"

namespace hyper::fuse {
namespace {

using Kind = NetworkPath::Kind;

const std::string kKey(64, 'a');

TEST(NetworkPaths, TheReferencesLayout) {
  EXPECT_EQ(ParseNetworkPath("/Network")->kind, Kind::kRoot);

  auto d = ParseNetworkPath("/Network/" + kKey);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->kind, Kind::kDrive);
  EXPECT_EQ(ToHex(d->key), kKey);
  EXPECT_FALSE(d->version);
  EXPECT_EQ(d->inner, "/");

  auto v = ParseNetworkPath("/Network/" + kKey + "+12/a/b.txt");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->kind, Kind::kDrive);
  EXPECT_EQ(v->version, 12u);
  EXPECT_EQ(v->inner, "/a/b.txt");
  EXPECT_EQ(NetworkName(v->key, v->version), kKey + "+12");

  EXPECT_EQ(ParseNetworkPath("/Network/Stats")->kind, Kind::kStatsDir);
  EXPECT_EQ(ParseNetworkPath("/Network/Stats/" + kKey)->kind, Kind::kStatsDrive);
  auto f = ParseNetworkPath("/Network/Stats/" + kKey + "/storage.json");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->kind, Kind::kStatsFile);
  EXPECT_EQ(f->inner, "storage.json");
  EXPECT_EQ(ParseNetworkPath("/Network/Stats/" + kKey + "/networking.json")->inner,
            "networking.json");
  EXPECT_EQ(ParseNetworkPath("/Network/Active")->kind, Kind::kActiveDir);
  auto a = ParseNetworkPath("/Network/Active/" + kKey + ".json");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->kind, Kind::kActiveLink);
  EXPECT_EQ(ToHex(a->key), kKey);
}

TEST(NetworkPaths, WhatIsNotThereIsNotFound) {
  for (const std::string& p : std::vector<std::string>{
           "/Network/abc", "/Network/" + kKey.substr(1) + "g", "/Network/" + kKey + "+",
           "/Network/" + kKey + "+x", "/Network/" + kKey + "+-1", "/Network/" + kKey + "+1+2",
           "/Network/" + kKey + "+99999999999999999999999", "/Network/Stats/abc",
           "/Network/Stats/" + kKey + "/other.json", "/Network/Stats/" + kKey + "/storage.json/x",
           "/Network/Active/" + kKey, "/Network/Active/" + kKey + ".json/x",
           "/Network/Active/.json", "/Network/stats"}) {
    EXPECT_EQ(ParseNetworkPath(p).status().code(), Code::kNotFound) << p;
  }
}

}  // namespace
}  // namespace hyper::fuse
