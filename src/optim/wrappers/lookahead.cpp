#include "descent/optim/wrappers/lookahead.hpp"

#include "elementwise.hpp"

namespace descent::optim {

using namespace detail_wrappers;

Lookahead::Lookahead(std::unique_ptr<Optimizer> inner, std::int64_t k, double alpha)
    : inner_(std::move(inner)), k_(k), alpha_(alpha) {
  DESCENT_CHECK(inner_ != nullptr, "lookahead: the inner optimizer is null");
  DESCENT_CHECK(k >= 1, "lookahead: k = ", k, ": expected a whole number >= 1");
  DESCENT_CHECK(alpha >= 0 && alpha <= 1, "lookahead: alpha = ", alpha, ": expected 0 <= alpha <= 1");
  for (const auto& group : inner_->param_groups())
    for (const auto& p : group.params) params_.push_back(p);
  check_tracked("lookahead", params_);
  slow_ = clones(params_);
}

void Lookahead::after_inner_step() {
  if (++counter_ < k_) return;
  counter_ = 0;
  for (std::size_t i = 0; i < params_.size(); ++i)
    for_each_pair(params_[i], slow_[i], [a = alpha_](auto& fast, auto& slow) {
      using T = std::remove_reference_t<decltype(fast)>;
      slow = slow + T(a) * (fast - slow);
      fast = slow;
    });
}

void Lookahead::step() {
  inner_->step();
  after_inner_step();
}

double Lookahead::step(const std::function<double()>& closure) {
  const double loss = inner_->step(closure);
  after_inner_step();
  return loss;
}

StateDict Lookahead::state_dict() const {
  StateDict out = inner_->state_dict();
  out.meta["lookahead"] = {{"k", k_}, {"alpha", alpha_}, {"counter", counter_}};
  for (std::size_t i = 0; i < slow_.size(); ++i) out.tensors["lookahead." + std::to_string(i)] = slow_[i].clone();
  return out;
}

void Lookahead::load_state_dict(const StateDict& state) {
  DESCENT_CHECK(state.meta.is_object() && state.meta.contains("lookahead"),
                "lookahead: load_state_dict: the state has no \"lookahead\" entry");
  const auto& meta = state.meta["lookahead"];
  StateDict inner_state = state;
  inner_state.meta.erase("lookahead");
  std::vector<Tensor> slow;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const std::string key = "lookahead." + std::to_string(i);
    const auto it = inner_state.tensors.find(key);
    DESCENT_CHECK(it != inner_state.tensors.end(), "lookahead: load_state_dict: tensor '", key, "' is missing");
    check_matching("lookahead: load_state_dict", {params_[i]}, {it->second.to(params_[i].dtype()).contiguous_copy()});
    slow.push_back(it->second.to(params_[i].dtype()).clone());
    inner_state.tensors.erase(it);
  }
  const std::int64_t counter = meta.at("counter");
  DESCENT_CHECK(counter >= 0 && counter < k_, "lookahead: load_state_dict: counter ", counter,
                " is out of range for k = ", k_);
  inner_->load_state_dict(inner_state);
  slow_ = std::move(slow);
  counter_ = counter;
}

}  // namespace descent::optim
