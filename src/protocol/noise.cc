#include "hyper/protocol/noise.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <string_view>

namespace hyper::protocol {
namespace {

constexpr std::string_view kProtocolName = "Noise_XX_25519_ChaChaPoly_BLAKE2b";
constexpr size_t kBlockLen = 128;
constexpr size_t kMacBytes = 16;

void Blake2b512(uint8_t* out, const std::vector<ByteView>& parts) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, 64);
  for (ByteView p : parts) {
    if (!p.empty()) crypto_generichash_update(&st, p.data(), p.size());
  }
  crypto_generichash_final(&st, out, 64);
  sodium_memzero(&st, sizeof st);
}

// HKDF with two outputs (the third is never needed by XX).
void Hkdf(const std::array<uint8_t, 64>& ck, ByteView ikm, std::array<uint8_t, 64>& out1,
          std::array<uint8_t, 64>& out2) {
  auto temp = HmacBlake2b(ck, {ikm});
  const uint8_t one = 1, two = 2;
  out1 = HmacBlake2b(temp, {ByteView(&one, 1)});
  out2 = HmacBlake2b(temp, {out1, ByteView(&two, 1)});
  sodium_memzero(temp.data(), temp.size());
}

void Nonce12(uint64_t n, uint8_t out[12]) {
  std::memset(out, 0, 12);
  for (int i = 0; i < 8; ++i) out[4 + i] = static_cast<uint8_t>(n >> (8 * i));
}

}  // namespace

std::array<uint8_t, 64> HmacBlake2b(ByteView key, const std::vector<ByteView>& data) {
  std::array<uint8_t, kBlockLen> k{};
  if (key.size() > kBlockLen) {
    Blake2b512(k.data(), {key});
  } else if (!key.empty()) {
    std::memcpy(k.data(), key.data(), key.size());
  }
  std::array<uint8_t, kBlockLen> ipad{}, opad{};
  for (size_t i = 0; i < kBlockLen; ++i) {
    ipad[i] = 0x36 ^ k[i];
    opad[i] = 0x5c ^ k[i];
  }
  std::vector<ByteView> parts;
  parts.reserve(data.size() + 1);
  parts.emplace_back(ipad);
  parts.insert(parts.end(), data.begin(), data.end());
  std::array<uint8_t, 64> inner{}, out{};
  Blake2b512(inner.data(), parts);
  Blake2b512(out.data(), {opad, inner});
  sodium_memzero(k.data(), k.size());
  sodium_memzero(ipad.data(), ipad.size());
  sodium_memzero(opad.data(), opad.size());
  return out;
}

DhKeyPair GenerateDhKeyPair() {
  DhKeyPair kp;
  crypto_kx_keypair(kp.public_key.data(), kp.secret_key.data());
  return kp;
}

DhKeyPair DhKeyPairFromSeed(ByteView seed32) {
  DhKeyPair kp;
  crypto_kx_seed_keypair(kp.public_key.data(), kp.secret_key.data(), seed32.data());
  return kp;
}

NoiseHandshake::NoiseHandshake(bool initiator, const DhKeyPair& static_key)
    : initiator_(initiator), s_(static_key) {
  std::memcpy(h_.data(), kProtocolName.data(), kProtocolName.size());
  ck_ = h_;
  MixHash({});  // empty prologue
}

NoiseHandshake::~NoiseHandshake() {
  sodium_memzero(&s_, sizeof s_);
  if (e_) sodium_memzero(&*e_, sizeof *e_);
  sodium_memzero(ck_.data(), ck_.size());
  sodium_memzero(k_.data(), k_.size());
  sodium_memzero(&split_, sizeof split_);
}

bool NoiseHandshake::my_turn() const {
  if (failed_ || finished()) return false;
  // Steps 0 and 2 are the initiator's, step 1 the responder's.
  return (step_ % 2 == 0) == initiator_;
}

