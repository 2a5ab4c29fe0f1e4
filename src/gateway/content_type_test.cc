#include "hyper/gateway/content_type.h"

#include <gtest/gtest.h>

namespace hyper::gateway {
namespace {

TEST(ContentTypeTest, FromTheExtension) {
  EXPECT_EQ(ContentTypeFor("/a/video.webm"), "video/webm");
  EXPECT_EQ(ContentTypeFor("/INDEX.HTML"), "text/html; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("/x.tar.gz"), "application/gzip");
  EXPECT_EQ(ContentTypeFor("/noext"), "application/octet-stream");
  EXPECT_EQ(ContentTypeFor("/dir.d/file"), "application/octet-stream");
  EXPECT_EQ(ContentTypeFor("/trailing."), "application/octet-stream");
  EXPECT_EQ(ContentTypeFor("/x.unknownext"), "application/octet-stream");
}

}  // namespace
}  // namespace hyper::gateway
