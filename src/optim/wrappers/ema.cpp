#include "descent/optim/wrappers/ema.hpp"

#include <algorithm>
#include <utility>

#include "elementwise.hpp"

namespace descent::optim {

using namespace detail_wrappers;

ExponentialMovingAverage::ExponentialMovingAverage(std::vector<Tensor> params, double decay, bool warmup)
    : params_(std::move(params)), decay_(decay), warmup_(warmup) {
  DESCENT_CHECK(decay >= 0 && decay <= 1, "ema: decay = ", decay, ": expected 0 <= decay <= 1");
  check_tracked("ema", params_);
  shadow_ = clones(params_);
}

double ExponentialMovingAverage::current_decay() const {
  if (!warmup_) return decay_;
  const double t = double(updates_);
  return std::min(decay_, (1.0 + t) / (10.0 + t));
}

void ExponentialMovingAverage::update() {
  const double d = current_decay();
  for (std::size_t i = 0; i < params_.size(); ++i)
    for_each_pair(shadow_[i], params_[i], [d](auto& shadow, auto& param) {
      using T = std::remove_reference_t<decltype(shadow)>;
      shadow = T(d) * shadow + T(1.0 - d) * param;
    });
  ++updates_;
}

void ExponentialMovingAverage::copy_to(const std::vector<Tensor>& targets) const {
  check_matching("ema: copy_to", shadow_, targets);
  for (std::size_t i = 0; i < targets.size(); ++i)
    for_each_pair(targets[i], shadow_[i], [](auto& target, auto& shadow) { target = shadow; });
}

void ExponentialMovingAverage::swap_in() {
  for (std::size_t i = 0; i < params_.size(); ++i)
    for_each_pair(params_[i], shadow_[i], [](auto& param, auto& shadow) { std::swap(param, shadow); });
}

std::map<std::string, Tensor> ExponentialMovingAverage::state_dict() const {
  std::map<std::string, Tensor> out;
  for (std::size_t i = 0; i < shadow_.size(); ++i) out["average." + std::to_string(i)] = shadow_[i].clone();
  out["num_updates"] = scalar_tensor(double(updates_), DType::Int64);
  return out;
}

void ExponentialMovingAverage::load_state_dict(const std::map<std::string, Tensor>& state) {
  std::vector<Tensor> shadow;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const std::string key = "average." + std::to_string(i);
    const auto it = state.find(key);
    DESCENT_CHECK(it != state.end(), "ema: load_state_dict: tensor '", key, "' is missing");
    shadow.push_back(it->second.to(params_[i].dtype()).clone());
  }
  check_matching("ema: load_state_dict", params_, shadow);
  const auto count = state.find("num_updates");
  DESCENT_CHECK(count != state.end() && count->second.numel() == 1, "ema: load_state_dict: 'num_updates' is missing");
  shadow_ = std::move(shadow);
  updates_ = count->second.item<std::int64_t>();
}

}  // namespace descent::optim
