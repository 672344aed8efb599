// MetricAccumulator: accuracy and top-k rank the true class as torch.argmax/topk do (first maximum wins),
// and a row holding a NaN counts as wrong, so a diverged or collapsed model cannot score 1.0.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "descent/train/metrics.hpp"

using namespace descent;
using namespace descent::train;

namespace {

MetricMap score(const std::vector<float>& logits, const std::vector<std::int64_t>& labels, std::int64_t top_k) {
  const auto batch = std::int64_t(labels.size());
  MetricAccumulator metrics(true, top_k);
  metrics.add(from_vector(logits, Shape{batch, std::int64_t(logits.size()) / batch}), from_vector(labels, Shape{batch}), 1.0);
  return metrics.result("");
}

// The plain reference: argmax with the first maximum, NaN rows wrong.
double reference_accuracy(const std::vector<float>& logits, const std::vector<std::int64_t>& labels) {
  const std::size_t classes = logits.size() / labels.size();
  double correct = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    std::size_t best = 0;
    bool nan = false;
    for (std::size_t c = 0; c < classes; ++c) {
      nan |= std::isnan(logits[i * classes + c]);
      if (logits[i * classes + c] > logits[i * classes + best]) best = c;
    }
    correct += !nan && std::int64_t(best) == labels[i];
  }
  return correct / double(labels.size());
}

TEST(Metrics, NanLogitsAreWrongForAccuracyAndTopK) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const auto m = score({nan, nan, nan, nan, nan, nan, 0.f, nan, 2.f}, {0, 1, 2}, 2);
  EXPECT_EQ(m.at("accuracy"), 0.0);
  EXPECT_EQ(m.at("top2_accuracy"), 0.0);
}

TEST(Metrics, ConstantOutputsPredictTheFirstClassAsArgmaxDoes) {
  // Labels 0, 1, 2, 0: argmax of a constant row is 0, so two of four are right; top-2 holds classes 0 and 1.
  const auto m = score(std::vector<float>(12, 0.25f), {0, 1, 2, 0}, 2);
  EXPECT_DOUBLE_EQ(m.at("accuracy"), 0.5);
  EXPECT_DOUBLE_EQ(m.at("top2_accuracy"), 0.75);
}

TEST(Metrics, InfiniteLogitsTieLikeArgmax) {
  const float inf = std::numeric_limits<float>::infinity();
  const auto m = score({inf, inf, 0.f, -inf, 1.f, inf}, {1, 2}, 1);
  EXPECT_DOUBLE_EQ(m.at("accuracy"), 0.5);  // row 0 predicts class 0 (first inf), row 1 class 2
}

TEST(Metrics, AccuracyEqualsThePlainArgmaxLoopOnRandomRowsWithTies) {
  std::vector<float> logits;
  std::vector<std::int64_t> labels;
  std::uint32_t state = 12345;
  auto next = [&] { return state = state * 1664525u + 1013904223u; };
  for (int i = 0; i < 500; ++i) {
    for (int c = 0; c < 5; ++c) logits.push_back(float(next() % 4));  // few values: many ties
    if (i % 37 == 0) logits[logits.size() - 1 - next() % 5] = std::numeric_limits<float>::quiet_NaN();
    labels.push_back(std::int64_t(next() % 5));
  }
  EXPECT_DOUBLE_EQ(score(logits, labels, 1).at("accuracy"), reference_accuracy(logits, labels));
}

}  // namespace
