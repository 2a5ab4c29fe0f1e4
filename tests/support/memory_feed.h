// A hypercore in memory for tests: a writer with `blocks` blocks ("block 0", "block 1", ...) when
// no key is given, or an empty replica of `key`. Header only; the test links hyper_core and
// hyper_storage.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "hyper/core/feed.h"
#include "hyper/storage/file.h"

namespace hyper::testing {

struct MemFeed {
  storage::MemoryDirectory dir;
  std::unique_ptr<core::Feed> feed;
};

inline std::unique_ptr<MemFeed> NewFeed(std::optional<crypto::PublicKey> key, int blocks = 0) {
  auto f = std::make_unique<MemFeed>();
  core::FeedOptions o;
  o.key = key;
  f->feed = std::move(core::Feed::Open(f->dir.factory(), o).value());
  for (int i = 0; i < blocks; ++i) {
    EXPECT_TRUE(f->feed->Append(ToBytes("block " + std::to_string(i))).ok());
  }
  return f;
}

}  // namespace hyper::testing
