#include "descent/optim/wrappers/swa.hpp"

#include "elementwise.hpp"

namespace descent::optim {

using namespace detail_wrappers;

AverageFn ema_avg_fn(double decay) {
  DESCENT_CHECK(decay >= 0 && decay <= 1, "ema_avg_fn: decay = ", decay, ": expected 0 <= decay <= 1");
  return [decay](double averaged, double current, std::int64_t) { return decay * averaged + (1.0 - decay) * current; };
}

AveragedParameters::AveragedParameters(std::vector<Tensor> tracked, AverageFn avg_fn)
    : tracked_(std::move(tracked)), avg_fn_(std::move(avg_fn)) {
  check_tracked("swa", tracked_);
  averages_ = clones(tracked_);
}

void AveragedParameters::update_parameters() {
  const std::int64_t n = n_averaged_;
  for (std::size_t i = 0; i < tracked_.size(); ++i) {
    if (n == 0) {
      for_each_pair(averages_[i], tracked_[i], [](auto& average, auto& current) { average = current; });
    } else if (avg_fn_) {
      // A user function may not be thread-safe: run it on one thread.
      dispatch_floating(averages_[i].dtype(), "swa", [&](auto zero) {
        using T = decltype(zero);
        T* average = averages_[i].template data<T>();
        const T* current = tracked_[i].template data<T>();
        for (std::int64_t k = 0; k < averages_[i].numel(); ++k)
          average[k] = T(avg_fn_(double(average[k]), double(current[k]), n));
      });
      averages_[i].mark_modified();
    } else {
      for_each_pair(averages_[i], tracked_[i], [n](auto& average, auto& current) {
        using T = std::remove_reference_t<decltype(average)>;
        average = average + (current - average) / T(n + 1);
      });
    }
  }
  ++n_averaged_;
}

void AveragedParameters::copy_to(const std::vector<Tensor>& targets) const {
  check_matching("swa: copy_to", averages_, targets);
  for (std::size_t i = 0; i < targets.size(); ++i)
    for_each_pair(targets[i], averages_[i], [](auto& target, auto& average) { target = average; });
}

std::map<std::string, Tensor> AveragedParameters::state_dict() const {
  std::map<std::string, Tensor> out;
  for (std::size_t i = 0; i < averages_.size(); ++i) out["average." + std::to_string(i)] = averages_[i].clone();
  out["n_averaged"] = scalar_tensor(double(n_averaged_), DType::Int64);
  return out;
}

void AveragedParameters::load_state_dict(const std::map<std::string, Tensor>& state) {
  std::vector<Tensor> averages;
  for (std::size_t i = 0; i < tracked_.size(); ++i) {
    const std::string key = "average." + std::to_string(i);
    const auto it = state.find(key);
    DESCENT_CHECK(it != state.end(), "swa: load_state_dict: tensor '", key, "' is missing");
    averages.push_back(it->second.to(tracked_[i].dtype()).clone());
  }
  check_matching("swa: load_state_dict", tracked_, averages);
  const auto count = state.find("n_averaged");
  DESCENT_CHECK(count != state.end() && count->second.numel() == 1, "swa: load_state_dict: 'n_averaged' is missing");
  averages_ = std::move(averages);
  n_averaged_ = count->second.item<std::int64_t>();
}

}  // namespace descent::optim
