// Model test: random append / batch append / get / clear / audit / reopen sequences against a
// plain vector of blocks (with a set of cleared blocks).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "hyper/core/feed.h"

namespace hyper::core {
namespace {

Bytes RandomBlock(std::mt19937_64& rng) {
  static const uint64_t kSizes[] = {0, 1, 2, 7, 64, 100, 1000, 4096, 20000};
  uint64_t size = kSizes[rng() % (sizeof(kSizes) / sizeof(kSizes[0]))];
  Bytes b(size);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

void RunModel(uint64_t seed, int steps, bool durable) {
  std::mt19937_64 rng(seed);
  storage::MemoryDirectory dir;
  auto kp = crypto::KeyPairFromSeed(Bytes(32, static_cast<uint8_t>(seed)));
  FeedOptions options;
  options.key = kp.public_key;
  options.secret_key = kp.secret_key;
  options.durable = durable;
  auto opened = Feed::Open(dir.factory(), options);
  ASSERT_TRUE(opened.ok());
  std::unique_ptr<Feed> feed = std::move(*opened);

  std::vector<Bytes> model;
  std::vector<bool> present;
  uint64_t bytes = 0;
  for (int step = 0; step < steps; ++step) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " step " + std::to_string(step));
    int op = static_cast<int>(rng() % 100);
    if (op < 35) {
      Bytes b = RandomBlock(rng);
      auto r = feed->Append(b);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      bytes += b.size();
      model.push_back(std::move(b));
      present.push_back(true);
      ASSERT_EQ(*r, model.size());
    } else if (op < 45) {
      size_t n = 1 + rng() % 12;
      std::vector<Bytes> blocks;
      for (size_t i = 0; i < n; ++i) blocks.push_back(RandomBlock(rng));
      std::vector<ByteView> views(blocks.begin(), blocks.end());
      auto r = feed->Append(std::span<const ByteView>(views));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      for (auto& b : blocks) {
        bytes += b.size();
        model.push_back(std::move(b));
        present.push_back(true);
      }
    } else if (op < 75) {
      uint64_t i = model.empty() ? 0 : rng() % (model.size() + 2);
      auto r = feed->Get(BlockIndex(i));
      if (i >= model.size()) {
        ASSERT_EQ(r.status().code(), Code::kOutOfRange);
      } else if (!present[i]) {
        ASSERT_EQ(r.status().code(), Code::kNotFound);
      } else {
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        ASSERT_EQ(*r, model[i]);
      }
    } else if (op < 82) {
      if (model.empty()) continue;
      uint64_t a = rng() % model.size();
      uint64_t b = a + 1 + rng() % 5;
      ASSERT_TRUE(feed->Clear(BlockIndex(a), BlockIndex(b)).ok());
      for (uint64_t i = a; i < b && i < model.size(); ++i) present[i] = false;
    } else if (op < 87) {
      uint64_t a = model.empty() ? 0 : rng() % model.size();
      uint64_t b = a + rng() % 10;
      bool all = true;
      for (uint64_t i = a; i < b; ++i) all = all && i < model.size() && present[i];
      ASSERT_EQ(feed->Has(BlockIndex(a), BlockIndex(b)), all);
    } else if (op < 90) {
      auto report = feed->Audit();
      ASSERT_TRUE(report.ok());
      uint64_t n = 0;
      for (bool p : present) n += p;
      ASSERT_EQ(report->valid, n);
      ASSERT_EQ(report->invalid, 0u);
    } else if (op < 95) {
      if (bytes == 0) continue;
      uint64_t off = rng() % bytes;
      auto r = feed->Seek(ByteOffset(off));
      ASSERT_TRUE(r.ok());
      uint64_t acc = 0, want = 0;
      for (uint64_t i = 0; i < model.size(); ++i) {
        if (acc + model[i].size() > off) {
          want = i;
          break;
        }
        acc += model[i].size();
      }
      ASSERT_EQ(r->first.value, want);
      ASSERT_EQ(r->second, off - acc);
    } else {
      ASSERT_TRUE(feed->Close().ok());
      feed.reset();
      FeedOptions reopen;  // keys come from the store
      reopen.durable = durable;
      auto again = Feed::Open(dir.factory(), reopen);
      ASSERT_TRUE(again.ok()) << again.status().ToString();
      feed = std::move(*again);
      ASSERT_EQ(feed->key(), kp.public_key);
    }
    ASSERT_EQ(feed->length(), model.size());
    ASSERT_EQ(feed->byte_length(), bytes);
  }
  uint64_t n = 0;
  for (bool p : present) n += p;
  EXPECT_EQ(feed->Downloaded(), n);
}

TEST(CoreModel, RandomSequencesMatchAVector) {
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    RunModel(seed, 400, seed % 3 == 0);
    if (::testing::Test::HasFailure()) return;
  }
}

}  // namespace
}  // namespace hyper::core
