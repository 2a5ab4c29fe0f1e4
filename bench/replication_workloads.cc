// Side by side: replication over TCP on 127.0.0.1 through our C++ and through the Node reference,
// in the same run (docs/performance.md, workloads 8 and 9).
//   replication_workloads [--full] [--out FILE] [--ours-only] [--dedup]
//   8. a drive holding one big file (written in 64 KiB chunks) is replicated whole to an empty
//      replica over TCP, then the file is read there: MB/s of the whole (replicate + read).
//   9. an empty sparse replica reads 1 MiB from the middle of that file: bytes on the wire (both
//      directions, handshake, metadata lookups and proofs included) and time.
// --dedup (ours only): in 8, the replica's store already holds another drive that shares nothing
// with the served one, and the content feed is replicated with deduplication across cores
// (docs/dedup.md): every block's hash is asked for first until the misses in a row make it
// probe only now and then. Measures what deduplication costs a drive that gains nothing.
// Ours runs the serving and the reading replicators in one process (one network thread each);
// the Node side runs the server in a child process and the reader in the main one.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "check.h"
#include "hyper/drive/drive.h"
#include "hyper/protocol/tcp.h"
#include "hyper/replication/store_dedup.h"
#include "side_by_side.h"
#include "tests/support/node_harness.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace hyper;
using hyper::bench::Check;
using namespace std::chrono_literals;
using hyper::bench::Clock;
using hyper::bench::Seconds;

// Byte j of the big file (the Node twin uses the same formula).
uint8_t ByteAt(uint64_t j) { return static_cast<uint8_t>((j * 7 + (j >> 16)) & 0xff); }
// ByteAt repeats every 256 blocks of 64 KiB (deduplication would find them): with --dedup the
// file is pseudo-random instead, each chunk from a generator seeded by its index.
void FillChunk(uint64_t pos, bool random, Bytes& buf) {
  if (!random) {
    for (uint64_t j = 0; j < buf.size(); j++) buf[j] = ByteAt(pos + j);
    return;
  }
  uint64_t x = (pos + 1) * 0x9E3779B97F4A7C15ull;
  for (auto& c : buf) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<uint8_t>(x >> 24);
  }
}

// CPU time (user + system) of every thread of this process so far: both replicators' network
// threads, the store thread, and the main thread. Unlike MB/s, it does not depend much on what
// else the machine runs.
double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

// Each thread of this process, by thread id: its name, nanoseconds on a CPU, and nanoseconds
// spent runnable but waiting for a CPU (/proc/<pid>/task/<tid>/schedstat).
struct ThreadTimes {
  std::string name;
  double run_ns = 0;
  double wait_ns = 0;
};
std::map<std::string, ThreadTimes> ThreadCpu() {
  std::map<std::string, ThreadTimes> out;
  std::error_code ec;
  for (const auto& t : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    ThreadTimes times;
    std::ifstream(t.path() / "comm") >> times.name;
    std::ifstream(t.path() / "schedstat") >> times.run_ns >> times.wait_ns;
    out[t.path().filename().string()] = times;
  }
  return out;
}

// Prints, for each thread, its share of `wall` seconds since `before` on a CPU and waiting for
// one (the rest it slept): a thread near 100% on a CPU bounds the throughput; one that waits
// long for a CPU competes with other work.
void PrintThreadCpu(const std::map<std::string, ThreadTimes>& before, double wall) {
  std::fprintf(stderr, "threads while replicating (%.2f s): on a CPU / waiting for one\n", wall);
  for (const auto& [tid, now] : ThreadCpu()) {
    auto it = before.find(tid);
    ThreadTimes was = it == before.end() ? ThreadTimes{} : it->second;
    double run = (now.run_ns - was.run_ns) / 1e9, wait = (now.wait_ns - was.wait_ns) / 1e9;
    if (run < 0.005) continue;
    std::fprintf(stderr, "  %-22s %6.3f s (%3.0f%%)  %6.3f s (%3.0f%%)\n",
                 (now.name + "[" + tid + "]").c_str(), run, 100 * run / wall, wait,
                 100 * wait / wall);
  }
}

uint64_t WireBytes(const protocol::Replicator& r) {
  uint64_t n = 0;
  for (const auto& c : r.connections()) n += c.bytes_sent + c.bytes_received;
  return n;
}

