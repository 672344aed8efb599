// The 2x2 stride-2 max-pooling fast path against a plain loop over the windows: values, and (through the
// gradient, which flows to the chosen element) the element chosen, with ties and NaNs.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "descent/autograd/functional.hpp"
#include "descent/autograd/node.hpp"
#include "descent/autograd/ops.hpp"

namespace descent {
namespace {

TEST(MaxPoolFastPath, MatchesThePlainLoopWithTiesAndNaNs) {
  Generator gen(8);
  const std::int64_t n = 2, c = 3, h = 9, w = 8;  // odd height: the last row is dropped
  Tensor x = randn(Shape{n, c, h, w}, gen);
  float* p = x.data<float>();
  for (std::int64_t i = 0; i < x.numel(); i += 7) p[i] = std::round(p[i]);  // ties
  p[5] = std::nanf("");
  p[70] = std::nanf("");
  p[71] = std::nanf("");
  p[100] = -std::numeric_limits<float>::infinity();
  x.set_requires_grad(true);
  Tensor y = max_pool2d(x, 2);
  autograd::backward(sum(y));
  const std::int64_t oh = h / 2, ow = w / 2;
  ASSERT_EQ(y.shape(), (Shape{n, c, oh, ow}));
  std::vector<float> expected_grad(std::size_t(x.numel()), 0.0f);
  for (std::int64_t plane = 0; plane < n * c; ++plane)
    for (std::int64_t i = 0; i < oh; ++i)
      for (std::int64_t j = 0; j < ow; ++j) {
        float best = -std::numeric_limits<float>::infinity();
        std::int64_t at = plane * h * w + 2 * i * w + 2 * j;
        for (std::int64_t di = 0; di < 2; ++di)
          for (std::int64_t dj = 0; dj < 2; ++dj) {
            const std::int64_t k = plane * h * w + (2 * i + di) * w + 2 * j + dj;
            if (p[k] > best || std::isnan(p[k])) {
              best = p[k];
              at = k;
            }
          }
        const float got = y.data<float>()[plane * oh * ow + i * ow + j];
        if (std::isnan(best)) {
          EXPECT_TRUE(std::isnan(got));
        } else {
          EXPECT_EQ(got, best) << "plane " << plane << " window (" << i << ", " << j << ")";
        }
        expected_grad[std::size_t(at)] += 1.0f;
      }
  const auto grad = x.grad().to_vector<float>();
  for (std::size_t k = 0; k < grad.size(); ++k) EXPECT_EQ(grad[k], expected_grad[k]) << "element " << k;
}

}  // namespace
}  // namespace descent
