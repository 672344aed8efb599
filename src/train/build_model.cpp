// Models from the [model] section: an MLP, a small CNN, an LSTM and a small transformer encoder.
#include <cmath>

#include "descent/nn/conv.hpp"
#include "descent/nn/dropout.hpp"
#include "descent/nn/layers.hpp"
#include "descent/nn/norm.hpp"
#include "descent/nn/pool.hpp"
#include "descent/nn/rnn.hpp"
#include "descent/nn/transformer.hpp"
#include "descent/train/builders.hpp"

namespace descent::train {

namespace {

// Each dropout layer gets its own seeded generator; the trainer saves their states in checkpoints.
struct DropoutSeeds {
  std::uint64_t base;
  std::uint64_t next = 0;
  std::shared_ptr<nn::Module> make(double p) { return std::make_shared<nn::Dropout>(p, base + 1000003 * ++next); }
};

// Linear (norm) activation (dropout) for each hidden width, then the output layer.
void append_dense_stack(nn::Sequential& model, std::int64_t in, const std::vector<std::int64_t>& hidden,
                        std::int64_t outputs, const ModelConfig& c, Generator& gen, DropoutSeeds& dropout) {
  for (std::int64_t width : hidden) {
    model.push_back(std::make_shared<nn::Linear>(in, width, gen));
    if (c.norm == "batch") model.push_back(std::make_shared<nn::BatchNorm1d>(width));
    if (c.norm == "layer") model.push_back(std::make_shared<nn::LayerNorm>(std::vector<std::int64_t>{width}));
    model.push_back(nn::activation(c.activation));
    if (c.dropout > 0) model.push_back(dropout.make(c.dropout));
    in = width;
  }
  model.push_back(std::make_shared<nn::Linear>(in, outputs, gen));
}

// Samples as sequences: images [C, H, W] are H steps of C*W features (rows), vectors [F] are F steps of 1.
std::pair<std::int64_t, std::int64_t> sequence_geometry(const Shape& sample) {
  if (sample.size() == 3) return {sample[1], sample[0] * sample[2]};
  if (sample.size() == 2) return {sample[0], sample[1]};
  if (sample.size() == 1) return {sample[0], 1};
  throw Error("model: a sequence model needs samples of rank 1 to 3, got " + sample.to_string());
}

// LSTM over the sequence, the last step's hidden state, dropout, then a linear head.
class LstmClassifier : public nn::Module {
 public:
  LstmClassifier(const ModelConfig& c, const Shape& sample, std::int64_t outputs, Generator& gen, DropoutSeeds& seeds) {
    std::tie(steps_, features_) = sequence_geometry(sample);
    nn::LSTMOptions options{.input_size = features_, .hidden_size = c.hidden_size, .num_layers = c.num_layers,
                            .batch_first = true};
    lstm_ = register_module("lstm", std::make_shared<nn::LSTM>(options, gen));
    if (c.dropout > 0) dropout_ = register_module("dropout", seeds.make(c.dropout));
    head_ = register_module("head", std::make_shared<nn::Linear>(c.hidden_size, outputs, gen));
  }
  Tensor forward(const Tensor& input) override {
    Tensor x = reshape(input, Shape{input.size(0), steps_, features_});
    Tensor last = select(lstm_->forward(x), 1, steps_ - 1);
    if (dropout_) last = dropout_->forward(last);
    return head_->forward(last);
  }
  std::string describe() const override { return "LstmClassifier"; }

