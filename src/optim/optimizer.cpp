#include "descent/optim/optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "descent/core/allocator.hpp"
#include "descent/core/json_integer.hpp"
#include "descent/core/options.hpp"
#include "state_io.hpp"

namespace descent::optim {

namespace {

// An array option: as many numbers as the default holds; an element whose default is null (PyTorch's None,
// as Adafactor's eps[0]) may also be null.
bool array_fits(const nlohmann::json& value, const nlohmann::json& want) {
  if (!value.is_array() || value.size() != want.size()) return false;
  for (std::size_t i = 0; i < value.size(); ++i)
    if (!value[i].is_number() && !(value[i].is_null() && want[i].is_null())) return false;
  return true;
}

}  // namespace

// ---- ParamGroup

double ParamGroup::number(const std::string& name) const {
  const auto it = options.find(name);
  DESCENT_CHECK(it != options.end() && it->is_number(), "optimizer: group option '", name,
                "' is not a number (options: ", options.dump(), ")");
  return it->get<double>();
}

bool ParamGroup::flag(const std::string& name) const {
  const auto it = options.find(name);
  DESCENT_CHECK(it != options.end() && it->is_boolean(), "optimizer: group option '", name,
                "' is not a boolean (options: ", options.dump(), ")");
  return it->get<bool>();
}

double ParamGroup::pair(const std::string& name, int index) const {
  const auto it = options.find(name);
  DESCENT_CHECK(it != options.end() && it->is_array() && it->size() == 2 && index >= 0 && index < 2,
                "optimizer: group option '", name, "' is not a pair (options: ", options.dump(), ")");
  return (*it)[index].get<double>();
}

// ---- state buffers and the segment plan

// One flat, zero-initialised state buffer parallel to the concatenation of all parameters.
struct Optimizer::Buffer {
  std::byte* data = nullptr;
  std::size_t bytes = 0;

