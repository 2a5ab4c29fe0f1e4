// A drive in memory for tests: a fixture whose SetUp opens a store and a new drive in a
// MemoryDirectory, and whose Reopen closes both and opens the same drive again from what was
// stored (as a new process would). Header only; the test links hyper_drive and hyper_storage.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string_view>

#include "hyper/corestore/corestore.h"
#include "hyper/drive/drive.h"
#include "hyper/storage/file.h"

namespace hyper::testing {

class MemoryDriveTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  // Closes the drive and the store, then opens them again (the same drive after the first call).
  void Reopen() {
    drive_.reset();
    store_.reset();
    store_ = std::move(corestore::Corestore::Open(dir_.factory())).value();
    drive::DriveOptions o;
    if (key_) o.key = *key_;
    drive_ = std::move(drive::Drive::Open(*store_, o)).value();
    key_ = drive_->key();
  }

  // Writes a whole file; a failure fails the test and gives an empty Stat.
  drive::Stat Write(std::string_view path, const Bytes& data, drive::WriteOptions o = {}) {
    auto st = drive_->WriteFile(path, data, o);
    EXPECT_TRUE(st.ok()) << path << ": " << st.status().ToString();
    return st.ok() ? *st : drive::Stat();
  }

  // A whole file of drive `d` (a checkout, say); a failure fails the test and gives no bytes.
  static Bytes ReadBytes(const drive::Drive& d, std::string_view path) {
    auto r = d.ReadFile(path);
    EXPECT_TRUE(r.ok()) << path << ": " << r.status().ToString();
    return r.ok() ? *r : Bytes();
  }

  storage::MemoryDirectory dir_;
  std::unique_ptr<corestore::Corestore> store_;
  std::unique_ptr<drive::Drive> drive_;
  std::optional<crypto::PublicKey> key_;
};

}  // namespace hyper::testing
