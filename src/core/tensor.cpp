#include "descent/core/tensor.hpp"

#include <cstring>
#include <iomanip>
#include <sstream>

#include "descent/core/convert.hpp"
#include "descent/core/rng.hpp"
#include "descent/core/strided.hpp"

namespace descent {

namespace {
thread_local bool grad_mode_enabled = true;

std::shared_ptr<TensorImpl> make_impl(const Shape& shape, DType dtype) {
  for (int i = 0; i < shape.size(); ++i)
    DESCENT_CHECK(shape[i] >= 0, "tensor: negative extent in shape ", shape);
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(std::size_t(shape.numel()) * dtype_size(dtype));
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return impl;
}

template <class Fn>
decltype(auto) dispatch_any(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::Float32: return fn(float{});
    case DType::Float64: return fn(double{});
    case DType::Int64: return fn(std::int64_t{});
    case DType::BFloat16: return fn(BFloat16{});
    case DType::Float16: return fn(Float16{});
  }
  return fn(float{});
}
}  // namespace

bool GradMode::enabled() { return grad_mode_enabled; }
void GradMode::set_enabled(bool enabled) { grad_mode_enabled = enabled; }

std::int64_t Tensor::size(std::int64_t dim) const {
  return impl_->shape[wrap_dim(dim, impl_->shape.size(), "Tensor::size")];
}

bool Tensor::is_contiguous() const {
  std::int64_t expected = 1;
  for (int i = impl_->shape.size() - 1; i >= 0; --i) {
    if (impl_->shape[i] == 1) continue;
    if (impl_->strides[i] != expected) return false;
    expected *= impl_->shape[i];
  }
  return true;
}

Tensor& Tensor::set_requires_grad(bool enable) {
  DESCENT_CHECK(is_leaf(), "set_requires_grad: only a leaf tensor's flag can be set; this tensor of shape ", shape(),
                " was produced by an operation (use detach() first)");
  DESCENT_CHECK(!enable || is_floating(dtype()), "set_requires_grad: only floating tensors can require "
                "gradients, got ", dtype_name(dtype()));
  impl_->requires_grad = enable;
  return *this;
}

void Tensor::set_grad(const Tensor& grad) {
  if (grad.defined()) {
    DESCENT_CHECK(grad.shape() == shape() && grad.dtype() == dtype(), "set_grad: gradient of shape ",
                  grad.shape(), " (", dtype_name(grad.dtype()), ") for a tensor of shape ", shape(), " (",
                  dtype_name(dtype()), ")");
  }
  impl_->grad = grad.impl_ptr();
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->offset = impl_->offset;
  impl->shape = impl_->shape;
  impl->strides = impl_->strides;
  impl->dtype = impl_->dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::clone() const {
  Tensor out(make_impl(shape(), dtype()));
  out.copy_(*this);
  return out;
}

Tensor Tensor::contiguous_copy() const { return is_contiguous() ? detach() : clone(); }

Tensor Tensor::to(DType target) const {
  Tensor out(make_impl(shape(), target));
  // The common conversions between float32 and the 16-bit types run in bulk.
  const auto bulk = [&](auto from, auto to) {
    using From = decltype(from);
    using To = decltype(to);
    if (dtype() != dtype_of<From>() || target != dtype_of<To>()) return false;
    convert(data<From>(), out.data<To>(), numel());
    return true;
  };
  if (is_contiguous() &&
      (bulk(float{}, BFloat16{}) || bulk(float{}, Float16{}) || bulk(BFloat16{}, float{}) || bulk(Float16{}, float{})))
    return out;
  out.copy_(*this);
  return out;
}

void Tensor::check_inplace(const char* op) const {
  DESCENT_CHECK(!(GradMode::enabled() && requires_grad() && is_leaf()), op,
                ": in-place write to a leaf tensor that requires grad (shape ", shape(),
                "); wrap it in NoGradGuard or detach() it first");
}

Tensor& Tensor::fill_(double value) {
  check_inplace("fill_");
  dispatch_any(dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T v = convert_element<T>(value);
    T* base = static_cast<T*>(impl_->storage->data());
    if (is_contiguous()) {
      T* p = base + impl_->offset;
      const std::int64_t n = numel();
      for (std::int64_t i = 0; i < n; ++i) p[i] = v;
    } else {
      for_each_offset(shape(), strides(), impl_->offset, [&](std::int64_t off) { base[off] = v; });
    }
  });
  mark_modified();
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  check_inplace("copy_");
  DESCENT_CHECK(src.defined(), "copy_: source tensor is undefined");
  Shape src_strides = src.strides();
  if (!(src.shape() == shape())) {
    // Broadcast src to this tensor's shape (stride 0 on expanded dimensions).
    const Shape target = broadcast_shapes(src.shape(), shape(), "copy_");
    DESCENT_CHECK(target == shape(), "copy_: cannot copy a tensor of shape ", src.shape(),
                  " into one of shape ", shape());
    Shape expanded;
    expanded.resize(shape().size());
    const int lead = shape().size() - src.dim();
    for (int i = 0; i < shape().size(); ++i) {
      const int j = i - lead;
      expanded[i] = (j < 0 || src.shape()[j] == 1) ? 0 : src.strides()[j];
    }
    src_strides = expanded;
  }
  const bool fast = src.dtype() == dtype() && src.shape() == shape() && src.is_contiguous() && is_contiguous();
  if (fast) {
    std::memmove(raw_data(), src.raw_data(), std::size_t(numel()) * dtype_size(dtype()));
  } else {
    dispatch_any(dtype(), [&](auto dst_zero) {
      using D = decltype(dst_zero);
      dispatch_any(src.dtype(), [&](auto src_zero) {
        using S = decltype(src_zero);
        D* dst = static_cast<D*>(impl_->storage->data());
        const S* from = static_cast<const S*>(src.storage()->data());
        for_each_offset2(shape(), strides(), impl_->offset, src_strides, src.offset(),
                         [&](std::int64_t d, std::int64_t s) { dst[d] = convert_element<D>(from[s]); });
      });
    });
  }
  mark_modified();
  return *this;
}

