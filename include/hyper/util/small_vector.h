// hyper::SmallVector — a vector of trivially copyable values that keeps its first N elements
// inside the object: a small one costs no allocation and sits next to its owner in memory
// (the trie's decoded nodes keep their hash and index this way, one cache-friendly block).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

namespace hyper {

template <typename T, size_t N>
class SmallVector {
  static_assert(std::is_trivially_copyable_v<T>, "SmallVector holds plain values");

 public:
  SmallVector() = default;
  SmallVector(const SmallVector& other) { Assign(other.data(), other.size()); }
  SmallVector(SmallVector&& other) noexcept { Steal(other); }
  SmallVector& operator=(const SmallVector& other) {
    if (this != &other) {
      size_ = 0;
      Assign(other.data(), other.size());
    }
    return *this;
  }
  SmallVector& operator=(SmallVector&& other) noexcept {
    if (this != &other) {
      delete[] heap_;
      heap_ = nullptr;
      size_ = 0;
      Steal(other);
    }
    return *this;
  }
  ~SmallVector() { delete[] heap_; }

  T* data() { return heap_ != nullptr ? heap_ : inline_; }
  const T* data() const { return heap_ != nullptr ? heap_ : inline_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](size_t i) { return data()[i]; }
  const T& operator[](size_t i) const { return data()[i]; }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size_; }
  std::span<const T> view() const { return {data(), size_}; }

  void reserve(size_t n) {
    if (n <= capacity()) return;
    size_t cap = std::max(n, capacity() * 2);
    T* fresh = new T[cap];
    std::copy(data(), data() + size_, fresh);  // (a memmove: T is trivially copyable)
    delete[] heap_;
    heap_ = fresh;
    heap_capacity_ = cap;
  }
  void resize(size_t n, T value = T()) {
    reserve(n);
    T* d = data();
    for (size_t i = size_; i < n; i++) d[i] = value;
    size_ = n;
  }
  void push_back(T value) {
    reserve(size_ + 1);
    data()[size_++] = value;
  }
  void append(const T* values, size_t count) {
    reserve(size_ + count);
    std::copy(values, values + count, data() + size_);
    size_ += count;
  }
  // Inserts `count` copies of value before index pos.
  void insert(size_t pos, size_t count, T value) {
    reserve(size_ + count);
    T* d = data();
    std::memmove(d + pos + count, d + pos, (size_ - pos) * sizeof(T));
    for (size_t i = 0; i < count; i++) d[pos + i] = value;
    size_ += count;
  }
  void clear() { size_ = 0; }

 private:
  size_t capacity() const { return heap_ != nullptr ? heap_capacity_ : N; }
  void Assign(const T* src, size_t n) {
    reserve(n);
    std::copy(src, src + n, data());
    size_ = n;
  }
  void Steal(SmallVector& other) {
    if (other.heap_ != nullptr) {
      heap_ = other.heap_;
      heap_capacity_ = other.heap_capacity_;
      size_ = other.size_;
      other.heap_ = nullptr;
      other.size_ = 0;
      return;
    }
    Assign(other.inline_, other.size_);
    other.size_ = 0;
  }

  T inline_[N];
  T* heap_ = nullptr;
  size_t size_ = 0;
  size_t heap_capacity_ = 0;
};

}  // namespace hyper
