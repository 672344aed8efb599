// The registry of test functions: names, which options each takes, their ranges, the known minima and
// plotting defaults, and the "name(key=value,...)" parser. Standard library only (see functions.hpp).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>

#include "descent/core/error.hpp"
#include "descent/trajectory/functions.hpp"
#include "function_classes.hpp"

namespace descent::trajectory {
namespace {

using Box = std::array<std::array<double, 2>, 2>;

// Each coordinate of the minimum of (x^4 - 16x^2 + 5x)/2: the root of 4x^3 - 32x + 5 near -2.9.
constexpr double kStyblinskiTangArgmin = -2.903534027771177;
constexpr double kStyblinskiTangMinimumPerDim = -39.16616570377141;

struct Entry {
  int min_dims = 2;
  int max_dims = 2;  // 0: unbounded
  std::vector<std::string> keys;  // option keys besides dims that parse_function accepts
  std::function<std::unique_ptr<TestFunction>(const FunctionOptions&)> make;
};

Point repeated(int dims, double value) { return Point(static_cast<std::size_t>(dims), value); }

FunctionInfo info_2d(std::string name, std::vector<Point> minima, double minimum_value, Box bounds, Point start) {
  return {std::move(name), 2, std::move(minima), minimum_value, {}, bounds, std::move(start)};
}

template <class Class>
std::function<std::unique_ptr<TestFunction>(const FunctionOptions&)> fixed_2d(FunctionInfo info) {
  return [info](const FunctionOptions&) { return std::make_unique<Class>(info); };
}

const std::map<std::string, Entry>& registry() {
  using namespace detail;
  static const std::map<std::string, Entry> entries = {
      {"rosenbrock",
       {2, 0, {}, [](const FunctionOptions& o) {
          Point start = repeated(o.dims, 1.0);
          for (std::size_t i = 0; i < start.size(); i += 2) start[i] = -1.2;  // the classic (-1.2, 1)
          return std::make_unique<Rosenbrock>(FunctionInfo{"rosenbrock", o.dims, {repeated(o.dims, 1.0)}, 0.0,
                                                           {}, Box{{{-2, 2}, {-1, 3}}}, start});
        }}},
      {"beale", {2, 2, {}, fixed_2d<Beale>(info_2d("beale", {{3, 0.5}}, 0, Box{{{-4.5, 4.5}, {-4.5, 4.5}}}, {1, 1.5}))}},
      {"booth", {2, 2, {}, fixed_2d<Booth>(info_2d("booth", {{1, 3}}, 0, Box{{{-10, 10}, {-10, 10}}}, {-8, -8}))}},
      {"himmelblau",
       {2, 2, {}, fixed_2d<Himmelblau>(info_2d("himmelblau",
                                               {{3.0, 2.0},
                                                {-2.805118086952745, 3.131312518250573},
                                                {-3.779310253377747, -3.2831859912861696},
                                                {3.5844283403304917, -1.8481265269644036}},
                                               0, Box{{{-5, 5}, {-5, 5}}}, {0, 0}))}},
      {"rastrigin",
       {1, 0, {"a"}, [](const FunctionOptions& o) {
          return std::make_unique<Rastrigin>(FunctionInfo{"rastrigin", o.dims, {repeated(o.dims, 0.0)}, 0.0, {},
                                                          Box{{{-5.12, 5.12}, {-5.12, 5.12}}}, repeated(o.dims, 3.2)},
                                             o.rastrigin_a);
        }}},
      {"ackley",
       {1, 0, {}, [](const FunctionOptions& o) {
          return std::make_unique<Ackley>(FunctionInfo{"ackley", o.dims, {repeated(o.dims, 0.0)}, 0.0, {},
                                                       Box{{{-5, 5}, {-5, 5}}}, repeated(o.dims, 3.5)});
        }}},
      {"styblinski_tang",
       {1, 0, {}, [](const FunctionOptions& o) {
          return std::make_unique<StyblinskiTang>(
              FunctionInfo{"styblinski_tang", o.dims, {repeated(o.dims, kStyblinskiTangArgmin)},
                           kStyblinskiTangMinimumPerDim * o.dims, {}, Box{{{-5, 5}, {-5, 5}}}, repeated(o.dims, 4.5)});
        }}},
      {"goldstein_price",
       {2, 2, {}, fixed_2d<GoldsteinPrice>(info_2d("goldstein_price", {{0, -1}}, 3, Box{{{-2, 2}, {-2, 2}}}, {1.5, 1.5}))}},
      {"six_hump_camel",
       {2, 2, {}, fixed_2d<SixHumpCamel>(info_2d("six_hump_camel",
                                                 {{0.08984201310031807, -0.7126564030207396},
                                                  {-0.08984201310031807, 0.7126564030207396}},
                                                 -1.0316284534898774, Box{{{-3, 3}, {-2, 2}}}, {-2, 1.5}))}},
      {"saddle",
       {2, 2, {}, [](const FunctionOptions&) {
          return std::make_unique<Saddle>(
              FunctionInfo{"saddle", 2, {}, std::nullopt, {{0, 0}}, Box{{{-2, 2}, {-2, 2}}}, {1.5, 1e-3}});
        }}},
      {"monkey_saddle",
       {2, 2, {}, [](const FunctionOptions&) {
          return std::make_unique<MonkeySaddle>(
              FunctionInfo{"monkey_saddle", 2, {}, std::nullopt, {{0, 0}}, Box{{{-2, 2}, {-2, 2}}}, {1.5, 0.5}});
        }}},
      {"quadratic",
       {2, 0, {"condition", "mu", "angle"}, [](const FunctionOptions& o) {
          Point start = repeated(o.dims, 1.0);
          start[0] = -1.5;
          return std::make_unique<Quadratic>(FunctionInfo{"quadratic", o.dims, {repeated(o.dims, 0.0)}, 0.0, {},
                                                          Box{{{-2, 2}, {-2, 2}}}, start},
                                             o);
        }}},
  };
  return entries;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

const Entry& find_entry(const std::string& name) {
  const auto& entries = registry();
  const auto found = entries.find(name);
  DESCENT_CHECK(found != entries.end(), "test function '", name, "' is unknown: expected one of ",
                joined(function_names()));
  return found->second;
}

void validate(const std::string& name, const Entry& entry, const FunctionOptions& options) {
  const bool too_many = entry.max_dims != 0 && options.dims > entry.max_dims;
  DESCENT_CHECK(options.dims >= entry.min_dims && !too_many, name, ": dims ", options.dims, " is invalid: expected ",
                entry.max_dims == entry.min_dims ? "exactly " + std::to_string(entry.min_dims)
                                                 : "an integer >= " + std::to_string(entry.min_dims));
  DESCENT_CHECK(std::isfinite(options.condition_number) && options.condition_number >= 1, name, ": condition ",
                options.condition_number, " is invalid: expected a number >= 1");
  DESCENT_CHECK(std::isfinite(options.mu) && options.mu > 0, name, ": mu ", options.mu,
                " is invalid: expected a number > 0");
  DESCENT_CHECK(std::isfinite(options.angle), name, ": angle ", options.angle, " is invalid: expected a finite number");
  DESCENT_CHECK(std::isfinite(options.rastrigin_a) && options.rastrigin_a >= 0, name, ": a ", options.rastrigin_a,
                " is invalid: expected a number >= 0");
}

double parse_number(const std::string& spec, const std::string& key, const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  DESCENT_CHECK(!text.empty() && end == text.c_str() + text.size(), "test function '", spec, "': ", key, "='",
                text, "' is invalid: expected a number");
  return value;
}

std::string trimmed(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

}  // namespace

std::unique_ptr<TestFunction> make_function(const std::string& name, const FunctionOptions& options) {
  const auto& entry = find_entry(name);
  validate(name, entry, options);
  return entry.make(options);
}

std::unique_ptr<TestFunction> parse_function(const std::string& spec) {
  const auto open = spec.find('(');
  const std::string name = trimmed(spec.substr(0, open));
  const auto& entry = find_entry(name);
  FunctionOptions options;
  if (open == std::string::npos) return make_function(name, options);

  DESCENT_CHECK(spec.back() == ')', "test function '", spec,
                "' is invalid: expected name or name(key=value,...), e.g. quadratic(condition=100,angle=0.5)");
  std::vector<std::string> valid = entry.keys;
  if (entry.max_dims != entry.min_dims) valid.insert(valid.begin(), "dims");
  const std::string body = spec.substr(open + 1, spec.size() - open - 2);
  std::size_t begin = 0;
  while (begin <= body.size() && !trimmed(body).empty()) {
    const auto comma = std::min(body.find(',', begin), body.size());
    const std::string pair = body.substr(begin, comma - begin);
    const auto equals = pair.find('=');
    DESCENT_CHECK(equals != std::string::npos, "test function '", spec, "': '", pair,
                  "' is invalid: expected key=value");
    const std::string key = trimmed(pair.substr(0, equals));
    const double value = parse_number(spec, key, trimmed(pair.substr(equals + 1)));
    DESCENT_CHECK(std::find(valid.begin(), valid.end(), key) != valid.end(), "test function '", spec,
                  "': option '", key, "' is unknown for ", name, ": expected ",
                  valid.empty() ? "no options" : "one of " + joined(valid));
    if (key == "dims") {
      DESCENT_CHECK(value == std::floor(value) && std::abs(value) < 1e9, "test function '", spec, "': dims=", value,
                    " is invalid: expected an integer");
      options.dims = static_cast<int>(value);
    } else if (key == "condition") {
      options.condition_number = value;
    } else if (key == "mu") {
      options.mu = value;
    } else if (key == "angle") {
      options.angle = value;
    } else if (key == "a") {
      options.rastrigin_a = value;
    }
    begin = comma + 1;
    if (comma == body.size()) break;
  }
  return make_function(name, options);
}

std::vector<std::string> function_names() {
  std::vector<std::string> names;
  for (const auto& [name, entry] : registry()) names.push_back(name);
  return names;
}

bool is_n_dimensional(const std::string& name) { return find_entry(name).max_dims == 0; }

}  // namespace descent::trajectory
