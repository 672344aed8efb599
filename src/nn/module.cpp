#include "descent/nn/module.hpp"

#include <cstring>
#include <set>

namespace descent::nn {

Tensor& Module::register_parameter(const std::string& name, Tensor value) {
  DESCENT_CHECK(value.defined(), "register_parameter: '", name, "' is undefined");
  for (const auto& [existing, tensor] : parameters_)
    DESCENT_CHECK(existing != name, "register_parameter: '", name, "' already registered");
  value.set_requires_grad(true);
  value.impl()->name = name;
  parameters_.emplace_back(name, value);
  return parameters_.back().second;
}

Tensor& Module::register_buffer(const std::string& name, Tensor value) {
  buffers_.emplace_back(name, value);
  return buffers_.back().second;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  DESCENT_CHECK(module != nullptr, "register_module: '", name, "' is null");
  children_.emplace_back(name, std::move(module));
}

void Module::collect_parameters(const std::string& prefix, std::vector<std::pair<std::string, Tensor>>& out) const {
  for (const auto& [name, tensor] : parameters_) out.emplace_back(prefix + name, tensor);
  for (const auto& [name, child] : children_) child->collect_parameters(prefix + name + ".", out);
}

void Module::collect_buffers(const std::string& prefix, std::vector<std::pair<std::string, Tensor>>& out) const {
  for (const auto& [name, tensor] : buffers_) out.emplace_back(prefix + name, tensor);
  for (const auto& [name, child] : children_) child->collect_buffers(prefix + name + ".", out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect_parameters("", out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

void Module::collect_generators(const std::string& prefix, std::vector<std::pair<std::string, Generator*>>& out) {
  for (const auto& [name, gen] : own_generators()) out.emplace_back(prefix + name, gen);
  for (const auto& [name, child] : children_) child->collect_generators(prefix + name + ".", out);
}

std::vector<std::pair<std::string, Generator*>> Module::named_generators() {
  std::vector<std::pair<std::string, Generator*>> out;
  collect_generators("", out);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect_buffers("", out);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_children() const {
  std::vector<std::pair<std::string, Module*>> out;
  for (const auto& [name, child] : children_) out.emplace_back(name, child.get());
  return out;
}

std::size_t Module::parameter_count() const {
  std::size_t total = 0;
  for (const auto& [name, t] : named_parameters()) total += std::size_t(t.numel());
  return total;
}

void Module::train(bool on) {
  training_ = on;
  on_mode_change();
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
  if (arena_) {
    arena_->zero_grad();
    return;
  }
  NoGradGuard guard;
  for (auto& [name, t] : named_parameters()) {
    Tensor g = t.grad();
    if (g.defined()) g.zero_();
  }
}

std::map<std::string, Tensor> Module::state_dict() const {
  std::map<std::string, Tensor> out;
  for (auto& [name, t] : named_parameters()) out[name] = t.detach();
  for (auto& [name, t] : named_buffers()) out[name] = t.detach();
  return out;
}

void Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict) {
  NoGradGuard guard;
  std::set<std::string> seen;
  auto load = [&](const std::string& name, Tensor& target) {
    auto it = state.find(name);
    if (it == state.end()) {
      DESCENT_CHECK(!strict, "load_state_dict: missing entry '", name, "' (shape ", target.shape(), ")");
      return;
    }
    DESCENT_CHECK(it->second.shape() == target.shape(), "load_state_dict: '", name, "' has shape ",
                  it->second.shape(), ", the model expects ", target.shape());
    target.copy_(it->second);
    seen.insert(name);
  };
  for (auto& [name, t] : named_parameters()) load(name, t);
  for (auto& [name, t] : named_buffers()) load(name, t);
  if (strict) {
    for (const auto& [name, t] : state)
      DESCENT_CHECK(seen.count(name), "load_state_dict: unexpected entry '", name, "' (shape ", t.shape(), ")");
  }
}

ParameterArena& Module::build_arena() {
  if (!arena_) arena_ = std::make_shared<ParameterArena>(named_parameters());
  return *arena_;
}

std::string Module::to_string() const {
  std::string out;
  to_string(out, 0);
  return out;
}

void Module::to_string(std::string& out, int indent) const {
  out += describe();
  if (children_.empty()) return;
  out += " (\n";
  for (const auto& [name, child] : children_) {
    out += std::string(std::size_t(indent + 2), ' ') + "(" + name + "): ";
    child->to_string(out, indent + 2);
    out += "\n";
  }
  out += std::string(std::size_t(indent), ' ') + ")";
}

ParameterArena::ParameterArena(const std::vector<std::pair<std::string, Tensor>>& parameters) {
  for (DType dtype : {DType::Float32, DType::Float64}) {
    std::int64_t total = 0;
    std::set<TensorImpl*> unique;
    std::vector<Tensor> members;
    for (const auto& [name, t] : parameters) {
      if (t.dtype() != dtype || !unique.insert(t.impl()).second) continue;  // shared parameters once
      members.push_back(t);
      total += t.numel();
    }
    if (members.empty()) continue;
    Block block{dtype, zeros(Shape{total}, dtype), zeros(Shape{total}, dtype)};
    std::int64_t offset = 0;
    for (Tensor& t : members) {
      const std::size_t bytes = std::size_t(t.numel()) * dtype_size(dtype);
      Tensor source = t.contiguous_copy();
      std::memcpy(static_cast<char*>(block.values.raw_data()) + std::size_t(offset) * dtype_size(dtype),
                  source.raw_data(), bytes);
      TensorImpl* impl = t.impl();
      impl->storage = block.values.storage();
      impl->offset = offset;
      impl->strides = contiguous_strides(impl->shape);
      Tensor grad = as_strided(block.gradients, t.shape(), contiguous_strides(t.shape()), offset);
      impl->grad = grad.impl_ptr();
      offset += t.numel();
    }
    blocks_.push_back(std::move(block));
  }
}

void ParameterArena::zero_grad() {
  for (auto& block : blocks_)
    std::memset(block.gradients.raw_data(), 0, std::size_t(block.gradients.numel()) * dtype_size(block.dtype));
}

std::int64_t ParameterArena::numel() const {
  std::int64_t n = 0;
  for (const auto& block : blocks_) n += block.values.numel();
  return n;
}

}  // namespace descent::nn
