#include "hyper/core/feed.h"
#include "hyper/trie/log.h"
#include "hyper/trie/trie.h"

namespace hyper::trie {
namespace {

class FeedLog final : public Log {
 public:
  explicit FeedLog(std::shared_ptr<core::Feed> feed) : feed_(std::move(feed)) {}

  uint64_t length() const override { return feed_->length(); }
  bool writable() const override { return feed_->writable(); }
  Bytes key() const override { return ToBytes(ByteView(feed_->key())); }
  Result<Bytes> Get(uint64_t index) override { return feed_->Get(BlockIndex(index)); }
  Result<uint64_t> Append(std::span<const ByteView> blocks) override {
    if (blocks.size() == 1) return feed_->Append(blocks[0]);
    return feed_->Append(blocks);
  }
  uint64_t OnAppend(AppendListener listener) override {
    return feed_->OnAppend(std::move(listener));
  }
  void RemoveListener(uint64_t handle) override { feed_->RemoveListener(handle); }

 private:
  std::shared_ptr<core::Feed> feed_;
};

}  // namespace

std::shared_ptr<Log> NewFeedLog(std::shared_ptr<core::Feed> feed) {
  return std::make_shared<FeedLog>(std::move(feed));
}

Result<std::unique_ptr<Trie>> Trie::Open(std::shared_ptr<core::Feed> feed, TrieOptions options) {
  if (!feed) return Status::InvalidArgument("Trie::Open without a feed");
  return Open(NewFeedLog(std::move(feed)), std::move(options));
}

}  // namespace hyper::trie
