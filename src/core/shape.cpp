#include "descent/core/shape.hpp"

#include <sstream>

#include "descent/core/error.hpp"

namespace descent {

Shape::Shape(std::initializer_list<std::int64_t> dims)
    : Shape(std::span<const std::int64_t>(dims.begin(), dims.size())) {}

Shape::Shape(std::span<const std::int64_t> dims) {
  DESCENT_CHECK(dims.size() <= std::size_t(kMaxDims), "Shape: at most ", kMaxDims, " dimensions, got ",
                dims.size());
  for (std::size_t i = 0; i < dims.size(); ++i) dims_[i] = dims[i];
  size_ = int(dims.size());
}

void Shape::push_back(std::int64_t d) {
  DESCENT_CHECK(size_ < kMaxDims, "Shape: at most ", kMaxDims, " dimensions");
  dims_[size_++] = d;
}

void Shape::insert(int pos, std::int64_t d) {
  DESCENT_CHECK(size_ < kMaxDims, "Shape: at most ", kMaxDims, " dimensions");
  for (int i = size_; i > pos; --i) dims_[i] = dims_[i - 1];
  dims_[pos] = d;
  ++size_;
}

void Shape::erase(int pos) {
  for (int i = pos; i + 1 < size_; ++i) dims_[i] = dims_[i + 1];
  --size_;
}

void Shape::resize(int n, std::int64_t fill) {
  DESCENT_CHECK(n >= 0 && n <= kMaxDims, "Shape: at most ", kMaxDims, " dimensions, asked for ", n);
  for (int i = size_; i < n; ++i) dims_[i] = fill;
  size_ = n;
}

std::int64_t Shape::numel() const {
  std::int64_t n = 1;
  for (int i = 0; i < size_; ++i) n *= dims_[i];
  return n;
}

std::string Shape::to_string() const {
  std::ostringstream out;
  out << *this;
  return out.str();
}

std::ostream& operator<<(std::ostream& out, const Shape& shape) {
  out << '[';
  for (int i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  return out << ']';
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides;
  strides.resize(shape.size());
  std::int64_t stride = 1;
  for (int i = shape.size() - 1; i >= 0; --i) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return strides;
}

int wrap_dim(std::int64_t dim, int rank, const char* op) {
  const int lo = rank == 0 ? -1 : -rank;
  const int hi = rank == 0 ? 0 : rank - 1;
  DESCENT_CHECK(dim >= lo && dim <= hi, op, ": dimension ", dim, " out of range for a ", rank,
                "-D tensor (expected ", lo, " to ", hi, ")");
  return int(dim < 0 ? dim + (rank == 0 ? 1 : rank) : dim);
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const int rank = std::max(a.size(), b.size());
  Shape out;
  out.resize(rank);
  for (int i = 0; i < rank; ++i) {
    const int ia = a.size() - rank + i;
    const int ib = b.size() - rank + i;
    const std::int64_t da = ia >= 0 ? a[ia] : 1;
    const std::int64_t db = ib >= 0 ? b[ib] : 1;
    DESCENT_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", a, " and ", b,
                  " cannot be broadcast (dimension ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace descent
