#pragma once
// Shape and strides: a small inline vector of up to kMaxDims extents (no heap allocation).
#include <array>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <span>
#include <string>
#include <vector>

namespace descent {

class Shape {
 public:
  static constexpr int kMaxDims = 8;

  Shape() = default;
  Shape(std::initializer_list<std::int64_t> dims);
  explicit Shape(std::span<const std::int64_t> dims);
  explicit Shape(const std::vector<std::int64_t>& dims) : Shape(std::span<const std::int64_t>(dims)) {}

  int size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::int64_t operator[](int i) const { return dims_[i]; }
  std::int64_t& operator[](int i) { return dims_[i]; }
  std::int64_t back() const { return dims_[size_ - 1]; }
  const std::int64_t* begin() const { return dims_.data(); }
  const std::int64_t* end() const { return dims_.data() + size_; }
  std::int64_t* begin() { return dims_.data(); }
  std::int64_t* end() { return dims_.data() + size_; }
  void push_back(std::int64_t d);
  void insert(int pos, std::int64_t d);
  void erase(int pos);
  void resize(int n, std::int64_t fill = 0);

  // Product of the extents (1 for a scalar shape).
  std::int64_t numel() const;
  std::vector<std::int64_t> to_vector() const { return {begin(), end()}; }
  std::string to_string() const;

  friend bool operator==(const Shape& a, const Shape& b) {
    if (a.size_ != b.size_) return false;
    for (int i = 0; i < a.size_; ++i)
      if (a.dims_[i] != b.dims_[i]) return false;
    return true;
  }

 private:
  std::array<std::int64_t, kMaxDims> dims_{};
  int size_ = 0;
};

std::ostream& operator<<(std::ostream& out, const Shape& shape);

// Row-major strides of a contiguous tensor of this shape.
Shape contiguous_strides(const Shape& shape);

// Normalises a possibly negative dimension index against `rank`; throws naming `op` when out of range.
int wrap_dim(std::int64_t dim, int rank, const char* op);

// The broadcast of two shapes (NumPy rules); throws naming `op` and both shapes when incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace descent
