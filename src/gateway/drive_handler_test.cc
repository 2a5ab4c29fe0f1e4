#include "hyper/gateway/drive_handler.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "hyper/storage/file.h"

namespace hyper::gateway {
namespace {

class DriveHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(corestore::Corestore::Open(dir_.factory())).value();
    drive_ = std::move(drive::Drive::Open(*store_)).value();
    for (size_t i = 0; i < big_.size(); ++i) big_[i] = static_cast<uint8_t>(i * 7 + (i >> 10));
    ASSERT_TRUE(drive_->WriteFile("/big.bin", big_).ok());
    ASSERT_TRUE(drive_->WriteFile("/site/index.html", ToBytes("<p>hi</p>")).ok());
    ASSERT_TRUE(drive_->WriteFile("/docs/a b.txt", ToBytes("a")).ok());
    ASSERT_TRUE(drive_->WriteFile("/docs/<c>.md", ToBytes("cc")).ok());
    key_ = ToHex(drive_->key());
    source_ = std::make_unique<LocalDriveSource>(*store_);
    handler_ = std::make_unique<DriveHandler>(*source_, DriveHandlerOptions{});
  }
  static Bytes ToBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

  HttpResponse Get(const std::string& target,
                   std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpRequest req;
    req.method = "GET";
    req.target = target;
    req.headers = std::move(headers);
    return handler_->Handle(req);
  }
  static std::string HeaderOf(const HttpResponse& r, std::string_view name) {
    for (const auto& [n, v] : r.headers) {
      if (n == name) return v;
    }
    return "";
  }
  // The whole body of `r`.
  static std::string Body(HttpResponse& r) {
    if (!r.stream) return r.body;
    std::string out;
    while (true) {
      auto chunk = r.stream->Next();
      EXPECT_TRUE(chunk.ok()) << chunk.status().ToString();
      if (!chunk.ok() || chunk->empty()) break;
      out.append(reinterpret_cast<const char*>(chunk->data()), chunk->size());
    }
    return out;
  }

  storage::MemoryDirectory dir_;
  std::unique_ptr<corestore::Corestore> store_;
  std::unique_ptr<drive::Drive> drive_;
  Bytes big_ = Bytes(3 * 1024 * 1024 + 17);
  std::string key_;
  std::unique_ptr<LocalDriveSource> source_;
  std::unique_ptr<DriveHandler> handler_;
};

TEST_F(DriveHandlerTest, WholeFilesAndRanges) {
  auto r = Get("/" + key_ + "/big.bin");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_length, big_.size());
  EXPECT_EQ(HeaderOf(r, "Accept-Ranges"), "bytes");
  EXPECT_EQ(HeaderOf(r, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(HeaderOf(r, "Cache-Control"), "no-cache");
  EXPECT_EQ(Body(r), std::string(big_.begin(), big_.end()));

  r = Get("/hyper/" + key_ + "/big.bin", {{"range", "bytes=1000000-1999999"}});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(HeaderOf(r, "Content-Range"), "bytes 1000000-1999999/" + std::to_string(big_.size()));
  EXPECT_EQ(Body(r), std::string(big_.begin() + 1000000, big_.begin() + 2000000));

  r = Get("/" + key_ + "/big.bin", {{"range", "bytes=" + std::to_string(big_.size()) + "-"}});
  EXPECT_EQ(r.status, 416);
  EXPECT_EQ(HeaderOf(r, "Content-Range"), "bytes */" + std::to_string(big_.size()));
}

TEST_F(DriveHandlerTest, EtagsAndConditionalRequests) {
  auto r = Get("/" + key_ + "/big.bin");
  const std::string etag = HeaderOf(r, "ETag");
  ASSERT_FALSE(etag.empty());
  auto again = Get("/" + key_ + "/big.bin", {{"if-none-match", "\"x\", " + etag}});
  EXPECT_EQ(again.status, 304);
  // Another path of the same version has another tag.
  EXPECT_NE(HeaderOf(Get("/" + key_ + "/docs/a%20b.txt"), "ETag"), etag);
  // If-Range with the current tag: the range; with an old tag: the whole file.
  auto ranged = Get("/" + key_ + "/big.bin", {{"range", "bytes=0-9"}, {"if-range", etag}});
  EXPECT_EQ(ranged.status, 206);
  auto stale = Get("/" + key_ + "/big.bin", {{"range", "bytes=0-9"}, {"if-range", "\"old\""}});
  EXPECT_EQ(stale.status, 200);
  EXPECT_EQ(stale.content_length, big_.size());
  // A new version changes the tag of the live drive.
  ASSERT_TRUE(drive_->WriteFile("/other", ToBytes("x")).ok());
  EXPECT_NE(HeaderOf(Get("/" + key_ + "/big.bin"), "ETag"), etag);
}

TEST_F(DriveHandlerTest, PinnedVersionsAreImmutable) {
  const uint64_t v = drive_->version();
  ASSERT_TRUE(drive_->WriteFile("/docs/a b.txt", ToBytes("changed")).ok());
  auto r = Get("/" + key_ + "+" + std::to_string(v) + "/docs/a%20b.txt");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Body(r), "a");
  EXPECT_NE(HeaderOf(r, "Cache-Control").find("immutable"), std::string::npos);
  auto live = Get("/" + key_ + "/docs/a%20b.txt");
  EXPECT_EQ(Body(live), "changed");
  ASSERT_TRUE(drive_->CreateTag("first", v).ok());
  auto tagged = Get("/" + key_ + "+first/docs/a%20b.txt");
  EXPECT_EQ(Body(tagged), "a");
  EXPECT_EQ(HeaderOf(tagged, "Cache-Control"), "no-cache");  // a tag can move
  EXPECT_EQ(Get("/" + key_ + "+999/docs/a%20b.txt").status, 404);
  EXPECT_EQ(Get("/" + key_ + "+nosuchtag/").status, 404);
}

