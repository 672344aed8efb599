#pragma once
// Mixed precision, as torch.autocast("cpu", dtype) does it. Inside an Autocast scope the matrix products
// (linear, matmul/bmm, conv2d, the attention products, and so the LSTM gate GEMMs) take their operands in
// bfloat16 or float16 and accumulate in float32; every other operation, and every tensor that flows
// between operations, stays float32. The 16-bit operands are what those products save for backward, so
// the activations they keep take half the memory, and the backward products run in the low precision
// too. Gradients come out float32. docs/PRECISION.md lists the operations and their precisions.
//
// A weight's 16-bit copy is made once per scope (cast_for_autocast caches it while the weight's storage
// is unchanged), so one training step converts each weight once for forward and backward together.
#include <string>
#include <string_view>

#include "descent/core/tensor.hpp"

namespace descent {

enum class Precision { Float32, BFloat16, Float16 };

// "fp32" | "bf16" | "fp16" (also float32/bfloat16/float16); anything else is an error naming the forms.
Precision parse_precision(std::string_view name, std::string_view context = "precision");
const char* precision_name(Precision p);  // "fp32", "bf16", "fp16"
DType precision_dtype(Precision p);       // Float32, BFloat16, Float16

// RAII scope; nests (the innermost wins) and restores the enclosing precision when it ends.
// Autocast(Precision::Float32) turns autocasting off inside an enclosing scope.
class Autocast {
 public:
  explicit Autocast(Precision precision);
  ~Autocast();
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  Precision previous_;
};

// The precision products run in on this thread now.
Precision autocast_precision();

namespace autograd {

// The 16-bit operand dtype for a product of float32 inputs under the current scope, or Float32 when none
// applies (no scope, or inputs of another dtype).
DType autocast_dtype(const Tensor& a);
// A contiguous copy of float32 `t` in `dtype`, detached. Within a scope a copy is shared while the
// source and the copy are alive and the source is unchanged (the cache holds neither), so a weight is
// converted once per step and an activation saved by two operations is stored once.
Tensor cast_for_autocast(const Tensor& t, DType dtype);
// The copy of `t` in `dtype` the current scope holds, if one is alive (undefined otherwise).
Tensor find_autocast_copy(const Tensor& t, DType dtype);
// What a product saves of an operand whose 16-bit copy is `copy`: the float32 source itself when it is a
// tensor outside the graph (a batch of data: alive anyway, so keeping it costs nothing, and the copy is
// made again in backward), else the copy. operand_for_backward undoes it.
Tensor saved_operand(const Tensor& source, const Tensor& copy);
Tensor operand_for_backward(const Tensor& saved, DType dtype);
// An uncached contiguous conversion (gradients in backward).
Tensor to_low_precision(const Tensor& t, DType dtype);

}  // namespace autograd
}  // namespace descent
