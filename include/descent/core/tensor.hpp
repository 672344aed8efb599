#pragma once
// Tensor: a handle to a strided view of a Storage, with the autograd metadata every tensor carries.
// Copying a Tensor copies the handle (like torch.Tensor); clone() copies the data.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "descent/core/dtype.hpp"
#include "descent/core/error.hpp"
#include "descent/core/shape.hpp"
#include "descent/core/storage.hpp"

namespace descent {

namespace autograd {
class Node;
}

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  std::int64_t offset = 0;  // in elements
  Shape shape;
  Shape strides;            // in elements
  DType dtype = DType::Float32;
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;             // accumulated gradient of a leaf (or retained)
  std::shared_ptr<autograd::Node> grad_fn;      // producer, for non-leaf tensors in the graph
  std::uint32_t output_nr = 0;                  // which output of grad_fn this is
  bool retains_grad = false;
  std::weak_ptr<autograd::Node> grad_accumulator;  // cached AccumulateGrad node of a leaf
  std::string name;                               // parameter name, for messages
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

  // ---- geometry
  const Shape& shape() const { return impl_->shape; }
  const Shape& strides() const { return impl_->strides; }
  int dim() const { return impl_->shape.size(); }
  std::int64_t size(std::int64_t dim) const;  // negative dims count from the end
  std::int64_t numel() const { return impl_->shape.numel(); }
  std::int64_t offset() const { return impl_->offset; }
  DType dtype() const { return impl_->dtype; }
  Device device() const { return Device::CPU; }
  bool is_contiguous() const;
  bool is_scalar() const { return impl_->shape.size() == 0; }

  // ---- data access (throws when T does not match dtype())
  template <class T>
  T* data() const {
    DESCENT_CHECK(impl_ && dtype_of<T>() == impl_->dtype, "Tensor::data: tensor holds ",
                  impl_ ? dtype_name(impl_->dtype) : "nothing", ", asked for ", dtype_name(dtype_of<T>()));
    return static_cast<T*>(impl_->storage->data()) + impl_->offset;
  }
  void* raw_data() const {
    return static_cast<char*>(impl_->storage->data()) + impl_->offset * dtype_size(impl_->dtype);
  }
  // The value of a one-element tensor, converted to T.
  template <class T>
  T item() const;
  // All elements in row-major order, converted to T.
  template <class T>
  std::vector<T> to_vector() const;

  const std::shared_ptr<Storage>& storage() const { return impl_->storage; }
  bool shares_storage(const Tensor& other) const { return impl_->storage == other.impl_->storage; }

  // ---- autograd metadata
  bool requires_grad() const { return impl_ && impl_->requires_grad; }
  // Marks a leaf as requiring a gradient. Throws for a non-leaf.
  Tensor& set_requires_grad(bool enable);
  bool is_leaf() const { return impl_->grad_fn == nullptr; }
  Tensor grad() const { return Tensor(impl_->grad); }
  void set_grad(const Tensor& grad);
  const std::shared_ptr<autograd::Node>& grad_fn() const { return impl_->grad_fn; }
  // Keeps the gradient of a non-leaf tensor in grad() after backward.
  void retain_grad() { impl_->retains_grad = true; }

  // ---- non-differentiable operations (see descent/autograd for the differentiable ones)
  // A new tensor sharing storage, outside the graph.
  Tensor detach() const;
  // A contiguous copy of the data, outside the graph.
  Tensor clone() const;
  // This tensor if contiguous, else a contiguous copy (outside the graph).
  Tensor contiguous_copy() const;
  // A copy converted to `dtype` (outside the graph).
  Tensor to(DType dtype) const;
  // In-place writes. They refuse a leaf that requires grad while grad mode is on.
  Tensor& fill_(double value);
  Tensor& zero_() { return fill_(0.0); }
  // Copies `src` (same number of elements, broadcast allowed when shapes differ) converting dtype.
  Tensor& copy_(const Tensor& src);
  // Records an in-place write done through data<T>() (bumps the storage version).
  void mark_modified() const { impl_->storage->bump_version(); }

  std::string to_string(int max_elements = 64) const;

 private:
  void check_inplace(const char* op) const;
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& out, const Tensor& t);

// ---- factories
Tensor empty(const Shape& shape, DType dtype = DType::Float32);
Tensor zeros(const Shape& shape, DType dtype = DType::Float32);
Tensor ones(const Shape& shape, DType dtype = DType::Float32);
Tensor full(const Shape& shape, double value, DType dtype = DType::Float32);
Tensor scalar_tensor(double value, DType dtype = DType::Float32);
Tensor arange(std::int64_t n, DType dtype = DType::Int64);
template <class T>
Tensor from_vector(std::span<const T> values, const Shape& shape);
template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape) {
  return from_vector(std::span<const T>(values), shape);
}
inline Tensor tensor(std::initializer_list<float> values) {
  return from_vector(std::span<const float>(values.begin(), values.size()), Shape{std::int64_t(values.size())});
}
// A view of `base`'s storage with the given geometry (no copy, no autograd).
Tensor as_strided(const Tensor& base, const Shape& shape, const Shape& strides, std::int64_t offset);

class Generator;
Tensor randn(const Shape& shape, Generator& gen, DType dtype = DType::Float32, double mean = 0.0,
             double std = 1.0);
Tensor rand(const Shape& shape, Generator& gen, DType dtype = DType::Float32, double low = 0.0,
            double high = 1.0);
Tensor bernoulli(const Shape& shape, double p, Generator& gen, DType dtype = DType::Float32);

// Whether autograd records operations on this thread (torch.is_grad_enabled()).
struct GradMode {
  static bool enabled();
  static void set_enabled(bool enabled);
};

// Disables recording for its lifetime (torch.no_grad()).
class NoGradGuard {
 public:
  NoGradGuard() : previous_(GradMode::enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace descent
