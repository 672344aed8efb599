#pragma once
// Module: named parameters, buffers and child modules, train/eval mode, state dicts, and the parameter
// arena (all parameters in one contiguous buffer per dtype, all gradients in a parallel one).
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "descent/autograd/ops.hpp"
#include "descent/core/rng.hpp"

namespace descent::nn {

class ParameterArena;

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Single-input forward; modules with other signatures add their own methods.
  virtual Tensor forward(const Tensor& input) = 0;
  Tensor operator()(const Tensor& input) { return forward(input); }
  // A short description such as "Linear(in_features=784, out_features=256, bias=true)".
  virtual std::string describe() const = 0;

  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  std::vector<Tensor> parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  std::vector<std::pair<std::string, Module*>> named_children() const;
  std::size_t parameter_count() const;
  // Every random generator the module tree owns (dropout masks), by dotted name ("3.generator",
  // "encoder.layers.0.self_attn.dropout_generator"): what a checkpoint saves so a resumed run draws the
  // same masks.
  std::vector<std::pair<std::string, Generator*>> named_generators();

  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Zeroes every gradient (one memset per arena once the arena is built).
  void zero_grad();

  // Parameters and buffers by dotted name ("0.weight", "encoder.norm.running_mean").
  std::map<std::string, Tensor> state_dict() const;
  // Copies values in; with strict, missing or unexpected names and shape mismatches are errors.
  void load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true);

  // Moves every parameter into one contiguous buffer per dtype and gives each a gradient that is a view
  // into a parallel gradient buffer (zero-initialised). Parameters keep their identity (same Tensor
  // handles), so optimizers built before or after see the arena. Idempotent.
  ParameterArena& build_arena();
  const std::shared_ptr<ParameterArena>& arena() const { return arena_; }

  // Human-readable tree of the module and its children.
  std::string to_string() const;

 protected:
  // Registers a parameter (marked as requiring grad and named) and returns the stored handle.
  Tensor& register_parameter(const std::string& name, Tensor value);
  Tensor& register_buffer(const std::string& name, Tensor value);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  // Called by train(); modules with mode-dependent state override it.
  virtual void on_mode_change() {}
  // The generators this module itself owns (not its children's), with local names.
  virtual std::vector<std::pair<std::string, Generator*>> own_generators() { return {}; }

 private:
  void collect_parameters(const std::string& prefix, std::vector<std::pair<std::string, Tensor>>& out) const;
  void collect_buffers(const std::string& prefix, std::vector<std::pair<std::string, Tensor>>& out) const;
  void to_string(std::string& out, int indent) const;
  void collect_generators(const std::string& prefix, std::vector<std::pair<std::string, Generator*>>& out);

  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  std::shared_ptr<ParameterArena> arena_;
  bool training_ = true;
};

// One contiguous parameter buffer and one gradient buffer per dtype.
class ParameterArena {
 public:
  struct Block {
    DType dtype;
    Tensor values;     // 1-D, every parameter of this dtype back to back
    Tensor gradients;  // 1-D, parallel to values
  };
  explicit ParameterArena(const std::vector<std::pair<std::string, Tensor>>& parameters);
  const std::vector<Block>& blocks() const { return blocks_; }
  void zero_grad();
  std::int64_t numel() const;

 private:
  std::vector<Block> blocks_;
};

}  // namespace descent::nn
