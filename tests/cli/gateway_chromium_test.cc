// The gateway's reason to be: a real headless Chromium plays a WebM video from `hyperdrive serve`,
// whose store does not hold the drive: the gateway finds the seed through a DHT of the test's own
// (by the key alone) and fetches from it only the blocks the player reads. The player seeks to
// the middle and plays on; the gateway's store then holds well under the whole file. A
// screenshot of the page is kept in the build folder (test-artifacts/gateway_chromium.png).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/cli/background.h"
#include "tests/cli/cli_runner.h"

namespace hyper::cli {
namespace {

std::string AddressAfter(const Background& b, const std::string& prefix) {
  std::string out = b.out();
  size_t at = out.find(prefix);
  if (at == std::string::npos) return "";
  at += prefix.size();
  return out.substr(at, out.find_first_of("/\n", at) - at);
}

TEST(GatewayChromiumTest, PlaysAndSeeksAVideoFetchingOnlyWhatItReads) {
  hyper::testing::TempDir tmp;
  // Eight minutes of VP8 at 3 Mbit/s (about 180 MB), far more than the player reads ahead of a
  // seek (a few MB; up to some 40 MB on a loaded machine). Noise keeps the encoder at its rate;
  // half a minute is encoded and repeated (stream copy) to keep the test quick.
  const std::string video_dir = tmp.Sub("video");
  std::filesystem::create_directories(video_dir);
  const std::string piece = tmp.Sub("piece.webm");
  const std::string video = video_dir + "/video.webm";
  auto encoded = hyper::testing::RunProcess(
      {"ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
       "testsrc=duration=30:size=426x240:rate=25,noise=alls=20:allf=t", "-c:v", "libvpx", "-b:v",
       "3M", "-deadline", "realtime", "-cpu-used", "8", "-g", "50", piece});
  ASSERT_TRUE(encoded.ok() && encoded->exit_code == 0)
      << (encoded.ok() ? encoded->stderr_text : encoded.status().ToString());
  auto repeated =
      hyper::testing::RunProcess({"ffmpeg", "-hide_banner", "-loglevel", "error", "-stream_loop",
                                  "15", "-i", piece, "-c", "copy", video});
  ASSERT_TRUE(repeated.ok() && repeated->exit_code == 0)
      << (repeated.ok() ? repeated->stderr_text : repeated.status().ToString());
  const uint64_t size = std::filesystem::file_size(video);

  const std::string origin = tmp.Sub("origin");
  const std::string url = ExpectSuccess(RunCli(origin, {"import", video_dir}), {"import"});
  const std::string key = url.substr(std::string("hyper://").size());

  Background dht({HYPERDRIVE_BINARY, "dht-node", "--listen", "127.0.0.1:0"}, tmp.Sub("dht.out"),
                 tmp.Sub("dht.err"));
  ASSERT_TRUE(dht.WaitFor("dht-node listening on 127.0.0.1:")) << dht.err();
  const std::string boot = AddressAfter(dht, "listening on ");
  Background seed({HYPERDRIVE_BINARY, "--storage", origin, "seed", url, "--listen", "127.0.0.1:0",
                   "--bootstrap", boot},
                  tmp.Sub("seed.out"), tmp.Sub("seed.err"));
  ASSERT_TRUE(seed.WaitFor("announcing 1 drive on the DHT")) << seed.err();

  const std::string gw_store = tmp.Sub("gateway");
  Background gw({HYPERDRIVE_BINARY, "--storage", gw_store, "serve", "--listen", "127.0.0.1:0",
                 "--bootstrap", boot},
                tmp.Sub("gw.out"), tmp.Sub("gw.err"));
  ASSERT_TRUE(gw.WaitFor("gateway listening on http://")) << gw.err();
  const std::string base = "http://" + AddressAfter(gw, "http://");

  const std::string artifacts = GATEWAY_ARTIFACT_DIR;
  std::filesystem::create_directories(artifacts);
  const std::string screenshot = artifacts + "/gateway_chromium.png";
  std::filesystem::remove(screenshot);
  auto played =
      hyper::testing::RunNode("gateway_chromium", {base + "/" + key + "/video.webm", screenshot});
  ASSERT_TRUE(played.ok()) << played.status().ToString() << "\ngateway: " << gw.err();
  const double duration = (*played)["duration"].get<double>();
  const double seeked = (*played)["seekedTo"].get<double>();
  const double after = (*played)["after"].get<double>();
  EXPECT_NEAR(duration, 480.0, 1.0) << *played;
  EXPECT_GE(seeked, duration / 2 - 1) << *played;
  EXPECT_GT(after, seeked + 1.0) << "the time advanced after the seek: " << *played;
  EXPECT_GT(std::filesystem::file_size(screenshot), 1000u);
  EXPECT_EQ(gw.Stop(SIGTERM), 0) << gw.err();

  // What the gateway fetched from the seed: blocks of the content core, against its length.
  const auto info = nlohmann::json::parse(
      ExpectSuccess(RunCli(origin, {"info", url, "--json"}), {"info"}), nullptr, false);
  const std::string content_key = info["contentKey"].get<std::string>();
  auto cores = nlohmann::json::parse(
      ExpectSuccess(RunCli(gw_store, {"core", "list", "--json"}), {"core list"}), nullptr, false);
  ASSERT_TRUE(cores.is_array()) << cores;
  bool found = false;
  for (const auto& c : cores) {
    if (c["key"] != content_key) continue;
    found = true;
    const auto length = c["length"].get<uint64_t>();
    const auto downloaded = c["downloaded"].get<uint64_t>();
    const uint64_t fetched_bytes = size * downloaded / std::max<uint64_t>(length, 1);
    const auto received = (*played)["received"].get<uint64_t>();
    const auto requests = (*played)["requests"].get<uint64_t>();
    std::printf(
        "video %llu bytes; %llu of %llu content blocks fetched (about %llu bytes); the browser "
        "received %llu bytes in %llu range requests\n",
        static_cast<unsigned long long>(size), static_cast<unsigned long long>(downloaded),
        static_cast<unsigned long long>(length), static_cast<unsigned long long>(fetched_bytes),
        static_cast<unsigned long long>(received), static_cast<unsigned long long>(requests));
    EXPECT_GT(downloaded, 0u);
    // The player read the start, the index at the end and around the middle: far from all.
    EXPECT_LT(downloaded * 10, length * 4) << downloaded << " of " << length << " blocks";
    // Close to what the browser took: beyond it, each of its requests may leave behind the
    // gateway's window and what the kernel buffers of both ends hold (a few MB).
    EXPECT_LE(fetched_bytes, received + requests * (8u << 20)) << *played;
  }
  EXPECT_TRUE(found) << cores;
}

}  // namespace
}  // namespace hyper::cli
