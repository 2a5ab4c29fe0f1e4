#include "hyper/corestore/corestore.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "tests/support/temp_dir.h"

namespace hyper::corestore {
namespace {

using hyper::testing::TempDir;

std::unique_ptr<Corestore> OpenStore(const std::string& dir) {
  auto store = Corestore::OpenDirectory(dir);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return std::move(store).value();
}

TEST(Corestore, DefaultCoreIsDerivedFromTheMasterKeyAndStoresOnlyItsName) {
  TempDir tmp;
  crypto::PublicKey key;
  {
    auto store = OpenStore(tmp.path());
    auto feed = store->Default();
    ASSERT_TRUE(feed.ok()) << feed.status().ToString();
    EXPECT_TRUE((*feed)->writable());
    key = (*feed)->key();
    EXPECT_EQ(key, store->DeriveKeyPair(AsBytes("default")).public_key);
    ASSERT_TRUE((*feed)->Append(AsBytes("block")).ok());
    auto again = store->Default();
    EXPECT_EQ(again->get(), feed->get());  // one Feed per core
  }
  std::string core_dir = tmp.Sub(Corestore::CoreDirectory(crypto::DiscoveryKey(key)));
  EXPECT_EQ(std::filesystem::file_size(tmp.Sub("master_key")), 32u);
  EXPECT_TRUE(std::filesystem::exists(core_dir + "/name"));
  EXPECT_EQ(std::filesystem::file_size(core_dir + "/name"), 1 + 7u);  // varint + "default"
  EXPECT_FALSE(std::filesystem::exists(core_dir + "/secret_key") &&
               std::filesystem::file_size(core_dir + "/secret_key") > 0);

  auto store = OpenStore(tmp.path());
  CoreOptions by_key;
  by_key.key = key;
  auto feed = store->Get(by_key);
  ASSERT_TRUE(feed.ok()) << feed.status().ToString();
  EXPECT_TRUE((*feed)->writable()) << "secret key derived again from the stored name";
  EXPECT_EQ((*feed)->length(), 1u);
  EXPECT_EQ(AsString(*(*feed)->Get(BlockIndex(0))), "block");
  auto keys = store->List();
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, std::vector<crypto::PublicKey>{key});
}

TEST(Corestore, RandomCoresKeyPairCoresAndReadOnlyCores) {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  auto a = store->Get({});
  auto b = store->Get({});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE((*a)->key(), (*b)->key());
  EXPECT_TRUE((*a)->writable());

  crypto::KeyPair kp = crypto::RandomKeyPair();
  CoreOptions with_pair;
  with_pair.key_pair = kp;
  auto c = store->Get(with_pair);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE((*c)->writable());

  CoreOptions unknown;
  unknown.key = crypto::RandomKeyPair().public_key;
  unknown.create_if_missing = false;
  EXPECT_EQ(store->Get(unknown).status().code(), Code::kNotFound);
  unknown.create_if_missing = true;
  auto d = store->Get(unknown);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE((*d)->writable());
  EXPECT_EQ((*d)->Append(AsBytes("x")).status().code(), Code::kNotWritable);
  EXPECT_TRUE(store->Contains(crypto::DiscoveryKey(*unknown.key)));
  EXPECT_FALSE(store->Contains(crypto::DiscoveryKey(crypto::RandomKeyPair().public_key)));

  CoreOptions bad_pair;
  bad_pair.key_pair = crypto::KeyPair{kp.public_key, crypto::RandomKeyPair().secret_key};
  EXPECT_EQ(store->Get(bad_pair).status().code(), Code::kInvalidArgument);
  // `d` is a replica that holds nothing yet: it is not on disk, so not listed.
  EXPECT_EQ(store->List()->size(), 3u);
}

TEST(Corestore, SecondProcessIsLockedOut) {
  TempDir tmp;
  auto first = OpenStore(tmp.path());
  auto second = Corestore::OpenDirectory(tmp.path());
  EXPECT_EQ(second.status().code(), Code::kBusy);
  ASSERT_TRUE(first->Close().ok());
  first.reset();
  EXPECT_TRUE(Corestore::OpenDirectory(tmp.path()).ok());
}

// Every file under `dir` with its bytes.
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    std::string bytes = "<dir>";
    if (e.is_regular_file()) {
      std::ifstream in(e.path(), std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    files[e.path().string()] = bytes;
  }
  return files;
}

TEST(Corestore, ReadersShareTheStoreWithOneWriterBesideReaders) {
  TempDir tmp;
  CorestoreOptions seed_options;
  seed_options.access = Access::kWriteBesideReaders;
  seed_options.holder = "hyperdrive seed X";
  auto seed = Corestore::OpenDirectory(tmp.path(), seed_options);
  ASSERT_TRUE(seed.ok()) << seed.status().ToString();
  auto feed = (*seed)->Default();
  ASSERT_TRUE(feed.ok());
  for (const char* b : {"a", "b", "c"}) ASSERT_TRUE((*feed)->Append(AsBytes(b)).ok());

  CorestoreOptions read;
  read.access = Access::kRead;
  auto reader = Corestore::OpenDirectory(tmp.path(), read);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  auto reader2 = Corestore::OpenDirectory(tmp.path(), read);
  ASSERT_TRUE(reader2.ok()) << reader2.status().ToString();
  CoreOptions by_key;
  by_key.key = (*feed)->key();
  by_key.create_if_missing = false;
  auto seen = (*reader)->Get(by_key);
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  EXPECT_EQ((*seen)->length(), 3u);
  EXPECT_EQ(AsString(*(*seen)->Get(BlockIndex(2))), "c");
  EXPECT_EQ((*seen)->Append(AsBytes("d")).status().code(), Code::kNotWritable);

  // Other writers are told who writes: the holder and its pid.
  std::string who =
      "in use by another process (pid " + std::to_string(getpid()) + ", `hyperdrive seed X`)";
  for (Access access : {Access::kWrite, Access::kWriteBesideReaders}) {
    CorestoreOptions o;
    o.access = access;
    auto refused = Corestore::OpenDirectory(tmp.path(), o);
    ASSERT_EQ(refused.status().code(), Code::kBusy);
    EXPECT_NE(refused.status().message().find(who), std::string::npos)
        << refused.status().message();
  }
  // The writer appends on; a reader that opens now sees it.
  ASSERT_TRUE((*feed)->Append(AsBytes("d")).ok());
  auto reader3 = Corestore::OpenDirectory(tmp.path(), read);
  ASSERT_TRUE(reader3.ok());
  EXPECT_EQ((*(*reader3)->Get(by_key))->length(), 4u);

  // With the seed gone, a writer that needs the store alone still waits for the readers.
  ASSERT_TRUE((*seed)->Close().ok());
  seed->reset();
  auto alone = Corestore::OpenDirectory(tmp.path());
  ASSERT_EQ(alone.status().code(), Code::kBusy);
  EXPECT_NE(alone.status().message().find("being read"), std::string::npos);
  reader->reset();
  reader2->reset();
  reader3->reset();
  EXPECT_TRUE(Corestore::OpenDirectory(tmp.path()).ok());
}

// A reader writes nothing: not on a store whose tail a writer would repair at open, not for a
// core it does not have, not when it closes; and where there is no store it makes none.
TEST(Corestore, ReadOnlyOpenWritesNothing) {
  TempDir tmp;
  crypto::PublicKey key;
  {
    auto store = Corestore::OpenDirectory(tmp.path());
    ASSERT_TRUE(store.ok());
    auto feed = (*store)->Default();
    ASSERT_TRUE(feed.ok());
    key = (*feed)->key();
    for (int i = 0; i < 40; i++) ASSERT_TRUE((*feed)->Append(AsBytes("block")).ok());
    ASSERT_TRUE((*store)->Close().ok());
  }
  // The last signature lost: a writer's open would rewrite the bitfield.
  std::string sigs =
      tmp.path() + "/" + Corestore::CoreDirectory(crypto::DiscoveryKey(key)) + "/signatures";
  std::filesystem::resize_file(sigs, std::filesystem::file_size(sigs) - 64);
  auto before = Snapshot(tmp.path());
  {
    CorestoreOptions read;
    read.access = Access::kRead;
    auto store = Corestore::OpenDirectory(tmp.path(), read);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    CoreOptions by_key;
    by_key.key = key;
    auto feed = (*store)->Get(by_key);
    if (feed.ok()) {
      EXPECT_LE((*feed)->length(), 40u);
      if ((*feed)->length() > 0) EXPECT_TRUE((*feed)->Get(BlockIndex(0)).ok());
      EXPECT_TRUE((*feed)->Flush().ok());
    }
    CoreOptions missing;
    missing.name = "never made";
    auto empty = (*store)->Get(missing);
    ASSERT_TRUE(empty.ok()) << empty.status().ToString();
    EXPECT_EQ((*empty)->length(), 0u);
    CoreOptions unknown;
    unknown.key = crypto::RandomKeyPair().public_key;
    unknown.create_if_missing = false;
    EXPECT_EQ((*store)->Get(unknown).status().code(), Code::kNotFound);
    EXPECT_TRUE((*store)->Close().ok());
  }
  EXPECT_TRUE(Snapshot(tmp.path()) == before) << "a read-only open changed the store";

  CorestoreOptions read;
  read.access = Access::kRead;
  auto none = Corestore::OpenDirectory(tmp.path() + "/none", read);
  ASSERT_TRUE(none.ok()) << "no store reads as an empty one: " << none.status().ToString();
  EXPECT_TRUE((*none)->List()->empty());
  CoreOptions unknown;
  unknown.key = key;
  unknown.create_if_missing = false;
  EXPECT_EQ((*none)->Get(unknown).status().code(), Code::kNotFound);
  EXPECT_TRUE((*none)->Close().ok());
  EXPECT_FALSE(std::filesystem::exists(tmp.path() + "/none"));
}

// A replica is stored from its first verified block: one that never gets any (a fetch that
// failed) leaves no folder behind and is not listed, and a tampered block creates nothing.
TEST(Corestore, ANewReplicaIsStoredFromItsFirstVerifiedBlock) {
  TempDir tmp;
  auto writer_store = OpenStore(tmp.path() + "/writer");
  auto writer = writer_store->Get({});
  ASSERT_TRUE(writer.ok());
  for (int i = 0; i < 3; i++)
    ASSERT_TRUE((*writer)->Append(AsBytes("block " + std::to_string(i))).ok());
  const crypto::PublicKey key = (*writer)->key();
  const std::string replica_dir = tmp.path() + "/replica";
  const std::string folder =
      replica_dir + "/" + Corestore::CoreDirectory(crypto::DiscoveryKey(key));
  auto put = [&](core::Feed& replica, uint64_t index, bool tamper) {
    core::ProofOptions po;
    po.digest = replica.Digest(BlockIndex(index));
    auto proof = (*writer)->MakeProof(BlockIndex(index), po);
    EXPECT_TRUE(proof.ok());
    Bytes data = *(*writer)->Get(BlockIndex(index));
    if (tamper) data[0] ^= 1;
    return replica.Put(BlockIndex(index), data, *proof);
  };
  CoreOptions by_key;
  by_key.key = key;
  {
    auto store = OpenStore(replica_dir);
    auto replica = store->Get(by_key);
    ASSERT_TRUE(replica.ok()) << replica.status().ToString();
    EXPECT_FALSE((*replica)->writable());
    EXPECT_TRUE(store->Contains(crypto::DiscoveryKey(key)));
    EXPECT_FALSE(put(**replica, 1, /*tamper=*/true).ok());
    EXPECT_FALSE(std::filesystem::exists(folder));
    EXPECT_TRUE(store->List()->empty());
    ASSERT_TRUE(store->Close().ok());
  }
  EXPECT_FALSE(std::filesystem::exists(folder));
  {
    auto store = OpenStore(replica_dir);
    auto replica = store->Get(by_key);
    ASSERT_TRUE(replica.ok()) << replica.status().ToString();
    ASSERT_TRUE(put(**replica, 1, /*tamper=*/false).ok());
    EXPECT_TRUE(std::filesystem::exists(folder + "/key"));
    EXPECT_EQ(store->List()->size(), 1u);
    ASSERT_TRUE(store->Close().ok());
  }
  auto store = OpenStore(replica_dir);
  by_key.create_if_missing = false;
  auto replica = store->Get(by_key);
  ASSERT_TRUE(replica.ok()) << replica.status().ToString();
  EXPECT_EQ((*replica)->length(), 3u);
  EXPECT_EQ(*(*replica)->Get(BlockIndex(1), {.wait = false}), ToBytes(AsBytes("block 1")));
  EXPECT_FALSE((*replica)->Has(BlockIndex(0)));
}

TEST(Corestore, ThousandsOfCoresWithBoundedDescriptors) {
  TempDir tmp;
  CorestoreOptions options;
  options.max_open_files = 64;
  auto store = std::move(Corestore::OpenDirectory(tmp.path(), options)).value();
  auto count_fds = [] {
    size_t n = 0;
    for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/fd")) n++;
    return n;
  };
  size_t before = count_fds();
  std::vector<std::shared_ptr<core::Feed>> feeds;
  for (int i = 0; i < 1000; i++) {
    CoreOptions o;
    o.name = "core-" + std::to_string(i);
    auto f = store->Get(o);
    ASSERT_TRUE(f.ok()) << i << ": " << f.status().ToString();
    ASSERT_TRUE((*f)->Append(AsBytes("block of " + *o.name)).ok());
    feeds.push_back(std::move(f).value());
  }
  EXPECT_LE(count_fds(), before + 64);
  for (int i = 0; i < 1000; i += 97) {
    auto got = feeds[i]->Get(BlockIndex(0));
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(AsString(*got), "block of core-" + std::to_string(i));
  }
  EXPECT_LE(count_fds(), before + 64);
}

TEST(Corestore, InMemoryStoreReopens) {
  storage::MemoryDirectory dir;
  crypto::PublicKey key;
  {
    auto store = std::move(Corestore::Open(dir.factory())).value();
    auto feed = std::move(store->Default("drives")).value();
    key = feed->key();
    ASSERT_TRUE(feed->Append(AsBytes("m")).ok());
  }
  auto store = std::move(Corestore::Open(dir.factory())).value();
  auto feed = std::move(store->Default("drives")).value();
  EXPECT_EQ(feed->key(), key);
  EXPECT_EQ(feed->length(), 1u);
  EXPECT_EQ(Corestore::NamespacedName("a", "b"), "a:b");
  EXPECT_EQ(Corestore::NamespacedName("", "b"), "b");
}

}  // namespace
}  // namespace hyper::corestore