// Waits until every block of [start, end) of `feed` is local (and end <= its length).
void WaitLocal(core::Feed& feed, uint64_t start, uint64_t end, const char* what) {
  auto deadline = Clock::now() + 600s;
  while (!feed.Has(BlockIndex(start), BlockIndex(end))) {
    if (Clock::now() > deadline) {
      std::cerr << what << ": timed out\n";
      std::exit(1);
    }
    std::this_thread::sleep_for(1ms);
  }
}

// An empty replica of drive `key` in its own store, and the replicator that will fetch it.
struct Replica {
  std::unique_ptr<corestore::Corestore> store;
  std::shared_ptr<core::Feed> metadata;
  std::unique_ptr<protocol::Replicator> client;
};
Replica NewReplica(const std::string& dir, const crypto::PublicKey& key) {
  Replica r;
  r.store = Check(corestore::Corestore::OpenDirectory(dir), "replica store");
  corestore::CoreOptions co;
  co.key = key;
  r.metadata = Check(r.store->Get(co), "replica metadata");
  r.client = Check(protocol::Replicator::Create(), "client");
  return r;
}

nlohmann::json RunOurs(const nlohmann::json& cfg) {
  const uint64_t big = cfg["bigBytes"], chunk = cfg["chunkBytes"], range = cfg["rangeBytes"];
  hyper::testing::TempDir tmp;
  nlohmann::json out;
  const bool random = cfg.value("dedup", false);
  std::vector<uint8_t> first_bytes;  // of each chunk (the reads below start on chunks)

  // The served drive.
  auto wstore = Check(corestore::Corestore::OpenDirectory(tmp.Sub("writer")), "writer store");
  auto writer = Check(drive::Drive::Open(*wstore), "writer drive");
  {
    auto w = Check(writer->CreateWriter("/big.bin"), "create writer");
    Bytes buf(chunk);
    for (uint64_t pos = 0; pos < big; pos += chunk) {
      FillChunk(pos, random, buf);
      first_bytes.push_back(buf[0]);
      Check(w->Write(buf), "write");
    }
    Check(w->Close().status(), "close");
  }
  auto server = Check(protocol::Replicator::Create(), "server");
  protocol::PeerOptions serve;
  serve.live = true;
  serve.sparse = true;
  Check(server->AddFeed(writer->metadata_feed().get(), serve), "serve metadata");
  Check(server->AddFeed(writer->content_feed().get(), serve), "serve content");
  uint16_t port = Check(server->Listen("127.0.0.1", 0), "listen");

  // 8. Replicate everything, then read the file.
  {
    auto [rstore, meta, client] = NewReplica(tmp.Sub("full"), writer->key());
    protocol::PeerOptions all;
    all.live = true;  // the connection stays while the content feed is added
    protocol::PeerOptions content_options = all;
    if (cfg.value("dedup", false)) {
      drive::DriveOptions o;
      o.namespace_name = "unrelated";
      auto other = Check(drive::Drive::Open(*rstore, o), "unrelated drive");
      Bytes unrelated(uint64_t{16} << 20);
      for (uint64_t j = 0; j < unrelated.size(); j++) unrelated[j] = ByteAt(j) ^ 0x5a;
      Check(other->WriteFile("/unrelated.bin", unrelated), "unrelated write");
      content_options.dedup = replication::StoreDedup::For(*rstore);
    }
    auto t = Clock::now();
    double cpu = CpuSeconds();
    auto threads = ThreadCpu();
    Check(client->AddFeed(meta.get(), all), "add metadata");
    Check(client->Connect("127.0.0.1", port), "connect");
    Check(client->WaitSynced(meta.get(), 600s), "metadata synced");
    auto replica = Check(drive::Drive::Open(*rstore, {.key = writer->key()}), "replica drive");
    auto content = replica->content_feed();
    Check(client->AddFeed(content.get(), content_options), "add content");
    WaitLocal(*meta, 0, meta->length(), "metadata");
    while (content->length() < writer->content_feed()->length() ||
           !content->Has(BlockIndex(0), BlockIndex(content->length()))) {
      std::this_thread::sleep_for(1ms);
    }
    double replicated = Seconds(t);
    double replicated_cpu = CpuSeconds() - cpu;
    if (cfg.value("threads", false)) PrintThreadCpu(threads, replicated);
    uint64_t total = 0;
    for (uint64_t pos = 0; pos < big; pos += drive::kContentBlockBytes) {
      auto got = Check(replica->ReadRange("/big.bin", pos, drive::kContentBlockBytes), "read");
      if (got[0] != first_bytes[pos / chunk]) std::exit(1);
      total += got.size();
    }
    if (total != big) std::exit(1);
    double whole = Seconds(t);
    out["replicateAndRead"] = {{"value", big / whole / 1e6}, {"unit", "MB/s"}};
    out["replicateOnly"] = {{"value", big / replicated / 1e6}, {"unit", "MB/s"}};
    // Ours only: both sides run in this process, so this is the CPU cost of serving and
    // downloading together.
    out["replicateCpuMillisPerMB"] = {{"value", replicated_cpu * 1e3 / (big / 1e6)},
                                      {"unit", "CPU ms/MB"}};
    out["wireBytesFull"] = {{"value", static_cast<double>(WireBytes(*client))}, {"unit", "bytes"}};
    if (content_options.dedup) {
      auto st = Check(client->stats(content.get()), "stats");
      out["dedupHashRequests"] = {{"value", static_cast<double>(st.hash_requests)},
                                  {"unit", "requests"}};
      out["dedupCopiedBlocks"] = {{"value", static_cast<double>(st.copied_blocks)},
                                  {"unit", "blocks"}};
    }
  }

  // 9. 1 MiB from the middle, sparse.
  {
    auto [rstore, meta, client] = NewReplica(tmp.Sub("sparse"), writer->key());
    protocol::PeerOptions sparse;
    sparse.sparse = true;
    auto t = Clock::now();
    Check(client->AddFeed(meta.get(), sparse), "add metadata");
    Check(client->Connect("127.0.0.1", port), "connect");
    Check(meta->Get(BlockIndex(0), {.timeout = 10s}).status(), "header");
    auto replica = Check(drive::Drive::Open(*rstore, {.key = writer->key()}), "sparse drive");
    auto content = replica->content_feed();
    Check(client->AddFeed(content.get(), sparse), "add content");
    auto st = Check(replica->GetStat("/big.bin"), "stat");
    const uint64_t start = big / 2;
    // The file was written in chunk-sized blocks.
    const uint64_t first = st.offset + start / chunk,
                   last = st.offset + (start + range - 1) / chunk;
    Check(client->Download(content.get(), BlockIndex(first), BlockIndex(last + 1)), "download");
    WaitLocal(*content, first, last + 1, "range");
    auto got = Check(replica->ReadRange("/big.bin", start, range), "read range");
    double took = Seconds(t);
    if (got.size() != range || got[0] != first_bytes[start / chunk]) std::exit(1);
    out["rangeWireBytes"] = {{"value", static_cast<double>(WireBytes(*client))}, {"unit", "bytes"}};
    out["rangeMillis"] = {{"value", took * 1000}, {"unit", "ms"}};
    out["rangeContentBlocks"] = {{"value", static_cast<double>(content->Downloaded())},
                                 {"unit", "blocks"}};
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  bool full = false;
  bool ours_only = false;  // skip the Node twin (for profiling our side); per-thread CPU times
  bool dedup = false;
  std::string out_path = "bench-replication.json";
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--full") {
      full = true;
    } else if (a == "--ours-only") {
      ours_only = true;
    } else if (a == "--dedup") {
      dedup = true;
      ours_only = true;
    } else if (a == "--out" && i + 1 < argc) {
      out_path = argv[++i];
    } else {
      std::cerr << "usage: replication_workloads [--full] [--out FILE] [--ours-only] [--dedup]\n";
      return 2;
    }
  }
  nlohmann::json cfg = {{"bigBytes", full ? (uint64_t{1} << 30) : (uint64_t{256} << 20)},
                        {"chunkBytes", 65536},
                        {"rangeBytes", 1 << 20}};
  if (ours_only) cfg["threads"] = true;  // and print each thread's CPU time
  if (dedup) cfg["dedup"] = true;

  std::cerr << "replicating through hyperdrive-cpp...\n";
  nlohmann::json ours = RunOurs(cfg);
  if (ours_only) {
    std::cout << ours.dump(2) << "\n";
    return 0;
  }
  std::cerr << "replicating through Node hyperdrive 10.21...\n";
  nlohmann::json node = hyper::bench::RunNodeTwin("replication_workloads.js", cfg);
  hyper::bench::Report(ours, node, cfg, out_path);
  return 0;
}
