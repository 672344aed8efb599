// Trainer::fit: the seeds' problem, exact state round trip, non-finite policies, early stopping, plateau.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "descent/data/mnist.hpp"
#include "descent/nn/loss.hpp"
#include "descent/train/builders.hpp"
#include "descent/train/callbacks.hpp"
#include "descent/train/trainer.hpp"

using namespace descent;
using namespace descent::train;

namespace {

struct TrainingSetup {
  Config config;
  DataSplits splits;
  std::unique_ptr<data::DataLoader> train, validation;
};

TrainingSetup make_setup(const std::string& toml) {
  TrainingSetup s;
  s.config = parse_config(parse_toml(toml, "test"));
  s.splits = build_datasets(s.config.data, s.config.seed);
  s.train = std::make_unique<data::DataLoader>(make_train_loader(s.splits, s.config.data, s.config.seed));
  s.validation = std::make_unique<data::DataLoader>(make_eval_loader(s.splits.validation, s.config.data));
  return s;
}

std::unique_ptr<Trainer> make_trainer(const TrainingSetup& s, LossFunction loss = nullptr) {
  auto model = build_model(s.config.model, s.splits.sample_shape, s.splits.num_outputs, s.config.seed);
  TrainerOptions options;
  options.epochs = s.config.trainer.epochs;
  options.max_steps = s.config.trainer.max_steps;
  options.classification = s.splits.classification;
  options.accumulation_steps = s.config.transforms.accumulation_steps;
  options.gradients = s.config.transforms.pipeline;
  options.precision = parse_precision(s.config.trainer.precision);
  auto trainer = std::make_unique<Trainer>(model, build_optimizer(s.config.optimizer, *model),
                                           loss ? loss : build_loss(s.config.trainer, s.splits.classification), options);
  const std::int64_t steps = options.epochs * ((s.train->batches_per_epoch() + options.accumulation_steps - 1) / options.accumulation_steps);
  if (auto binding = build_schedule(s.config, trainer->optimizer(), steps)) trainer->add_schedule(*binding, false);
  return trainer;
}

// Captures a deep copy of the trainer's state after step `at`.
class Snapshot : public Callback {
 public:
  explicit Snapshot(std::int64_t at) : at_(at) {}
  std::string name() const override { return "snapshot"; }
  void on_step_end(Trainer& trainer, const StepRecord& record) override {
    if (record.step != at_) return;
    state = trainer.state();
    for (auto& [name, tensor] : state.tensors) tensor = tensor.clone();
  }
  TrainingState state;

 private:
  std::int64_t at_;
};

void expect_same_parameters(nn::Module& a, nn::Module& b) {
  const auto pa = a.state_dict(), pb = b.state_dict();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& [name, tensor] : pa) {
    const Tensor& other = pb.at(name);
    ASSERT_EQ(tensor.numel(), other.numel()) << name;
    EXPECT_EQ(0, std::memcmp(tensor.contiguous_copy().raw_data(), other.contiguous_copy().raw_data(),
                             std::size_t(tensor.numel()) * dtype_size(tensor.dtype())))
        << name << " differs";
  }
}

// Trains `s` to the end, once straight through and once restored from a snapshot taken after step `at`;
// returns {the uninterrupted trainer, the resumed one, the snapshot}.
struct ResumeRun {
  std::unique_ptr<Trainer> reference, resumed;
  TrainingState snapshot;
};
ResumeRun run_and_resume(const TrainingSetup& s, std::int64_t at) {
  ResumeRun r;
  r.reference = make_trainer(s);
  r.reference->fit(*s.train, s.validation.get());
  auto first = make_trainer(s);
  auto snapshot = std::make_shared<Snapshot>(at);
  first->add_callback(snapshot);
  first->fit(*s.train, s.validation.get());
  r.resumed = make_trainer(s);
  r.resumed->load_state(snapshot->state);
  r.resumed->fit(*s.train, s.validation.get());
  r.snapshot = snapshot->state;
  return r;
}

const char* kSeeds = R"(
[data]
dataset = "linear_regression"
prefetch = 0
[optimizer]
name = "sgd"
lr = 0.01
momentum = 0.9
[trainer]
epochs = 60
)";

}  // namespace