  explicit Buffer(std::size_t size) : bytes(size) {
    data = static_cast<std::byte*>(CachingAllocator::instance().allocate(std::max<std::size_t>(bytes, 1)));
    zero(0, bytes);
  }
  ~Buffer() { CachingAllocator::instance().deallocate(data, std::max<std::size_t>(bytes, 1)); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void zero(std::size_t begin, std::size_t end) {
    // Threaded so that first touch of a large buffer does not serialise on one core.
    parallel_for(std::int64_t(begin), std::int64_t(end), std::int64_t(1) << 20,
                 [&](std::int64_t lo, std::int64_t hi) { std::memset(data + lo, 0, std::size_t(hi - lo)); });
  }
};

struct Optimizer::Plan {
  std::vector<std::vector<Segment>> groups;  // segments of each group
  std::vector<const void*> param_data, grad_data;  // per global parameter, what the plan was built for
};

Optimizer::Optimizer(std::vector<OptionSpec> specs) : specs_(std::move(specs)) {}
Optimizer::~Optimizer() = default;

const OptionSpec* Optimizer::find_spec(const std::string& name) const {
  for (const auto& spec : specs_)
    if (spec.name == name) return &spec;
  return nullptr;
}

nlohmann::json Optimizer::complete_options(const nlohmann::json& options, const nlohmann::json& base) const {
  OptionTable table(options, name());
  nlohmann::json out = base;
  for (const auto& spec : specs_) {
    const nlohmann::json* value = table.raw(spec.name);
    if (!value) continue;
    const auto& want = spec.default_value;
    const bool ok = want.is_boolean()  ? value->is_boolean()
                    : want.is_array()  ? array_fits(*value, want)
                    : want.is_string() ? value->is_string()
                                       : value->is_number();
    if (!ok) {
      table.fail(spec.name, want.is_boolean()  ? "true or false"
                            : want.is_array()  ? "an array of " + std::to_string(want.size()) + " numbers"
                            : want.is_string() ? "a string"
                                               : "a number");
    }
    out[spec.name] = *value;
  }
  table.finish();
  return out;
}

void Optimizer::initialize(std::vector<Tensor> params, const nlohmann::json& options) {
  for (const auto& spec : specs_) defaults_[spec.name] = spec.default_value;
  nlohmann::json rest = options.is_null() ? nlohmann::json::object() : options;
  if (rest.is_object() && rest.contains("state_dtype")) {
    const auto& value = rest["state_dtype"];
    DESCENT_CHECK(value.is_string() && (value == "float32" || value == "bfloat16"), name(),
                  ": state_dtype = ", value.dump(),
                  ": expected \"float32\" (state in the parameters' dtype) or \"bfloat16\"");
    state_dtype_ = value == "bfloat16" ? StateDType::BFloat16 : StateDType::Native;
    rest.erase("state_dtype");
  }
  defaults_ = complete_options(rest, defaults_);
  validate(defaults_);
  add_param_group(std::move(params), nlohmann::json::object());
}

void Optimizer::register_params(const std::vector<Tensor>& params) {
  std::set<const TensorImpl*> seen;
  for (const auto& group : groups_)
    for (const auto& p : group.params) seen.insert(p.impl());
  if (state_byte_offsets_.empty()) state_byte_offsets_.push_back(0);
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Tensor& p = params[i];
    DESCENT_CHECK(p.defined(), name(), ": parameter ", i, " of the new group is an undefined tensor");
    DESCENT_CHECK(is_floating(p.dtype()), name(), ": parameter ", i, " has dtype ", dtype_name(p.dtype()),
                  "; expected float32 or float64");
    DESCENT_CHECK(p.is_contiguous(), name(), ": parameter ", i, " (shape ", p.shape(),
                  ") is not contiguous; optimizers update contiguous tensors only");
    DESCENT_CHECK(seen.insert(p.impl()).second, name(), ": parameter ", i,
                  " (shape ", p.shape(), ") appears more than once across parameter groups");
    param_state_.push_back({});
    state_byte_offsets_.push_back(state_byte_offsets_.back() +
                                  std::size_t(p.numel()) * state_element_bytes(p.dtype()));
  }
  // Buffers allocated before this group grow to cover it (the new range zeroed).
  for (auto& [buffer_name, buffer] : buffers_) {
    auto grown = std::make_unique<Buffer>(state_byte_offsets_.back());
    std::memcpy(grown->data, buffer->data, buffer->bytes);
    buffer = std::move(grown);
  }
  plan_.reset();
}

void Optimizer::add_param_group(std::vector<Tensor> params, const nlohmann::json& options) {
  DESCENT_CHECK(!params.empty(), name(), ": a parameter group needs at least one parameter");
  ParamGroup group{std::move(params), complete_options(options, defaults_)};
  validate(group.options);
  register_params(group.params);
  groups_.push_back(std::move(group));
}

std::size_t Optimizer::state_element_bytes(DType param_dtype) const {
  return state_dtype_ == StateDType::BFloat16 ? sizeof(BFloat16) : dtype_size(param_dtype);
}

std::size_t Optimizer::state_bytes() const {
  std::size_t total = 0;
  for (const auto& [buffer_name, buffer] : buffers_) total += buffer->bytes;
  return total;
}

void* Optimizer::state_buffer(const std::string& buffer_name, const Segment& segment) {
  auto& buffer = buffers_[buffer_name];
  if (!buffer) buffer = std::make_unique<Buffer>(state_byte_offsets_.back());
  return buffer->data + segment.state_byte_offset;
}

double Optimizer::grad_multiplier(const ParamGroup& group) const {
  const bool maximize = group.options.contains("maximize") && group.flag("maximize");
  return maximize ? -grad_scale_ : grad_scale_;
}

void Optimizer::scaled_step(double grad_scale) {
  DESCENT_CHECK(std::isfinite(grad_scale), name(), ": scaled_step(", grad_scale, "): expected a finite number");
  struct Reset {
    double& scale;
    ~Reset() { scale = 1.0; }
  } reset{grad_scale_};
  grad_scale_ = grad_scale;
  step();
}

// ---- the segment plan

const Optimizer::Plan& Optimizer::plan() {
  // Cheap re-validation: the same data and gradient pointers, and equal ParamStates inside every segment.
  bool valid = plan_ != nullptr;
  if (valid) {
    std::size_t index = 0;
    for (const auto& group : groups_)
      for (const auto& p : group.params) {
        const Tensor grad = p.grad();
        valid = valid && plan_->param_data[index] == p.raw_data() &&
                plan_->grad_data[index] == (grad.defined() ? grad.raw_data() : nullptr);
        ++index;
      }
    for (const auto& segments : plan_->groups)
      for (const auto& segment : segments)
        for (std::size_t k = 1; valid && k < segment.param_count; ++k)
          valid = param_state_[segment.first_param + k] == param_state_[segment.first_param];
  }
  if (valid) return *plan_;

  auto fresh = std::make_unique<Plan>();
  std::size_t index = 0;
  for (const auto& group : groups_) {
    auto& segments = fresh->groups.emplace_back();
    for (const auto& p : group.params) {
      const Tensor grad = p.grad();
      fresh->param_data.push_back(p.raw_data());
      fresh->grad_data.push_back(grad.defined() ? grad.raw_data() : nullptr);
      if (grad.defined()) {
        DESCENT_CHECK(grad.dtype() == p.dtype() && grad.shape() == p.shape() && grad.is_contiguous(), name(),
                      ": the gradient of parameter ", index, " (", dtype_name(p.dtype()), ", shape ",
                      p.shape(), ") is ", dtype_name(grad.dtype()), " of shape ", grad.shape(),
                      (grad.is_contiguous() ? "" : ", not contiguous"),
                      "; expected a contiguous tensor of the parameter's dtype and shape");
        Segment* last = segments.empty() ? nullptr : &segments.back();
        const bool extends =
            last && last->dtype == p.dtype() && last->first_param + last->param_count == index &&
            static_cast<char*>(last->param) + last->numel * dtype_size(p.dtype()) == p.raw_data() &&
            static_cast<const char*>(last->grad) + last->numel * dtype_size(p.dtype()) == grad.raw_data() &&
            param_state_[last->first_param] == param_state_[index];
        if (extends) {
          last->numel += p.numel();
          ++last->param_count;
        } else {
          segments.push_back({p.raw_data(), grad.raw_data(), p.numel(), p.dtype(), index, 1,
                              state_byte_offsets_[index]});
        }
      }
      ++index;
    }
  }
  plan_ = std::move(fresh);
  return *plan_;
}

void Optimizer::step() {
  const Plan& current = plan();
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    for (const Segment& segment : current.groups[g]) {
      ParamState state = param_state_[segment.first_param];
      update(groups_[g], segment, state);
      for (std::size_t k = 0; k < segment.param_count; ++k) param_state_[segment.first_param + k] = state;
    }
    for (const auto& p : groups_[g].params)
      if (p.grad().defined()) p.mark_modified();
  }
  ++steps_taken_;
}

