#pragma GCC diagnostic ignored "-Wpsabi"  // vectors passed to always-inlined rules (see kernel.hpp)
#include "descent/optim/adafactor.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "descent/optim/kernel.hpp"
#include "descent/optim/tensor_pass.hpp"
#include "descent/optim/validate.hpp"
#include "adafactor_rules.hpp"  // VarianceStep, the unfactored and factored passes
#include "state_io.hpp"

namespace descent::optim {

Adafactor::Adafactor(std::vector<Tensor> params, const nlohmann::json& options)
    : Optimizer({{"lr", 1e-2},
                 {"beta2_decay", -0.8},
                 {"eps", {nullptr, 1e-3}},
                 {"d", 1.0},
                 {"weight_decay", 0.0},
                 {"foreach", false},
                 {"maximize", false}}) {
  initialize(std::move(params), options);
}

void Adafactor::validate(const nlohmann::json& o) const {
  const double lr = o["lr"], decay = o["beta2_decay"], d = o["d"], wd = o["weight_decay"];
  const double eps1 = o["eps"][0].is_null() ? 0.0 : o["eps"][0].get<double>(), eps2 = o["eps"][1];
  check_option(name(), "lr", lr, lr >= 0 && std::isfinite(lr), "a finite lr >= 0");
  check_option(name(), "beta2_decay", decay, decay <= 0, "beta2_decay <= 0");
  check_option(name(), "eps[0]", eps1, eps1 >= 0, "eps[0] >= 0 (or null: the parameter dtype's epsilon)");
  check_option(name(), "eps[1]", eps2, eps2 >= 0, "eps[1] >= 0");
  check_option(name(), "d", d, d >= 1, "d >= 1");
  check_option(name(), "weight_decay", wd, wd >= 0, "weight_decay >= 0");
}

void Adafactor::update(const ParamGroup& group, const Segment& segment, ParamState& state) {
  const std::int64_t t = ++state.step;
  for (const TensorSlice& slice : tensor_slices(group, segment))
    update_tensor(group, *slice.param, slice.param->grad(), moments_[slice.param_index], t);
}

namespace {

// eps[0]; null (the default, PyTorch's None) is the machine epsilon of the parameter's dtype.
double eps1_for(const ParamGroup& group, DType dtype) {
  const auto& eps1 = group.options["eps"][0];
  if (!eps1.is_null()) return eps1.get<double>();
  return dtype == DType::Float64 ? std::numeric_limits<double>::epsilon()
                                 : double(std::numeric_limits<float>::epsilon());
}

}  // namespace

void Adafactor::update_tensor(const ParamGroup& group, const Tensor& param, const Tensor& grad_tensor,
                              Moments& moments, std::int64_t step) {
  const double lr = group.number("lr");
  const StepScalars scalars{lr,
                            group.number("weight_decay"),
                            group.number("d"),
                            eps1_for(group, param.dtype()),
                            group.pair("eps", 1),
                            grad_multiplier(group),
                            std::pow(double(step), group.number("beta2_decay")),
                            std::min(lr, 1.0 / std::sqrt(double(step)))};
  const bool factored = param.dim() >= 2;
  if (factored && !moments.row_var.defined()) {
    Shape row_shape = param.shape(), col_shape = param.shape();
    row_shape[row_shape.size() - 1] = 1;
    col_shape[col_shape.size() - 2] = 1;
    moments.row_var = zeros(row_shape, param.dtype());
    moments.col_var = zeros(col_shape, param.dtype());
  } else if (!factored && !moments.variance.defined()) {
    moments.variance = zeros(param.shape(), param.dtype());
  }
  if (factored)
    update_factored(param, grad_tensor, moments, scalars);
  else
    update_unfactored(param, grad_tensor, moments, scalars);
}

// Unfactored (1-D) parameters. The fast path: one fused, threaded, vectorised pass updates the variance
// and sums ||p||^2 and ||u||^2; a second applies p <- p * (1 - lr * wd) - alpha / max(1, RMS(u) / d) * u,
// recomputing u. The reference path runs the element-wise parts as plain scalar loops (variance, then
// the update) and takes the same two sums over the stored variance through vector_sums, so both paths
// agree bitwise.
void Adafactor::update_unfactored(const Tensor& param, const Tensor& grad_tensor, Moments& moments,
                                  const StepScalars& k) {
  const double lr = k.lr, wd = k.weight_decay, d = k.d, eps1 = k.eps1, eps2 = k.eps2;
  const double multiplier = k.multiplier, beta_t = k.beta_t, rho_t = k.rho_t;
  const std::int64_t n = param.numel();
  const bool fused = !reference_path();
  dispatch_floating(param.dtype(), "adafactor", [&](auto zero) {
    using T = decltype(zero);
    T* p = param.data<T>();
    const T* g = grad_tensor.data<T>();
    T* variance = moments.variance.data<T>();
    VarianceStep<T> s{T(multiplier), T(beta_t), T(eps1 * eps1), T(wd == 0 ? 1.0 : 1.0 - lr * wd), T(0)};
    if (!fused)
      for (std::int64_t i = 0; i < n; ++i) {
        const T scaled = g[i] * s.multiplier;
        variance[i] = lerp(variance[i], scaled * scaled, s.weight);
      }
    const auto sums = vector_sums<T, 2>(n, [=](auto lanes, std::int64_t i) DESCENT_TERM {
      using L = decltype(lanes);
      const typename L::V x = L::load(p + i);
      typename L::V v = L::load(variance + i);
      if (fused) {
        const typename L::V scaled = L::load(g + i) * s.multiplier;
        v = lerp(v, scaled * scaled, s.weight);
        L::store(variance + i, v);
      }
      const typename L::V u = variance_update(s, L::load(g + i), v);
      return std::array<typename L::V, 2>{x * x, u * u};
    });
    const double alpha = std::max(eps2, std::sqrt(sums[0]) / std::sqrt(double(n))) * rho_t;
    const double denom = std::max(1.0, std::sqrt(sums[1]) / (std::sqrt(double(n)) * d));
    s.scale = T(-alpha / denom);
    if (!fused) {
      for (std::int64_t i = 0; i < n; ++i) p[i] = p[i] * s.decay + s.scale * variance_update(s, g[i], variance[i]);
      return;
    }
    [[maybe_unused]] const bool wide = wide_vectors();
    parallel_for(0, n, kGrain, [&](std::int64_t begin, std::int64_t end) {
#if DESCENT_OPTIM_AVX512
      if (wide) {
        apply_unfactored_avx512(s, p + begin, g + begin, variance + begin, end - begin);
        return;
      }
#endif
      apply_unfactored(s, p + begin, g + begin, variance + begin, end - begin);
    });
  });
}

// Factored parameters (two or more dimensions): the three passes described above the kernels. The fast
// path runs each pass over the blocks with parallel_for (chunks of whole blocks, so no sum depends on the
// thread count), with 64-byte vectors where wide_vectors() says so; the reference path runs the plain
// loops over the blocks in order.
void Adafactor::update_factored(const Tensor& param, const Tensor& grad_tensor, Moments& moments,
                                const StepScalars& k) {
  const FactoredShape f = factored_shape(param);
  if (f.items() == 0) return;
  const std::int64_t n = param.numel();
  scratch_.col_sums.resize(std::size_t(f.items() * f.cols));
  scratch_.block_sums.resize(std::size_t(f.items()));
  scratch_.row_means.resize(std::size_t(f.batch));
  const bool reference = reference_path();
  [[maybe_unused]] const bool wide = !reference && wide_vectors();  // the 64-byte loops
  const std::int64_t grain = std::max<std::int64_t>(1, kBlockElements / std::max<std::int64_t>(f.block_rows * f.cols, 1));
  dispatch_floating(param.dtype(), "adafactor", [&](auto zero) {
    using T = decltype(zero);
    VarianceStep<T> s{T(k.multiplier), T(k.beta_t), T(k.eps1 * k.eps1),
                      T(k.weight_decay == 0 ? 1.0 : 1.0 - k.lr * k.weight_decay), T(0)};
    T* p = param.data<T>();
    const T* g = grad_tensor.data<T>();
    T* row_var = moments.row_var.data<T>();
    T* col_var = moments.col_var.data<T>();
    double* col_sums = scratch_.col_sums.data();
    double* block_sums = scratch_.block_sums.data();
    double* row_means = scratch_.row_means.data();
    // Calls fn(item) for every block: in order on the reference path, in parallel chunks on the fast path.
    const auto each_block = [&](auto&& fn) {
      if (reference) {
        for (std::int64_t item = 0; item < f.items(); ++item) fn(item);
        return;
      }
      parallel_for(0, f.items(), grain, [&fn](std::int64_t first, std::int64_t last) {
        for (std::int64_t item = first; item < last; ++item) fn(item);
      });
    };
    const auto blocks_total = [&] {
      double total = 0;
      for (std::int64_t item = 0; item < f.items(); ++item) total += block_sums[item];
      return total;
    };

    each_block([&](std::int64_t item) {
      const RowBlock<T> b = row_block(f, item, p, g, row_var, col_var, col_sums, nullptr);
#if DESCENT_OPTIM_AVX512
      if (wide) {
        block_sums[item] = block_statistics_avx512(s, b);
        return;
      }
#endif
      block_sums[item] = reference ? reference_statistics(s, b) : block_statistics(s, b);
    });
    const double param_sq = blocks_total();
    finish_statistics(s, f, col_sums, row_var, col_var, T(k.eps1), row_means);
    each_block([&](std::int64_t item) {
      const RowBlock<T> b = row_block(f, item, p, g, row_var, col_var, col_sums, row_means);
#if DESCENT_OPTIM_AVX512
      if (wide) {
        block_sums[item] = block_update_sq_avx512(s, b);
        return;
      }
#endif
      block_sums[item] = reference ? reference_update_sq(s, b) : block_update_sq(s, b);
    });
    const double update_sq = blocks_total();
    const double alpha = std::max(k.eps2, std::sqrt(param_sq) / std::sqrt(double(n))) * k.rho_t;
    const double denom = std::max(1.0, std::sqrt(update_sq) / (std::sqrt(double(n)) * k.d));
    s.scale = T(-alpha / denom);
    each_block([&](std::int64_t item) {
      const RowBlock<T> b = row_block(f, item, p, g, row_var, col_var, col_sums, row_means);
#if DESCENT_OPTIM_AVX512
      if (wide) {
        block_apply_avx512(s, b);
        return;
      }
#endif
      if (reference)
        reference_apply(s, b);
      else
        block_apply(s, b);
    });
  });
}

std::size_t Adafactor::state_bytes() const {
  std::size_t total = Optimizer::state_bytes();
  for (const auto& [index, moments] : moments_)
    for (const Tensor* t : {&moments.row_var, &moments.col_var, &moments.variance})
      if (t->defined()) total += std::size_t(t->numel()) * dtype_size(t->dtype());
  return total;
}

StateDict Adafactor::state_dict() const {
  StateDict out = Optimizer::state_dict();
  for (const auto& [index, moments] : moments_) {
    const std::string prefix = std::to_string(index) + ".";
    if (moments.row_var.defined()) out.tensors[prefix + "row_var"] = moments.row_var.clone();
    if (moments.col_var.defined()) out.tensors[prefix + "col_var"] = moments.col_var.clone();
    if (moments.variance.defined()) out.tensors[prefix + "variance"] = moments.variance.clone();
    out.meta["moments"].push_back(index);
  }
  return out;
}

void Adafactor::load_state_dict(const StateDict& state) {
  std::vector<const Tensor*> params;
  for (const auto& group : param_groups())
    for (const auto& p : group.params) params.push_back(&p);
  StateDict rest = state;
  std::map<std::size_t, Moments> moments;
  for (auto it = rest.tensors.begin(); it != rest.tensors.end();) {
    const auto dot = it->first.find('.');
    const std::string buffer = dot == std::string::npos ? "" : it->first.substr(dot + 1);
    if (buffer != "row_var" && buffer != "col_var" && buffer != "variance") {
      ++it;
      continue;
    }
    const std::size_t index = parse_state_key(name(), it->first, params.size()).index;
    const Tensor& p = *params[index];
    Shape want = p.shape();
    if (buffer == "row_var" || buffer == "col_var") {
      DESCENT_CHECK(p.dim() >= 2, name(), ": load_state_dict: tensor '", it->first, "' is factored state, but parameter ",
                    index, " has shape ", p.shape());
      want[want.size() - (buffer == "row_var" ? 1 : 2)] = 1;
    }
    DESCENT_CHECK(it->second.shape() == want, name(), ": load_state_dict: tensor '", it->first, "' has shape ",
                  it->second.shape(), "; expected ", want);
    Tensor copy = it->second.to(p.dtype()).contiguous_copy();
    Moments& m = moments[index];
    (buffer == "row_var" ? m.row_var : buffer == "col_var" ? m.col_var : m.variance) =
        copy.shares_storage(it->second) ? copy.clone() : copy;
    it = rest.tensors.erase(it);
  }
  // Each parameter the state lists has its second-moment tensors: both factors, or the full variance.
  if (state.meta.is_object() && state.meta.contains("moments"))
    for (const auto& entry : state.meta["moments"]) {
      DESCENT_CHECK(entry.is_number_unsigned() && entry.get<std::size_t>() < params.size(), name(),
                    ": load_state_dict: \"moments\" lists ", entry.dump(), "; expected parameter indices below ", params.size());
      const auto it = moments.find(entry.get<std::size_t>());
      const bool whole = it != moments.end() && (it->second.variance.defined() ||
                                                 (it->second.row_var.defined() && it->second.col_var.defined()));
      DESCENT_CHECK(whole, name(), ": load_state_dict: the second moments of parameter ", entry.dump(),
                    " are missing (expected tensors ", entry.dump(), ".row_var and .col_var, or .variance)");
    }
  Optimizer::load_state_dict(rest);
  moments_ = std::move(moments);
}

}  // namespace descent::optim