 private:
  std::int64_t steps_ = 0, features_ = 0;
  std::shared_ptr<nn::Module> lstm_, dropout_, head_;
};

// Linear embedding plus a learned position embedding, a pre-norm transformer encoder, mean pooling over
// the sequence, a final LayerNorm and a linear head.
class TransformerClassifier : public nn::Module {
 public:
  TransformerClassifier(const ModelConfig& c, const Shape& sample, std::int64_t outputs, Generator& gen) {
    std::tie(steps_, features_) = sequence_geometry(sample);
    embed_ = register_module("embed", std::make_shared<nn::Linear>(features_, c.d_model, gen));
    position_ = register_parameter("position", randn(Shape{steps_, c.d_model}, gen, DType::Float32, 0.0, 0.02));
    nn::TransformerEncoderLayerOptions layer{.d_model = c.d_model, .nhead = c.nhead,
                                             .dim_feedforward = c.dim_feedforward, .dropout = c.dropout,
                                             .activation = c.activation == "gelu" ? "gelu" : "relu",
                                             .batch_first = true, .norm_first = c.norm_first};
    encoder_ = register_module("encoder", std::make_shared<nn::TransformerEncoder>(layer, c.num_layers, gen));
    norm_ = register_module("norm", std::make_shared<nn::LayerNorm>(std::vector<std::int64_t>{c.d_model}));
    head_ = register_module("head", std::make_shared<nn::Linear>(c.d_model, outputs, gen));
  }
  Tensor forward(const Tensor& input) override {
    Tensor x = embed_->forward(reshape(input, Shape{input.size(0), steps_, features_}));
    x = add(x, position_);
    x = mean(encoder_->forward(x), {1});
    return head_->forward(norm_->forward(x));
  }
  std::string describe() const override { return "TransformerClassifier"; }

 private:
  std::int64_t steps_ = 0, features_ = 0;
  std::shared_ptr<nn::Module> embed_, encoder_, norm_, head_;
  Tensor position_;
};

}  // namespace

std::shared_ptr<nn::Module> build_model(const ModelConfig& c, const Shape& sample, std::int64_t outputs,
                                        std::uint64_t seed) try {
  Generator gen(seed ^ 0x6d6f64656cull);
  DropoutSeeds dropout{seed ^ 0x64726f70ull};
  std::shared_ptr<nn::Module> model;
  if (c.type == "mlp") {
    auto mlp = std::make_shared<nn::Sequential>();
    if (sample.size() > 1) mlp->push_back(std::make_shared<nn::Flatten>());
    append_dense_stack(*mlp, sample.numel(), c.hidden, outputs, c, gen, dropout);
    model = mlp;
  } else if (c.type == "cnn") {
    DESCENT_CHECK(sample.size() == 3, "model.type = cnn: needs image samples [C, H, W], got ", sample,
                  " (use fashion_mnist, or an mlp)");
    DESCENT_CHECK(c.norm != "layer", "model.norm = layer: a cnn takes none or batch");
    auto cnn = std::make_shared<nn::Sequential>();
    std::int64_t channels = sample[0], height = sample[1], width = sample[2];
    for (std::int64_t out : c.channels) {
      cnn->push_back(std::make_shared<nn::Conv2d>(channels, out, c.kernel_size, gen, 1, c.kernel_size / 2));
      if (c.norm == "batch") cnn->push_back(std::make_shared<nn::BatchNorm2d>(out));
      cnn->push_back(nn::activation(c.activation));
      DESCENT_CHECK(height >= 2 && width >= 2, "model.channels: ", c.channels.size(),
                    " conv+pool blocks shrink the ", sample, " images below 1 pixel");
      cnn->push_back(std::make_shared<nn::MaxPool2d>(2));
      channels = out;
      height /= 2;
      width /= 2;
    }
    cnn->push_back(std::make_shared<nn::Flatten>());
    ModelConfig dense = c;
    if (dense.norm == "batch") dense.norm = "none";  // the dense head stays plain
    append_dense_stack(*cnn, channels * height * width, c.hidden, outputs, dense, gen, dropout);
    model = cnn;
  } else if (c.type == "lstm") {
    model = std::make_shared<LstmClassifier>(c, sample, outputs, gen, dropout);
  } else {
    model = std::make_shared<TransformerClassifier>(c, sample, outputs, gen);
  }
  model->build_arena();
  return model;
} catch (const std::bad_alloc&) {
  throw Error("model: its parameters do not fit in memory (model.type = " + c.type +
              "; the widths model.hidden, model.channels, model.hidden_size, model.d_model and "
              "model.dim_feedforward and the data's " + std::to_string(outputs) + " outputs set its size)");
}

}  // namespace descent::train