void NoiseHandshake::MixHash(ByteView data) { Blake2b512(h_.data(), {h_, data}); }

void NoiseHandshake::MixKey(ByteView ikm) {
  std::array<uint8_t, 64> out1{}, out2{};
  Hkdf(ck_, ikm, out1, out2);
  ck_ = out1;
  std::memcpy(k_.data(), out2.data(), 32);
  has_key_ = !sodium_is_zero(k_.data(), k_.size());
  n_ = 0;
  sodium_memzero(out2.data(), out2.size());
}

Status NoiseHandshake::EncryptAndHash(ByteView plain, Bytes& out) {
  size_t at = out.size();
  if (!has_key_) {
    out.insert(out.end(), plain.begin(), plain.end());
  } else {
    out.resize(at + plain.size() + kMacBytes);
    uint8_t nonce[12];
    Nonce12(n_++, nonce);
    unsigned long long written = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(out.data() + at, &written, plain.data(), plain.size(),
                                              h_.data(), h_.size(), nullptr, nonce, k_.data());
  }
  MixHash(ByteView(out).subspan(at));
  return Status::Ok();
}

Status NoiseHandshake::DecryptAndHash(ByteView cipher, Bytes& out) {
  if (!has_key_) {
    out.assign(cipher.begin(), cipher.end());
  } else {
    if (cipher.size() < kMacBytes) return Status::Corruption("noise: ciphertext too short");
    out.resize(cipher.size() - kMacBytes);
    uint8_t nonce[12];
    Nonce12(n_++, nonce);
    unsigned long long written = 0;
    if (crypto_aead_chacha20poly1305_ietf_decrypt(out.data(), &written, nullptr, cipher.data(),
                                                  cipher.size(), h_.data(), h_.size(), nonce,
                                                  k_.data()) != 0) {
      return Status::Corruption("noise: handshake message does not authenticate");
    }
  }
  MixHash(cipher);
  return Status::Ok();
}

Status NoiseHandshake::Dh(const std::array<uint8_t, kDhBytes>& sk,
                          const std::array<uint8_t, kDhBytes>& pk) {
  std::array<uint8_t, kDhBytes> shared{};
  if (crypto_scalarmult(shared.data(), sk.data(), pk.data()) != 0) {
    return Status::Corruption("noise: remote key is a low-order point");
  }
  MixKey(shared);
  sodium_memzero(shared.data(), shared.size());
  return Status::Ok();
}

void NoiseHandshake::Split() {
  std::array<uint8_t, 64> k1{}, k2{};
  Hkdf(ck_, {}, k1, k2);
  // The initiator sends with the first key; the responder receives with it.
  Key32 a{}, b{};
  std::memcpy(a.data(), k1.data(), 32);
  std::memcpy(b.data(), k2.data(), 32);
  if (initiator_) {
    split_.tx = a;
    split_.rx = b;
  } else {
    split_.rx = a;
    split_.tx = b;
  }
  sodium_memzero(k1.data(), k1.size());
  sodium_memzero(k2.data(), k2.size());
}

Result<Bytes> NoiseHandshake::WriteMessage(ByteView payload) {
  if (!my_turn()) return Status::InvalidArgument("noise: not our turn to write");
  if (payload.size() > kMaxNoiseMessage - 128)
    return Status::InvalidArgument("noise: payload too big");
  Bytes out;
  auto fail = [&](Status s) -> Result<Bytes> {
    failed_ = true;
    return s;
  };
  if (step_ == 0 || step_ == 1) {  // -> e  |  <- e, ee, s, es
    e_ = fixed_ephemeral_ ? *fixed_ephemeral_ : GenerateDhKeyPair();
    out.insert(out.end(), e_->public_key.begin(), e_->public_key.end());
    MixHash(e_->public_key);
    if (step_ == 1) {
      if (Status st = Dh(e_->secret_key, *re_); !st.ok()) return fail(st);
      RETURN_IF_ERROR(EncryptAndHash(s_.public_key, out));
      if (Status st = Dh(s_.secret_key, *re_); !st.ok()) return fail(st);  // es (responder)
    }
  } else {  // -> s, se
    RETURN_IF_ERROR(EncryptAndHash(s_.public_key, out));
    if (Status st = Dh(s_.secret_key, *re_); !st.ok()) return fail(st);  // se (initiator)
  }
  RETURN_IF_ERROR(EncryptAndHash(payload, out));
  ++step_;
  if (step_ == 3) Split();
  return out;
}

