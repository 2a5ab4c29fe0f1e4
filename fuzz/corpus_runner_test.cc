// Replays a fuzzer's seed corpus (every file of HYPER_FUZZ_CORPUS) through its
// LLVMFuzzerTestOneInput as a regular test, so that the normal build keeps the fuzzers'
// regressions green. Link it with exactly one *_fuzzer.cc.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

TEST(FuzzCorpus, EveryInputRuns) {
  namespace fs = std::filesystem;
  fs::path dir = HYPER_FUZZ_CORPUS;
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  size_t n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    EXPECT_EQ(LLVMFuzzerTestOneInput(bytes.data(), bytes.size()), 0) << entry.path();
    ++n;
  }
  EXPECT_GT(n, 0u) << "empty corpus " << dir;
}
