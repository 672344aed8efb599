// Sobol' points against SciPy's plain sequence (tests/search/sobol_reference.py generates the
// tables), the scrambled sequence's properties, and the sampler's mapping and limits.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "descent/core/error.hpp"
#include "descent/search/sobol.hpp"

namespace descent::search {
namespace {

const double kFirstPoints[16][8] = {
    {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0},
    {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5},
    {0.75, 0.25, 0.25, 0.25, 0.75, 0.75, 0.25, 0.75},
    {0.25, 0.75, 0.75, 0.75, 0.25, 0.25, 0.75, 0.25},
    {0.375, 0.375, 0.625, 0.875, 0.375, 0.125, 0.375, 0.875},
    {0.875, 0.875, 0.125, 0.375, 0.875, 0.625, 0.875, 0.375},
    {0.625, 0.125, 0.875, 0.625, 0.625, 0.875, 0.125, 0.125},
    {0.125, 0.625, 0.375, 0.125, 0.125, 0.375, 0.625, 0.625},
    {0.1875, 0.3125, 0.9375, 0.4375, 0.5625, 0.3125, 0.4375, 0.9375},
    {0.6875, 0.8125, 0.4375, 0.9375, 0.0625, 0.8125, 0.9375, 0.4375},
    {0.9375, 0.0625, 0.6875, 0.1875, 0.3125, 0.5625, 0.1875, 0.1875},
    {0.4375, 0.5625, 0.1875, 0.6875, 0.8125, 0.0625, 0.6875, 0.6875},
    {0.3125, 0.1875, 0.3125, 0.5625, 0.9375, 0.4375, 0.0625, 0.0625},
    {0.8125, 0.6875, 0.8125, 0.0625, 0.4375, 0.9375, 0.5625, 0.5625},
    {0.5625, 0.4375, 0.0625, 0.8125, 0.1875, 0.6875, 0.3125, 0.8125},
    {0.0625, 0.9375, 0.5625, 0.3125, 0.6875, 0.1875, 0.8125, 0.3125},
};
const double kPoint1000[64] = 
{0.2197265625, 0.0966796875, 0.5185546875, 0.6767578125, 0.2802734375, 0.9072265625, 0.0458984375, 0.8994140625, 0.5009765625, 0.0693359375, 0.0849609375, 0.2548828125, 0.1611328125, 0.3837890625, 0.1435546875, 0.3701171875, 0.7197265625, 0.3447265625, 0.9912109375, 0.7255859375, 0.5224609375, 0.5498046875, 0.9501953125, 0.5400390625, 0.5830078125, 0.9072265625, 0.0400390625, 0.9794921875, 0.0595703125, 0.3408203125, 0.1474609375, 0.1455078125, 0.2958984375, 0.5927734375, 0.8017578125, 0.7705078125, 0.8486328125, 0.8310546875, 0.3076171875, 0.4794921875, 0.9130859375, 0.2548828125, 0.9599609375, 0.7021484375, 0.8408203125, 0.0927734375, 0.8720703125, 0.9189453125, 0.9990234375, 0.4794921875, 0.3525390625, 0.5166015625, 0.7529296875, 0.4384765625, 0.1259765625, 0.8916015625, 0.4541015625, 0.0791015625, 0.8837890625, 0.5712890625, 0.4462890625, 0.6025390625, 0.2587890625, 0.4462890625}
;
const double kPoint12345[64] = 
{0.64093017578125, 0.81341552734375, 0.16033935546875, 0.52679443359375, 0.88848876953125, 0.05889892578125, 0.12725830078125, 0.11334228515625, 0.80181884765625, 0.42962646484375, 0.07427978515625, 0.59881591796875, 0.93096923828125, 0.94183349609375, 0.03448486328125, 0.64080810546875, 0.06256103515625, 0.05096435546875, 0.31939697265625, 0.34344482421875, 0.19927978515625, 0.08123779296875, 0.60699462890625, 0.86273193359375, 0.44134521484375, 0.29571533203125, 0.36602783203125, 0.48199462890625, 0.08770751953125, 0.40447998046875, 0.28692626953125, 0.66204833984375, 0.50262451171875, 0.66131591796875, 0.19024658203125, 0.91058349609375, 0.00262451171875, 0.32232666015625, 0.95989990234375, 0.94818115234375, 0.21551513671875, 0.80047607421875, 0.76214599609375, 0.57244873046875, 0.28887939453125, 0.47711181640625, 0.98187255859375, 0.23980712890625, 0.66314697265625, 0.61285400390625, 0.77142333984375, 0.45343017578125, 0.00885009765625, 0.61578369140625, 0.86614990234375, 0.55108642578125, 0.44610595703125, 0.97259521484375, 0.46221923828125, 0.96966552734375, 0.10809326171875, 0.62762451171875, 0.96990966796875, 0.46563720703125}
;

TEST(Sobol, FirstPointsMatchScipy) {
  SobolSequence sequence(8);
  for (std::uint64_t i = 0; i < 16; ++i) {
    const auto point = sequence.point(i);
    for (std::size_t d = 0; d < 8; ++d) EXPECT_EQ(point[d], kFirstPoints[i][d]) << "point " << i << " dim " << d;
  }
}

TEST(Sobol, FarPointsInEveryDimensionMatchScipy) {
  ASSERT_EQ(sobol_max_dimensions(), 64u);
  SobolSequence sequence(64);
  const auto p1000 = sequence.point(1000);
  const auto p12345 = sequence.point(12345);
  for (std::size_t d = 0; d < 64; ++d) {
    EXPECT_EQ(p1000[d], kPoint1000[d]) << "dim " << d;
    EXPECT_EQ(p12345[d], kPoint12345[d]) << "dim " << d;
  }
}

TEST(Sobol, TooManyDimensionsNameTheLimit) {
  try {
    SobolSequence sequence(65);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected 1 to 64"), std::string::npos) << e.what();
  }
}

TEST(Sobol, ScrambledStaysStratifiedAndDependsOnSeed) {
  // Affine scrambling keeps the (0, m, s)-net property: the first 2^k points put exactly one point
  // in each of the 2^k equal intervals of every coordinate.
  SobolSequence a(5), b(5);
  a.scramble(1);
  b.scramble(2);
  for (std::size_t d = 0; d < 5; ++d) {
    std::set<int> cells;
    for (std::uint64_t i = 0; i < 64; ++i) {
      const double x = a.point(i)[d];
      ASSERT_GE(x, 0.0);
      ASSERT_LT(x, 1.0);
      cells.insert(int(x * 64));
    }
    EXPECT_EQ(cells.size(), 64u) << "dim " << d;
  }
  EXPECT_NE(a.point(3), b.point(3));
  EXPECT_NE(a.point(0), std::vector<double>(5, 0.0));
}

TEST(SobolSampler, MapsPointsThroughTheSpaceWithSkip) {
  const auto space = SearchSpace::from_json({{"a", {{"type", "float"}, {"low", -1.0}, {"high", 1.0}}},
                                             {"b", {{"type", "float"}, {"low", 1e-4}, {"high", 1.0}, {"log", true}}}});
  SobolSampler sampler(0, 2, false);
  const auto params = sampler.sample(space, {}, 1);  // point 3 = (0.25, 0.75)
  EXPECT_DOUBLE_EQ(params["a"].get<double>(), -0.5);
  EXPECT_NEAR(params["b"].get<double>(), 1e-1, 1e-12);  // log-uniform: 10^(-4 + 0.75 * 4)
}

}  // namespace
}  // namespace descent::search
