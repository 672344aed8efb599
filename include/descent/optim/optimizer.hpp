#pragma once
// The optimizer base class: parameter groups, hyperparameters by PyTorch name, per-parameter step counts,
// optimizer state as flat buffers parallel to the concatenation of all parameters, save/load, and the
// "segment plan" that merges parameters whose data and gradients are both contiguous (the arena case) so
// that one update is one fused pass over a few large ranges instead of one small pass per tensor.
//
// An algorithm derives from Optimizer, declares its options (`OptionSpec`), checks them (`validate`), and
// implements `update`, which computes the per-step scalars of one segment on the host and hands them to
// `run_rule<Rule>` (descent/optim/kernel.hpp). See docs in include/descent/optim/sgd.hpp for a short example.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "descent/core/tensor.hpp"
#include "descent/optim/kernel.hpp"

namespace descent::optim {

// Parameters sharing one set of hyperparameters. `options` holds every option of the algorithm by its
// PyTorch name, in PyTorch's form (`betas` is a two-element array).
struct ParamGroup {
  std::vector<Tensor> params;
  nlohmann::json options;

  double number(const std::string& name) const;  // a numeric option
  bool flag(const std::string& name) const;      // a boolean option
  double pair(const std::string& name, int index) const;  // one element of `betas`, `etas`, `step_sizes`
};

// Everything needed to resume: `meta` holds the algorithm, its groups' options, per-parameter step counts
// and scalar state; `tensors` holds every state buffer of every parameter as "<param index>.<buffer name>"
// (parameter indices count through the groups in order, as in PyTorch).
struct StateDict {
  nlohmann::json meta;
  std::map<std::string, Tensor> tensors;
};

// One option an algorithm accepts: its PyTorch name and default. The kind (number, flag, pair) is the
// kind of the default. A pair option also exposes its two elements as hyperparameters under `element_names`.
struct OptionSpec {
  std::string name;
  nlohmann::json default_value;
  std::array<const char*, 2> element_names{nullptr, nullptr};
};

// Scalar per-parameter state kept beside the flat buffers (PyTorch keeps these as 0-d tensors).
struct ParamState {
  std::int64_t step = 0;          // updates applied to this parameter (per parameter, as in PyTorch)
  std::array<double, 2> scalars{};  // algorithm-defined (NAdam: mu_product; ASGD: eta, mu)
  friend bool operator==(const ParamState&, const ParamState&) = default;
};

// A run of parameters of one group whose data, gradients and state are contiguous and whose ParamStates
// are equal: the unit of one fused pass.
struct Segment {
  void* param = nullptr;
  const void* grad = nullptr;
  std::int64_t numel = 0;
  DType dtype = DType::Float32;
  std::size_t first_param = 0;  // global parameter index of the first parameter
  std::size_t param_count = 0;
  std::size_t state_byte_offset = 0;  // where its state begins in every buffer
};

class Optimizer {
 public:
  virtual ~Optimizer();
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // Sets every defined gradient to zero (keeps the storage); one memset per contiguous gradient run.
  void zero_grad();
  // One update from the current gradients. Parameters whose gradient is undefined are skipped.
  virtual void step();
  // Calls `closure` with grad mode on (it usually computes the loss and its gradients), then step().
  virtual double step(const std::function<double()>& closure);

  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  // Missing options take this optimizer's defaults (those given at construction).
  void add_param_group(std::vector<Tensor> params, const nlohmann::json& options);

  // Numeric hyperparameters and flags (as 0/1) by name: the options' names, with pair options also
  // readable element-wise ("beta1", "beta2", "eta_minus", "step_size_max", ...).
  double hyperparameter(std::size_t group, const std::string& name) const;
  // What schedules call. Only numeric hyperparameters may be set; the value is validated.
  void set_hyperparameter(std::size_t group, const std::string& name, double value);
  std::vector<std::string> hyperparameter_names() const;

  // One step() with every gradient multiplied by grad_scale (finite) as the fused pass reads it; the
  // scale applies to this step only. Clipping and loss-scale unscaling use this instead of a separate
  // pass over the gradients.
  void scaled_step(double grad_scale);

  // Bytes of optimizer state allocated so far (state is allocated on the first step). Algorithms with
  // state that is not per element (factored moments, per-tensor scalars, histories) override these three
  // to add it, calling the base versions for the per-element buffers.
  virtual std::size_t state_bytes() const;
  virtual StateDict state_dict() const;
  virtual void load_state_dict(const StateDict& state);

  virtual std::string name() const = 0;
  std::int64_t steps_taken() const { return steps_taken_; }
  const nlohmann::json& defaults() const { return defaults_; }
  // The storage type of moment buffers: "float32" (the parameter's own dtype) or "bfloat16".
  StateDType state_dtype() const { return state_dtype_; }

  // Runs updates through the plain single-threaded scalar loop (the ground truth the fast path is
  // tested against) instead of the threaded, vectorised pass.
  void set_reference_path(bool enable) { reference_path_ = enable; }
  bool reference_path() const { return reference_path_; }

