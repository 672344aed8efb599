#include "descent/schedule/reference_case.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "descent/core/error.hpp"
#include "descent/schedule/factory.hpp"

namespace descent::schedule {

namespace {

const nlohmann::json& field(const nlohmann::json& reference, const char* key) {
  DESCENT_CHECK(reference.is_object() && reference.contains(key), "schedule reference case: field '", key,
                "' is missing");
  return reference[key];
}

std::vector<double> number_list(const nlohmann::json& reference, const char* key) {
  const auto& list = field(reference, key);
  DESCENT_CHECK(list.is_array(), "schedule reference case: field '", key, "' = ", list.dump().substr(0, 80),
                ": expected a list of numbers");
  std::vector<double> values;
  for (const auto& item : list) {
    DESCENT_CHECK(item.is_number(), "schedule reference case: field '", key, "' holds ", item.dump(),
                  ": expected numbers");
    values.push_back(item.get<double>());
  }
  return values;
}

struct Comparison {
  double rtol = 1e-6, atol = 1e-9;
  std::size_t compared = 0;
  double worst_relative = 0.0;
  std::string mismatch;

  void check(const char* what, std::size_t index, double got, double want) {
    ++compared;
    const double error = std::abs(got - want);
    if (want != 0.0) worst_relative = std::max(worst_relative, error / std::abs(want));
    if (mismatch.empty() && !(error <= atol + rtol * std::abs(want))) {
      std::ostringstream out;
      out.precision(17);
      out << what << "[" << index << "]: got " << got << ", want " << want << " (|diff| " << error
          << " > atol " << atol << " + rtol " << rtol << " * |want|)";
      mismatch = out.str();
    }
  }
};

}  // namespace

std::string reference_schedule_name(const std::string& case_schedule) {
  if (case_schedule.starts_with("sequential")) return "sequentiallr";
  if (case_schedule.starts_with("chained")) return "chainedscheduler";
  const auto names = schedule_names();
  if (std::find(names.begin(), names.end(), case_schedule) != names.end()) return case_schedule;
  return case_schedule.substr(0, case_schedule.find('_'));  // "cycliclr_exp_range" -> "cycliclr"
}

ReferenceCheck check_reference_case(const nlohmann::json& reference) {
  const auto& case_name = field(reference, "schedule");
  DESCENT_CHECK(case_name.is_string(), "schedule reference case: field 'schedule' = ", case_name.dump(),
                ": expected a string");
  const auto name = reference_schedule_name(case_name.get<std::string>());
  auto schedule = make_schedule(name, reference.value("options", nlohmann::json::object()));
  const double base = field(reference, "base_lr").get<double>();
  Comparison compare;
  compare.rtol = reference.value("rtol", 1e-6);
  compare.atol = reference.value("atol", 1e-9);

  if (reference.contains("metrics")) {
    const auto metrics = number_list(reference, "metrics");
    const auto expected = number_list(reference, "expected_lr_after_each_metric");
    DESCENT_CHECK(metrics.size() == expected.size(), "schedule reference case: ", metrics.size(), " metrics but ",
                  expected.size(), " expected rates: expected one per metric");
    for (std::size_t i = 0; i < metrics.size(); ++i) {
      const auto step = static_cast<std::int64_t>(i);
      schedule->observe(step, metrics[i]);
      compare.check("expected_lr_after_each_metric", i, schedule->value(step + 1, base), expected[i]);
    }
  } else {
    const auto expected = number_list(reference, "expected_lr");
    for (std::size_t i = 0; i < expected.size(); ++i) {
      compare.check("expected_lr", i, schedule->value(static_cast<std::int64_t>(i), base), expected[i]);
    }
    if (reference.contains("expected_momentum")) {
      const auto momentum = number_list(reference, "expected_momentum");
      const double group_momentum = reference.value("base_momentum_group", 0.9);
      for (std::size_t i = 0; i < momentum.size(); ++i) {
        const auto cycled = schedule->momentum(static_cast<std::int64_t>(i));
        compare.check("expected_momentum", i, cycled.value_or(group_momentum), momentum[i]);
      }
    }
  }
  ReferenceCheck result;
  result.passed = compare.mismatch.empty() && compare.compared > 0;
  if (!compare.mismatch.empty()) {
    result.detail = case_name.get<std::string>() + ": " + compare.mismatch;
  } else {
    std::ostringstream out;
    out << case_name.get<std::string>() << ": " << compare.compared << " values match"
        << (compare.compared == 0 ? " (none compared)" : "") << ", worst relative error " << compare.worst_relative;
    result.detail = out.str();
  }
  return result;
}

}  // namespace descent::schedule
