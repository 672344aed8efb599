#pragma once
// Studies that train one model several ways and compare what the trainings reached (docs/LANDSCAPE.md):
//   sharpness:       the same model, data and seed trained with different optimizers (SGD and Adam by
//                    default); the top Hessian eigenvalue of each trained model (Keskar et al. 2017 relate
//                    sharp minima to worse generalisation);
//   regularization:  the same model trained with and without dropout, weight decay and batch norm; the
//                    gap between training and validation loss and accuracy of each.
// A study config is a training config (docs/CONFIG.md) plus a [sharpness] or [regularization] table.
// Each training is an ordinary run folder under STUDY_DIR/runs/.
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "descent/landscape/hessian.hpp"

namespace descent::landscape {

struct StudyConfig {
  nlohmann::json base;   // the training config, the study table removed
  nlohmann::json table;  // the study table ({} when absent)
};
// Reads `path`, applies the --set overrides (they may address the study table too), and splits off
// `table_name`. The training part is validated as a training config.
StudyConfig load_study_config(const std::filesystem::path& path, const std::string& table_name,
                              const std::vector<std::string>& overrides = {});

struct SharpnessRun {
  std::string label;
  nlohmann::json optimizer;  // an [optimizer] table: name and options
};
struct SharpnessOptions {
  std::vector<SharpnessRun> runs;  // default: SGD (lr 0.1) and Adam (lr 1e-3)
  std::string checkpoint = "last";
  std::int64_t samples = 1000;     // fixed training samples of the Hessian's loss
  PowerIterationOptions hessian;
};
// [sharpness]: runs = [{label, optimizer = {name, ...}}], checkpoint, samples, hessian_iterations,
// hessian_tolerance, hessian_epsilon, seed. Unknown keys are errors.
SharpnessOptions parse_sharpness(const nlohmann::json& table);

struct RegularizationVariant {
  std::string name;
  std::vector<std::string> overrides;  // "key.path=value", as `descent train --set`
};
// [regularization]: variants = [{name, overrides = [..]}]; default: baseline, dropout, weight_decay,
// batch_norm and all three combined.
std::vector<RegularizationVariant> parse_regularization(const nlohmann::json& table);

// Trains every run into `out`/runs/<label>, measures each, writes `out`/sharpness.json and returns it.
nlohmann::json run_sharpness_study(const StudyConfig& config, const SharpnessOptions& options,
                                   const std::filesystem::path& out, std::FILE* progress = nullptr);
// Trains every variant into `out`/runs/<name>, evaluates the final weights in eval mode on the whole
// training split and the validation split, writes `out`/regularization.json and returns it.
nlohmann::json run_regularization_study(const StudyConfig& config, const std::vector<RegularizationVariant>& variants,
                                        const std::filesystem::path& out, std::FILE* progress = nullptr);

}  // namespace descent::landscape
