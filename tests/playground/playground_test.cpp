// The playground: its engine (built natively here from the same source as the WebAssembly module) against
// descent's optimizer loop and against hand-computed first steps; the WebAssembly module under node
// against the native engine; and the page in headless Chromium, which must draw the paths the native
// engine computes. The module and page tests skip when emscripten, node or Chromium are missing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "descent/core/tensor.hpp"
#include "descent/optim/optimizer.hpp"
#include "descent/trajectory/functions.hpp"
#include "playground_core.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// One row per optimizer in the registry, with options that move the point visibly in 60 steps.
struct Case {
  const char* optimizer;
  json options;
};
const std::vector<Case>& cases() {
  static const std::vector<Case> rows = {
      {"adabelief", {{"lr", 0.05}}},
      {"adadelta", {{"lr", 1.0}, {"rho", 0.95}}},
      {"adafactor", {{"lr", 0.05}}},
      {"adagrad", {{"lr", 0.3}, {"lr_decay", 0.01}}},
      {"adam", {{"lr", 0.05}}},
      {"adamax", {{"lr", 0.05}, {"weight_decay", 0.01}}},
      {"adamw", {{"lr", 0.05}, {"amsgrad", true}}},
      {"adan", {{"lr", 0.05}}},
      {"asgd", {{"lr", 0.001}, {"t0", 10}}},
      {"lamb", {{"lr", 0.05}, {"weight_decay", 0.01}}},
      {"lars", {{"lr", 1.0}, {"trust_coefficient", 0.01}}},
      {"lbfgs", {{"lr", 1.0}, {"line_search_fn", "strong_wolfe"}}},
      {"lion", {{"lr", 0.01}}},
      {"muon", {{"lr", 0.05}, {"weight_decay", 0.0}}},
      {"nadam", {{"lr", 0.05}, {"decoupled_weight_decay", true}, {"weight_decay", 0.01}}},
      {"novograd", {{"lr", 0.05}}},
      {"radam", {{"lr", 0.002}}},  // its first steps are SGD with momentum: Rosenbrock's gradient is ~150
      {"rmsprop", {{"lr", 0.01}, {"centered", true}, {"momentum", 0.5}}},
      {"rprop", {{"lr", 0.01}}},
      {"schedule_free_adamw", {{"lr", 0.05}, {"warmup_steps", 5}}},
      {"sgd", {{"lr", 0.0005}, {"momentum", 0.9}, {"nesterov", true}}},
      {"yogi", {{"lr", 0.05}}},
  };
  return rows;
}

json request_for(const Case& row, const std::string& function, std::array<double, 2> start, int steps) {
  return {{"function", function}, {"optimizer", row.optimizer}, {"options", row.options},
          {"start", {start[0], start[1]}}, {"steps", steps}};
}

// descent's optimizer driven the plain way: a float64 tensor, the gradient written into its grad, step().
std::vector<std::array<double, 3>> optimizer_loop(const Case& row, const std::string& function_spec,
                                                  std::array<double, 2> start, int steps) {
  const auto function = descent::trajectory::parse_function(function_spec);
  const descent::Shape shape = std::string(row.optimizer) == "muon" ? descent::Shape{1, 2} : descent::Shape{2};
  descent::Tensor param = descent::from_vector(std::vector<double>{start[0], start[1]}, shape);
  param.set_grad(descent::zeros(shape, descent::DType::Float64));
  double* x = param.data<double>();
  double* g = param.grad().data<double>();
  const auto f = [&] { return function->evaluate(std::span<const double>(x, 2), std::span<double>(g, 2)); };
  auto optimizer = descent::optim::make_optimizer(row.optimizer, {param}, row.options);
  std::vector<std::array<double, 3>> points{{x[0], x[1], f()}};
  for (int step = 0; step < steps; ++step) {
    if (optimizer->name() == "lbfgs")
      optimizer->step(f);
    else
      optimizer->step();
    const double value = f();
    if (!std::isfinite(value) || !std::isfinite(x[0]) || !std::isfinite(x[1])) break;
    points.push_back({x[0], x[1], value});
  }
  return points;
}

