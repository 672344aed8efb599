// The layer operations of functional.hpp checked against central finite differences in float64, over
// several configurations each and with non-contiguous (permuted / transposed) inputs.
#include <gtest/gtest.h>

#include <functional>

#include "descent/autograd/functional.hpp"
#include "descent/autograd/gradcheck.hpp"
#include "descent/autograd/ops.hpp"

using namespace descent;
using Inputs = std::vector<Tensor>;

namespace {

Tensor leaf(const Shape& shape, std::uint64_t seed, double low = -1.0, double high = 1.0) {
  Generator gen(seed);
  Tensor t = rand(shape, gen, DType::Float64, low, high);
  t.set_requires_grad(true);
  return t;
}

// A non-contiguous [N, C, H, W] leaf whose memory is laid out as [N, H, W, C] (channels last).
Tensor channels_last_leaf(const Shape& nchw, std::uint64_t seed) {
  Generator gen(seed);
  const std::int64_t n = nchw[0], c = nchw[1], h = nchw[2], w = nchw[3];
  Tensor base = rand(Shape{n, h, w, c}, gen, DType::Float64, -1.0, 1.0);
  Tensor t = as_strided(base, nchw, Shape{h * w * c, 1, w * c, c}, 0);
  t.set_requires_grad(true);
  return t;
}

struct Case {
  std::string name;
  std::function<Tensor(const Inputs&)> f;
  std::function<Inputs()> inputs;
};

void check_all(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    const auto result = autograd::gradcheck(c.f, c.inputs());
    EXPECT_TRUE(result.passed) << c.name << ": " << result.detail;
  }
}

}  // namespace

TEST(FunctionalGradcheck, Conv2d) {
  check_all({
      {"3x3 with bias", [](const Inputs& x) { return conv2d(x[0], x[1], x[2]); },
       [] { return Inputs{leaf({2, 3, 5, 6}, 1), leaf({4, 3, 3, 3}, 2), leaf({4}, 3)}; }},
      {"stride 2, padding 1, 3x2 kernel", [](const Inputs& x) { return conv2d(x[0], x[1], x[2], 2, 1); },
       [] { return Inputs{leaf({2, 3, 7, 6}, 4), leaf({4, 3, 3, 2}, 5), leaf({4}, 6)}; }},
      {"dilation 2, padding (1, 2), no bias",
       [](const Inputs& x) { return conv2d(x[0], x[1], Tensor(), 1, Size2d{1, 2}, 2); },
       [] { return Inputs{leaf({1, 2, 7, 7}, 7), leaf({3, 2, 3, 3}, 8)}; }},
      {"groups 2, stride (2, 1), padding 1",
       [](const Inputs& x) { return conv2d(x[0], x[1], x[2], Size2d{2, 1}, 1, 1, 2); },
       [] { return Inputs{leaf({2, 4, 5, 5}, 9), leaf({6, 2, 3, 3}, 10), leaf({6}, 11)}; }},
      {"depthwise (groups = channels), stride 3",
       [](const Inputs& x) { return conv2d(x[0], x[1], x[2], 3, 1, 1, 3); },
       [] { return Inputs{leaf({2, 3, 7, 8}, 12), leaf({3, 1, 2, 2}, 13), leaf({3}, 14)}; }},
      {"channels-last input, 1x1 kernel", [](const Inputs& x) { return conv2d(x[0], x[1], x[2]); },
       [] { return Inputs{channels_last_leaf({2, 3, 4, 5}, 15), leaf({5, 3, 1, 1}, 16), leaf({5}, 17)}; }},
      {"channels-last input, stride 2 padding 2 dilation (2, 1)",
       [](const Inputs& x) { return conv2d(x[0], x[1], x[2], 2, 2, Size2d{2, 1}); },
       [] { return Inputs{channels_last_leaf({3, 2, 6, 5}, 18), leaf({2, 2, 3, 3}, 19), leaf({2}, 20)}; }},
      {"transposed weight", [](const Inputs& x) { return conv2d(x[0], transpose(x[1], 2, 3), x[2]); },
       [] { return Inputs{leaf({1, 2, 5, 4}, 21), leaf({3, 2, 2, 3}, 22), leaf({3}, 23)}; }},
  });
}

TEST(FunctionalGradcheck, MaxPool2d) {
  check_all({
      {"2x2 stride 2", [](const Inputs& x) { return max_pool2d(x[0], 2); },
       [] { return Inputs{leaf({2, 3, 6, 6}, 31)}; }},
      {"3x3 stride 2 padding 1 ceil_mode", [](const Inputs& x) { return max_pool2d(x[0], 3, 2, 1, 1, true); },
       [] { return Inputs{leaf({1, 2, 7, 8}, 32)}; }},
      {"overlapping (3, 2) stride (1, 2) dilation 2",
       [](const Inputs& x) { return max_pool2d(x[0], Size2d{3, 2}, Size2d{1, 2}, 0, 2); },
       [] { return Inputs{leaf({1, 2, 8, 7}, 33)}; }},
      {"channels-last input", [](const Inputs& x) { return max_pool2d(x[0], 2, 1); },
       [] { return Inputs{channels_last_leaf({2, 3, 4, 5}, 34)}; }},
      {"3-D input [C, H, W]", [](const Inputs& x) { return max_pool2d(x[0], 2, 2, 0, 1, true); },
       [] { return Inputs{leaf({3, 5, 5}, 35)}; }},
  });
}

