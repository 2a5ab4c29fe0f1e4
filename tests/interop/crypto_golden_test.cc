// Golden crypto test: random inputs chosen now, the same values computed by the Node reference
// (hypercore-crypto, derive-key) in this run and by us, compared byte for byte.
#include <gtest/gtest.h>

#include "hyper/crypto/crypto.h"
#include "tests/support/node_harness.h"

namespace hyper::crypto {
namespace {

Bytes Random(size_t n) {
  Bytes b(n);
  RandomBytes(b);
  return b;
}

TEST(CryptoGolden, MatchesNodeReference) {
  for (int round = 0; round < 3; round++) {
    Bytes seed = Random(32), message = Random(100 + round), master = Random(32);
    Bytes rx = Random(32), tx = Random(32);
    std::vector<Bytes> leaves = {Random(0), Random(1), Random(70000)};
    std::string name = "drive-" + ToHex(Random(4));
    nlohmann::json in = {{"seed", ToHex(seed)},       {"message", ToHex(message)},
                         {"masterKey", ToHex(master)}, {"ns", "corestore"},
                         {"name", name},               {"rx", ToHex(rx)},
                         {"tx", ToHex(tx)},            {"leaves", nlohmann::json::array()}};
    for (const Bytes& l : leaves) in["leaves"].push_back(ToHex(l));

    auto node = testing::RunNode("crypto_golden", {}, in.dump());
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    const nlohmann::json& out = *node;

    KeyPair kp = KeyPairFromSeed(seed);
    EXPECT_EQ(ToHex(kp.public_key), out["publicKey"]);
    EXPECT_EQ(ToHex(kp.secret_key), out["secretKey"]);
    EXPECT_EQ(ToHex(Sign(message, kp.secret_key)), out["signature"]);

    std::vector<TreeNodeRef> refs;
    for (size_t i = 0; i < leaves.size(); i++) {
      refs.push_back({2 * i, leaves[i].size(), LeafHash(leaves[i])});
      EXPECT_EQ(ToHex(refs.back().hash), out["leafHashes"][i]);
    }
    TreeNodeRef parent{1, refs[0].size + refs[1].size, ParentHash(refs[1], refs[0])};
    EXPECT_EQ(ToHex(parent.hash), out["parentHash"]);
    std::vector<TreeNodeRef> roots = {parent, refs[2]};
    EXPECT_EQ(ToHex(RootHash(roots)), out["rootHash"]);
    EXPECT_EQ(ToHex(Signable(roots, 3)), out["signable"]);
    EXPECT_EQ(ToHex(DiscoveryKey(kp.public_key)), out["discoveryKey"]);
    Key32 mk;
    std::copy(master.begin(), master.end(), mk.begin());
    EXPECT_EQ(ToHex(DeriveKey("corestore", mk, AsBytes(name))), out["derived"]);
    EXPECT_EQ(ToHex(Capability(kp.public_key, rx, tx)), out["capability"]);
    EXPECT_EQ(ToHex(RemoteCapability(kp.public_key, rx, tx)), out["remoteCapability"]);
  }
}

}  // namespace
}  // namespace hyper::crypto
