#pragma once
// The command-line form of optimizers and schedules: "name(key=value,...)", several separated by commas
// at the top level: "sgd(lr=0.01,momentum=0.9),adam(lr=0.05,betas=(0.9,0.99)),lbfgs".
// Values are numbers, true/false, tuples "(a,b)" (JSON arrays, e.g. betas), and otherwise strings
// (line_search_fn=strong_wolfe). The name and option names are checked by make_optimizer and
// make_schedule, which list the valid ones; the parser names the part it cannot read.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace descent::trajectory {

struct NamedOptions {
  std::string label;  // the text as written (trimmed), unique within a list
  std::string name;
  nlohmann::json options = nlohmann::json::object();
};

// One "name" or "name(key=value,...)". `what` names the flag in messages ("--optimizers").
NamedOptions parse_named_options(const std::string& text, const std::string& what);
// A comma-separated list of them; duplicate labels get " #2", " #3", ... appended.
std::vector<NamedOptions> parse_named_options_list(const std::string& text, const std::string& what);

}  // namespace descent::trajectory
