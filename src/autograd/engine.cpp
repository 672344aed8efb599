// Reverse-mode backpropagation over the recorded graph.
#include <algorithm>
#include <atomic>
#include <unordered_map>

#include "descent/autograd/node.hpp"
#include "descent/autograd/ops.hpp"

namespace descent::autograd {

namespace {
std::atomic<std::uint64_t> next_visit_mark{1};

// Adds `incoming` into `slot`, in place when the slot's buffer is private to the graph.
void accumulate(Tensor& slot, const Tensor& incoming) {
  if (!slot.defined()) {
    slot = incoming;
    return;
  }
  NoGradGuard guard;
  if (slot.impl_ptr().use_count() == 1 && slot.storage().use_count() == 1 && slot.is_contiguous() &&
      slot.shape() == incoming.shape()) {
    add_(slot, incoming);
  } else {
    slot = add(slot, incoming);
  }
}

// Nodes reachable from root, in reverse topological order (each node before the nodes it feeds).
// Fills `post_order` (reused across calls: no allocation once warm).
void topological_order(Node* root, std::vector<Node*>& post_order) {
  const std::uint64_t mark = next_visit_mark++;
  post_order.clear();
  thread_local std::vector<std::pair<Node*, std::size_t>> stack;
  stack.clear();
  root->visit_mark = mark;
  stack.emplace_back(root, 0);
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->next_edges.size()) {
      Node* child = node->next_edges[next++].node.get();
      if (child != nullptr && child->visit_mark != mark) {
        child->visit_mark = mark;
        stack.emplace_back(child, 0);
      }
    } else {
      post_order.push_back(node);
      stack.pop_back();
    }
  }
  std::reverse(post_order.begin(), post_order.end());
}

Tensor root_gradient(const Tensor& root, const Tensor& grad) {
  if (grad.defined()) {
    DESCENT_CHECK(grad.shape() == root.shape(), "backward: gradient of shape ", grad.shape(),
                  " for an output of shape ", root.shape());
    return grad.dtype() == root.dtype() ? grad : grad.to(root.dtype());
  }
  DESCENT_CHECK(root.numel() == 1, "backward: the output has shape ", root.shape(),
                "; a gradient argument of that shape is required for a non-scalar output");
  return ones(root.shape(), root.dtype());
}

// Runs the graph. When `captured` is non-null, gradients reaching those nodes are stored there instead
// of being accumulated into leaves.
void run(const Tensor& root, const Tensor& grad, bool retain_graph,
         std::unordered_map<Node*, Tensor>* captured) {
  DESCENT_CHECK(root.defined(), "backward: called on an undefined tensor");
  DESCENT_CHECK(root.requires_grad(), "backward: the tensor of shape ", root.shape(),
                " does not require grad and has no grad_fn (did you call it under NoGradGuard, or on a "
                "tensor computed from inputs that do not require grad?)");
  std::shared_ptr<Node> root_node = root.grad_fn();
  if (!root_node) root_node = edge_of(root).node;
  NoGradGuard no_grad;
  // Scratch reused across calls; a backward called from inside a backward gets its own.
  thread_local int depth = 0;
  thread_local std::vector<Node*> outer_order;
  thread_local std::vector<Tensor> outer_grad_inputs;
  std::vector<Node*> nested_order;
  std::vector<Tensor> nested_grad_inputs;
  auto& order = depth == 0 ? outer_order : nested_order;
  auto& grad_inputs = depth == 0 ? outer_grad_inputs : nested_grad_inputs;
  ++depth;
  struct DepthGuard {
    int& d;
    ~DepthGuard() { --d; }
  } guard{depth};
  topological_order(root_node.get(), order);
  root_node->pending_grad = root_gradient(root, grad);
  for (Node* node : order) {
    Tensor grad_output = std::move(node->pending_grad);
    node->pending_grad = Tensor();
    if (!grad_output.defined()) {
      if (!retain_graph) node->release();
      continue;
    }
    if (captured != nullptr) {
      auto it = captured->find(node);
      if (it != captured->end()) accumulate(it->second, grad_output);
      if (dynamic_cast<AccumulateGrad*>(node) != nullptr) continue;  // grad() leaves .grad untouched
    }
    grad_inputs.assign(node->next_edges.size(), Tensor());
    node->backward(grad_output, grad_inputs);
    if (!retain_graph) node->release();
    for (std::size_t i = 0; i < node->next_edges.size(); ++i) {
      Node* next = node->next_edges[i].node.get();
      if (next != nullptr && grad_inputs[i].defined()) accumulate(next->pending_grad, grad_inputs[i]);
    }
  }
  grad_inputs.clear();
  order.clear();
}
}  // namespace

