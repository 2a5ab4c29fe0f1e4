// Micro-benchmarks of the hot paths (Google Benchmark): hashing, tree proofs, trie put and get,
// drive stat and small-file reads. Run: build/bench/micro_bench
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <string>

#include "hyper/core/feed.h"
#include "hyper/corestore/corestore.h"
#include "hyper/crypto/crypto.h"
#include "hyper/drive/drive.h"
#include "hyper/trie/trie.h"

namespace {

using namespace hyper;

void BM_LeafHash(benchmark::State& state) {
  Bytes block(static_cast<size_t>(state.range(0)), 0x5a);
  for (auto _ : state) benchmark::DoNotOptimize(crypto::LeafHash(block));
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}
BENCHMARK(BM_LeafHash)->Arg(40)->Arg(64 * 1024);

// Sixteen blocks at once through crypto::LeafHashes (four lanes at a time where AVX2 exists).
void BM_LeafHashes(benchmark::State& state) {
  Bytes data(static_cast<size_t>(state.range(0)) * 16, 0x5a);
  std::vector<ByteView> blocks;
  for (size_t i = 0; i < 16; ++i) {
    blocks.push_back(ByteView(data).subspan(i * state.range(0), state.range(0)));
  }
  std::vector<crypto::Hash> out(blocks.size());
  for (auto _ : state) {
    crypto::LeafHashes(blocks, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0) * 16);
}
BENCHMARK(BM_LeafHashes)->Arg(40)->Arg(64 * 1024);

void BM_Sign(benchmark::State& state) {
  auto kp = crypto::RandomKeyPair();
  Bytes msg(40, 1);
  for (auto _ : state) benchmark::DoNotOptimize(crypto::Sign(msg, kp.secret_key));
}
BENCHMARK(BM_Sign);

void BM_MakeProof(benchmark::State& state) {
  storage::MemoryDirectory dir;
  auto feed = std::move(core::Feed::Open(dir.factory())).value();
  const uint64_t n = 1 << 14;
  std::vector<Bytes> blocks(n, Bytes(64, 1));
  std::vector<ByteView> views(blocks.begin(), blocks.end());
  (void)feed->Append(views);
  std::minstd_rand rng(1);
  for (auto _ : state) {
    auto proof = feed->MakeProof(BlockIndex(rng() % n));
    benchmark::DoNotOptimize(proof);
  }
}
BENCHMARK(BM_MakeProof);

std::unique_ptr<trie::Trie> FilledTrie(uint64_t keys) {
  auto trie = std::move(trie::Trie::Open(std::make_shared<trie::MemoryLog>())).value();
  std::vector<trie::BatchOp> ops;
  for (uint64_t i = 0; i < keys; i++) {
    ops.push_back(trie::BatchOp::Put("dir/" + std::to_string(i), Bytes(16, 7)));
    if (ops.size() == 1000) {
      (void)trie->Batch(ops);
      ops.clear();
    }
  }
  if (!ops.empty()) (void)trie->Batch(ops);
  return trie;
}

void BM_TriePut(benchmark::State& state) {
  auto trie = FilledTrie(10000);
  uint64_t i = 0;
  for (auto _ : state) {
    auto node = trie->Put("new/" + std::to_string(i++), Bytes(16, 7));
    benchmark::DoNotOptimize(node);
  }
}
BENCHMARK(BM_TriePut);

void BM_TrieGet(benchmark::State& state) {
  const uint64_t keys = static_cast<uint64_t>(state.range(0));
  auto trie = FilledTrie(keys);
  std::minstd_rand rng(2);
  for (auto _ : state) {
    auto node = trie->Get("dir/" + std::to_string(rng() % keys));
    benchmark::DoNotOptimize(node);
  }
}
BENCHMARK(BM_TrieGet)->Arg(10000)->Arg(100000);

struct DriveFixture {
  storage::MemoryDirectory dir;
  std::unique_ptr<corestore::Corestore> store;
  std::unique_ptr<drive::Drive> drive;
  explicit DriveFixture(uint64_t files) {
    store = std::move(corestore::Corestore::Open(dir.factory())).value();
    drive = std::move(drive::Drive::Open(*store)).value();
    Bytes body(100, 'x');
    for (uint64_t i = 0; i < files; i++) (void)drive->WriteFile("/f/" + std::to_string(i), body);
  }
};

void BM_DriveStat(benchmark::State& state) {
  DriveFixture f(10000);
  std::minstd_rand rng(3);
  for (auto _ : state) {
    auto st = f.drive->GetStat("/f/" + std::to_string(rng() % 10000));
    benchmark::DoNotOptimize(st);
  }
}
BENCHMARK(BM_DriveStat);

void BM_DriveReadFile(benchmark::State& state) {
  DriveFixture f(10000);
  std::minstd_rand rng(4);
  for (auto _ : state) {
    auto data = f.drive->ReadFile("/f/" + std::to_string(rng() % 10000));
    benchmark::DoNotOptimize(data);
  }
}
BENCHMARK(BM_DriveReadFile);

}  // namespace

BENCHMARK_MAIN();
