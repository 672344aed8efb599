#include "descent/autograd/autocast.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <tuple>

#include "descent/core/convert.hpp"
#include "descent/core/error.hpp"

namespace descent {

namespace {

thread_local Precision current = Precision::Float32;
thread_local int depth = 0;

// The cache of 16-bit copies: a view of a storage (its place and layout), the storage's version when
// copied, and the copy. Both are held weakly: an entry lives as long as the source and someone using
// the copy (the graph's saved tensors, for a step); expired entries are swept as the map grows.
struct ViewKey {
  const Storage* storage;
  std::int64_t offset;
  Shape shape, strides;
  DType dtype;
  bool operator<(const ViewKey& o) const {
    if (std::tie(storage, offset, dtype) != std::tie(o.storage, o.offset, o.dtype))
      return std::tie(storage, offset, dtype) < std::tie(o.storage, o.offset, o.dtype);
    if (!(shape == o.shape))
      return std::lexicographical_compare(shape.begin(), shape.end(), o.shape.begin(), o.shape.end());
    return std::lexicographical_compare(strides.begin(), strides.end(), o.strides.begin(), o.strides.end());
  }
};
struct CachedCopy {
  std::weak_ptr<Storage> source;
  std::uint64_t version = 0;
  std::weak_ptr<TensorImpl> copy;
};
thread_local std::map<ViewKey, CachedCopy> cache;
thread_local std::size_t sweep_at = 256;

void sweep() {
  for (auto it = cache.begin(); it != cache.end();) {
    if (it->second.source.expired() || it->second.copy.expired()) it = cache.erase(it);
    else ++it;
  }
  sweep_at = std::max<std::size_t>(256, 2 * cache.size());
}

}  // namespace

Precision parse_precision(std::string_view name, std::string_view context) {
  if (name == "fp32" || name == "float32") return Precision::Float32;
  if (name == "bf16" || name == "bfloat16") return Precision::BFloat16;
  if (name == "fp16" || name == "float16") return Precision::Float16;
  throw Error(detail::concat(context, " = \"", std::string(name), "\": expected one of fp32, bf16, fp16"));
}

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::BFloat16: return "bf16";
    case Precision::Float16: return "fp16";
    default: return "fp32";
  }
}

DType precision_dtype(Precision p) {
  switch (p) {
    case Precision::BFloat16: return DType::BFloat16;
    case Precision::Float16: return DType::Float16;
    default: return DType::Float32;
  }
}

Autocast::Autocast(Precision precision) : previous_(current) {
  current = precision;
  ++depth;
}

Autocast::~Autocast() {
  current = previous_;
  if (--depth == 0) cache.clear();
}

Precision autocast_precision() { return current; }

namespace autograd {

DType autocast_dtype(const Tensor& a) {
  if (current == Precision::Float32 || a.dtype() != DType::Float32) return DType::Float32;
  return precision_dtype(current);
}

Tensor to_low_precision(const Tensor& t, DType dtype) {
  DESCENT_CHECK(t.dtype() == DType::Float32 && is_low_precision(dtype), "autocast: cannot convert ",
                dtype_name(t.dtype()), " to ", dtype_name(dtype));
  const Tensor src = t.is_contiguous() ? t : t.contiguous_copy();
  Tensor out = empty(t.shape(), dtype);
  if (dtype == DType::BFloat16) convert(src.data<float>(), out.data<BFloat16>(), t.numel());
  else convert(src.data<float>(), out.data<Float16>(), t.numel());
  return out;
}

Tensor saved_operand(const Tensor& source, const Tensor& copy) {
  return !source.requires_grad() && source.is_contiguous() ? source.detach() : copy;
}

Tensor operand_for_backward(const Tensor& saved, DType dtype) {
  return saved.dtype() == dtype ? saved : to_low_precision(saved, dtype);
}

Tensor find_autocast_copy(const Tensor& t, DType dtype) {
  const ViewKey key{t.storage().get(), t.offset(), t.shape(), t.strides(), dtype};
  if (auto it = cache.find(key); it != cache.end()) {
    const auto source = it->second.source.lock();
    if (source.get() == key.storage && it->second.version == t.storage()->version()) {
      if (auto copy = it->second.copy.lock()) return Tensor(copy);
    }
  }
  return Tensor();
}

Tensor cast_for_autocast(const Tensor& t, DType dtype) {
  if (depth == 0) return to_low_precision(t, dtype);
  if (Tensor found = find_autocast_copy(t, dtype); found.defined()) return found;
  const ViewKey key{t.storage().get(), t.offset(), t.shape(), t.strides(), dtype};
  const std::uint64_t version = t.storage()->version();
  Tensor out = to_low_precision(t.detach(), dtype);
  cache[key] = CachedCopy{t.storage(), version, out.impl_ptr()};
  if (cache.size() >= sweep_at) sweep();
  return out;
}

}  // namespace autograd
}  // namespace descent
