#include "hyper/fuse/setup.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/temp_dir.h"

namespace hyper::fuse {
namespace {

constexpr uid_t kUser = 1000;

void WriteFile(const std::string& path, const std::string& text, mode_t mode = 0644) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), mode);
}

const SetupCheck& Find(const std::vector<SetupCheck>& checks, const std::string& what) {
  for (const auto& c : checks) {
    if (c.what == what) return c;
  }
  ADD_FAILURE() << "no check of " << what;
  return checks.front();
}

// A probe where everything a user needs is in place: a character device that opens
// (/dev/null stands in for /dev/fuse), a helper in $PATH,
// fuse.conf allowing others.
class SetupChecks : public ::testing::Test {
 protected:
  void SetUp() override {
    probe_.device = "/dev/null";
    probe_.fuse_conf = tmp_.Sub("fuse.conf");
    WriteFile(probe_.fuse_conf, "# comment\n  user_allow_other \n");
    probe_.path_env = tmp_.Sub("empty") + ":" + tmp_.Sub("bin");
    std::filesystem::create_directories(tmp_.Sub("bin"));
    std::filesystem::create_directories(tmp_.Sub("empty"));
    helper_ = tmp_.Sub("bin") + "/fusermount3";
    WriteFile(helper_, "#!/bin/sh\n", 04755);
    probe_.euid = kUser;
  }
  hyper::testing::TempDir tmp_;
  SetupProbe probe_;
  std::string helper_;
};

TEST_F(SetupChecks, AllInPlace) {
  // The fuse3 package's helper (scripts/setup.sh installs it), setuid root.
  probe_.path_env = tmp_.Sub("empty") + ":/usr/bin:/bin";
  probe_.allow_other = true;
  const auto checks = CheckSetup(probe_);
  ASSERT_EQ(checks.size(), 3u);
  EXPECT_TRUE(SetupOk(checks)) << checks[0].detail << checks[1].detail << checks[2].detail;
  EXPECT_NE(Find(checks, "fusermount3").detail.find("/usr/bin/fusermount3 (setuid root)"),
            std::string::npos)
      << Find(checks, "fusermount3").detail;
}

TEST_F(SetupChecks, AMissingOrWrongDeviceSaysHowToGetIt) {
  probe_.device = tmp_.Sub("no-fuse");
  auto checks = CheckSetup(probe_);
  EXPECT_FALSE(SetupOk(checks));
  EXPECT_FALSE(checks[0].ok);
  EXPECT_NE(checks[0].detail.find("modprobe fuse"), std::string::npos) << checks[0].detail;
  EXPECT_NE(checks[0].detail.find("--device /dev/fuse"), std::string::npos);

  probe_.device = tmp_.Sub("plain");
  WriteFile(probe_.device, "");
  checks = CheckSetup(probe_);
  EXPECT_FALSE(checks[0].ok);
  EXPECT_NE(checks[0].detail.find("not a character device"), std::string::npos);
}

TEST_F(SetupChecks, AUserNeedsASetuidHelperRootDoesNot) {
  probe_.path_env = tmp_.Sub("empty");
  auto checks = CheckSetup(probe_);
  EXPECT_FALSE(Find(checks, "fusermount3").ok);
  EXPECT_NE(Find(checks, "fusermount3").detail.find("apt-get install fuse3"), std::string::npos);
  probe_.euid = 0;
  EXPECT_TRUE(Find(CheckSetup(probe_), "fusermount3").ok);

  // Found, but not setuid: a user's mount would fail.
  probe_.euid = kUser;
  probe_.path_env = tmp_.Sub("bin");
  ::chmod(helper_.c_str(), 0755);
  checks = CheckSetup(probe_);
  EXPECT_FALSE(Find(checks, "fusermount3").ok);
  EXPECT_NE(Find(checks, "fusermount3").detail.find("chmod u+s " + helper_), std::string::npos)
      << Find(checks, "fusermount3").detail;
}

TEST_F(SetupChecks, UserAllowOtherOnlyWhenOthersMustSeeTheMount) {
  WriteFile(probe_.fuse_conf, "#user_allow_other\nmount_max = 10\n");
  auto checks = CheckSetup(probe_);
  EXPECT_TRUE(Find(checks, "user_allow_other").ok);
  EXPECT_NE(Find(checks, "user_allow_other").detail.find("not needed"), std::string::npos);
  probe_.allow_other = true;
  checks = CheckSetup(probe_);
  EXPECT_FALSE(Find(checks, "user_allow_other").ok);
  EXPECT_NE(Find(checks, "user_allow_other")
                .detail.find("add the line `user_allow_other` to " + probe_.fuse_conf),
            std::string::npos);
  probe_.euid = 0;  // root's mounts are not limited by it
  EXPECT_TRUE(Find(CheckSetup(probe_), "user_allow_other").ok);
}

}  // namespace
}  // namespace hyper::fuse