TEST(Trainer, FitsTheSeedsRegression) {
  TrainingSetup s = make_setup(kSeeds);
  auto trainer = make_trainer(s);
  const double before = trainer->evaluate(*s.validation, "val_").at("val_loss");
  trainer->fit(*s.train, s.validation.get());
  const auto& last = trainer->history().back().metrics;
  EXPECT_GT(before, 1.0);
  EXPECT_LT(last.at("val_mse"), 0.02);
  EXPECT_NEAR(last.at("val_mse"), last.at("val_loss"), 1e-6);
  EXPECT_GT(last.at("val_mae"), 0.0);
  EXPECT_EQ(trainer->history().size(), 60u);
  EXPECT_EQ(trainer->position().step, 60 * s.train->batches_per_epoch());
  EXPECT_GT(last.at("peak_rss_mb"), 1.0);
}

// AdamW + warm-up/cosine + clipping + loss scaling + accumulation (with a trailing partial group) +
// dropout + batch norm:
// a trainer restored from a state taken mid-epoch ends with the very same bits.
TEST(Trainer, RestoredStateContinuesBitExactly) {
  const char* toml = R"(
seed = 5
[data]
dataset = "two_moons"
samples = 300
batch_size = 16
prefetch = 1
[model]
hidden = [16, 16]
dropout = 0.2
norm = "batch"
[optimizer]
name = "adamw"
lr = 0.01
weight_decay = 0.1
[schedule]
name = "warmup_cosine"
warmup_steps = 5
total_steps = "auto"
[transforms]
max_norm = 0.5
accumulation_steps = 3
[transforms.loss_scaling]
init_scale = 1024.0
growth_interval = 4     # the scale grows during the run: its tracker must survive the restore
[trainer]
epochs = 3
)";
  TrainingSetup s = make_setup(toml);
  ASSERT_NE(s.train->batches_per_epoch() % 3, 0) << "the test wants a trailing partial group";
  auto reference = make_trainer(s);
  reference->fit(*s.train, s.validation.get());
  ASSERT_GT(reference->gradients().loss_scale(), 1024.0) << "the scale should have grown";

  for (std::int64_t at : {1, 4, 7, 9}) {  // inside the first epoch, at its end, and inside later ones
    auto first = make_trainer(s);
    auto snapshot = std::make_shared<Snapshot>(at);
    first->add_callback(snapshot);
    first->fit(*s.train, s.validation.get());
    ASSERT_FALSE(snapshot->state.tensors.empty());
    auto resumed = make_trainer(s);
    resumed->load_state(snapshot->state);
    EXPECT_EQ(resumed->position().step, at);
    resumed->fit(*s.train, s.validation.get());
    expect_same_parameters(reference->model(), resumed->model());
    EXPECT_EQ(resumed->history().size(), reference->history().size());
    EXPECT_EQ(resumed->history().back().metrics.at("val_loss"), reference->history().back().metrics.at("val_loss"));
    EXPECT_EQ(resumed->gradients().loss_scale(), reference->gradients().loss_scale());
  }
}

// Mixed precision resumes bit-exactly too: the 16-bit copies are functions of the float32 master weights,
// which the state holds. A state is refused by a trainer of another precision.
TEST(Trainer, Bf16RestoredStateContinuesBitExactly) {
  const char* toml = R"(
seed = 3
[data]
dataset = "two_moons"
samples = 200
batch_size = 16
prefetch = 0
[model]
hidden = [32, 32]
dropout = 0.1
[optimizer]
name = "adamw"
lr = 0.01
[trainer]
epochs = 2
precision = "bf16"
)";
  TrainingSetup s = make_setup(toml);
  const ResumeRun run = run_and_resume(s, 5);
  expect_same_parameters(run.reference->model(), run.resumed->model());
  EXPECT_EQ(run.resumed->history().back().metrics.at("val_loss"),
            run.reference->history().back().metrics.at("val_loss"));

  // The same run in fp32 ends elsewhere, and does not accept the bf16 state.
  TrainingSetup fp32 = make_setup(std::string(toml).replace(std::string(toml).find("precision = \"bf16\""), 18,
                                                             "precision = \"fp32\""));
  auto other = make_trainer(fp32);
  try {
    other->load_state(run.snapshot);
    FAIL() << "a bf16 state was loaded into an fp32 trainer";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("trained in precision bf16, this trainer runs fp32"), std::string::npos)
        << e.what();
  }
  other->fit(*fp32.train, fp32.validation.get());
  EXPECT_NE(other->history().back().metrics.at("val_loss"), run.reference->history().back().metrics.at("val_loss"));
}

