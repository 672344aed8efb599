#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>

#include "descent/data/loader.hpp"
#include "descent/data/transforms.hpp"
#include "temp_dir.hpp"

using namespace descent;
using namespace descent::data;
using descent::data::testing::error_message;

namespace {
// Sample i has inputs [1, 2, 2] filled with i and label i % 7, so a batch reveals which samples it holds.
std::shared_ptr<TensorDataset> numbered_images(std::int64_t n) {
  std::vector<float> pixels;
  std::vector<std::int64_t> labels;
  for (std::int64_t i = 0; i < n; ++i) {
    for (int p = 0; p < 4; ++p) pixels.push_back(float(i) + 0.1f * float(p));
    labels.push_back(i % 7);
  }
  return std::make_shared<TensorDataset>(from_vector(pixels, Shape{n, 1, 2, 2}), from_vector(labels, Shape{n}));
}

struct Seen {
  std::vector<std::vector<float>> inputs;
  std::vector<std::vector<std::int64_t>> targets;
  std::vector<std::int64_t> indices;
  bool operator==(const Seen&) const = default;
};

Seen read_epoch(const DataLoader& loader, std::int64_t epoch, std::int64_t start = 0) {
  Seen seen;
  for (const Batch& batch : loader.epoch(epoch, start)) {
    seen.inputs.push_back(batch.inputs.to_vector<float>());
    seen.targets.push_back(batch.targets.to_vector<std::int64_t>());
    seen.indices.push_back(batch.index);
  }
  return seen;
}

// Sample ids of each batch (the first pixel of each image).
std::vector<std::int64_t> sample_ids(const Seen& seen) {
  std::vector<std::int64_t> ids;
  for (const auto& batch : seen.inputs)
    for (std::size_t i = 0; i < batch.size(); i += 4) ids.push_back(std::int64_t(batch[i]));
  return ids;
}
}  // namespace

TEST(DataLoader, BatchesHoldTheRightRowsAndTargets) {
  DataLoader loader(numbered_images(10), {.batch_size = 4, .shuffle = false, .prefetch = 0});
  const Seen seen = read_epoch(loader, 0);
  ASSERT_EQ(seen.inputs.size(), 3u);
  EXPECT_EQ(seen.inputs[0], (std::vector<float>{0, .1f, .2f, .3f, 1, 1.1f, 1.2f, 1.3f, 2, 2.1f, 2.2f, 2.3f, 3, 3.1f,
                                                3.2f, 3.3f}));
  EXPECT_EQ(seen.targets[1], (std::vector<std::int64_t>{4, 5, 6, 0}));
  EXPECT_EQ(seen.targets[2], (std::vector<std::int64_t>{1, 2}));  // the short last batch
  EXPECT_EQ(seen.indices, (std::vector<std::int64_t>{0, 1, 2}));
  auto reader = loader.epoch(0);
  const auto first = reader.next();
  EXPECT_EQ(first->inputs.shape(), (Shape{4, 1, 2, 2}));
  EXPECT_EQ(first->targets.shape(), (Shape{4}));
}

TEST(DataLoader, OrderIsAPureFunctionOfSeedAndEpoch) {
  const auto data = numbered_images(100);
  DataLoader a(data, {.batch_size = 8, .seed = 3, .prefetch = 0});
  DataLoader b(data, {.batch_size = 8, .seed = 3, .prefetch = 0});
  DataLoader other_seed(data, {.batch_size = 8, .seed = 4, .prefetch = 0});
  // Reading epoch 2 first (as a resumed run does) gives what a run that read epochs 0 and 1 sees next.
  const Seen b_epoch2 = read_epoch(b, 2);
  read_epoch(a, 0);
  read_epoch(a, 1);
  EXPECT_EQ(read_epoch(a, 2), b_epoch2);
  EXPECT_NE(sample_ids(read_epoch(a, 1)), sample_ids(b_epoch2));
  EXPECT_NE(sample_ids(read_epoch(other_seed, 2)), sample_ids(b_epoch2));
  // Every epoch is a permutation of all samples.
  auto ids = sample_ids(b_epoch2);
  std::sort(ids.begin(), ids.end());
  for (std::int64_t i = 0; i < 100; ++i) ASSERT_EQ(ids[std::size_t(i)], i);
}

TEST(DataLoader, ResumeAtBatchGivesTheRemainingBatches) {
  const auto augment = ImageAugmentation({.crop_padding = 1, .horizontal_flip = true});
  DataLoader loader(numbered_images(50), {.batch_size = 6, .seed = 11, .prefetch = 2, .transform = augment});
  const Seen full = read_epoch(loader, 4);
  const Seen resumed = read_epoch(loader, 4, 5);
  ASSERT_EQ(resumed.inputs.size(), full.inputs.size() - 5);
  for (std::size_t i = 0; i < resumed.inputs.size(); ++i) {
    EXPECT_EQ(resumed.inputs[i], full.inputs[i + 5]);
    EXPECT_EQ(resumed.targets[i], full.targets[i + 5]);
    EXPECT_EQ(resumed.indices[i], std::int64_t(i + 5));
  }
  EXPECT_TRUE(read_epoch(loader, 4, loader.batches_per_epoch()).inputs.empty());
  EXPECT_THAT(error_message([&] { loader.epoch(4, loader.batches_per_epoch() + 1); }),
              ::testing::HasSubstr("start batch 10; expected 0 to 9"));
}