const Tensor& SavedTensor::unpack(const char* op) const {
  DESCENT_CHECK(!tensor_.defined() || tensor_.storage()->version() == version_, op,
                ": a tensor of shape ", tensor_.shape(), " saved for the backward pass was modified in "
                "place after it was used; clone it before modifying");
  return tensor_;
}

void AccumulateGrad::backward(const Tensor& grad_output, std::span<Tensor>) {
  Tensor variable(variable_);
  Tensor existing = variable.grad();
  if (!existing.defined()) {
    const bool private_buffer = grad_output.impl_ptr().use_count() == 1 && grad_output.is_contiguous() &&
                                grad_output.storage().use_count() == 1;
    variable.set_grad(private_buffer ? grad_output.detach() : grad_output.clone());
  } else {
    add_(existing, grad_output);
  }
}

bool any_needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!GradMode::enabled()) return false;
  for (const Tensor* t : inputs)
    if (t != nullptr && t->defined() && t->requires_grad()) return true;
  return false;
}

Edge edge_of(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return {};
  TensorImpl* impl = t.impl();
  if (impl->grad_fn) return {impl->grad_fn, impl->output_nr};
  auto accumulator = impl->grad_accumulator.lock();
  if (!accumulator) {
    accumulator = std::make_shared<AccumulateGrad>(t.impl_ptr());
    impl->grad_accumulator = accumulator;
  }
  return {std::move(accumulator), 0};
}

void attach(Tensor& output, std::shared_ptr<Node> node, std::initializer_list<const Tensor*> inputs) {
  node->next_edges.reserve(inputs.size());
  for (const Tensor* t : inputs) node->next_edges.push_back(t ? edge_of(*t) : Edge{});
  output.impl()->requires_grad = true;
  output.impl()->grad_fn = std::move(node);
}

void attach(Tensor& output, std::shared_ptr<Node> node, std::span<const Tensor> inputs) {
  node->next_edges.reserve(inputs.size());
  for (const Tensor& t : inputs) node->next_edges.push_back(edge_of(t));
  output.impl()->requires_grad = true;
  output.impl()->grad_fn = std::move(node);
}

void backward(const Tensor& root, const Tensor& grad, bool retain_graph) {
  run(root, grad, retain_graph, nullptr);
}

std::vector<Tensor> grad(const Tensor& output, const std::vector<Tensor>& inputs, const Tensor& grad_output,
                         bool retain_graph) {
  std::unordered_map<Node*, Tensor> captured;
  std::vector<std::shared_ptr<Node>> keep;
  for (const Tensor& input : inputs) {
    DESCENT_CHECK(input.requires_grad(), "grad: an input of shape ", input.shape(), " does not require grad");
    Edge e = edge_of(input);
    captured.emplace(e.node.get(), Tensor());
    keep.push_back(e.node);
  }
  run(output, grad_output, retain_graph, &captured);
  std::vector<Tensor> result;
  for (const auto& node : keep) {
    Tensor g = captured[node.get()];
    result.push_back(g);
  }
  return result;
}

}  // namespace descent::autograd
