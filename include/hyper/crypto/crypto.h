// libsodium wrappers: Ed25519, the BLAKE2b hashes of the Merkle tree with their type prefixes,
// discovery keys, corestore's key derivation and the replication capabilities.
// The byte layouts are described in docs/formats/crypto.md.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "hyper/util/bytes.h"

namespace hyper::crypto {

constexpr size_t kPublicKeyBytes = 32;
constexpr size_t kSecretKeyBytes = 64;
constexpr size_t kSeedBytes = 32;
constexpr size_t kSignatureBytes = 64;
constexpr size_t kHashBytes = 32;

using PublicKey = std::array<uint8_t, kPublicKeyBytes>;
using SecretKey = std::array<uint8_t, kSecretKeyBytes>;
using Signature = std::array<uint8_t, kSignatureBytes>;
using Hash = std::array<uint8_t, kHashBytes>;

// Must be called once before anything else here; safe to call many times, from any thread.
Status Init();

struct KeyPair {
  PublicKey public_key{};
  SecretKey secret_key{};
};

KeyPair RandomKeyPair();
KeyPair KeyPairFromSeed(ByteView seed32);
// True when secret_key's embedded public half matches public_key.
bool ValidateKeyPair(const KeyPair& kp);

Signature Sign(ByteView message, const SecretKey& secret_key);
bool Verify(ByteView message, const Signature& signature, const PublicKey& public_key);

void RandomBytes(MutableByteView out);

// A node of the Merkle tree as hashed: its flat-tree index, its hash and the byte size it covers.
struct TreeNodeRef {
  uint64_t index = 0;
  uint64_t size = 0;
  Hash hash{};
};

// BLAKE2b-256( 0x00 || uint64be(len) || data )
Hash LeafHash(ByteView data);
// out[i] = LeafHash(blocks[i]) for every block, four at a time where the CPU allows it (AVX2:
// about twice the rate of one at a time). REQUIRES: out.size() == blocks.size().
void LeafHashes(std::span<const ByteView> blocks, std::span<Hash> out);
// BLAKE2b-256( 0x01 || uint64be(a.size + b.size) || left.hash || right.hash ), left = lower index.
Hash ParentHash(const TreeNodeRef& a, const TreeNodeRef& b);
// BLAKE2b-256( 0x02 || for each root: hash || uint64be(index) || uint64be(size) )
Hash RootHash(const std::vector<TreeNodeRef>& roots);
// The 40 bytes hypercore 9 signs: RootHash(roots) || uint64be(length).
std::array<uint8_t, 40> Signable(const std::vector<TreeNodeRef>& roots, uint64_t length);

// BLAKE2b-256 of "hypercore" keyed by the public key.
Hash DiscoveryKey(const PublicKey& public_key);

// derive-key: BLAKE2b-256 keyed by master_key over ( "<len(ns)>\n<ns>" || input ).
Hash DeriveKey(std::string_view ns, const Key32& master_key, ByteView input);

// Replication capabilities from a Noise split (rx, tx are the 32-byte transport keys):
// capability = BLAKE2b-256 keyed by rx over ( "hypercore capability" || tx || key );
// remote_capability swaps rx and tx.
Hash Capability(const PublicKey& key, ByteView split_rx, ByteView split_tx);
Hash RemoteCapability(const PublicKey& key, ByteView split_rx, ByteView split_tx);

// Generic BLAKE2b with optional key, over several parts (no copy).
void Blake2b(MutableByteView out, const std::vector<ByteView>& parts, ByteView key = {});

// Streaming BLAKE2b for large inputs.
class Blake2bState {
 public:
  explicit Blake2bState(size_t out_len = kHashBytes, ByteView key = {});
  Blake2bState(const Blake2bState&) = delete;
  Blake2bState& operator=(const Blake2bState&) = delete;
  void Update(ByteView data);
  void Final(MutableByteView out);

 private:
  alignas(64) unsigned char state_[384];
  size_t out_len_;
};

}  // namespace hyper::crypto
