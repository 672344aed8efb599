#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "descent/data/synthetic.hpp"
#include "descent/data/transforms.hpp"
#include "temp_dir.hpp"

using namespace descent;
using namespace descent::data;
using descent::data::testing::error_message;
using ::testing::HasSubstr;

TEST(Scaler, StandardizeFitsOnTrainAndAppliesToOthers) {
  const Tensor train = from_vector(std::vector<float>{1, 10, 3, 10, 5, 10}, Shape{3, 2});
  const Tensor test = from_vector(std::vector<float>{3, 7}, Shape{1, 2});
  const Scaler scaler = Scaler::fit_standardize(train);
  EXPECT_EQ(scaler.shift(), (std::vector<double>{3, 10}));
  EXPECT_NEAR(scaler.scale()[0], std::sqrt(8.0 / 3.0), 1e-12);  // population standard deviation
  EXPECT_EQ(scaler.scale()[1], 1.0);                            // constant column: scale 1, not 0
  const auto scaled = scaler.apply(train).to_vector<float>();
  EXPECT_NEAR(scaled[0], -2.0 / std::sqrt(8.0 / 3.0), 1e-6);
  EXPECT_EQ(scaled[1], 0.0f);
  // The test split uses the training statistics, not its own.
  EXPECT_EQ(scaler.apply(test).to_vector<float>(), (std::vector<float>{0, -3}));
  const auto back = scaler.invert(scaler.apply(train)).to_vector<float>();
  const auto original = train.to_vector<float>();
  for (std::size_t i = 0; i < back.size(); ++i) EXPECT_NEAR(back[i], original[i], 1e-5);
}

TEST(Scaler, StandardizedTrainingDataHasZeroMeanUnitVariance) {
  Generator gen(11);
  const auto data = make_quadratic(gen, 2000, 5);
  const auto scaled = Scaler::fit_standardize(data.inputs()).apply(data.inputs()).to_vector<float>();
  for (int f = 0; f < 5; ++f) {
    double sum = 0, squares = 0;
    for (int i = 0; i < 2000; ++i) sum += scaled[std::size_t(i * 5 + f)];
    for (int i = 0; i < 2000; ++i) squares += std::pow(scaled[std::size_t(i * 5 + f)] - sum / 2000, 2);
    EXPECT_NEAR(sum / 2000, 0.0, 1e-5);
    EXPECT_NEAR(squares / 2000, 1.0, 1e-4);
  }
}

TEST(Scaler, ChannelAndGlobalStatistics) {
  // [N=1, C=2, 2] : channel 0 holds {0, 2}, channel 1 holds {10, 30}.
  const Tensor images = from_vector(std::vector<float>{0, 2, 10, 30}, Shape{1, 2, 2});
  const Scaler per_channel = Scaler::fit_standardize(images, StatisticsAxis::Channel);
  EXPECT_EQ(per_channel.shift(), (std::vector<double>{1, 20}));
  EXPECT_EQ(per_channel.scale(), (std::vector<double>{1, 10}));
  const Scaler global = Scaler::fit_min_max(images, StatisticsAxis::Global);
  EXPECT_EQ(global.apply(images).to_vector<float>(), (std::vector<float>{0, 2.0f / 30, 10.0f / 30, 1}));
}

TEST(Scaler, MinMaxMapsTrainingDataToUnitInterval) {
  const Tensor train = from_vector(std::vector<float>{-2, 0, 2, 4, 6, 8}, Shape{3, 2});
  const Scaler scaler = Scaler::fit_min_max(train);
  EXPECT_EQ(scaler.apply(train).to_vector<float>(), (std::vector<float>{0, 0, 0.5f, 0.5f, 1, 1}));
}