std::vector<std::array<double, 3>> points_of(const json& path) {
  std::vector<std::array<double, 3>> points;
  for (const auto& point : path.at("points")) points.push_back(point.get<std::array<double, 3>>());
  return points;
}

bool close(double a, double b, double tolerance) {
  return a == b || std::abs(a - b) <= tolerance * std::max({1.0, std::abs(a), std::abs(b)});
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

const fs::path& work_dir() {
  static const fs::path dir = [] {
    fs::path path = fs::path(DESCENT_PLAYGROUND_DIR) / "test";
    fs::create_directories(path);
    return path;
  }();
  return dir;
}

// A shell word in single quotes (the paths here hold no quote).
std::string quoted(const std::string& text) {
  std::string word(1, '\'');
  word += text;
  word += '\'';
  return word;
}

// Runs headless Chromium on the built page with `query`; returns the JSON of #playground-status.
// `screenshot` (optional) receives a PNG of the page. Files are named by `tag` (tests may run in parallel).
json page_status(const std::string& tag, const std::string& query, const fs::path& screenshot = {}) {
  const fs::path dom = work_dir() / (tag + ".dom.html"), log = work_dir() / (tag + ".chromium.log");
  std::string command = std::string("timeout 180 ") + DESCENT_CHROMIUM +
                        " --headless=new --no-sandbox --disable-gpu --window-size=1280,900"
                        " --virtual-time-budget=10000 --dump-dom";
  // An own profile per run: Chromium hands a second instance on the same profile to the first one.
  command += std::string(" --user-data-dir=") + quoted((work_dir() / (tag + ".profile")).string());
  if (!screenshot.empty()) command += std::string(" --screenshot=") + quoted(screenshot.string());
  command += std::string(" ") + quoted(std::string("file://") + DESCENT_PLAYGROUND_HTML + "?" + query) + " > " +
             quoted(dom.string()) + " 2> " + quoted(log.string());
  const int status = std::system(command.c_str());
  EXPECT_EQ(status, 0) << command << "\n" << read_text(log);
  const std::string text = read_text(dom);
  std::smatch match;
  const std::regex element(R"re(<pre id="playground-status">([^<]*)</pre>)re");
  if (!std::regex_search(text, match, element)) {
    ADD_FAILURE() << "no #playground-status in the page Chromium dumped (" << text.size() << " bytes)\n"
                  << read_text(log);
    return json::object();
  }
  std::string body = match[1].str();
  for (const auto& [entity, plain] : {std::pair{"&quot;", "\""}, {"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}})
    for (std::size_t at; (at = body.find(entity)) != std::string::npos;) body.replace(at, std::strlen(entity), plain);
  return json::parse(body);
}

}  // namespace

// ---- the engine, natively

TEST(PlaygroundEngine, TableCoversEveryOptimizer) {
  std::set<std::string> covered;
  for (const auto& row : cases()) covered.insert(row.optimizer);
  for (const auto& name : descent::optim::optimizer_names()) EXPECT_TRUE(covered.count(name)) << name;
  const json catalogue = descent::playground::catalogue();
  EXPECT_EQ(catalogue.at("optimizers").size(), descent::optim::optimizer_names().size());
  EXPECT_EQ(catalogue.at("functions").size(), descent::trajectory::function_names().size());
}

TEST(PlaygroundEngine, PathsEqualDescentsOptimizerLoop) {
  for (const auto& row : cases()) {
    for (const char* function : {"rosenbrock", "himmelblau"}) {
      const std::array<double, 2> start{-1.5, 2.0};
      const auto expected = optimizer_loop(row, function, start, 60);
      const auto actual = points_of(descent::playground::run_path(request_for(row, function, start, 60)));
      ASSERT_EQ(actual.size(), expected.size()) << row.optimizer << " on " << function;
      ASSERT_GT(actual.size(), 10u) << row.optimizer << " on " << function << " diverged early";
      for (std::size_t t = 0; t < actual.size(); ++t)
        for (int k = 0; k < 3; ++k)
          ASSERT_EQ(actual[t][std::size_t(k)], expected[t][std::size_t(k)])
              << row.optimizer << " on " << function << ", point " << t << ", coordinate " << k;
      EXPECT_NE(actual.back()[0], start[0]) << row.optimizer << " did not move";
    }
  }
}

TEST(PlaygroundEngine, FirstStepsByHand) {
  // Booth: f = (x + 2y - 7)^2 + (2x + y - 5)^2, gradient (10x + 8y - 34, 8x + 10y - 38); at (0, 0): (-34, -38).
  const auto sgd = points_of(descent::playground::run_path(
      {{"function", "booth"}, {"optimizer", "sgd"}, {"options", {{"lr", 0.01}}}, {"start", {0, 0}}, {"steps", 1}}));
  ASSERT_EQ(sgd.size(), 2u);
  EXPECT_DOUBLE_EQ(sgd[1][0], 0.34);
  EXPECT_DOUBLE_EQ(sgd[1][1], 0.38);
  EXPECT_DOUBLE_EQ(sgd[0][2], 74.0);
  // Adam's first step is lr * g / (|g| + eps) (bias corrections cancel): lr against -g's sign.
  const auto adam = points_of(descent::playground::run_path(
      {{"function", "booth"}, {"optimizer", "adam"}, {"options", {{"lr", 0.1}}}, {"start", {0, 0}}, {"steps", 1}}));
  EXPECT_NEAR(adam[1][0], 0.1, 1e-9);
  EXPECT_NEAR(adam[1][1], 0.1, 1e-9);
}

TEST(PlaygroundEngine, StopsAtDivergence) {
  const json path = descent::playground::run_path(
      {{"function", "rosenbrock"}, {"optimizer", "sgd"}, {"options", {{"lr", 0.05}}}, {"start", {-1.5, 2}}, {"steps", 200}});
  ASSERT_TRUE(path.at("diverged_at_step").is_number_integer());
  EXPECT_EQ(path.at("points").size(), path.at("diverged_at_step").get<std::size_t>());
}

TEST(PlaygroundEngine, BadRequestsComeBackAsMessages) {
  const auto error_of = [](const std::string& method, const json& request) {
    const json response = json::parse(descent::playground::call(method, request.dump()));
    EXPECT_TRUE(response.contains("error")) << response.dump();
    return response.value("error", std::string());
  };
  EXPECT_NE(error_of("run_path", {{"function", "rosenbrock"}, {"optimizer", "adam"}, {"options", {{"lr", -1}}},
                                  {"start", {0, 0}}, {"steps", 5}})
                .find("lr = -1"),
            std::string::npos);
  EXPECT_NE(error_of("run_path", {{"function", "nope"}, {"optimizer", "adam"}, {"start", {0, 0}}, {"steps", 5}})
                .find("nope"),
            std::string::npos);
  EXPECT_NE(error_of("run_path", {{"function", "rosenbrock(dims=3)"}, {"optimizer", "adam"}, {"start", {0, 0}},
                                  {"steps", 5}})
                .find("2-D"),
            std::string::npos);
  EXPECT_NE(error_of("run_path", {{"function", "booth"}, {"optimizer", "adam"}, {"start", {0, 0}}, {"steps", 0}})
                .find("'steps' = 0"),
            std::string::npos);
  EXPECT_NE(error_of("contour", {{"function", "booth"}, {"bounds", {{1, 0}, {0, 1}}}}).find("x0 < x1"),
            std::string::npos);
  EXPECT_NE(error_of("launch", json::object()).find("unknown method 'launch'"), std::string::npos);
}

TEST(PlaygroundEngine, ContourIsTheFunctionOnAGrid) {
  const json grid = descent::playground::contour({{"function", "booth"}, {"resolution", 3}, {"bounds", {{0, 2}, {1, 3}}}});
  EXPECT_EQ(grid.at("x"), json({0.0, 1.0, 2.0}));
  EXPECT_EQ(grid.at("y"), json({1.0, 2.0, 3.0}));
  EXPECT_EQ(grid.at("z")[2][1], 0.0);    // booth's minimum (1, 3)
  EXPECT_EQ(grid.at("z")[0][0], 41.0);   // (0 + 2 - 7)^2 + (0 + 1 - 5)^2 at (0, 1)
}

// ---- the WebAssembly module under node

TEST(PlaygroundModule, WebAssemblyPathsEqualNative) {
  if (std::string(DESCENT_PLAYGROUND_SKIPPED) != "") GTEST_SKIP() << "playground not built: " << DESCENT_PLAYGROUND_SKIPPED;
  if (std::string(DESCENT_NODE).empty()) GTEST_SKIP() << "node not found";
  ASSERT_TRUE(fs::exists(DESCENT_PLAYGROUND_MODULE)) << DESCENT_PLAYGROUND_MODULE;

  json requests = json::array({{{"method", "catalogue"}, {"request", json::object()}}});
  std::vector<json> path_requests;
  for (const auto& row : cases())
    for (const char* function : {"rosenbrock", "rastrigin", "ackley", "goldstein_price"}) {
      path_requests.push_back(request_for(row, function, {-1.2, 1.7}, 60));
      requests.push_back({{"method", "run_path"}, {"request", path_requests.back()}});
    }
  const json bad = {{"function", "beale"}, {"optimizer", "lion"}, {"options", {{"betas", {0.9, 2}}}},
                    {"start", {0, 0}}, {"steps", 3}};
  requests.push_back({{"method", "run_path"}, {"request", bad}});
  requests.push_back({{"method", "contour"}, {"request", {{"function", "ackley"}, {"resolution", 40}}}});

  const fs::path in = work_dir() / "requests.json", out = work_dir() / "responses.json";
  std::ofstream(in) << requests.dump();
  const std::string command = std::string(DESCENT_NODE) + " " + quoted(DESCENT_SOURCE_DIR "/tests/playground/run_module.js") +
                              " " + quoted(DESCENT_PLAYGROUND_MODULE) + " " + quoted(in.string()) + " > " +
                              quoted(out.string());
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const json responses = json::parse(read_text(out));
  ASSERT_EQ(responses.size(), requests.size());

  EXPECT_EQ(responses[0].at("ok"), descent::playground::catalogue());
  std::size_t coordinates = 0, bitwise = 0;
  std::map<std::string, double> worst, worst_first_step;  // largest relative difference per optimizer
  for (std::size_t i = 0; i < path_requests.size(); ++i) {
    const json& response = responses[i + 1];
    ASSERT_TRUE(response.contains("ok")) << response.dump();
    const auto wasm = points_of(response.at("ok"));
    const auto native = points_of(descent::playground::run_path(path_requests[i]));
    const std::string optimizer = path_requests[i].at("optimizer").get<std::string>();
    const std::string label = optimizer + " on " + path_requests[i].at("function").get<std::string>();
    ASSERT_EQ(wasm.size(), native.size()) << label;
    for (std::size_t t = 0; t < wasm.size(); ++t)
      for (std::size_t k = 0; k < 3; ++k) {
        ++coordinates;
        bitwise += wasm[t][k] == native[t][k];
        const double difference = std::abs(wasm[t][k] - native[t][k]) /
                                  std::max({1.0, std::abs(wasm[t][k]), std::abs(native[t][k])});
        worst[optimizer] = std::max(worst[optimizer], difference);
        if (t == 1) worst_first_step[optimizer] = std::max(worst_first_step[optimizer], difference);
      }
  }
  for (const auto& [optimizer, difference] : worst) {
    std::cout << "[ playground ] " << optimizer << ": largest relative difference " << difference
              << " (first step " << worst_first_step[optimizer] << ")\n";
    if (optimizer == "muon") {
      // Muon orthogonalises in float32 through matrix products (OpenBLAS natively, with its own summation
      // order and FMA; a plain loop in the module), so one step agrees to float32 rounding (epsilon 1.2e-7)
      // and 60 steps on Rastrigin or Ackley amplify that (6e-5 measured). Every other path is float64.
      EXPECT_LE(worst_first_step[optimizer], 1e-6) << optimizer;
      EXPECT_LE(difference, 1e-3) << optimizer;
    } else {
      EXPECT_LE(difference, 1e-12) << optimizer << ": largest relative difference between WebAssembly and native";
    }
  }
  std::cout << "[ playground ] " << bitwise << " of " << coordinates
            << " path coordinates bitwise equal between WebAssembly and native\n";
  const json& error = responses[responses.size() - 2];
  EXPECT_EQ(error.value("error", std::string()), json::parse(descent::playground::call("run_path", bad.dump())).at("error"));
  const json native_grid = descent::playground::contour({{"function", "ackley"}, {"resolution", 40}});
  const json& wasm_grid = responses.back().at("ok");
  for (std::size_t i = 0; i < 40; ++i)
    for (std::size_t j = 0; j < 40; ++j)
      ASSERT_TRUE(close(wasm_grid.at("z")[i][j].get<double>(), native_grid.at("z")[i][j].get<double>(), 1e-12));
}

// ---- the page in headless Chromium

TEST(PlaygroundPage, DrawsTheNativePathsInChromium) {
  if (std::string(DESCENT_PLAYGROUND_SKIPPED) != "") GTEST_SKIP() << "playground not built: " << DESCENT_PLAYGROUND_SKIPPED;
  if (std::string(DESCENT_CHROMIUM).empty()) GTEST_SKIP() << "chromium not found";
  ASSERT_TRUE(fs::exists(DESCENT_PLAYGROUND_HTML)) << DESCENT_PLAYGROUND_HTML;
  const fs::path screenshot = fs::path(DESCENT_PLAYGROUND_DIR) / "playground.png";
  fs::remove(screenshot);
  const json status = page_status(
      "draws", "function=rosenbrock&optimizer=adam,sgd,lbfgs&lr=0.05&sgd.lr=0.0005&sgd.momentum=0.9&start=-1.5,2&steps=200"
      "&autorun=1",
      screenshot);
  ASSERT_TRUE(status.is_object() && status.contains("paths")) << status.dump();
  EXPECT_EQ(status.at("errors"), json::array()) << status.dump();
  EXPECT_TRUE(status.at("drawn").get<bool>()) << status.dump();
  EXPECT_EQ(status.at("points"), 201) << status.dump();
  ASSERT_EQ(status.at("paths").size(), 3u);

  const std::vector<Case> shown = {{"adam", {{"lr", 0.05}}},
                                   {"sgd", {{"lr", 0.0005}, {"momentum", 0.9}}},
                                   {"lbfgs", {{"lr", 0.05}}}};
  for (std::size_t i = 0; i < shown.size(); ++i) {
    const json& path = status.at("paths")[i];
    EXPECT_EQ(path.at("optimizer"), shown[i].optimizer);
    const auto native = points_of(descent::playground::run_path(request_for(shown[i], "rosenbrock", {-1.5, 2}, 200)));
    ASSERT_EQ(path.at("points").get<std::size_t>(), native.size()) << shown[i].optimizer;
    const auto last = path.at("last").get<std::array<double, 3>>();
    for (std::size_t k = 0; k < 3; ++k)
      EXPECT_TRUE(close(last[k], native.back()[k], 1e-12)) << shown[i].optimizer << ": page " << last[k] << " native "
                                                           << native.back()[k];
  }
  const std::string png = read_text(screenshot);
  EXPECT_GT(png.size(), 10000u) << screenshot;
  EXPECT_EQ(png.substr(0, 4), "\x89PNG") << screenshot;
}

TEST(PlaygroundPage, ReportsABadUrlParameter) {
  if (std::string(DESCENT_PLAYGROUND_SKIPPED) != "") GTEST_SKIP() << "playground not built: " << DESCENT_PLAYGROUND_SKIPPED;
  if (std::string(DESCENT_CHROMIUM).empty()) GTEST_SKIP() << "chromium not found";
  const json status = page_status("bad-url", "function=booth&optimizer=adam&lr=-3&steps=10");
  ASSERT_TRUE(status.is_object() && status.contains("errors")) << status.dump();
  EXPECT_FALSE(status.at("drawn").get<bool>()) << status.dump();
  ASSERT_EQ(status.at("errors").size(), 1u) << status.dump();
  EXPECT_NE(status.at("errors")[0].get<std::string>().find("lr = -3"), std::string::npos) << status.dump();
}
