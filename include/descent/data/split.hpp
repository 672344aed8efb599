#pragma once
// Index splits for validation and cross-validation. Index lists come back sorted ascending, so a subset
// reads the source in order; the DataLoader does the shuffling.
#include <cstdint>
#include <vector>

#include "descent/core/tensor.hpp"

namespace descent::data {

struct Split {
  std::vector<std::int64_t> train;
  std::vector<std::int64_t> validation;
};

// A seeded random split of [0, size) with round(validation_fraction * size) samples in validation.
Split random_split(std::int64_t size, double validation_fraction, std::uint64_t seed);

// As random_split, but each class (int64 labels [N]) contributes round(validation_fraction * count) of
// its samples to validation, so both parts keep the class proportions.
Split stratified_split(const Tensor& labels, double validation_fraction, std::uint64_t seed);

// k folds of [0, size) (seeded shuffle first when `shuffle`): fold i validates on the i-th block and
// trains on the rest. The first size % folds blocks hold one extra sample (as scikit-learn's KFold).
std::vector<Split> k_fold(std::int64_t size, std::int64_t folds, std::uint64_t seed, bool shuffle = true);

}  // namespace descent::data
