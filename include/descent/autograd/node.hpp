#pragma once
// The autograd graph. Every differentiable operation that runs while grad mode is on and has an input
// requiring grad records a Node: it keeps what its backward needs (saved tensors, sizes) and one Edge per
// input, pointing at the input's producer (or at the AccumulateGrad node of a leaf). backward() walks
// the graph from the output in reverse topological order (engine.cpp).
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "descent/core/tensor.hpp"

namespace descent::autograd {

class Node;

struct Edge {
  std::shared_ptr<Node> node;  // null when the input needs no gradient
  std::uint32_t input_nr = 0;
};

// A tensor saved for backward, with the storage version at save time so that an in-place write made
// afterwards is detected instead of silently producing a wrong gradient. Inputs are saved as they are;
// an operation's own output must be saved detached (out.detach()), or the node would own its output.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t) : tensor_(t), version_(t.defined() ? t.storage()->version() : 0) {}
  const Tensor& unpack(const char* op) const;
  void reset() { tensor_ = Tensor(); }

 private:
  Tensor tensor_;
  std::uint64_t version_ = 0;
};

class Node : public std::enable_shared_from_this<Node> {
 public:
  virtual ~Node() = default;
  // Gradients with respect to each input, given the gradient of the output; an undefined Tensor for an
  // input that receives none. grad_inputs has one slot per edge.
  virtual void backward(const Tensor& grad_output, std::span<Tensor> grad_inputs) = 0;
  virtual const char* name() const = 0;
  // Frees saved tensors once the graph has been used (unless retain_graph).
  virtual void release() {}

  std::vector<Edge> next_edges;

  // Engine bookkeeping.
  Tensor pending_grad;
  std::uint64_t visit_mark = 0;
};

// The leaf's gradient sink: adds the incoming gradient into leaf.grad().
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> variable) : variable_(std::move(variable)) {}
  void backward(const Tensor& grad_output, std::span<Tensor> grad_inputs) override;
  const char* name() const override { return "AccumulateGrad"; }
  TensorImpl* variable() const { return variable_.get(); }

 private:
  std::shared_ptr<TensorImpl> variable_;
};

// Whether an operation on these inputs must be recorded.
inline bool needs_grad(const Tensor& a) { return GradMode::enabled() && a.requires_grad(); }
inline bool needs_grad(const Tensor& a, const Tensor& b) {
  return GradMode::enabled() && (a.requires_grad() || (b.defined() && b.requires_grad()));
}
bool any_needs_grad(std::initializer_list<const Tensor*> inputs);

// The edge gradients should flow along for input `t`.
Edge edge_of(const Tensor& t);

// Records `node` as the producer of `output` with edges to `inputs`; marks output as requiring grad.
void attach(Tensor& output, std::shared_ptr<Node> node, std::initializer_list<const Tensor*> inputs);
void attach(Tensor& output, std::shared_ptr<Node> node, std::span<const Tensor> inputs);

// Runs backpropagation from `root`. `grad` defaults to ones for a one-element root and is required
// otherwise. Leaves accumulate into .grad(). The graph is freed unless retain_graph.
void backward(const Tensor& root, const Tensor& grad = Tensor(), bool retain_graph = false);

// Gradients of `outputs` with respect to `inputs`, returned instead of accumulated (torch.autograd.grad).
std::vector<Tensor> grad(const Tensor& output, const std::vector<Tensor>& inputs, const Tensor& grad_output = Tensor(),
                         bool retain_graph = false);

}  // namespace descent::autograd