TEST(DataLoader, DropLastDropsTheShortBatch) {
  const auto data = numbered_images(10);
  DataLoader keep(data, {.batch_size = 4, .drop_last = false});
  DataLoader drop(data, {.batch_size = 4, .drop_last = true});
  EXPECT_EQ(keep.batches_per_epoch(), 3);
  EXPECT_EQ(drop.batches_per_epoch(), 2);
  const Seen seen = read_epoch(drop, 1);
  ASSERT_EQ(seen.targets.size(), 2u);
  for (const auto& targets : seen.targets) EXPECT_EQ(targets.size(), 4u);
  DataLoader exact(numbered_images(8), {.batch_size = 4, .drop_last = true});
  EXPECT_EQ(exact.batches_per_epoch(), 2);
}

TEST(DataLoader, PrefetchGivesTheSameBatchesAsSynchronousLoading) {
  const auto data = numbered_images(203);
  const auto augment = ImageAugmentation({.crop_padding = 1, .horizontal_flip = true});
  for (std::int64_t depth : {1, 2, 8}) {
    DataLoader sync(data, {.batch_size = 16, .seed = 21, .prefetch = 0, .transform = augment});
    DataLoader prefetch(data, {.batch_size = 16, .seed = 21, .prefetch = depth, .transform = augment});
    for (std::int64_t epoch = 0; epoch < 3; ++epoch)
      EXPECT_EQ(read_epoch(sync, epoch), read_epoch(prefetch, epoch)) << "depth " << depth << " epoch " << epoch;
  }
}

TEST(DataLoader, AugmentationDiffersBetweenEpochsAndBatches) {
  // Same order each epoch (no shuffle), so any difference comes from the per-(epoch, batch) generator.
  const auto augment = ImageAugmentation({.crop_padding = 1, .horizontal_flip = true});
  DataLoader loader(numbered_images(64), {.batch_size = 32, .shuffle = false, .seed = 2, .transform = augment});
  EXPECT_NE(read_epoch(loader, 0).inputs, read_epoch(loader, 1).inputs);
  EXPECT_EQ(read_epoch(loader, 1).inputs, read_epoch(loader, 1).inputs);
}

TEST(DataLoader, AbandonedEpochStopsItsThreadAndErrorsReachTheCaller) {
  DataLoader loader(numbered_images(1000), {.batch_size = 10, .prefetch = 4});
  {
    auto reader = loader.epoch(0);
    ASSERT_TRUE(reader.next().has_value());
  }  // destroyed with the producer blocked on a full queue: must not hang
  std::atomic<int> calls = 0;
  DataLoader failing(numbered_images(100), {.batch_size = 10, .prefetch = 3, .transform = [&](Batch& batch, Generator&) {
                                              if (++calls == 4) throw Error("transform failed on batch " +
                                                                            std::to_string(batch.index));
                                            }});
  auto reader = failing.epoch(0);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(reader.next().has_value());
  EXPECT_THAT(error_message([&] { reader.next(); }), ::testing::HasSubstr("transform failed on batch 3"));
}

TEST(DataLoader, RejectsBadOptions) {
  EXPECT_THAT(error_message([] { DataLoader(numbered_images(4), {.batch_size = 0}); }),
              ::testing::HasSubstr("batch_size = 0"));
  EXPECT_THAT(error_message([] { DataLoader(nullptr, {}); }), ::testing::HasSubstr("no dataset"));
  auto data = numbered_images(4);
  const std::vector<std::int64_t> out_of_range{0, 4};
  EXPECT_THAT(error_message([&] { data->get_batch(out_of_range); }),
              ::testing::HasSubstr("sample index 4 outside [0, 4)"));
}

TEST(TensorDataset, SubsetFlattenAndTargetShapes) {
  const auto data = numbered_images(5);
  const std::vector<std::int64_t> picks{4, 1};
  const TensorDataset sub = data->subset(picks);
  EXPECT_EQ(sub.targets().to_vector<std::int64_t>(), (std::vector<std::int64_t>{4, 1}));
  EXPECT_EQ(sub.flattened().inputs().shape(), (Shape{2, 4}));
  EXPECT_EQ(sub.flattened().inputs().to_vector<float>(), sub.inputs().to_vector<float>());
  const TensorDataset regression(zeros(Shape{3, 2}), zeros(Shape{3}));
  EXPECT_EQ(regression.targets().shape(), (Shape{3, 1}));
  EXPECT_THAT(error_message([] { TensorDataset(zeros(Shape{3, 2}), zeros(Shape{4})); }),
              ::testing::HasSubstr("3 inputs but 4 targets"));
}

TEST(DataLoader, EpochOutlivesATemporaryLoader) {
  const TensorDataset data = *numbered_images(9);
  std::int64_t samples = 0;
  for (const Batch& batch : DataLoader(data, {.batch_size = 4, .prefetch = 2}).epoch(0)) samples += batch.targets.size(0);
  EXPECT_EQ(samples, 9);
}