 protected:
  explicit Optimizer(std::vector<OptionSpec> specs);
  // Second phase of construction, called at the end of the derived constructor (once `validate` can
  // run): `options` are the constructor options (PyTorch names plus "state_dtype"); missing ones take the
  // defaults in the specs; unknown ones are an Error listing the valid names.
  void initialize(std::vector<Tensor> params, const nlohmann::json& options);

  // Throws an Error naming the option, its value and the valid range when an option is out of range.
  virtual void validate(const nlohmann::json& options) const = 0;
  // Updates one segment of `group`. `state` is the segment's shared ParamState; write it back changed.
  virtual void update(const ParamGroup& group, const Segment& segment, ParamState& state) = 0;
  // Names of the scalars in ParamState::scalars, for state_dict (empty when unused).
  virtual std::vector<std::string> scalar_state_names() const { return {}; }

  // Runs `Rule` over a segment: allocates the rule's buffers on first use, dispatches on the parameter
  // dtype and the state dtype, and takes the fast or the reference path. `make_step` is a generic lambda
  // `[&]<class T>() { return Rule::Step<T>{...}; }` building the per-step scalars in the parameter's type.
  template <class Rule, class MakeStep>
  void run_rule(const Segment& segment, MakeStep&& make_step);

  // Gradient multiplier for this step: grad_scale, negated when `maximize`.
  double grad_multiplier(const ParamGroup& group) const;
  // Pointer to the start of `segment`'s state in buffer `buffer_name` (allocated zeroed on first use).
  void* state_buffer(const std::string& buffer_name, const Segment& segment);

 private:
  struct Buffer;
  struct Plan;
  static std::vector<const OptionSpec*> numeric_specs(const std::vector<OptionSpec>& specs);
  nlohmann::json complete_options(const nlohmann::json& options, const nlohmann::json& base) const;
  const OptionSpec* find_spec(const std::string& name) const;
  void register_params(const std::vector<Tensor>& params);
  const Plan& plan();
  std::size_t state_element_bytes(DType param_dtype) const;

  std::vector<OptionSpec> specs_;
  nlohmann::json defaults_;
  std::vector<ParamGroup> groups_;
  std::vector<ParamState> param_state_;           // per global parameter index
  std::vector<std::size_t> state_byte_offsets_;   // per global parameter index, plus the total at the end
  std::map<std::string, std::unique_ptr<Buffer>> buffers_;
  std::unique_ptr<Plan> plan_;
  StateDType state_dtype_ = StateDType::Native;
  double grad_scale_ = 1.0;
  std::int64_t steps_taken_ = 0;
  bool reference_path_ = false;
};

// Builds an optimizer by name ("sgd", "adam", "adamw", ...) from JSON options (PyTorch names). Unknown
// names and unknown options are Errors that list the valid ones.
std::unique_ptr<Optimizer> make_optimizer(const std::string& name, std::vector<Tensor> params,
                                          const nlohmann::json& options);
std::vector<std::string> optimizer_names();
// The algorithm's default options (its PyTorch defaults), without building an optimizer per call:
// computed once per name. Throws like make_optimizer for an unknown name.
const nlohmann::json& optimizer_defaults(const std::string& name);

// Splits named parameters into {decay, no_decay}: no decay for tensors with dim() <= 1 (biases, norm
// weights) unless `exempt_bias_and_norm` is false, and for names containing any of `no_decay_patterns`
// (substring match).
struct DecaySplit {
  std::vector<Tensor> decay;
  std::vector<Tensor> no_decay;
};
DecaySplit split_weight_decay(const std::vector<std::pair<std::string, Tensor>>& named_params,
                              const std::vector<std::string>& no_decay_patterns = {}, bool exempt_bias_and_norm = true);

// ---- implementation of the template member

template <class Rule, class MakeStep>
void Optimizer::run_rule(const Segment& segment, MakeStep&& make_step) {
  constexpr std::size_t kBuffers = Rule::buffers.size();
  std::array<void*, kBuffers> buffers{};
  for (std::size_t k = 0; k < kBuffers; ++k) buffers[k] = state_buffer(Rule::buffers[k], segment);
  const bool reference = reference_path_;
  dispatch_floating(segment.dtype, "optimizer step", [&](auto zero) {
    using T = decltype(zero);
    const auto step = make_step.template operator()<T>();
    auto* param = static_cast<T*>(segment.param);
    const auto* grad = static_cast<const T*>(segment.grad);
    if (state_dtype_ == StateDType::BFloat16) {
      std::array<BFloat16*, kBuffers> state{};
      for (std::size_t k = 0; k < kBuffers; ++k) state[k] = static_cast<BFloat16*>(buffers[k]);
      run_pass<Rule>(step, param, grad, state, segment.numel, reference);
    } else {
      std::array<T*, kBuffers> state{};
      for (std::size_t k = 0; k < kBuffers; ++k) state[k] = static_cast<T*>(buffers[k]);
      run_pass<Rule>(step, param, grad, state, segment.numel, reference);
    }
  });
}

}  // namespace descent::optim
