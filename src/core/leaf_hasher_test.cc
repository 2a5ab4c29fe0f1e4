#include "src/core/leaf_hasher.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace hyper::core {
namespace {

TEST(CoreLeafHasher, SameHashesAsOneThread) {
  for (size_t blocks : {0, 1, 2, 3, 64, 300}) {
    for (size_t size : {0, 1, 1000, 65536}) {
      std::vector<Bytes> data;
      std::vector<ByteView> views;
      for (size_t i = 0; i < blocks; ++i) {
        data.push_back(Bytes(size + i % 3, static_cast<uint8_t>(i * 13 + size)));
      }
      for (const auto& d : data) views.emplace_back(d);
      std::vector<crypto::Hash> out(blocks);
      {
        LeafHasher h(views, out);
        h.Start();
        h.Finish();
      }
      for (size_t i = 0; i < blocks; ++i) {
        EXPECT_EQ(out[i], crypto::LeafHash(views[i])) << blocks << " " << size << " " << i;
      }
      // Without Start, and without an explicit Finish (the destructor finishes).
      std::vector<crypto::Hash> again(blocks);
      { LeafHasher h(views, again); }
      EXPECT_EQ(again, out);
    }
  }
}

TEST(CoreLeafHasher, ManyCallersAtOnce) {
  std::vector<Bytes> data;
  for (size_t i = 0; i < 40; ++i) data.push_back(Bytes(20000 + i, static_cast<uint8_t>(i)));
  std::vector<ByteView> views(data.begin(), data.end());
  std::vector<crypto::Hash> want;
  for (const auto& v : views) want.push_back(crypto::LeafHash(v));
  std::vector<std::thread> threads;
  std::vector<int> failures(6, 0);
  for (size_t t = 0; t < failures.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        std::vector<crypto::Hash> out(views.size());
        LeafHasher h(views, out);
        h.Start();
        h.Finish();
        if (out != want) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

}  // namespace
}  // namespace hyper::core
