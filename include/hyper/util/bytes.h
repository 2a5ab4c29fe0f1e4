// Byte buffers, views, hex, and the strong index types of the log.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hyper/util/status.h"

namespace hyper {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;
using MutableByteView = std::span<uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsString(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline Bytes ToBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline Bytes ToBytes(ByteView b) { return Bytes(b.begin(), b.end()); }

// Lower-case hex.
std::string ToHex(ByteView bytes);
// Accepts upper or lower case; an odd length or a non-hex digit is InvalidArgument.
Result<Bytes> FromHex(std::string_view hex);

// Big-endian fixed-width integers (the tree and signature files, hashes of sizes).
void PutUint64BE(uint8_t* out, uint64_t v);
uint64_t GetUint64BE(const uint8_t* in);
void PutUint32BE(uint8_t* out, uint32_t v);
uint32_t GetUint32BE(const uint8_t* in);
void PutUint16BE(uint8_t* out, uint16_t v);
uint16_t GetUint16BE(const uint8_t* in);

// A strongly typed 64-bit index so that block numbers, flat-tree node numbers and byte offsets
// can never be mixed up. Tag is an empty struct naming the kind.
template <typename Tag>
struct StrongIndex {
  uint64_t value = 0;
  constexpr StrongIndex() = default;
  constexpr explicit StrongIndex(uint64_t v) : value(v) {}
  constexpr auto operator<=>(const StrongIndex&) const = default;
  constexpr StrongIndex next() const { return StrongIndex(value + 1); }
};

struct BlockIndexTag {};
struct TreeIndexTag {};
struct ByteOffsetTag {};
struct SeqTag {};
using BlockIndex = StrongIndex<BlockIndexTag>;  // the n-th block of a log
using TreeIndex = StrongIndex<TreeIndexTag>;    // a flat-tree node: block n is node 2n
using ByteOffset = StrongIndex<ByteOffsetTag>;  // a position in the concatenation of blocks
using Seq = StrongIndex<SeqTag>;                // a trie node's position in its feed

constexpr TreeIndex LeafOf(BlockIndex b) { return TreeIndex(2 * b.value); }

using Key32 = std::array<uint8_t, 32>;

}  // namespace hyper