Result<Bytes> NoiseHandshake::ReadMessage(ByteView message) {
  if (failed_ || finished() || my_turn()) {
    failed_ = true;
    return Status::Corruption("noise: unexpected handshake message");
  }
  auto fail = [&](Status s) -> Result<Bytes> {
    failed_ = true;
    return s;
  };
  if (message.size() > kMaxNoiseMessage) return fail(Status::Corruption("noise: message too long"));
  size_t pos = 0;
  auto read_static = [&]() -> Status {
    size_t n = has_key_ ? kDhBytes + kMacBytes : kDhBytes;
    if (message.size() - pos < n) return Status::Corruption("noise: message too short");
    Bytes plain;
    RETURN_IF_ERROR(DecryptAndHash(message.subspan(pos, n), plain));
    std::array<uint8_t, kDhBytes> rs{};
    std::copy(plain.begin(), plain.end(), rs.begin());
    rs_ = rs;
    pos += n;
    return Status::Ok();
  };
  if (step_ == 0 || step_ == 1) {  // <- e  |  -> e, ee, s, es
    if (message.size() < kDhBytes) return fail(Status::Corruption("noise: message too short"));
    std::array<uint8_t, kDhBytes> re{};
    std::copy_n(message.begin(), kDhBytes, re.begin());
    re_ = re;
    pos = kDhBytes;
    MixHash(re);
    if (step_ == 1) {
      if (Status st = Dh(e_->secret_key, *re_); !st.ok()) return fail(st);  // ee
      if (Status st = read_static(); !st.ok()) return fail(st);
      if (Status st = Dh(e_->secret_key, *rs_); !st.ok()) return fail(st);  // es (initiator)
    }
  } else {  // <- s, se
    if (Status st = read_static(); !st.ok()) return fail(st);
    if (Status st = Dh(e_->secret_key, *rs_); !st.ok()) return fail(st);  // se (responder)
  }
  Bytes payload;
  if (Status st = DecryptAndHash(message.subspan(pos), payload); !st.ok()) return fail(st);
  ++step_;
  if (step_ == 3) Split();
  return payload;
}

XSalsa20::XSalsa20(ByteView nonce24, ByteView key32) {
  std::copy_n(nonce24.begin(), nonce_.size(), nonce_.begin());
  std::copy_n(key32.begin(), key_.size(), key_.begin());
}

XSalsa20::~XSalsa20() { sodium_memzero(key_.data(), key_.size()); }

void XSalsa20::Xor(MutableByteView data) {
  size_t done = 0;
  // A partial block left from the last call: make that block's key stream and use its tail.
  if (size_t off = position_ % 64; off != 0 && !data.empty()) {
    uint8_t block[64] = {0};
    crypto_stream_xsalsa20_xor_ic(block, block, 64, nonce_.data(), position_ / 64, key_.data());
    size_t n = std::min(data.size(), 64 - off);
    for (size_t i = 0; i < n; ++i) data[i] ^= block[off + i];
    sodium_memzero(block, sizeof block);
    done = n;
    position_ += n;
  }
  if (done < data.size()) {
    size_t n = data.size() - done;
    crypto_stream_xsalsa20_xor_ic(data.data() + done, data.data() + done, n, nonce_.data(),
                                  position_ / 64, key_.data());
    position_ += n;
  }
}

}  // namespace hyper::protocol
