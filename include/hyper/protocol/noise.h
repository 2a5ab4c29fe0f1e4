// The Noise handshake of hypercore-protocol 8: Noise_XX_25519_ChaChaPoly_BLAKE2b with an empty
// prologue, exactly as noise-protocol 3.0.1 runs it (BLAKE2b-512 hash, HMAC-BLAKE2b HKDF,
// ChaCha20-Poly1305 IETF with the 64-bit counter little-endian after 4 zero bytes), and the
// XSalsa20 stream cipher that encrypts everything after it. Sans-IO: bytes in, bytes out.
// See docs/formats/hypercore-protocol.md.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "hyper/util/bytes.h"
#include "hyper/util/status.h"

namespace hyper::protocol {

constexpr size_t kDhBytes = 32;
constexpr size_t kNoiseHashBytes = 64;
constexpr size_t kMaxNoiseMessage = 65535;

// An X25519 key pair (crypto_kx), the static identity of a protocol stream.
struct DhKeyPair {
  std::array<uint8_t, kDhBytes> public_key{};
  std::array<uint8_t, kDhBytes> secret_key{};
};
DhKeyPair GenerateDhKeyPair();
// Deterministic key pair from a 32-byte seed (crypto_kx_seed_keypair).
DhKeyPair DhKeyPairFromSeed(ByteView seed32);

// The two transport keys after the handshake: rx decrypts what the remote sends, tx
// encrypts what we send (the remote's rx equals our tx).
struct NoiseSplit {
  Key32 rx{};
  Key32 tx{};
};

// One side of an XX handshake. Messages alternate: initiator, responder, initiator.
// Not thread-safe; non-copyable (holds secrets, wiped on destruction).
class NoiseHandshake {
 public:
  NoiseHandshake(bool initiator, const DhKeyPair& static_key);
  ~NoiseHandshake();
  NoiseHandshake(const NoiseHandshake&) = delete;
  NoiseHandshake& operator=(const NoiseHandshake&) = delete;

  // For tests: use this ephemeral key instead of a random one.
  void SetEphemeral(const DhKeyPair& e) { fixed_ephemeral_ = e; }

  // Whether the next step is ours to write.
  bool my_turn() const;
  bool finished() const { return step_ == 3; }
  bool failed() const { return failed_; }

  // Writes the next handshake message carrying `payload`. InvalidArgument when it is not
  // our turn.
  Result<Bytes> WriteMessage(ByteView payload);
  // Reads the remote's next message and returns its (decrypted) payload. Corruption when the
  // message is malformed or does not authenticate; the handshake is then failed for good.
  Result<Bytes> ReadMessage(ByteView message);

  // REQUIRES: finished()
  const NoiseSplit& split() const { return split_; }
  const std::array<uint8_t, kNoiseHashBytes>& handshake_hash() const { return h_; }
  // The remote's static public key (known after message 2 for the initiator, 3 for the
  // responder).
  const std::optional<std::array<uint8_t, kDhBytes>>& remote_static() const { return rs_; }

 private:
  void MixHash(ByteView data);
  void MixKey(ByteView ikm);
  Status EncryptAndHash(ByteView plain, Bytes& out);
  Status DecryptAndHash(ByteView cipher, Bytes& out);
  Status Dh(const std::array<uint8_t, kDhBytes>& sk, const std::array<uint8_t, kDhBytes>& pk);
  void Split();

  bool initiator_;
  int step_ = 0;  // messages exchanged so far
  bool failed_ = false;
  DhKeyPair s_;
  std::optional<DhKeyPair> e_;
  std::optional<DhKeyPair> fixed_ephemeral_;
  std::optional<std::array<uint8_t, kDhBytes>> re_;
  std::optional<std::array<uint8_t, kDhBytes>> rs_;
  std::array<uint8_t, kNoiseHashBytes> ck_{};
  std::array<uint8_t, kNoiseHashBytes> h_{};
  Key32 k_{};
  bool has_key_ = false;
  uint64_t n_ = 0;
  NoiseSplit split_;
};

// HMAC-BLAKE2b-512 and the Noise HKDF over it (exposed for tests).
std::array<uint8_t, 64> HmacBlake2b(ByteView key, const std::vector<ByteView>& data);

// XSalsa20 as a continuous key stream (xsalsa20-universal): Xor() may be called with any
// slicing and continues where the last call stopped.
class XSalsa20 {
 public:
  XSalsa20(ByteView nonce24, ByteView key32);
  ~XSalsa20();
  XSalsa20(const XSalsa20&) = delete;
  XSalsa20& operator=(const XSalsa20&) = delete;
  void Xor(MutableByteView data);

 private:
  std::array<uint8_t, 24> nonce_{};
  Key32 key_{};
  uint64_t position_ = 0;  // bytes of key stream used
};

}  // namespace hyper::protocol