double Optimizer::step(const std::function<double()>& closure) {
  const bool previous = GradMode::enabled();
  GradMode::set_enabled(true);
  double loss = 0.0;
  try {
    loss = closure();
  } catch (...) {
    GradMode::set_enabled(previous);
    throw;
  }
  GradMode::set_enabled(previous);
  step();
  return loss;
}

void Optimizer::zero_grad() {
  // Runs of gradients that are contiguous in memory (across groups too) are cleared with one memset.
  std::vector<std::pair<char*, std::size_t>> runs;
  for (const auto& group : groups_)
    for (const auto& p : group.params) {
      const Tensor grad = p.grad();
      if (!grad.defined()) continue;
      auto* data = static_cast<char*>(grad.raw_data());
      const std::size_t bytes = std::size_t(grad.numel()) * dtype_size(grad.dtype());
      if (!runs.empty() && runs.back().first + runs.back().second == data)
        runs.back().second += bytes;
      else
        runs.emplace_back(data, bytes);
      grad.mark_modified();
    }
  for (const auto& run : runs) {
    char* data = run.first;
    parallel_for(0, std::int64_t(run.second), std::int64_t(1) << 20, [&](std::int64_t lo, std::int64_t hi) {
      std::memset(data + lo, 0, std::size_t(hi - lo));
    });
  }
}

// ---- hyperparameters by name

std::vector<std::string> Optimizer::hyperparameter_names() const {
  std::vector<std::string> names;
  for (const auto& spec : specs_) {
    if (spec.default_value.is_number()) names.push_back(spec.name);
    for (const char* element : spec.element_names)
      if (element) names.push_back(element);
  }
  return names;
}

