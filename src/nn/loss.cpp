// Losses as fused operations: one pass forward, one pass backward.
#include "descent/nn/loss.hpp"

#include <cmath>

#include "../autograd/kernels.hpp"

namespace descent::nn {

using autograd::SavedTensor;
using namespace autograd::kernel;

namespace {

enum class Reduction { Mean, Sum, None };

Reduction parse_reduction(const std::string& name, const char* op) {
  if (name == "mean") return Reduction::Mean;
  if (name == "sum") return Reduction::Sum;
  if (name == "none") return Reduction::None;
  throw Error(std::string(op) + ": reduction must be 'mean', 'sum' or 'none', got '" + name + "'");
}

// A loss that depends on d = input - target elementwise: value(d) and its derivative slope(d).
template <class Value, class Slope>
Tensor difference_loss(const Tensor& input, const Tensor& target, const std::string& reduction_name, const char* op,
                       const char* node, Value value, Slope slope) {
  const Reduction reduction = parse_reduction(reduction_name, op);
  DESCENT_CHECK(input.defined() && target.defined(), op, ": input or target is undefined");
  DESCENT_CHECK(input.shape() == target.shape(), op, ": input shape ", input.shape(), " and target shape ",
                target.shape(), " differ (reshape one of them; broadcasting here is almost always a bug)");
  DESCENT_CHECK(input.dtype() == target.dtype(), op, ": input is ", dtype_name(input.dtype()), ", target is ",
                dtype_name(target.dtype()));
  return dispatch_floating(input.dtype(), op, [&](auto zero) {
    using T = decltype(zero);
    Tensor x = input.is_contiguous() ? input : input.contiguous_copy();
    Tensor y = target.is_contiguous() ? target : target.contiguous_copy();
    const T* xp = x.data<T>();
    const T* yp = y.data<T>();
    const std::int64_t n = x.numel();
    Tensor out;
    if (reduction == Reduction::None) {
      out = empty(x.shape(), x.dtype());
      T* o = out.data<T>();
      for (std::int64_t i = 0; i < n; ++i) o[i] = value(xp[i] - yp[i]);
    } else {
      double total = 0;
      for (std::int64_t i = 0; i < n; ++i) total += double(value(xp[i] - yp[i]));
      if (reduction == Reduction::Mean) total /= double(std::max<std::int64_t>(n, 1));
      out = scalar_tensor(total, x.dtype());
    }
    if (autograd::any_needs_grad({&input, &target})) {
      const bool grad_x = input.requires_grad(), grad_y = target.requires_grad();
      record(out, node, {&input, &target},
             [xs = SavedTensor(x), ys = SavedTensor(y), reduction, slope, grad_x, grad_y, node](
                 const Tensor& g_in, std::span<Tensor> grads) {
               const Tensor& xv = xs.unpack(node);
               const Tensor& yv = ys.unpack(node);
               const std::int64_t count = xv.numel();
               Tensor g = g_in.contiguous_copy();
               const T* gp = g.data<T>();
               const T* a = xv.data<T>();
               const T* b = yv.data<T>();
               Tensor gx = empty(xv.shape(), xv.dtype());
               T* o = gx.data<T>();
               if (reduction == Reduction::None) {
                 for (std::int64_t i = 0; i < count; ++i) o[i] = gp[i] * slope(a[i] - b[i]);
               } else {
                 const T scale = gp[0] / (reduction == Reduction::Mean ? T(std::max<std::int64_t>(count, 1)) : T(1));
                 for (std::int64_t i = 0; i < count; ++i) o[i] = scale * slope(a[i] - b[i]);
               }
               if (grad_x) grads[0] = gx;
               if (grad_y) grads[1] = neg(gx);
             });
    }
    return out;
  });
}

void check_class_targets(const Tensor& target, std::int64_t rows, std::int64_t classes, const char* op,
                         std::optional<std::int64_t> ignore_index) {
  DESCENT_CHECK(target.dtype() == DType::Int64, op, ": target must hold int64 class indices, got ",
                dtype_name(target.dtype()));
  DESCENT_CHECK(target.numel() == rows, op, ": ", rows, " rows of scores but target has shape ", target.shape());
  const std::int64_t* t = target.data<std::int64_t>();
  for (std::int64_t i = 0; i < rows; ++i) {
    if (ignore_index && t[i] == *ignore_index) continue;
    DESCENT_CHECK(t[i] >= 0 && t[i] < classes, op, ": target ", t[i], " at position ", i, " is outside [0, ",
                  classes, ")");
  }
}

// Fused log-softmax + smoothed NLL over rows of a [N, C] tensor.
Tensor cross_entropy_2d(const Tensor& logits, const Tensor& target_in, Reduction reduction, double smoothing,
                        std::optional<std::int64_t> ignore_index) {
  const std::int64_t rows = logits.shape()[0], classes = logits.shape()[1];
  Tensor target = target_in.contiguous_copy();
  check_class_targets(target, rows, classes, "cross_entropy", ignore_index);
  return dispatch_floating(logits.dtype(), "cross_entropy", [&](auto zero) {
    using T = decltype(zero);
    Tensor x = logits.contiguous_copy();
    Tensor log_probs = empty(x.shape(), x.dtype());
    const T* xp = x.data<T>();
    T* lp = log_probs.data<T>();
    const std::int64_t* tp = target.data<std::int64_t>();
    std::vector<double> row_loss(std::size_t(rows), 0.0);
    std::int64_t counted = 0;
    for (std::int64_t r = 0; r < rows; ++r) {
      const T* row = xp + r * classes;
      T m = row[0];
      for (std::int64_t c = 1; c < classes; ++c) m = std::max(m, row[c]);
      T total = 0;
      for (std::int64_t c = 0; c < classes; ++c) total += std::exp(row[c] - m);
      const T log_total = std::log(total) + m;
      double sum_lp = 0;
      for (std::int64_t c = 0; c < classes; ++c) {
        lp[r * classes + c] = row[c] - log_total;
        sum_lp += double(lp[r * classes + c]);
      }
      if (ignore_index && tp[r] == *ignore_index) continue;
      ++counted;
      row_loss[std::size_t(r)] =
          -(1.0 - smoothing) * double(lp[r * classes + tp[r]]) - smoothing * sum_lp / double(classes);
    }
    Tensor out;
    if (reduction == Reduction::None) {
      out = from_vector(row_loss, Shape{rows}).to(x.dtype());
    } else {
      double total = 0;
      for (double v : row_loss) total += v;
      if (reduction == Reduction::Mean) total /= double(std::max<std::int64_t>(counted, 1));
      out = scalar_tensor(total, x.dtype());
    }
    if (autograd::needs_grad(logits)) {
      record(out, "CrossEntropyBackward", {&logits},
             [lps = SavedTensor(log_probs), target, reduction, smoothing, ignore_index, counted, classes, rows](
                 const Tensor& g_in, std::span<Tensor> grads) {
               const Tensor& lpv = lps.unpack("cross_entropy");
               Tensor g = g_in.contiguous_copy();
               const T* gp = g.data<T>();
               const T* l = lpv.data<T>();
               const std::int64_t* t = target.data<std::int64_t>();
               Tensor gx = empty(lpv.shape(), lpv.dtype());
               T* o = gx.data<T>();
               const T uniform = T(smoothing / double(classes));
               const T mean_scale = T(1) / T(std::max<std::int64_t>(counted, 1));
               for (std::int64_t r = 0; r < rows; ++r) {
                 T* orow = o + r * classes;
                 if (ignore_index && t[r] == *ignore_index) {
                   std::fill(orow, orow + classes, T(0));
                   continue;
                 }
                 const T scale = reduction == Reduction::None ? gp[r]
                                 : reduction == Reduction::Mean ? gp[0] * mean_scale : gp[0];
                 const T* lrow = l + r * classes;
                 for (std::int64_t c = 0; c < classes; ++c) orow[c] = scale * (std::exp(lrow[c]) - uniform);
                 orow[t[r]] -= scale * T(1.0 - smoothing);
               }
               grads[0] = gx;
             });
    }
    return out;
  });
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  return difference_loss(
      input, target, reduction, "mse_loss", "MseLossBackward", [](auto d) { return d * d; },
      [](auto d) { return d + d; });
}

Tensor l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  return difference_loss(
      input, target, reduction, "l1_loss", "L1LossBackward", [](auto d) { return std::abs(d); },
      [](auto d) { return decltype(d)((d > 0) - (d < 0)); });
}

Tensor huber_loss(const Tensor& input, const Tensor& target, const std::string& reduction, double delta) {
  DESCENT_CHECK(delta > 0, "huber_loss: delta must be positive, got ", delta);
  return difference_loss(
      input, target, reduction, "huber_loss", "HuberLossBackward",
      [delta](auto d) {
        using T = decltype(d);
        const T a = std::abs(d);
        return a < T(delta) ? T(0.5) * d * d : T(delta) * (a - T(0.5 * delta));
      },
      [delta](auto d) {
        using T = decltype(d);
        return std::abs(d) < T(delta) ? d : T(delta) * T((d > 0) - (d < 0));
      });
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const std::string& reduction_name,
                     double label_smoothing, std::optional<std::int64_t> ignore_index) {
  const Reduction reduction = parse_reduction(reduction_name, "cross_entropy");
  DESCENT_CHECK(logits.defined() && target.defined(), "cross_entropy: logits or target is undefined");
  DESCENT_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0, "cross_entropy: label_smoothing must be in [0, 1], got ",
                label_smoothing);
  DESCENT_CHECK(logits.dim() >= 2, "cross_entropy: logits must be [N, C] or [N, C, ...], got shape ", logits.shape());
  if (logits.dim() == 2) return cross_entropy_2d(logits, target, reduction, label_smoothing, ignore_index);
  // [N, C, d...] -> [N * d..., C] with the class dimension last.
  std::vector<std::int64_t> order{0};
  for (int i = 2; i < logits.dim(); ++i) order.push_back(i);
  order.push_back(1);
  Tensor flat = reshape(permute(logits, order), Shape{-1, logits.shape()[1]});
  Shape spatial_target = logits.shape();
  spatial_target.erase(1);
  DESCENT_CHECK(target.shape() == spatial_target, "cross_entropy: target shape ", target.shape(), " does not match logits ",
                logits.shape(), " (expected ", spatial_target, ")");
  Tensor out = cross_entropy_2d(flat, reshape(target, Shape{-1}), reduction, label_smoothing, ignore_index);
  return reduction == Reduction::None ? reshape(out, spatial_target) : out;
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const std::string& reduction_name,
                std::optional<std::int64_t> ignore_index) {
  const Reduction reduction = parse_reduction(reduction_name, "nll_loss");
  DESCENT_CHECK(log_probs.defined() && log_probs.dim() == 2, "nll_loss: expected log-probabilities [N, C], got shape ",
                log_probs.defined() ? log_probs.shape() : Shape{});
  const std::int64_t rows = log_probs.shape()[0], classes = log_probs.shape()[1];
  Tensor t = target.contiguous_copy();
  check_class_targets(t, rows, classes, "nll_loss", ignore_index);
  // Pick -log_probs[r, t[r]] with a one-hot mask (differentiable through mul and sum).
  std::vector<double> mask(std::size_t(rows * classes), 0.0);
  const std::int64_t* tp = t.data<std::int64_t>();
  std::int64_t counted = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    if (ignore_index && tp[r] == *ignore_index) continue;
    mask[std::size_t(r * classes + tp[r])] = 1.0;
    ++counted;
  }
  Tensor picked = neg(mul(log_probs, from_vector(mask, log_probs.shape()).to(log_probs.dtype())));
  if (reduction == Reduction::None) return sum(picked, {1});
  Tensor total = sum(picked);
  return reduction == Reduction::Sum ? total : mul(total, 1.0 / double(std::max<std::int64_t>(counted, 1)));
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const std::string& reduction_name,
                                        const Tensor& pos_weight) {
  const Reduction reduction = parse_reduction(reduction_name, "binary_cross_entropy_with_logits");
  DESCENT_CHECK(input.defined() && target.defined() && input.shape() == target.shape(),
                "binary_cross_entropy_with_logits: input shape ", input.defined() ? input.shape() : Shape{},
                " and target shape ", target.defined() ? target.shape() : Shape{}, " differ");
  // l = (1 - y) x + w softplus(-x), w = 1 + (pos_weight - 1) y; softplus(-x) = log1p(exp(-|x|)) + max(-x, 0).
  Tensor w = pos_weight.defined() ? add(mul(target, add(pos_weight, -1.0)), 1.0) : Tensor();
  Tensor softplus_neg = add(log(add(exp(neg(abs(input))), 1.0)), relu(neg(input)));
  Tensor loss = add(mul(add(neg(target), 1.0), input), w.defined() ? mul(w, softplus_neg) : softplus_neg);
  if (reduction == Reduction::None) return loss;
  return reduction == Reduction::Sum ? sum(loss) : mean(loss);
}

Tensor loss_by_name(const std::string& name, const Tensor& input, const Tensor& target) {
  if (name == "mse") return mse_loss(input, target);
  if (name == "l1") return l1_loss(input, target);
  if (name == "huber") return huber_loss(input, target);
  if (name == "cross_entropy") return cross_entropy(input, target);
  if (name == "nll") return nll_loss(input, target);
  if (name == "bce_with_logits") return binary_cross_entropy_with_logits(input, target);
  throw Error("loss: unknown name '" + name + "' (expected mse, l1, huber, cross_entropy, nll or bce_with_logits)");
}

}  // namespace descent::nn
