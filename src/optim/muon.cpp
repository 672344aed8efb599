#include "descent/optim/muon.hpp"

#include <cmath>

#include "descent/core/blas.hpp"
#include "descent/optim/tensor_pass.hpp"
#include "descent/optim/validate.hpp"

namespace descent::optim {

namespace {

void check_matrix(const std::string& optimizer, std::size_t index, const Tensor& p) {
  DESCENT_CHECK(p.dim() == 2, optimizer, ": parameter ", index, " has shape ", p.shape(),
                "; Muon updates 2-D parameters only (optimise biases, norms and embeddings with another optimizer)");
}

}  // namespace

Muon::Muon(std::vector<Tensor> params, const nlohmann::json& options)
    : Optimizer({{"lr", 1e-3},
                 {"weight_decay", 0.1},
                 {"momentum", 0.95},
                 {"nesterov", true},
                 {"ns_coefficients", {3.4445, -4.775, 2.0315}},
                 {"eps", 1e-7},
                 {"ns_steps", 5},
                 {"adjust_lr_fn", "original"}}) {
  for (std::size_t i = 0; i < params.size(); ++i)
    if (params[i].defined()) check_matrix("muon", i, params[i]);
  initialize(std::move(params), options);
}

void Muon::validate(const nlohmann::json& o) const {
  check_shared_options(name(), o);
  const double steps = o["ns_steps"], momentum = o["momentum"];
  check_option(name(), "momentum", momentum, momentum >= 0 && momentum < 1, "0 <= momentum < 1");
  check_option(name(), "ns_steps", steps, steps >= 0 && steps < 100 && steps == std::floor(steps),
               "a whole number in [0, 100)");
  const std::string adjust = o["adjust_lr_fn"];
  DESCENT_CHECK(adjust == "original" || adjust == "match_rms_adamw", name(), ": option adjust_lr_fn = \"", adjust,
                "\" is not valid; expected \"original\" or \"match_rms_adamw\"");
}

void newton_schulz(std::vector<float>& x, std::int64_t rows, std::int64_t cols, const std::array<double, 3>& abc,
                   int steps, double eps) {
  // Work on the wide orientation (r <= c) so that the Gram matrix is the small one.
  const bool transpose = rows > cols;
  const std::int64_t r = transpose ? cols : rows, c = transpose ? rows : cols;
  std::vector<float> a(std::size_t(r * c));
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j) a[transpose ? j * c + i : i * c + j] = x[i * cols + j];
  double sq = 0;
  for (float v : a) sq += double(v) * double(v);
  const float inverse = float(1.0 / std::max(std::sqrt(sq), eps));
  for (float& v : a) v *= inverse;
  std::vector<float> gram(std::size_t(r * r)), poly(std::size_t(r * r)), next(std::size_t(r * c));
  for (int s = 0; s < steps; ++s) {
    blas::gemm(false, true, r, r, c, 1.0f, a.data(), c, a.data(), c, 0.0f, gram.data(), r);
    blas::gemm(false, false, r, r, r, float(abc[2]), gram.data(), r, gram.data(), r, 0.0f, poly.data(), r);
    for (std::size_t k = 0; k < poly.size(); ++k) poly[k] += float(abc[1]) * gram[k];
    blas::gemm(false, false, r, c, r, 1.0f, poly.data(), r, a.data(), c, 0.0f, next.data(), c);
    for (std::size_t k = 0; k < a.size(); ++k) a[k] = float(abc[0]) * a[k] + next[k];
  }
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j) x[i * cols + j] = a[transpose ? j * c + i : i * c + j];
}

void Muon::update(const ParamGroup& group, const Segment& segment, ParamState& state) {
  ++state.step;
  const double lr = group.number("lr"), wd = group.number("weight_decay"), momentum = group.number("momentum");
  const double eps = group.number("eps"), multiplier = grad_multiplier(group);
  const bool nesterov = group.flag("nesterov"), match_rms = group.options["adjust_lr_fn"] == "match_rms_adamw";
  const int steps = int(group.number("ns_steps"));
  const auto& coefficients = group.options["ns_coefficients"];
  const std::array<double, 3> abc{coefficients[0].get<double>(), coefficients[1].get<double>(),
                                  coefficients[2].get<double>()};
  for (const TensorSlice& slice : tensor_slices(group, segment)) {
    check_matrix(name(), slice.param_index, *slice.param);
    const std::int64_t rows = slice.param->size(0), cols = slice.param->size(1), n = slice.numel;
    const Segment one = slice_segment(segment, slice, state_dtype());
    const double ratio = match_rms ? 0.2 * std::sqrt(double(std::max(rows, cols)))
                                   : std::sqrt(std::max(1.0, double(rows) / double(cols)));
    dispatch_param_state(one.dtype, state_dtype(), [&]<class T, class S>() {
      T* p = static_cast<T*>(one.param);
      const T* grad = static_cast<const T*>(one.grad);
      S* buffer = static_cast<S*>(state_buffer("momentum_buffer", one));
      std::vector<float> u(static_cast<std::size_t>(n));
      for (std::int64_t i = 0; i < n; ++i) {
        const T g = grad[i] * T(multiplier);
        const T b = lerp(load_state<T>(buffer, i), g, T(1.0 - momentum));
        ScalarLanes<T>::store(buffer + i, b);
        u[i] = float(nesterov ? lerp(g, ScalarLanes<T>::load(buffer + i), T(momentum)) : ScalarLanes<T>::load(buffer + i));
      }
      newton_schulz(u, rows, cols, abc, steps, eps);
      const T decay = T(1.0 - lr * wd), step = T(lr * ratio);
      for (std::int64_t i = 0; i < n; ++i) p[i] = p[i] * decay - step * T(u[i]);
    });
  }
}

}  // namespace descent::optim
