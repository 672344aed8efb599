// Cost of the data path for Fashion-MNIST: IDX decode of the training set, one loader epoch (batch 128,
// shuffled, [B, 784]) with and without prefetch, and the same epoch feeding the GEMMs of a 784-256-256-10
// MLP training step, against those GEMMs alone. The GEMMs are a lower bound on an MLP epoch, so the
// loader's share measured against them is an upper bound on its share of real training.
//   build-*/bench/bench_data_loader --benchmark_filter=...   (skips everything when the dataset is absent)
#include <benchmark/benchmark.h>

#include <filesystem>
#include <memory>
#include <vector>

#include "descent/core/blas.hpp"
#include "descent/data/idx.hpp"
#include "descent/data/loader.hpp"
#include "descent/data/mnist.hpp"

using namespace descent;
using namespace descent::data;

namespace {

constexpr std::int64_t kBatch = 128;

std::filesystem::path train_images() { return fashion_mnist_dir() / "train-images-idx3-ubyte.gz"; }
std::filesystem::path train_labels() { return fashion_mnist_dir() / "train-labels-idx1-ubyte.gz"; }
bool have_dataset() { return std::filesystem::exists(train_images()); }

const std::shared_ptr<const TensorDataset>& fashion_train() {
  static const auto dataset = std::make_shared<const TensorDataset>(
      load_mnist(train_images(), train_labels(), MnistOptions{.flatten = true}));
  return dataset;
}

// The GEMMs of one training step of a 784-256-256-10 MLP: three forward products, then for each layer the
// weight gradient and (except the first) the input gradient. Activations and their gradients are not
// computed, which makes this a lower bound on the engine's step.
class MlpGemms {
 public:
  MlpGemms() {
    for (std::size_t l = 0; l < 3; ++l) {
      weights_[l].assign(std::size_t(kWidths[l] * kWidths[l + 1]), 0.01f);
      weight_grads_[l].assign(weights_[l].size(), 0.0f);
      activations_[l + 1].assign(std::size_t(kBatch * kWidths[l + 1]), 0.0f);
      grads_[l].assign(std::size_t(kBatch * kWidths[l]), 0.0f);
    }
    grads_[3].assign(std::size_t(kBatch * kWidths[3]), 0.01f);
  }

  void step(const float* inputs, std::int64_t rows) {
    const float* a = inputs;
    for (int l = 0; l < 3; ++l) {
      blas::gemm(false, false, rows, kWidths[l + 1], kWidths[l], 1.0f, a, kWidths[l], weights_[l].data(),
                 kWidths[l + 1], 0.0f, activations_[l + 1].data(), kWidths[l + 1]);
      a = activations_[l + 1].data();
    }
    for (int l = 2; l >= 0; --l) {
      const float* layer_input = l == 0 ? inputs : activations_[l].data();
      blas::gemm(true, false, kWidths[l], kWidths[l + 1], rows, 1.0f, layer_input, kWidths[l],
                 grads_[l + 1].data(), kWidths[l + 1], 0.0f, weight_grads_[l].data(), kWidths[l + 1]);
      if (l > 0)
        blas::gemm(false, true, rows, kWidths[l], kWidths[l + 1], 1.0f, grads_[l + 1].data(), kWidths[l + 1],
                   weights_[l].data(), kWidths[l + 1], 0.0f, grads_[l].data(), kWidths[l]);
    }
    benchmark::DoNotOptimize(weight_grads_[0].data());
  }

 private:
  static constexpr std::int64_t kWidths[4] = {784, 256, 256, 10};
  std::vector<float> weights_[3], weight_grads_[3], activations_[4], grads_[4];
};

void BM_ReadIdxTrainImages(benchmark::State& state) {
  if (!have_dataset()) return state.SkipWithError("Fashion-MNIST not installed");
  for (auto _ : state) benchmark::DoNotOptimize(read_idx(train_images()).bytes.data());
  state.SetBytesProcessed(std::int64_t(state.iterations()) * 60000 * 784);
}
BENCHMARK(BM_ReadIdxTrainImages)->Unit(benchmark::kMillisecond)->Iterations(5);

void BM_LoadFashionMnistTrain(benchmark::State& state) {
  if (!have_dataset()) return state.SkipWithError("Fashion-MNIST not installed");
  for (auto _ : state)
    benchmark::DoNotOptimize(load_mnist(train_images(), train_labels(), {.flatten = true}).inputs().raw_data());
}
BENCHMARK(BM_LoadFashionMnistTrain)->Unit(benchmark::kMillisecond)->Iterations(5);

// One epoch of batches with nothing consuming them. Arg: prefetch depth (0 = on the caller's thread).
void BM_LoaderEpoch(benchmark::State& state) {
  if (!have_dataset()) return state.SkipWithError("Fashion-MNIST not installed");
  DataLoader loader(fashion_train(), {.batch_size = kBatch, .shuffle = true, .seed = 1, .prefetch = state.range(0)});
  std::int64_t epoch = 0;
  for (auto _ : state) {
    float checksum = 0;
    for (const Batch& batch : loader.epoch(epoch++)) checksum += batch.inputs.data<float>()[0];
    benchmark::DoNotOptimize(checksum);
  }
}
BENCHMARK(BM_LoaderEpoch)->Arg(0)->Arg(2)->ArgName("prefetch")->Unit(benchmark::kMillisecond)->MinTime(2.0);

// The MLP GEMMs over one epoch. Arg -1: no loader (one batch reused: the compute alone); 0: the loader on
// the caller's thread; 2: the loader with prefetch depth 2 on a background thread.
void BM_MlpGemmEpoch(benchmark::State& state) {
  if (!have_dataset()) return state.SkipWithError("Fashion-MNIST not installed");
  const std::int64_t mode = state.range(0);
  MlpGemms mlp;
  const auto& data = fashion_train();
  const std::int64_t steps = (data->size() + kBatch - 1) / kBatch;
  std::int64_t epoch = 0;
  if (mode < 0) {
    std::vector<std::int64_t> first(kBatch);
    for (std::int64_t i = 0; i < kBatch; ++i) first[std::size_t(i)] = i;
    const Batch batch = data->get_batch(first);
    for (auto _ : state)
      for (std::int64_t s = 0; s < steps; ++s) mlp.step(batch.inputs.data<float>(), kBatch);
    return;
  }
  DataLoader loader(data, {.batch_size = kBatch, .shuffle = true, .seed = 1, .prefetch = mode});
  for (auto _ : state)
    for (const Batch& batch : loader.epoch(epoch++)) mlp.step(batch.inputs.data<float>(), batch.inputs.size(0));
}
BENCHMARK(BM_MlpGemmEpoch)->Arg(-1)->Arg(0)->Arg(2)->ArgName("loader")->Unit(benchmark::kMillisecond)->MinTime(3.0);

}  // namespace

BENCHMARK_MAIN();