TEST(FunctionalGradcheck, AvgPool2d) {
  check_all({
      {"2x2", [](const Inputs& x) { return avg_pool2d(x[0], 2); }, [] { return Inputs{leaf({2, 3, 6, 6}, 41)}; }},
      {"3x3 stride 2 padding 1 include pad", [](const Inputs& x) { return avg_pool2d(x[0], 3, 2, 1); },
       [] { return Inputs{leaf({1, 2, 7, 8}, 42)}; }},
      {"3x3 stride 2 padding 1 exclude pad",
       [](const Inputs& x) { return avg_pool2d(x[0], 3, 2, 1, false, false); },
       [] { return Inputs{leaf({1, 2, 7, 8}, 43)}; }},
      {"ceil_mode with padding", [](const Inputs& x) { return avg_pool2d(x[0], Size2d{3, 2}, 2, 1, true, true); },
       [] { return Inputs{leaf({2, 1, 6, 7}, 44)}; }},
      {"channels-last input", [](const Inputs& x) { return avg_pool2d(x[0], 2, 1); },
       [] { return Inputs{channels_last_leaf({2, 3, 4, 5}, 45)}; }},
  });
}

TEST(FunctionalGradcheck, Dropout) {
  check_all({
      {"p = 0.3", [](const Inputs& x) {
         Generator gen(7);  // the same mask on every evaluation
         return dropout(x[0], 0.3, true, gen);
       }, [] { return Inputs{leaf({4, 5}, 51)}; }},
      {"transposed input", [](const Inputs& x) {
         Generator gen(8);
         return dropout(transpose(x[0], 0, 1), 0.5, true, gen);
       }, [] { return Inputs{leaf({3, 6}, 52)}; }},
  });
}

TEST(FunctionalGradcheck, BatchNorm) {
  check_all({
      {"train [N, C] affine", [](const Inputs& x) {
         return batch_norm(x[0], Tensor(), Tensor(), x[1], x[2], true);
       }, [] { return Inputs{leaf({5, 3}, 61), leaf({3}, 62), leaf({3}, 63)}; }},
      {"train [N, C, H, W] with running stats", [](const Inputs& x) {
         Tensor mean = zeros(Shape{3}, DType::Float64), var = ones(Shape{3}, DType::Float64);
         return batch_norm(x[0], mean, var, x[1], x[2], true, 0.1, 1e-3);
       }, [] { return Inputs{leaf({2, 3, 3, 4}, 64), leaf({3}, 65), leaf({3}, 66)}; }},
      {"train no affine, channels-last", [](const Inputs& x) {
         return batch_norm(x[0], Tensor(), Tensor(), Tensor(), Tensor(), true);
       }, [] { return Inputs{channels_last_leaf({3, 2, 2, 3}, 67)}; }},
      {"train [N, C, L]", [](const Inputs& x) { return batch_norm(x[0], Tensor(), Tensor(), x[1], x[2], true); },
       [] { return Inputs{leaf({2, 4, 3}, 68), leaf({4}, 69), leaf({4}, 70)}; }},
      {"eval", [](const Inputs& x) {
         Generator gen(5);
         Tensor mean = rand(Shape{3}, gen, DType::Float64, -0.5, 0.5);
         Tensor var = rand(Shape{3}, gen, DType::Float64, 0.5, 2.0);
         return batch_norm(x[0], mean, var, x[1], x[2], false);
       }, [] { return Inputs{leaf({4, 3, 2, 2}, 71), leaf({3}, 72), leaf({3}, 73)}; }},
  });
}

TEST(FunctionalGradcheck, LayerNorm) {
  check_all({
      {"last dim, affine", [](const Inputs& x) { return layer_norm(x[0], {5}, x[1], x[2]); },
       [] { return Inputs{leaf({3, 4, 5}, 81), leaf({5}, 82), leaf({5}, 83)}; }},
      {"last two dims, affine", [](const Inputs& x) { return layer_norm(x[0], {4, 5}, x[1], x[2], 1e-3); },
       [] { return Inputs{leaf({3, 4, 5}, 84), leaf({4, 5}, 85), leaf({4, 5}, 86)}; }},
      {"no affine, transposed", [](const Inputs& x) { return layer_norm(transpose(x[0], 0, 1), {3}); },
       [] { return Inputs{leaf({3, 6}, 87)}; }},
      {"weight only", [](const Inputs& x) { return layer_norm(x[0], {6}, x[1]); },
       [] { return Inputs{leaf({2, 6}, 88), leaf({6}, 89)}; }},
  });
}

TEST(FunctionalGradcheck, Embedding) {
  const Tensor indices = from_vector<std::int64_t>({1, 4, 4, 0, 9, 1, 3, 4}, Shape{2, 4});
  check_all({
      {"repeated indices", [indices](const Inputs& x) { return embedding(indices, x[0]); },
       [] { return Inputs{leaf({10, 3}, 91)}; }},
      {"transposed weight", [indices](const Inputs& x) { return embedding(indices, transpose(x[0], 0, 1)); },
       [] { return Inputs{leaf({3, 10}, 92)}; }},
  });
}