TEST(Scaler, JsonRoundTripGivesTheSameMap) {
  Generator gen(2);
  const auto data = make_quadratic(gen, 100, 3);
  for (const Scaler& scaler : {Scaler::fit_standardize(data.inputs()), Scaler::fit_min_max(data.inputs())}) {
    const std::string saved = scaler.to_json().dump();
    const Scaler loaded = Scaler::from_json(nlohmann::json::parse(saved));
    EXPECT_EQ(loaded.kind(), scaler.kind());
    EXPECT_EQ(loaded.shift(), scaler.shift());
    EXPECT_EQ(loaded.scale(), scaler.scale());
    EXPECT_EQ(loaded.apply(data.inputs()).to_vector<float>(), scaler.apply(data.inputs()).to_vector<float>());
    const nlohmann::json in_a_run_file = {{"input_scaler", scaler}};
    EXPECT_EQ(in_a_run_file.at("input_scaler").get<Scaler>().scale(), scaler.scale());
  }
}

TEST(Scaler, RejectsMismatchedShapesAndBadJson) {
  const Scaler scaler = Scaler::fit_standardize(zeros(Shape{4, 3}));
  EXPECT_THAT(error_message([&] { scaler.apply(zeros(Shape{2, 4})); }),
              HasSubstr("samples of shape [4]; the scaler was fitted on samples of shape [3]"));
  auto json = scaler.to_json();
  json["scale"] = std::vector<double>{1, 0, 1};
  EXPECT_THAT(error_message([&] { Scaler::from_json(json); }), HasSubstr("scale 0; expected a finite value > 0"));
  json.erase("shift");
  EXPECT_THAT(error_message([&] { Scaler::from_json(json); }), HasSubstr("missing key 'shift'"));
  json = scaler.to_json();
  json["axis"] = "row";
  EXPECT_THAT(error_message([&] { Scaler::from_json(json); }), HasSubstr("axis 'row'"));
}

TEST(OneHot, EncodesAndRejectsOutOfRange) {
  const Tensor labels = from_vector(std::vector<std::int64_t>{2, 0}, Shape{2});
  EXPECT_EQ(one_hot(labels, 3).to_vector<float>(), (std::vector<float>{0, 0, 1, 1, 0, 0}));
  EXPECT_THAT(error_message([&] { one_hot(labels, 2); }), HasSubstr("label 2 at position 0 outside [0, 2)"));
}

TEST(ImageAugmentation, FlipOnlyMirrorsRows) {
  const Tensor image = from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, Shape{1, 1, 2, 3});
  const ImageAugmentation flip_only({.crop_padding = 0, .horizontal_flip = true});
  int flipped = 0;
  Generator gen(9);
  for (int trial = 0; trial < 200; ++trial) {
    const auto out = flip_only.apply(image, gen).to_vector<float>();
    if (out == std::vector<float>{3, 2, 1, 6, 5, 4}) {
      ++flipped;
    } else {
      ASSERT_EQ(out, image.to_vector<float>());
    }
  }
  EXPECT_GT(flipped, 70);  // about half of 200
  EXPECT_LT(flipped, 130);
}

TEST(ImageAugmentation, CropShiftsContentAndPadsWithZeros) {
  // A 5x5 image of ones: every crop keeps (5 - |dy|) x (5 - |dx|) ones, and all shifts appear.
  const Tensor ones_image = ones(Shape{1, 1, 5, 5});
  const ImageAugmentation crop({.crop_padding = 2, .horizontal_flip = false});
  Generator gen(4);
  std::vector<int> seen_sums;
  for (int trial = 0; trial < 300; ++trial) {
    const auto out = crop.apply(ones_image, gen).to_vector<float>();
    float sum = 0;
    for (float v : out) sum += v;
    seen_sums.push_back(int(sum));
  }
  std::sort(seen_sums.begin(), seen_sums.end());
  seen_sums.erase(std::unique(seen_sums.begin(), seen_sums.end()), seen_sums.end());
  // Products of {3, 4, 5} x {3, 4, 5}.
  EXPECT_EQ(seen_sums, (std::vector<int>{9, 12, 15, 16, 20, 25}));
}

TEST(ImageAugmentation, SameGeneratorStateSameOutput) {
  Generator source(8);
  const Tensor images = rand(Shape{4, 3, 8, 8}, source);
  const ImageAugmentation augment;
  Generator a(1), b(1);
  EXPECT_EQ(augment.apply(images, a).to_vector<float>(), augment.apply(images, b).to_vector<float>());
  EXPECT_THAT(error_message([&] { augment.apply(zeros(Shape{4, 64}), a); }), HasSubstr("[B, C, H, W]"));
}
