#pragma GCC diagnostic ignored "-Wpsabi"  // vectors passed to always-inlined rules (see kernel.hpp)
#include "descent/optim/adafactor.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "descent/optim/kernel.hpp"
#include "descent/optim/tensor_pass.hpp"
#include "descent/optim/validate.hpp"

namespace descent::optim {

Adafactor::Adafactor(std::vector<Tensor> params, const nlohmann::json& options)
    : Optimizer({{"lr", 1e-2},
                 {"beta2_decay", -0.8},
                 {"eps", {double(std::numeric_limits<float>::epsilon()), 1e-3}},
                 {"d", 1.0},
                 {"weight_decay", 0.0},
                 {"foreach", false},
                 {"maximize", false}}) {
  initialize(std::move(params), options);
}

void Adafactor::validate(const nlohmann::json& o) const {
  const double lr = o["lr"], decay = o["beta2_decay"], d = o["d"], wd = o["weight_decay"];
  const double eps1 = o["eps"][0], eps2 = o["eps"][1];
  check_option(name(), "lr", lr, lr >= 0, "lr >= 0");
  check_option(name(), "beta2_decay", decay, decay <= 0, "beta2_decay <= 0");
  check_option(name(), "eps[0]", eps1, eps1 >= 0, "eps[0] >= 0");
  check_option(name(), "eps[1]", eps2, eps2 >= 0, "eps[1] >= 0");
  check_option(name(), "d", d, d >= 1, "d >= 1");
  check_option(name(), "weight_decay", wd, wd >= 0, "weight_decay >= 0");
}

namespace {

// The unfactored update's per-element rule (1-D parameters), shared by the fused pass and the update pass.
template <class T>
struct VarianceStep {
  T multiplier, weight, floor, decay, scale;
};
template <class V, class T>
DESCENT_RULE V variance_update(const VarianceStep<T>& s, V grad, V variance) {
  const V g = grad * s.multiplier;
  return g / root(maximum(variance, splat<V>(s.floor)));
}

// p <- p * decay + scale * u, with u recomputed from the stored variance (the second pass).
template <class T>
DESCENT_OPTIM_MULTIVERSION void apply_unfactored(const VarianceStep<T> s, T* p, const T* grad, const T* variance,
                                                 std::int64_t n) {
  constexpr std::int64_t width = WideLanes<T>::width;
  std::int64_t i = 0;
  for (; i + width <= n; i += width) {
    using L = WideLanes<T>;
    const typename L::V u = variance_update(s, L::load(grad + i), L::load(variance + i));
    L::store(p + i, L::load(p + i) * s.decay + s.scale * u);
  }
  for (; i < n; ++i) p[i] = p[i] * s.decay + s.scale * variance_update(s, grad[i], variance[i]);
}

}  // namespace

void Adafactor::update(const ParamGroup& group, const Segment& segment, ParamState& state) {
  const std::int64_t t = ++state.step;
  for (const TensorSlice& slice : tensor_slices(group, segment))
    update_tensor(group, *slice.param, slice.param->grad(), moments_[slice.param_index], t);
}

void Adafactor::update_tensor(const ParamGroup& group, const Tensor& param, const Tensor& grad_tensor,
                              Moments& moments, std::int64_t step) {
  const double lr = group.number("lr"), wd = group.number("weight_decay"), d = group.number("d");
  const double eps1 = group.pair("eps", 0), eps2 = group.pair("eps", 1);
  const double multiplier = grad_multiplier(group);
  const double beta_t = std::pow(double(step), group.number("beta2_decay"));
  const double rho_t = std::min(lr, 1.0 / std::sqrt(double(step)));
  const std::int64_t n = param.numel();
  const bool factored = param.dim() >= 2;
  const std::int64_t cols = factored ? param.size(-1) : n, rows = factored ? param.size(-2) : 1;
  const std::int64_t batch = n / std::max<std::int64_t>(rows * cols, 1);
  if (factored && !moments.row_var.defined()) {
    Shape row_shape = param.shape(), col_shape = param.shape();
    row_shape[row_shape.size() - 1] = 1;
    col_shape[col_shape.size() - 2] = 1;
    moments.row_var = zeros(row_shape, param.dtype());
    moments.col_var = zeros(col_shape, param.dtype());
  } else if (!factored && !moments.variance.defined()) {
    moments.variance = zeros(param.shape(), param.dtype());
  }
  if (!factored) {
    update_unfactored(param, grad_tensor, moments, lr, wd, d, eps1, eps2, multiplier, beta_t, rho_t);
    return;
  }
  dispatch_floating(param.dtype(), "adafactor", [&](auto zero) {
    using T = decltype(zero);
    T* p = param.data<T>();
    const T* raw = grad_tensor.data<T>();
    std::vector<T> g(static_cast<std::size_t>(n)), u(static_cast<std::size_t>(n));
    double param_sq = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      g[i] = raw[i] * T(multiplier);
      param_sq += double(p[i]) * double(p[i]);
    }
    const double alpha = std::max(eps2, std::sqrt(param_sq) / std::sqrt(double(n))) * rho_t;
    if (wd != 0)
      for (std::int64_t i = 0; i < n; ++i) p[i] = p[i] * T(1.0 - lr * wd);
    const T floor = T(eps1 * eps1), weight = T(beta_t);
    T* row_var = moments.row_var.data<T>();
    T* col_var = moments.col_var.data<T>();
    for (std::int64_t b = 0; b < batch; ++b) {
      const T* gb = g.data() + b * rows * cols;
      T* rv = row_var + b * rows;
      T* cv = col_var + b * cols;
      std::vector<double> col_sum(std::size_t(cols), 0.0);
      double row_var_sum = 0;
      for (std::int64_t r = 0; r < rows; ++r) {
        double row_sum = 0;
        for (std::int64_t c = 0; c < cols; ++c) {
          const double sq = double(gb[r * cols + c]) * double(gb[r * cols + c]);
          row_sum += sq;
          col_sum[c] += sq;
        }
        rv[r] = lerp(rv[r], T(row_sum / double(cols)), weight);
        row_var_sum += double(rv[r]);
      }
      for (std::int64_t c = 0; c < cols; ++c) cv[c] = lerp(cv[c], T(col_sum[c] / double(rows)), weight);
      const T row_mean = std::max(T(row_var_sum / double(rows)), T(eps1));
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t c = 0; c < cols; ++c) {
          const T estimate = std::max(rv[r] * cv[c] / row_mean, floor);
          u[b * rows * cols + r * cols + c] = gb[r * cols + c] / std::sqrt(estimate);
        }
    }
    double update_sq = 0;
    for (std::int64_t i = 0; i < n; ++i) update_sq += double(u[i]) * double(u[i]);
    const double denom = std::max(1.0, std::sqrt(update_sq) / (std::sqrt(double(n)) * d));
    const T scale = T(-alpha / denom);
    for (std::int64_t i = 0; i < n; ++i) p[i] = p[i] + scale * u[i];
  });
}

