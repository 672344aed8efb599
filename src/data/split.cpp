#include "descent/data/split.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "descent/core/error.hpp"
#include "descent/core/rng.hpp"

namespace descent::data {

namespace {
void check_fraction(const char* op, double fraction) {
  DESCENT_CHECK(fraction >= 0.0 && fraction <= 1.0, op, ": validation_fraction = ", fraction,
                "; expected a value in [0, 1]");
}

void shuffle(std::vector<std::int64_t>& values, Generator& gen) {
  for (std::size_t i = values.size(); i > 1; --i) std::swap(values[i - 1], values[gen.below(i)]);
}

// Moves the first `count` of `pool` into validation and the rest into train.
void deal(const std::vector<std::int64_t>& pool, std::size_t count, Split& split) {
  split.validation.insert(split.validation.end(), pool.begin(), pool.begin() + std::ptrdiff_t(count));
  split.train.insert(split.train.end(), pool.begin() + std::ptrdiff_t(count), pool.end());
}

void sort_parts(Split& split) {
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.validation.begin(), split.validation.end());
}
}  // namespace

Split random_split(std::int64_t size, double validation_fraction, std::uint64_t seed) {
  check_fraction("random_split", validation_fraction);
  DESCENT_CHECK(size >= 0, "random_split: size = ", size, "; expected >= 0");
  std::vector<std::int64_t> order(static_cast<std::size_t>(size));
  std::iota(order.begin(), order.end(), 0);
  Generator gen(seed);
  shuffle(order, gen);
  Split split;
  deal(order, std::size_t(std::llround(validation_fraction * double(size))), split);
  sort_parts(split);
  return split;
}

Split stratified_split(const Tensor& labels, double validation_fraction, std::uint64_t seed) {
  check_fraction("stratified_split", validation_fraction);
  DESCENT_CHECK(labels.defined() && labels.dtype() == DType::Int64 && labels.dim() == 1,
                "stratified_split: expected int64 labels [N], got ",
                labels.defined() ? dtype_name(labels.dtype()) : "none");
  const auto values = labels.to_vector<std::int64_t>();
  std::map<std::int64_t, std::vector<std::int64_t>> by_class;  // ordered: the draw order is seed-determined
  for (std::size_t i = 0; i < values.size(); ++i) by_class[values[i]].push_back(std::int64_t(i));
  Generator gen(seed);
  Split split;
  for (auto& [label, members] : by_class) {
    shuffle(members, gen);
    deal(members, std::size_t(std::llround(validation_fraction * double(members.size()))), split);
  }
  sort_parts(split);
  return split;
}

std::vector<Split> k_fold(std::int64_t size, std::int64_t folds, std::uint64_t seed, bool shuffle_first) {
  DESCENT_CHECK(folds >= 2 && folds <= size, "k_fold: folds = ", folds, " for ", size,
                " samples; expected 2 <= folds <= samples");
  std::vector<std::int64_t> order(static_cast<std::size_t>(size));
  std::iota(order.begin(), order.end(), 0);
  if (shuffle_first) {
    Generator gen(seed);
    shuffle(order, gen);
  }
  std::vector<Split> result(static_cast<std::size_t>(folds));
  std::int64_t start = 0;
  for (std::int64_t f = 0; f < folds; ++f) {
    const std::int64_t length = size / folds + (f < size % folds ? 1 : 0);
    Split& split = result[std::size_t(f)];
    for (std::int64_t i = 0; i < size; ++i)
      (i >= start && i < start + length ? split.validation : split.train).push_back(order[std::size_t(i)]);
    sort_parts(split);
    start += length;
  }
  return result;
}

}  // namespace descent::data
