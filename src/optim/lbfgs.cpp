#include "descent/optim/lbfgs.hpp"

#include <algorithm>
#include <cmath>

#include "descent/optim/validate.hpp"

namespace descent::optim {

namespace {

using Vector = std::vector<double>;

double dot(const Vector& a, const Vector& b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += a[i] * b[i];
  return sum;
}
double max_abs(const Vector& a) {
  double m = 0;
  for (double v : a) m = std::max(m, std::abs(v));
  return m;
}
void axpy(double alpha, const Vector& x, Vector& y) {
  for (std::size_t i = 0; i < y.size(); ++i) y[i] += alpha * x[i];
}

// Minimum of the cubic interpolating (x1, f1, g1) and (x2, f2, g2), clamped to the bounds (PyTorch's
// _cubic_interpolate).
double cubic_interpolate(double x1, double f1, double g1, double x2, double f2, double g2, double lo, double hi) {
  const double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
  const double d2_square = d1 * d1 - g1 * g2;
  if (d2_square < 0) return (lo + hi) / 2;
  const double d2 = std::sqrt(d2_square);
  const double min_pos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
                                  : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
  return std::min(std::max(min_pos, lo), hi);
}

struct Point {
  double t, f, gtd;
  Vector g;
};

struct SearchResult {
  double f, t;
  Vector g;
  std::int64_t evals;
};

// PyTorch's _strong_wolfe: bracketing, then zoom by cubic interpolation. `evaluate(t)` returns the loss
// and flat gradient at x + t d. LBFGS.step calls it with its defaults, whatever the group's options: the
// zoom stops once the bracket is narrower than 1e-9 (its tolerance_change) and after 25 evaluations.
SearchResult strong_wolfe(const std::function<std::pair<double, Vector>(double)>& evaluate, double t, const Vector& d,
                          double f, const Vector& g, double gtd) {
  constexpr double c1 = 1e-4, c2 = 0.9, tolerance_change = 1e-9;
  constexpr int max_ls = 25;
  const double d_norm = max_abs(d);
  auto [f_new, g_new] = evaluate(t);
  std::int64_t evals = 1;
  double gtd_new = dot(g_new, d);
  Point prev{0, f, gtd, g};
  std::vector<Point> bracket;
  bool done = false;
  int ls_iter = 0;
  while (ls_iter < max_ls) {
    if (f_new > f + c1 * t * gtd || (ls_iter > 1 && f_new >= prev.f)) {
      bracket = {prev, {t, f_new, gtd_new, g_new}};
      break;
    }
    if (std::abs(gtd_new) <= -c2 * gtd) {
      bracket = {{t, f_new, gtd_new, g_new}};
      done = true;
      break;
    }
    if (gtd_new >= 0) {
      bracket = {prev, {t, f_new, gtd_new, g_new}};
      break;
    }
    const double min_step = t + 0.01 * (t - prev.t), max_step = t * 10;
    const double next = cubic_interpolate(prev.t, prev.f, prev.gtd, t, f_new, gtd_new, min_step, max_step);
    prev = {t, f_new, gtd_new, g_new};
    t = next;
    std::tie(f_new, g_new) = evaluate(t);
    ++evals;
    gtd_new = dot(g_new, d);
    ++ls_iter;
  }
  if (ls_iter == max_ls) bracket = {{0, f, gtd, g}, {t, f_new, gtd_new, g_new}};

  bool insufficient_progress = false;
  std::size_t low = 0, high = 1;
  if (bracket.size() == 2 && bracket[0].f > bracket[1].f) std::swap(low, high);
  while (!done && ls_iter < max_ls) {
    if (std::abs(bracket[1].t - bracket[0].t) * d_norm < tolerance_change) break;
    const double lo_t = std::min(bracket[0].t, bracket[1].t), hi_t = std::max(bracket[0].t, bracket[1].t);
    t = cubic_interpolate(bracket[0].t, bracket[0].f, bracket[0].gtd, bracket[1].t, bracket[1].f, bracket[1].gtd,
                          lo_t, hi_t);
    const double eps = 0.1 * (hi_t - lo_t);
    if (std::min(hi_t - t, t - lo_t) < eps) {
      if (insufficient_progress || t >= hi_t || t <= lo_t) {
        t = std::abs(t - hi_t) < std::abs(t - lo_t) ? hi_t - eps : lo_t + eps;
        insufficient_progress = false;
      } else {
        insufficient_progress = true;
      }
    } else {
      insufficient_progress = false;
    }
    std::tie(f_new, g_new) = evaluate(t);
    ++evals;
    gtd_new = dot(g_new, d);
    ++ls_iter;
    if (f_new > f + c1 * t * gtd || f_new >= bracket[low].f) {
      bracket[high] = {t, f_new, gtd_new, g_new};
      low = bracket[0].f <= bracket[1].f ? 0 : 1;
      high = 1 - low;
    } else {
      if (std::abs(gtd_new) <= -c2 * gtd)
        done = true;
      else if (gtd_new * (bracket[high].t - bracket[low].t) >= 0)
        bracket[high] = bracket[low];
      bracket[low] = {t, f_new, gtd_new, g_new};
    }
  }
  const Point& best = bracket.size() == 1 ? bracket[0] : bracket[low];
  return {best.f, best.t, best.g, evals};
}

}  // namespace

LBFGS::LBFGS(std::vector<Tensor> params, const nlohmann::json& options)
    : Optimizer({{"lr", 1.0},
                 {"max_iter", 20},
                 {"max_eval", 25},
                 {"tolerance_grad", 1e-7},
                 {"tolerance_change", 1e-9},
                 {"history_size", 100},
                 {"line_search_fn", "none"}}) {
  // PyTorch's None spellings: max_eval None is max_iter * 5 / 4, line_search_fn None is no line search.
  nlohmann::json given = options.is_null() ? nlohmann::json::object() : options;
  if (given.is_object()) {
    if (!given.contains("max_eval") || given["max_eval"].is_null()) {
      const auto max_iter = given.value("max_iter", nlohmann::json(20));
      if (max_iter.is_number()) given["max_eval"] = std::int64_t(max_iter.get<double>() * 5 / 4);
    }
    if (given.contains("line_search_fn") && given["line_search_fn"].is_null()) given["line_search_fn"] = "none";
  }
  initialize(std::move(params), given);
}

void LBFGS::validate(const nlohmann::json& o) const {
  check_shared_options(name(), o);
  for (const char* key : {"max_iter", "max_eval", "history_size"}) {
    const double value = o[key];
    check_option(name(), key, value, value >= 1 && value == std::floor(value), "a whole number >= 1");
  }
  for (const char* key : {"tolerance_grad", "tolerance_change"}) {
    const double value = o[key];
    check_option(name(), key, value, value >= 0, std::string(key) + " >= 0");
  }
  const std::string search = o["line_search_fn"];
  DESCENT_CHECK(search == "none" || search == "strong_wolfe", name(), ": option line_search_fn = \"", search,
                "\" is not valid; expected \"none\" (or null) or \"strong_wolfe\"");
}

void LBFGS::update(const ParamGroup&, const Segment&, ParamState&) {
  throw Error("lbfgs: the update needs the closure; call step(closure)");
}

void LBFGS::step() {
  throw Error("lbfgs: step() needs a closure that recomputes the loss and gradients; call step(closure)");
}

LBFGS::Vector LBFGS::gather_flat_grad() const {
  Vector flat;
  for (const auto& p : param_groups()[0].params) {
    const Tensor grad = p.grad();
    if (!grad.defined()) {
      flat.insert(flat.end(), std::size_t(p.numel()), 0.0);
      continue;
    }
    DESCENT_CHECK(grad.shape() == p.shape(), "lbfgs: a gradient has shape ", grad.shape(), ", its parameter ",
                  p.shape());
    const auto values = grad.to_vector<double>();
    flat.insert(flat.end(), values.begin(), values.end());
  }
  return flat;
}

LBFGS::Vector LBFGS::flat_params() const {
  Vector flat;
  for (const auto& p : param_groups()[0].params) {
    const auto values = p.to_vector<double>();
    flat.insert(flat.end(), values.begin(), values.end());
  }
  return flat;
}

void LBFGS::add_to_params(double step, const Vector& direction) {
  std::size_t offset = 0;
  for (const auto& p : param_groups()[0].params) {
    dispatch_floating(p.dtype(), "lbfgs", [&](auto zero) {
      using T = decltype(zero);
      T* data = p.data<T>();
      for (std::int64_t i = 0; i < p.numel(); ++i) data[i] = T(double(data[i]) + step * direction[offset + i]);
    });
    offset += std::size_t(p.numel());
    p.mark_modified();
  }
}

void LBFGS::set_params(const Vector& values) {
  std::size_t offset = 0;
  for (const auto& p : param_groups()[0].params) {
    dispatch_floating(p.dtype(), "lbfgs", [&](auto zero) {
      using T = decltype(zero);
      T* data = p.data<T>();
      for (std::int64_t i = 0; i < p.numel(); ++i) data[i] = T(values[offset + i]);
    });
    offset += std::size_t(p.numel());
    p.mark_modified();
  }
}

double LBFGS::evaluate(const std::function<double()>& closure) {
  const bool previous = GradMode::enabled();
  GradMode::set_enabled(true);
  try {
    const double loss = closure();
    GradMode::set_enabled(previous);
    return loss;
  } catch (...) {
    GradMode::set_enabled(previous);
    throw;
  }
}

// The search direction d = -H g (PyTorch's LBFGS.step): steepest descent on the first iteration, else the
// curvature pair of the last step joins the history (when y's > 1e-10) and the two-loop recursion runs.
void LBFGS::update_direction(const Vector& flat_grad, std::size_t history_size) {
  History& h = history_;
  if (h.n_iter == 1) {
    h.d = flat_grad;
    for (double& v : h.d) v = -v;
    h.old_dirs.clear(), h.old_stps.clear(), h.ro.clear();
    h.h_diag = 1;
  } else {
    Vector y = flat_grad, s = h.d;
    axpy(-1.0, h.prev_flat_grad, y);
    for (double& v : s) v *= h.t;
    const double ys = dot(y, s);
    if (ys > 1e-10) {
      if (h.old_dirs.size() == history_size) {
        h.old_dirs.erase(h.old_dirs.begin()), h.old_stps.erase(h.old_stps.begin()), h.ro.erase(h.ro.begin());
      }
      h.h_diag = ys / dot(y, y);
      h.old_dirs.push_back(std::move(y)), h.old_stps.push_back(std::move(s)), h.ro.push_back(1.0 / ys);
    }
    // Two-loop recursion: d = -H g.
    const std::size_t count = h.old_dirs.size();
    std::vector<double> al(count);
    Vector q = flat_grad;
    for (double& v : q) v = -v;
    for (std::size_t i = count; i-- > 0;) {
      al[i] = dot(h.old_stps[i], q) * h.ro[i];
      axpy(-al[i], h.old_dirs[i], q);
    }
    for (double& v : q) v *= h.h_diag;
    for (std::size_t i = 0; i < count; ++i) {
      const double be_i = dot(h.old_dirs[i], q) * h.ro[i];
      axpy(al[i] - be_i, h.old_stps[i], q);
    }
    h.d = std::move(q);
  }
}

double LBFGS::step(const std::function<double()>& closure) {
  DESCENT_CHECK(param_groups().size() == 1, "lbfgs: supports exactly one parameter group (PyTorch's rule); this "
                "optimizer has ", param_groups().size());
  DESCENT_CHECK(closure != nullptr, "lbfgs: step(closure) was given an empty closure");
  const ParamGroup& group = param_groups()[0];
  const double lr = group.number("lr"), tolerance_grad = group.number("tolerance_grad");
  const double tolerance_change = group.number("tolerance_change");
  const auto max_iter = std::int64_t(group.number("max_iter")), max_eval = std::int64_t(group.number("max_eval"));
  const auto history_size = std::size_t(group.number("history_size"));
  const bool wolfe = group.options["line_search_fn"] == "strong_wolfe";
  History& h = history_;

  const double orig_loss = evaluate(closure);
  double loss = orig_loss;
  std::int64_t current_evals = 1;
  ++h.func_evals;
  Vector flat_grad = gather_flat_grad();
  bool opt_cond = max_abs(flat_grad) <= tolerance_grad;
  if (opt_cond) return orig_loss;

  std::int64_t n_iter = 0;
  while (n_iter < max_iter) {
    ++n_iter;
    ++h.n_iter;
    update_direction(flat_grad, history_size);
    h.prev_flat_grad = flat_grad;
    h.prev_loss = loss;
    if (h.n_iter == 1) {
      double l1 = 0;
      for (double v : flat_grad) l1 += std::abs(v);
      h.t = std::min(1.0, 1.0 / l1) * lr;
    } else {
      h.t = lr;
    }
    const double gtd = dot(flat_grad, h.d);
    if (gtd > -tolerance_change) break;

    std::int64_t ls_evals = 0;
    if (wolfe) {
      const Vector x_init = flat_params();
      auto directional = [&](double t) {
        add_to_params(t, h.d);
        const double f = evaluate(closure);
        Vector g = gather_flat_grad();
        set_params(x_init);
        return std::pair<double, Vector>(f, std::move(g));
      };
      SearchResult result = strong_wolfe(directional, h.t, h.d, loss, flat_grad, gtd);
      loss = result.f, flat_grad = std::move(result.g), h.t = result.t, ls_evals = result.evals;
      add_to_params(h.t, h.d);
      opt_cond = max_abs(flat_grad) <= tolerance_grad;
    } else {
      add_to_params(h.t, h.d);
      if (n_iter != max_iter) {
        loss = evaluate(closure);
        flat_grad = gather_flat_grad();
        opt_cond = max_abs(flat_grad) <= tolerance_grad;
        ls_evals = 1;
      }
    }
    current_evals += ls_evals;
    h.func_evals += ls_evals;
    if (n_iter == max_iter || current_evals >= max_eval || opt_cond) break;
    if (max_abs(h.d) * std::abs(h.t) <= tolerance_change) break;
    if (std::abs(loss - h.prev_loss) < tolerance_change) break;
  }
  return orig_loss;
}

std::size_t LBFGS::state_bytes() const {
  std::size_t elements = history_.d.size() + history_.prev_flat_grad.size() + history_.ro.size();
  for (const auto& v : history_.old_dirs) elements += v.size();
  for (const auto& v : history_.old_stps) elements += v.size();
  return Optimizer::state_bytes() + elements * sizeof(double);
}

namespace {

Tensor to_tensor(const Vector& v) { return from_vector(v, Shape{std::int64_t(v.size())}); }

}  // namespace

StateDict LBFGS::state_dict() const {
  StateDict out = Optimizer::state_dict();
  const History& h = history_;
  out.meta["lbfgs"] = {{"t", h.t},           {"H_diag", h.h_diag},         {"prev_loss", h.prev_loss},
                       {"n_iter", h.n_iter}, {"func_evals", h.func_evals}, {"ro", h.ro},
                       {"history", h.old_dirs.size()}};
  out.tensors["lbfgs.d"] = to_tensor(h.d);
  out.tensors["lbfgs.prev_flat_grad"] = to_tensor(h.prev_flat_grad);
  for (std::size_t i = 0; i < h.old_dirs.size(); ++i) {
    out.tensors["lbfgs.old_dirs." + std::to_string(i)] = to_tensor(h.old_dirs[i]);
    out.tensors["lbfgs.old_stps." + std::to_string(i)] = to_tensor(h.old_stps[i]);
  }
  return out;
}

void LBFGS::load_state_dict(const StateDict& state) {
  DESCENT_CHECK(state.meta.is_object() && state.meta.contains("lbfgs"), name(),
                ": load_state_dict: the state has no \"lbfgs\" entry (saved by another optimizer?)");
  const auto& meta = state.meta["lbfgs"];
  StateDict rest = state;
  auto take = [&](const std::string& key) {
    const auto it = rest.tensors.find(key);
    DESCENT_CHECK(it != rest.tensors.end(), name(), ": load_state_dict: tensor '", key, "' is missing");
    Vector values = it->second.to_vector<double>();
    rest.tensors.erase(it);
    return values;
  };
  History h;
  h.t = meta.at("t"), h.h_diag = meta.at("H_diag"), h.prev_loss = meta.at("prev_loss");
  h.n_iter = meta.at("n_iter"), h.func_evals = meta.at("func_evals");
  h.ro = meta.at("ro").get<std::vector<double>>();
  const std::size_t pairs = meta.at("history");
  DESCENT_CHECK(h.ro.size() == pairs, name(), ": load_state_dict: ", h.ro.size(), " ro values for ", pairs,
                " history pairs");
  h.d = take("lbfgs.d");
  h.prev_flat_grad = take("lbfgs.prev_flat_grad");
  for (std::size_t i = 0; i < pairs; ++i) {
    h.old_dirs.push_back(take("lbfgs.old_dirs." + std::to_string(i)));
    h.old_stps.push_back(take("lbfgs.old_stps." + std::to_string(i)));
  }
  Optimizer::load_state_dict(rest);
  history_ = std::move(h);
}

}  // namespace descent::optim
