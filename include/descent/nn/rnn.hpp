#pragma once
// LSTM with the semantics and parameter names of torch.nn.LSTM.
//
// Per layer k and time step t, with gates in PyTorch's order (input, forget, cell, output):
//   i, f, g, o = split4(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)
//   c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)
//   h_t = sigmoid(o) * tanh(c_t)
// Layer k > 0 reads layer k-1's h sequence, with dropout (training only) between layers.
// Parameters weight_ih_l{k} [4H, in], weight_hh_l{k} [4H, H], bias_ih_l{k} [4H], bias_hh_l{k} [4H], all
// initialised U(-1/sqrt(H), 1/sqrt(H)) as PyTorch does. The input projection of a whole sequence is one
// GEMM; the recurrence runs one GEMM plus one fused gate node per step.
// Not supported: bidirectional, proj_size.
#include <cstdint>
#include <optional>

#include "descent/core/rng.hpp"
#include "descent/nn/module.hpp"

namespace descent::nn {

struct LSTMOptions {
  std::int64_t input_size = 0;
  std::int64_t hidden_size = 0;
  std::int64_t num_layers = 1;
  bool bias = true;
  bool batch_first = false;  // input/output [N, T, features] instead of [T, N, features]
  double dropout = 0.0;      // on the outputs of every layer but the last, in training mode
  DType dtype = DType::Float32;
};

// h and c, each [num_layers, N, hidden_size] ([num_layers, hidden_size] for an unbatched input).
struct LSTMState {
  Tensor h;
  Tensor c;
};

struct LSTMResult {
  Tensor output;  // [T, N, H] ([N, T, H] with batch_first, [T, H] unbatched): last layer's h_t
  LSTMState state;  // h_n and c_n at the last time step
};

class LSTM : public Module {
 public:
  // `gen` draws the initial weights; the dropout generator is forked from it.
  LSTM(const LSTMOptions& options, Generator& gen);

  // input [T, N, input_size] ([N, T, input_size] with batch_first) or unbatched [T, input_size]. The
  // initial state defaults to zeros.
  LSTMResult forward_with_state(const Tensor& input, const std::optional<LSTMState>& initial = std::nullopt);
  // The output sequence only.
  Tensor forward(const Tensor& input) override { return forward_with_state(input).output; }
  std::string describe() const override;
  const LSTMOptions& options() const { return options_; }

 private:
  struct LayerWeights {
    Tensor weight_ih, weight_hh, bias_ih, bias_hh;
  };
  LSTMOptions options_;
  std::vector<LayerWeights> layers_;
  std::vector<std::pair<std::string, Generator*>> own_generators() override { return {{"dropout_generator", &dropout_gen_}}; }
  Generator dropout_gen_;
};

// One LSTM time step's pointwise part as a single differentiable node: from the pre-activation gates
// [N, 4H] (order i, f, g, o) and c_prev [N, H], returns [N, 2H] holding h_t then c_t.
Tensor lstm_cell_pointwise(const Tensor& gates, const Tensor& c_prev);

}  // namespace descent::nn