double Optimizer::hyperparameter(std::size_t group, const std::string& key) const {
  DESCENT_CHECK(group < groups_.size(), name(), ": parameter group ", group, " does not exist (there are ",
                groups_.size(), ")");
  const ParamGroup& g = groups_[group];
  for (const auto& spec : specs_) {
    if (spec.name == key && spec.default_value.is_number()) return g.number(key);
    if (spec.name == key && spec.default_value.is_boolean()) return g.flag(key) ? 1.0 : 0.0;
    for (int i = 0; i < 2; ++i)
      if (spec.element_names[i] && key == spec.element_names[i]) return g.pair(spec.name, i);
  }
  throw Error(detail::concat(name(), ": unknown hyperparameter '", key, "'; valid names: ",
                             join(hyperparameter_names())));
}

void Optimizer::set_hyperparameter(std::size_t group, const std::string& key, double value) {
  DESCENT_CHECK(group < groups_.size(), name(), ": parameter group ", group, " does not exist (there are ",
                groups_.size(), ")");
  nlohmann::json options = groups_[group].options;
  bool found = false;
  for (const auto& spec : specs_) {
    if (spec.name == key && spec.default_value.is_number()) options[key] = value, found = true;
    for (int i = 0; i < 2; ++i)
      if (spec.element_names[i] && key == spec.element_names[i]) options[spec.name][i] = value, found = true;
  }
  DESCENT_CHECK(found, name(), ": unknown hyperparameter '", key, "'; valid names: ",
                join(hyperparameter_names()));
  validate(options);
  groups_[group].options = std::move(options);
}

// ---- save and load

StateDict Optimizer::state_dict() const {
  StateDict out;
  out.meta["optimizer"] = name();
  out.meta["steps_taken"] = steps_taken_;
  out.meta["state_dtype"] = state_dtype_ == StateDType::BFloat16 ? "bfloat16" : "float32";
  const auto scalar_names = scalar_state_names();
  std::size_t index = 0;
  for (const auto& group : groups_) {
    nlohmann::json entry = group.options;
    entry["params"] = nlohmann::json::array();
    for (const auto& p : group.params) {
      entry["params"].push_back(index);
      nlohmann::json state = {{"step", param_state_[index].step}};
      for (std::size_t k = 0; k < scalar_names.size(); ++k) state[scalar_names[k]] = param_state_[index].scalars[k];
      out.meta["state"].push_back(state);
      for (const auto& [buffer_name, buffer] : buffers_)
        out.tensors[std::to_string(index) + "." + buffer_name] =
            export_state(buffer->data + state_byte_offsets_[index], p, state_dtype_);
      ++index;
    }
    out.meta["param_groups"].push_back(entry);
  }
  out.meta["buffers"] = nlohmann::json::array();
  for (const auto& [buffer_name, buffer] : buffers_) out.meta["buffers"].push_back(buffer_name);
  return out;
}

