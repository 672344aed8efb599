#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "descent/data/split.hpp"
#include "temp_dir.hpp"

using namespace descent;
using namespace descent::data;
using descent::data::testing::error_message;

namespace {
// Every index of [0, n) appears in exactly one part.
void expect_partition(const Split& split, std::int64_t n) {
  std::vector<std::int64_t> all = split.train;
  all.insert(all.end(), split.validation.begin(), split.validation.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(std::int64_t(all.size()), n);
  for (std::int64_t i = 0; i < n; ++i) ASSERT_EQ(all[std::size_t(i)], i);
}
}  // namespace

TEST(Split, RandomSplitIsSeededAndSized) {
  const Split a = random_split(1000, 0.2, 5), b = random_split(1000, 0.2, 5), c = random_split(1000, 0.2, 6);
  expect_partition(a, 1000);
  EXPECT_EQ(a.validation.size(), 200u);
  EXPECT_EQ(a.validation, b.validation);
  EXPECT_NE(a.validation, c.validation);
  EXPECT_TRUE(std::is_sorted(a.train.begin(), a.train.end()));
}

TEST(Split, StratifiedSplitKeepsClassProportions) {
  // 70% class 0, 20% class 1, 10% class 2, in blocks (an unshuffled file).
  std::vector<std::int64_t> labels;
  for (int i = 0; i < 700; ++i) labels.push_back(0);
  for (int i = 0; i < 200; ++i) labels.push_back(1);
  for (int i = 0; i < 100; ++i) labels.push_back(2);
  const Tensor label_tensor = from_vector(labels, Shape{1000});
  const Split split = stratified_split(label_tensor, 0.25, 3);
  expect_partition(split, 1000);
  std::vector<std::int64_t> validation_counts(3, 0), train_counts(3, 0);
  for (auto i : split.validation) ++validation_counts[std::size_t(labels[std::size_t(i)])];
  for (auto i : split.train) ++train_counts[std::size_t(labels[std::size_t(i)])];
  // round(0.25 * count) per class exactly: 175, 50, 25.
  EXPECT_EQ(validation_counts, (std::vector<std::int64_t>{175, 50, 25}));
  EXPECT_EQ(train_counts, (std::vector<std::int64_t>{525, 150, 75}));
  EXPECT_EQ(stratified_split(label_tensor, 0.25, 3).validation, split.validation);
  EXPECT_NE(stratified_split(label_tensor, 0.25, 4).validation, split.validation);
}

TEST(Split, KFoldCoversEveryIndexOnceAsValidation) {
  const auto folds = k_fold(103, 5, 9);
  ASSERT_EQ(folds.size(), 5u);
  std::vector<int> times_validated(103, 0);
  std::vector<std::size_t> sizes;
  for (const auto& fold : folds) {
    expect_partition(fold, 103);
    sizes.push_back(fold.validation.size());
    for (auto i : fold.validation) ++times_validated[std::size_t(i)];
  }
  for (int count : times_validated) EXPECT_EQ(count, 1);
  EXPECT_EQ(sizes, (std::vector<std::size_t>{21, 21, 21, 20, 20}));  // the first 103 % 5 folds get one more
  const auto unshuffled = k_fold(10, 2, 0, /*shuffle=*/false);
  EXPECT_EQ(unshuffled[0].validation, (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
}

TEST(Split, RejectsBadArguments) {
  EXPECT_THAT(error_message([] { random_split(10, 1.5, 0); }), ::testing::HasSubstr("validation_fraction = 1.5"));
  EXPECT_THAT(error_message([] { k_fold(3, 4, 0); }), ::testing::HasSubstr("folds = 4 for 3 samples"));
  EXPECT_THAT(error_message([] { stratified_split(zeros(Shape{3}), 0.5, 0); }),
              ::testing::HasSubstr("expected int64 labels"));
}