TEST(Trainer, NonFiniteLossStopsWithTheStepUnderRaise) {
  TrainingSetup s = make_setup(std::string(kSeeds) + "[transforms]\nnonfinite = \"raise\"\n");
  int calls = 0;
  auto trainer = make_trainer(s, [&calls](const Tensor& out, const Tensor& target) {
    Tensor loss = nn::mse_loss(out, target);
    return ++calls == 3 ? mul(loss, std::nan("")) : loss;
  });
  try {
    trainer->fit(*s.train, s.validation.get());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("step 3"), std::string::npos) << e.what();
  }
}

TEST(Trainer, NonFiniteGradientsAreSkippedAndCountedUnderSkip) {
  TrainingSetup s = make_setup(std::string(kSeeds) + "[transforms]\nnonfinite = \"skip\"\n");
  int calls = 0;
  auto trainer = make_trainer(s, [&calls](const Tensor& out, const Tensor& target) {
    Tensor loss = nn::mse_loss(out, target);
    return (++calls == 3 || calls == 10) ? mul(loss, std::nan("")) : loss;
  });
  trainer->fit(*s.train, s.validation.get());
  EXPECT_EQ(trainer->gradients().steps_skipped(), 2);
  EXPECT_EQ(trainer->history().front().metrics.at("steps_skipped"), 2.0);
  for (const auto& [name, tensor] : trainer->model().state_dict())
    for (double v : tensor.to_vector<double>()) ASSERT_TRUE(std::isfinite(v)) << name;
  EXPECT_LT(trainer->history().back().metrics.at("val_mse"), 0.05);
}

TEST(Trainer, NanWeightsStopTheRunAsDiverged) {
  TrainingSetup s = make_setup(kSeeds);
  auto trainer = make_trainer(s);
  // A callback that poisons one weight at step 5, as an optimizer step that overflowed would.
  struct Poison : Callback {
    std::string name() const override { return "poison"; }
    void on_step_end(Trainer& t, const StepRecord& r) override {
      if (r.step == 5) t.model().parameters().back().data<float>()[0] = std::nanf("");  // the output bias
    }
  };
  trainer->add_callback(std::make_shared<Poison>());
  trainer->fit(*s.train, s.validation.get());
  EXPECT_EQ(trainer->stop_reason(), "diverged");
  EXPECT_EQ(trainer->position().step, 6);  // the first loss after the poison is NaN: the check runs there
  EXPECT_FALSE(trainer->weights_finite());
}

TEST(Trainer, AnEpochOfSkippedStepsInARowIsDivergence) {
  TrainingSetup s = make_setup(std::string(kSeeds) + "[transforms]\nnonfinite = \"skip\"\n");
  int calls = 0;
  auto trainer = make_trainer(s, [&calls](const Tensor& out, const Tensor& target) {
    Tensor loss = nn::mse_loss(out, target);
    return ++calls > 4 ? mul(loss, std::nan("")) : loss;  // finite weights, but no finite loss after step 4
  });
  trainer->fit(*s.train, s.validation.get());
  EXPECT_EQ(trainer->stop_reason(), "diverged");
  EXPECT_TRUE(trainer->weights_finite());
  EXPECT_EQ(trainer->position().step, 4 + trainer->steps_per_epoch());
}

TEST(Trainer, EarlyStoppingStopsAndRestoresTheBestWeights) {
  TrainingSetup s = make_setup(R"(
[data]
dataset = "linear_regression"
prefetch = 0
[optimizer]
name = "sgd"
lr = 0.3
momentum = 0.9
[trainer]
epochs = 40
)");
  auto trainer = make_trainer(s);
  EarlyStoppingConfig config;
  config.enabled = true;
  config.patience = 2;
  auto early = std::make_shared<EarlyStopping>(config);
  trainer->add_callback(early);
  trainer->fit(*s.train, s.validation.get());
  ASSERT_LT(trainer->history().size(), 40u) << "lr 0.3 diverges or stalls; early stopping should end the run";
  EXPECT_NE(trainer->stop_reason().find("early stopping: val_loss"), std::string::npos) << trainer->stop_reason();
  const double restored = trainer->evaluate(*s.validation, "val_").at("val_loss");
  EXPECT_EQ(restored, *early->best());
}