void Optimizer::load_state_dict(const StateDict& state) {
  const auto& meta = state.meta;
  DESCENT_CHECK(meta.is_object() && meta.value("optimizer", "") == name(), name(),
                ": load_state_dict: the state belongs to optimizer ",
                meta.is_object() && meta.contains("optimizer") ? meta["optimizer"].dump() : "(none)");
  const auto& groups = meta.at("param_groups");
  DESCENT_CHECK(groups.size() == groups_.size(), name(), ": load_state_dict: the state has ", groups.size(),
                " parameter groups, this optimizer has ", groups_.size());
  const std::string saved_dtype = meta.value("state_dtype", "float32");
  DESCENT_CHECK(saved_dtype == (state_dtype_ == StateDType::BFloat16 ? "bfloat16" : "float32"), name(),
                ": load_state_dict: the state was saved with state_dtype ", saved_dtype);
  std::vector<nlohmann::json> options(groups_.size());
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    DESCENT_CHECK(groups[g].at("params").size() == groups_[g].params.size(), name(),
                  ": load_state_dict: group ", g, " has ", groups[g].at("params").size(),
                  " parameters in the state, ", groups_[g].params.size(), " here");
    nlohmann::json saved = groups[g];
    saved.erase("params");
    options[g] = complete_options(saved, groups_[g].options);
    validate(options[g]);
  }
  const auto& saved_state = meta.at("state");
  DESCENT_CHECK(saved_state.size() == param_state_.size(), name(), ": load_state_dict: state for ",
                saved_state.size(), " parameters, this optimizer has ", param_state_.size());
  const auto scalar_names = scalar_state_names();
  std::vector<ParamState> param_state(param_state_.size());
  for (std::size_t i = 0; i < param_state.size(); ++i) {
    param_state[i].step = json_integer(saved_state[i].at("step"), name() + ": load_state_dict: step");
    for (std::size_t k = 0; k < scalar_names.size(); ++k)
      param_state[i].scalars[k] = saved_state[i].at(scalar_names[k]).get<double>();
  }
  // Buffers: every "<index>.<name>" tensor is copied into the buffer of that name.
  std::map<std::string, std::unique_ptr<Buffer>> buffers;
  std::vector<const Tensor*> params;
  for (const auto& group : groups_)
    for (const auto& p : group.params) params.push_back(&p);
  std::map<std::string, std::vector<bool>> present;
  for (const auto& [key, tensor] : state.tensors) {
    const auto [index, buffer_name] = parse_state_key(name(), key, params.size());
    auto& buffer = buffers[buffer_name];
    if (!buffer) buffer = std::make_unique<Buffer>(state_byte_offsets_.back());
    import_state(tensor, *params[index], buffer->data + state_byte_offsets_[index], state_dtype_, key);
    auto& seen = present[buffer_name];
    seen.resize(params.size());
    seen[index] = true;
  }
  // A buffer covers every parameter, and the state holds each buffer it lists (a checkpoint with a
  // buffer cut out would otherwise resume from zeros and silently leave the uninterrupted path).
  for (const auto& [buffer_name, seen] : present)
    for (std::size_t i = 0; i < seen.size(); ++i)
      DESCENT_CHECK(seen[i], name(), ": load_state_dict: tensor '", i, ".", buffer_name, "' is missing (buffer ",
                    buffer_name, " is saved for every parameter)");
  if (meta.contains("buffers")) {
    const auto& listed = meta.at("buffers");
    DESCENT_CHECK(listed.is_array(), name(), ": load_state_dict: \"buffers\" is ", listed.dump(), "; expected a list of names");
    for (const auto& buffer_name : listed)
      DESCENT_CHECK(buffer_name.is_string() && present.count(buffer_name.get<std::string>()), name(),
                    ": load_state_dict: the state lists buffer ", buffer_name.dump(), " but holds none of its tensors");
    for (const auto& [buffer_name, seen] : present)
      DESCENT_CHECK(std::find(listed.begin(), listed.end(), buffer_name) != listed.end(), name(),
                    ": load_state_dict: tensors of buffer '", buffer_name, "' are not in its list of buffers ", listed.dump());
  }
  for (std::size_t g = 0; g < groups_.size(); ++g) groups_[g].options = std::move(options[g]);
  param_state_ = std::move(param_state);
  buffers_ = std::move(buffers);
  steps_taken_ = meta.contains("steps_taken") ? json_integer(meta.at("steps_taken"), name() + ": load_state_dict: steps_taken") : 0;
  plan_.reset();
}

// ---- parameter groups for weight decay

DecaySplit split_weight_decay(const std::vector<std::pair<std::string, Tensor>>& named_params,
                              const std::vector<std::string>& no_decay_patterns, bool exempt_bias_and_norm) {
  DecaySplit split;
  for (const auto& [param_name, tensor] : named_params) {
    const std::string& name = param_name;  // a lambda cannot capture a structured binding before C++20 (clang 14)
    const bool excluded = (exempt_bias_and_norm && tensor.dim() <= 1) || std::any_of(no_decay_patterns.begin(), no_decay_patterns.end(),
                                                           [&](const std::string& pattern) {
                                                             return name.find(pattern) != std::string::npos;
                                                           });
    (excluded ? split.no_decay : split.decay).push_back(tensor);
  }
  return split;
}

}  // namespace descent::optim