// Unfactored (1-D) parameters. The fast path: one fused, threaded, vectorised pass updates the variance
// and sums ||p||^2 and ||u||^2; a second applies p <- p * (1 - lr * wd) - alpha / max(1, RMS(u) / d) * u,
// recomputing u. The reference path runs the element-wise parts as plain scalar loops (variance, then
// the update) and takes the same two sums over the stored variance through vector_sums, so both paths
// agree bitwise.
void Adafactor::update_unfactored(const Tensor& param, const Tensor& grad_tensor, Moments& moments, double lr,
                                  double wd, double d, double eps1, double eps2, double multiplier, double beta_t,
                                  double rho_t) {
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
    const auto sums = vector_sums<T, 2>(n, [&](auto lanes, std::int64_t i) DESCENT_TERM {
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
    parallel_for(0, n, kGrain, [&](std::int64_t begin, std::int64_t end) {
      apply_unfactored(s, p + begin, g + begin, variance + begin, end - begin);
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
    const std::size_t index = std::stoul(it->first.substr(0, dot));
    DESCENT_CHECK(index < params.size(), name(), ": load_state_dict: tensor '", it->first, "' names parameter ",
                  index, " of ", params.size());
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
  Optimizer::load_state_dict(rest);
  moments_ = std::move(moments);
}

}  // namespace descent::optim
