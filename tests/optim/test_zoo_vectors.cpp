// The Optax-family and PyTorch-family reference cases of tests/data/vectors/optim for Lion, LAMB, LARS,
// AdaBelief, Yogi, NovoGrad, Adan, schedule-free AdamW, Adafactor and Muon, through both the reference
// loop and the fast path.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "descent/optim/optimizer.hpp"

namespace descent::optim {
namespace {

const std::filesystem::path kDir = DESCENT_SOURCE_DIR "/tests/data/vectors/optim";
const std::set<std::string> kAlgorithms = {"lion", "lamb",      "lars",      "adabelief", "yogi",
                                           "novograd", "adan", "schedule_free_adamw", "adafactor", "muon"};

std::vector<std::filesystem::path> zoo_cases() {
  std::vector<std::filesystem::path> files;
  if (!std::filesystem::is_directory(kDir)) return files;
  for (const auto& entry : std::filesystem::directory_iterator(kDir)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    const auto spec = nlohmann::json::parse(in);
    if (kAlgorithms.count(spec.at("optimizer").get<std::string>())) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Empty when every step matches; otherwise the first mismatch.
std::string run_case(const nlohmann::json& spec, bool reference_path);

std::string run_case_catching(const nlohmann::json& spec, bool reference_path) {
  try {
    return run_case(spec, reference_path);
  } catch (const std::exception& e) {
    return e.what();
  }
}

// A case's values as a tensor of the case's dtype (float32 unless it says float64).
Tensor case_tensor(const nlohmann::json& values, const Shape& shape, bool float64) {
  if (float64) return from_vector(values.get<std::vector<double>>(), shape);
  return from_vector(values.get<std::vector<float>>(), shape);
}

std::string run_case(const nlohmann::json& spec, bool reference_path) {
  const bool float64 = spec.value("dtype", "float32") == "float64";
  std::vector<Tensor> params;
  std::vector<Shape> shapes;
  for (std::size_t i = 0; i < spec["shapes"].size(); ++i) {
    shapes.emplace_back(spec["shapes"][i].get<std::vector<std::int64_t>>());
    params.push_back(case_tensor(spec["params"][i], shapes.back(), float64));
  }
  auto optimizer = make_optimizer(spec["optimizer"], params, spec["options"]);
  optimizer->set_reference_path(reference_path);
  const double rtol = spec["rtol"], atol = spec["atol"];
  for (std::size_t step = 0; step < spec["grads"].size(); ++step) {
    for (std::size_t i = 0; i < params.size(); ++i)
      params[i].set_grad(case_tensor(spec["grads"][step][i], shapes[i], float64));
    optimizer->step();
    for (std::size_t i = 0; i < params.size(); ++i) {
      const auto got = params[i].to_vector<double>();
      const auto want = spec["expected"][step][i].get<std::vector<double>>();
      for (std::size_t k = 0; k < want.size(); ++k)
        if (!(std::abs(got[k] - want[k]) <= atol + rtol * std::abs(want[k]))) {
          std::ostringstream out;
          out.precision(9);
          out << "step " << step + 1 << " tensor " << i << " element " << k << ": got " << got[k] << ", want "
              << want[k];
          return out.str();
        }
    }
  }
  return "";
}

TEST(ZooVectors, EveryCasePassesOnBothPaths) {
  const auto files = zoo_cases();
  ASSERT_FALSE(files.empty()) << "no reference vectors at " << kDir;
  EXPECT_GE(files.size(), 20u);
  for (const auto& file : files) {
    std::ifstream in(file);
    const auto spec = nlohmann::json::parse(in);
    for (const bool reference : {true, false})
      EXPECT_EQ(run_case_catching(spec, reference), "") << file.filename() << (reference ? " (reference path)" : " (fast path)");
  }
}

}  // namespace
}  // namespace descent::optim