TEST_F(DriveHandlerTest, DirectoriesRedirectServeIndexOrList) {
  auto r = Get("/" + key_ + "/docs");
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(HeaderOf(r, "Location"), "/" + key_ + "/docs/");
  r = Get("/" + key_);
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(HeaderOf(r, "Location"), "/" + key_ + "/");
  r = Get("/" + key_ + "/site/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Body(r), "<p>hi</p>");
  EXPECT_EQ(HeaderOf(r, "Content-Type"), "text/html; charset=utf-8");

  r = Get("/" + key_ + "/docs/");
  EXPECT_EQ(r.status, 200);
  const std::string html = Body(r);
  EXPECT_NE(html.find("href=\"/" + key_ + "/docs/a%20b.txt\""), std::string::npos) << html;
  EXPECT_NE(html.find("&lt;c&gt;.md"), std::string::npos) << html;
  EXPECT_EQ(html.find("<c>"), std::string::npos) << html;

  r = Get("/" + key_ + "/docs/", {{"accept", "application/json"}});
  auto j = nlohmann::json::parse(Body(r));
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["name"], "<c>.md");
  EXPECT_EQ(j[0]["size"], 2);
  EXPECT_EQ(j[1]["name"], "a b.txt");
  EXPECT_EQ(j[1]["type"], "file");
}

// A listing larger than one batch of the streamed body: every entry, in name order, in valid
// HTML and JSON; its ETag answers 304 without listing again.
TEST_F(DriveHandlerTest, ALargeListingIsStreamedWhole) {
  std::vector<std::pair<std::string, Bytes>> contents;
  for (int i = 2999; i >= 0; --i) {
    char name[32];
    std::snprintf(name, sizeof(name), "/many/file-%04d.txt", i);
    contents.emplace_back(name, ToBytes(std::to_string(i)));
  }
  std::vector<drive::Drive::FileToWrite> files;
  for (const auto& [path, data] : contents) files.push_back({path, data, {}});
  ASSERT_TRUE(drive_->WriteFiles(files).ok());
  auto r = Get("/" + key_ + "/many/", {{"accept", "application/json"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(r.unknown_length);
  auto j = nlohmann::json::parse(Body(r), nullptr, false);
  ASSERT_TRUE(j.is_array()) << j;
  ASSERT_EQ(j.size(), 3000u);
  for (size_t i = 0; i < j.size(); ++i) {
    char name[32];
    std::snprintf(name, sizeof(name), "file-%04zu.txt", i);
    EXPECT_EQ(j[i]["name"], name);
    EXPECT_EQ(j[i]["size"], std::to_string(i).size());
    EXPECT_EQ(j[i]["type"], "file");
  }
  r = Get("/" + key_ + "/many/");
  const std::string html = Body(r);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(html.substr(html.size() - 15), "</body></html>\n");
  size_t count = 0;
  for (size_t at = html.find("<li><a href=\"/"); at != std::string::npos;
       at = html.find("<li><a href=\"/", at + 1)) {
    count++;
  }
  EXPECT_EQ(count, 3000u);
  EXPECT_LT(html.find("file-0000.txt"), html.find("file-2999.txt"));
  const std::string etag = HeaderOf(r, "ETag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(Get("/" + key_ + "/many/", {{"if-none-match", etag}}).status, 304);
}

TEST_F(DriveHandlerTest, Errors) {
  EXPECT_EQ(Get("/" + key_ + "/nope").status, 404);
  EXPECT_EQ(Get("/" + std::string(64, 'b') + "/x").status, 404);  // no such drive
  EXPECT_EQ(Get("/nothex/x").status, 400);
  EXPECT_EQ(Get("/" + key_ + "/%2e%2e/x").status, 400);
  EXPECT_EQ(Get("/" + key_ + "/a%00").status, 400);
  EXPECT_EQ(Get("/" + key_ + "/big.bin/x").status, 404);
}

}  // namespace
}  // namespace hyper::gateway
