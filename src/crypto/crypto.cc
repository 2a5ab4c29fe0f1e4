#include "hyper/crypto/crypto.h"

#include <sodium.h>

#include <cstring>
#include <string>

#include "blake2b.h"
#include "blake2b_x4.h"

namespace hyper::crypto {

static_assert(crypto_sign_PUBLICKEYBYTES == kPublicKeyBytes);
static_assert(crypto_sign_SECRETKEYBYTES == kSecretKeyBytes);
static_assert(crypto_sign_BYTES == kSignatureBytes);
static_assert(sizeof(crypto_generichash_state) <= 384);

Status Init() {
  static const int rc = sodium_init();
  if (rc < 0) return Status::Internal("libsodium failed to initialise");
  return Status::Ok();
}

namespace {
// Every entry point may be the first call of a program; make sure libsodium is ready.
struct AutoInit {
  AutoInit() { (void)Init(); }
} auto_init;

constexpr uint8_t kLeafType = 0;
constexpr uint8_t kParentType = 1;
constexpr uint8_t kRootType = 2;
constexpr std::string_view kHypercore = "hypercore";
constexpr std::string_view kCapability = "hypercore capability";

// libsodium declares its pointers non-null; an empty span may hold a null one.
const uint8_t* NonNull(ByteView v) {
  static const uint8_t kEmpty = 0;
  return v.data() ? v.data() : &kEmpty;
}

std::array<uint8_t, 8> Be64(uint64_t v) {
  std::array<uint8_t, 8> out;
  PutUint64BE(out.data(), v);
  return out;
}
}  // namespace

KeyPair RandomKeyPair() {
  KeyPair kp;
  crypto_sign_keypair(kp.public_key.data(), kp.secret_key.data());
  return kp;
}

KeyPair KeyPairFromSeed(ByteView seed32) {
  KeyPair kp;
  uint8_t seed[kSeedBytes] = {};
  std::memcpy(seed, seed32.data(), std::min(seed32.size(), kSeedBytes));
  crypto_sign_seed_keypair(kp.public_key.data(), kp.secret_key.data(), seed);
  sodium_memzero(seed, sizeof seed);
  return kp;
}

bool ValidateKeyPair(const KeyPair& kp) {
  PublicKey pk;
  crypto_sign_ed25519_sk_to_pk(pk.data(), kp.secret_key.data());
  return pk == kp.public_key;
}

Signature Sign(ByteView message, const SecretKey& secret_key) {
  Signature sig;
  crypto_sign_detached(sig.data(), nullptr, NonNull(message), message.size(), secret_key.data());
  return sig;
}

bool Verify(ByteView message, const Signature& signature, const PublicKey& public_key) {
  return crypto_sign_verify_detached(signature.data(), NonNull(message), message.size(),
                                     public_key.data()) == 0;
}

void RandomBytes(MutableByteView out) {
  if (!out.empty()) randombytes_buf(out.data(), out.size());
}

void Blake2b(MutableByteView out, const std::vector<ByteView>& parts, ByteView key) {
  // Our BLAKE2b (blake2b.h): the same digests as libsodium's, twice as fast here.
  Blake2bHasher hasher(out.size(), key);
  for (ByteView p : parts) hasher.Update(p);
  hasher.Final(out);
}

Hash LeafHash(ByteView data) {
  Hash out;
  uint8_t type = kLeafType;
  auto len = Be64(data.size());
  Blake2b(out, {ByteView(&type, 1), len, data});
  return out;
}

void LeafHashes(std::span<const ByteView> blocks, std::span<Hash> out) {
  size_t i = 0;
  if (HaveLeafHashX4()) {
    for (; i + 4 <= blocks.size(); i += 4) {
      LeafHashX4(blocks.subspan(i).first<4>(), out.subspan(i).first<4>());
    }
  }
  for (; i < blocks.size(); ++i) out[i] = LeafHash(blocks[i]);
}

Hash ParentHash(const TreeNodeRef& a, const TreeNodeRef& b) {
  const TreeNodeRef& left = a.index < b.index ? a : b;
  const TreeNodeRef& right = a.index < b.index ? b : a;
  Hash out;
  uint8_t type = kParentType;
  auto len = Be64(a.size + b.size);
  Blake2b(out, {ByteView(&type, 1), len, left.hash, right.hash});
  return out;
}

Hash RootHash(const std::vector<TreeNodeRef>& roots) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, kHashBytes);
  uint8_t type = kRootType;
  crypto_generichash_update(&st, &type, 1);
  for (const TreeNodeRef& r : roots) {
    auto index = Be64(r.index);
    auto size = Be64(r.size);
    crypto_generichash_update(&st, r.hash.data(), r.hash.size());
    crypto_generichash_update(&st, index.data(), index.size());
    crypto_generichash_update(&st, size.data(), size.size());
  }
  Hash out;
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

std::array<uint8_t, 40> Signable(const std::vector<TreeNodeRef>& roots, uint64_t length) {
  std::array<uint8_t, 40> out;
  Hash h = RootHash(roots);
  std::memcpy(out.data(), h.data(), h.size());
  PutUint64BE(out.data() + 32, length);
  return out;
}

Hash DiscoveryKey(const PublicKey& public_key) {
  Hash out;
  Blake2b(out, {AsBytes(kHypercore)}, public_key);
  return out;
}

Hash DeriveKey(std::string_view ns, const Key32& master_key, ByteView input) {
  std::string prefix = std::to_string(ns.size()) + "\n" + std::string(ns);
  Hash out;
  Blake2b(out, {AsBytes(prefix), input}, master_key);
  return out;
}

Hash Capability(const PublicKey& key, ByteView split_rx, ByteView split_tx) {
  Hash out;
  Blake2b(out, {AsBytes(kCapability), split_tx.first(32), key}, split_rx.first(32));
  return out;
}

Hash RemoteCapability(const PublicKey& key, ByteView split_rx, ByteView split_tx) {
  Hash out;
  Blake2b(out, {AsBytes(kCapability), split_rx.first(32), key}, split_tx.first(32));
  return out;
}

Blake2bState::Blake2bState(size_t out_len, ByteView key) : out_len_(out_len) {
  auto* st = reinterpret_cast<crypto_generichash_state*>(state_);
  crypto_generichash_init(st, key.empty() ? nullptr : key.data(), key.size(), out_len);
}

void Blake2bState::Update(ByteView data) {
  if (data.empty()) return;
  crypto_generichash_update(reinterpret_cast<crypto_generichash_state*>(state_), data.data(),
                            data.size());
}

void Blake2bState::Final(MutableByteView out) {
  // REQUIRES: out.size() == the out_len given to the constructor.
  crypto_generichash_final(reinterpret_cast<crypto_generichash_state*>(state_), out.data(),
                           out_len_);
}

}  // namespace hyper::crypto