template <class T>
T Tensor::item() const {
  DESCENT_CHECK(numel() == 1, "item: expected a tensor with one element, got shape ", shape());
  return dispatch_any(dtype(), [&](auto zero) {
    using S = decltype(zero);
    return convert_element<T>(*(static_cast<const S*>(impl_->storage->data()) + impl_->offset));
  });
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  std::vector<T> out;
  out.reserve(std::size_t(numel()));
  dispatch_any(dtype(), [&](auto zero) {
    using S = decltype(zero);
    const S* base = static_cast<const S*>(impl_->storage->data());
    for_each_offset(shape(), strides(), impl_->offset,
                    [&](std::int64_t off) { out.push_back(convert_element<T>(base[off])); });
  });
  return out;
}

template float Tensor::item<float>() const;
template double Tensor::item<double>() const;
template std::int64_t Tensor::item<std::int64_t>() const;
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<std::int64_t> Tensor::to_vector<std::int64_t>() const;

std::string Tensor::to_string(int max_elements) const {
  if (!defined()) return "Tensor(undefined)";
  std::ostringstream out;
  out << "Tensor(shape=" << shape() << ", dtype=" << dtype_name(dtype()) << ", [";
  const auto values = to_vector<double>();
  for (std::size_t i = 0; i < values.size() && int(i) < max_elements; ++i)
    out << (i ? ", " : "") << std::setprecision(6) << values[i];
  if (int(values.size()) > max_elements) out << ", ...";
  out << "])";
  return out.str();
}

std::ostream& operator<<(std::ostream& out, const Tensor& t) { return out << t.to_string(); }

Tensor empty(const Shape& shape, DType dtype) { return Tensor(make_impl(shape, dtype)); }

Tensor zeros(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  std::memset(t.raw_data(), 0, std::size_t(t.numel()) * dtype_size(dtype));
  return t;
}

Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }

Tensor full(const Shape& shape, double value, DType dtype) {
  Tensor t = empty(shape, dtype);
  t.fill_(value);
  return t;
}

Tensor scalar_tensor(double value, DType dtype) { return full(Shape{}, value, dtype); }

Tensor arange(std::int64_t n, DType dtype) {
  Tensor t = empty(Shape{n}, dtype);
  dispatch_any(dtype, [&](auto zero) {
    using T = decltype(zero);
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < n; ++i) p[i] = convert_element<T>(i);
  });
  return t;
}

template <class T>
Tensor from_vector(std::span<const T> values, const Shape& shape) {
  DESCENT_CHECK(std::int64_t(values.size()) == shape.numel(), "from_vector: ", values.size(),
                " values do not fill shape ", shape, " (", shape.numel(), " elements)");
  Tensor t = empty(shape, dtype_of<T>());
  if (!values.empty()) std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
  return t;
}
template Tensor from_vector<float>(std::span<const float>, const Shape&);
template Tensor from_vector<double>(std::span<const double>, const Shape&);
template Tensor from_vector<std::int64_t>(std::span<const std::int64_t>, const Shape&);

Tensor as_strided(const Tensor& base, const Shape& shape, const Shape& strides, std::int64_t offset) {
  DESCENT_CHECK(shape.size() == strides.size(), "as_strided: shape ", shape, " and strides ", strides,
                " differ in rank");
  // Bounds: the furthest element addressed must lie inside the storage.
  std::int64_t hi = offset, lo = offset;
  for (int i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0) { hi = lo = offset; break; }
    const std::int64_t reach = (shape[i] - 1) * strides[i];
    (reach >= 0 ? hi : lo) += reach;
  }
  const auto capacity = std::int64_t(base.storage()->nbytes() / dtype_size(base.dtype()));
  DESCENT_CHECK(lo >= 0 && (shape.numel() == 0 || hi < capacity), "as_strided: view of shape ", shape,
                " with strides ", strides, " at offset ", offset, " exceeds storage of ", capacity,
                " elements");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.storage();
  impl->offset = offset;
  impl->shape = shape;
  impl->strides = strides;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

Tensor randn(const Shape& shape, Generator& gen, DType dtype, double mean, double std) {
  Tensor t = empty(shape, dtype);
  dispatch_floating(dtype, "randn", [&](auto zero) {
    using T = decltype(zero);
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = convert_element<T>(mean + std * gen.normal());
  });
  return t;
}

Tensor rand(const Shape& shape, Generator& gen, DType dtype, double low, double high) {
  Tensor t = empty(shape, dtype);
  dispatch_floating(dtype, "rand", [&](auto zero) {
    using T = decltype(zero);
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = convert_element<T>(low + (high - low) * gen.uniform());
  });
  return t;
}

Tensor bernoulli(const Shape& shape, double p, Generator& gen, DType dtype) {
  DESCENT_CHECK(p >= 0.0 && p <= 1.0, "bernoulli: probability ", p, " outside [0, 1]");
  Tensor t = empty(shape, dtype);
  dispatch_floating(dtype, "bernoulli", [&](auto zero) {
    using T = decltype(zero);
    T* data = t.data<T>();
    for (std::int64_t i = 0; i < t.numel(); ++i) data[i] = convert_element<T>(gen.uniform() < p ? 1.0 : 0.0);
  });
  return t;
}

}  // namespace descent