TEST(Trainer, PlateauReducesTheLearningRateWhenTheMetricStalls) {
  TrainingSetup s = make_setup(std::string(R"(
[data]
dataset = "linear_regression"
prefetch = 0
[optimizer]
name = "sgd"
lr = 1e-9
[trainer]
epochs = 4
[trainer.plateau]
monitor = "val_loss"
patience = 1
factor = 0.5
eps = 0.0   # PyTorch ignores reductions smaller than eps (1e-8 by default); this lr is tiny
)"));
  auto trainer = make_trainer(s);
  trainer->add_callback(std::make_shared<PlateauMonitor>("val_loss"));
  trainer->fit(*s.train, s.validation.get());
  // Epoch 1 sets the best; after epochs 2 and 3 (2 bad epochs > patience 1) the lr is halved, so epoch 4
  // runs (and records) the reduced lr.
  EXPECT_DOUBLE_EQ(trainer->history()[2].metrics.at("lr"), 1e-9);
  EXPECT_DOUBLE_EQ(trainer->history()[3].metrics.at("lr"), 0.5e-9);
  auto bad = make_trainer(s);
  bad->add_callback(std::make_shared<PlateauMonitor>("val_acc"));
  try {
    bad->fit(*s.train, s.validation.get());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'val_acc' does not exist"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("val_loss"), std::string::npos) << e.what();
  }
}

// Every model type builds from its config section and learns something in a few epochs.
TEST(Trainer, EveryModelTypeLearns) {
  const std::vector<std::pair<std::string, std::string>> models = {
      {"lstm", "[model]\ntype = \"lstm\"\nhidden_size = 16\n"},
      {"transformer", "[model]\ntype = \"transformer\"\nd_model = 16\nnhead = 2\nnum_layers = 1\ndim_feedforward = 32\ndropout = 0.0\n"},
      {"mlp+layernorm+dropout", "[model]\nhidden = [32, 32]\nnorm = \"layer\"\ndropout = 0.1\n"},
  };
  for (const auto& [label, section] : models) {
    TrainingSetup s = make_setup("[data]\ndataset = \"two_moons\"\nsamples = 400\nprefetch = 0\n[optimizer]\nname = \"adam\"\nlr = 0.01\n[trainer]\nepochs = 5\n" + section);
    auto trainer = make_trainer(s);
    const double before = trainer->evaluate(*s.validation, "val_").at("val_loss");
    trainer->fit(*s.train, s.validation.get());
    const auto& after = trainer->history().back().metrics;
    EXPECT_LT(after.at("val_loss"), 0.8 * before) << label;
    EXPECT_GT(after.at("val_accuracy"), 0.75) << label;
  }
}

TEST(Trainer, SmallCnnLearnsOnAFashionMnistSubset) {
  if (!std::filesystem::exists(data::fashion_mnist_dir())) GTEST_SKIP() << "Fashion-MNIST not installed";
  TrainingSetup s = make_setup(R"(
[data]
dataset = "fashion_mnist"
train_subset = 1200
test_subset = 100
batch_size = 32
prefetch = 0
[model]
type = "cnn"
channels = [8, 8]
norm = "batch"
hidden = [32]
[optimizer]
name = "adamw"
lr = 0.003
[trainer]
epochs = 2
)");
  auto trainer = make_trainer(s);
  const double before = trainer->evaluate(*s.validation, "val_").at("val_loss");
  trainer->fit(*s.train, s.validation.get());
  EXPECT_LT(trainer->history().back().metrics.at("val_loss"), 0.6 * before);
  EXPECT_GT(trainer->history().back().metrics.at("val_accuracy"), 0.55);
}

// Attention dropout's generator lives inside MultiheadAttention: the checkpoint saves it through
// Module::named_generators, so a transformer with dropout resumes bit-exactly too.
TEST(Trainer, TransformerWithDropoutRestoresBitExactly) {
  TrainingSetup s = make_setup(
      "seed = 3\n[data]\ndataset = \"two_moons\"\nsamples = 200\nbatch_size = 20\nprefetch = 0\n"
      "[model]\ntype = \"transformer\"\nd_model = 8\nnhead = 2\nnum_layers = 1\ndim_feedforward = 16\ndropout = 0.3\n"
      "[optimizer]\nname = \"adam\"\nlr = 0.01\n[trainer]\nepochs = 2\n");
  auto reference = make_trainer(s);
  const auto generators = reference->model().named_generators();
  bool has_attention_generator = false;
  for (const auto& [name, generator] : generators)
    has_attention_generator = has_attention_generator || name.find("self_attn.dropout_generator") != std::string::npos;
  ASSERT_TRUE(has_attention_generator) << "the transformer should expose its attention dropout generator";
  const ResumeRun run = run_and_resume(s, 5);
  expect_same_parameters(run.reference->model(), run.resumed->model());
}
