#include "descent/nn/rnn.hpp"

#include <cmath>
#include <sstream>

#include "descent/autograd/autocast.hpp"
#include "descent/autograd/functional.hpp"
#include "descent/autograd/node.hpp"
#include "descent/nn/init.hpp"

namespace descent::nn {

namespace {

template <class T>
T sigmoid_of(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

// Saves the gate activations (after their nonlinearities), c_prev and tanh(c_t): everything the
// backward needs, so it recomputes no transcendental function.
class LSTMCellNode final : public autograd::Node {
 public:
  LSTMCellNode(const Tensor& activations, const Tensor& c_prev, const Tensor& c_tanh, bool grad_c_prev)
      : activations_(activations), c_prev_(c_prev), c_tanh_(c_tanh), grad_c_prev_(grad_c_prev) {}

  void backward(const Tensor& grad_output, std::span<Tensor> grads) override {
    DESCENT_CHECK(activations_.defined(), name(), ": backward called a second time on a freed graph; pass "
                  "retain_graph=true to the first backward");
    dispatch_floating(grad_output.dtype(), name(), [&](auto zero) {
      using T = decltype(zero);
      const Tensor g = grad_output.contiguous_copy();
      const std::int64_t n = activations_.size(0), hidden = activations_.size(1) / 4;
      Tensor grad_gates = empty(Shape{n, 4 * hidden}, g.dtype());
      Tensor grad_c = empty(Shape{n, hidden}, g.dtype());
      const T* gp = g.data<T>();
      // Under autocast the node keeps 16-bit copies; the arithmetic is float32 either way.
      const auto wide = [](const Tensor& t) { return t.dtype() == dtype_of<T>() ? t : t.to(dtype_of<T>()); };
      const Tensor activations = wide(activations_), c_prev = wide(c_prev_.unpack(name())), c_tanh = wide(c_tanh_);
      const T* act = activations.data<T>();
      const T* cp = c_prev.data<T>();
      const T* tc = c_tanh.data<T>();
      T* dg = grad_gates.data<T>();
      T* dc = grad_c.data<T>();
      for (std::int64_t r = 0; r < n; ++r) {
        const T* a = act + r * 4 * hidden;
        T* d = dg + r * 4 * hidden;
        for (std::int64_t j = 0; j < hidden; ++j) {
          const std::int64_t k = r * hidden + j;
          const T in = a[j], forget = a[hidden + j], cell = a[2 * hidden + j], out = a[3 * hidden + j];
          const T dh = gp[r * 2 * hidden + j];
          const T dc_total = gp[r * 2 * hidden + hidden + j] + dh * out * (T(1) - tc[k] * tc[k]);
          d[j] = dc_total * cell * in * (T(1) - in);
          d[hidden + j] = dc_total * cp[k] * forget * (T(1) - forget);
          d[2 * hidden + j] = dc_total * in * (T(1) - cell * cell);
          d[3 * hidden + j] = dh * tc[k] * out * (T(1) - out);
          dc[k] = dc_total * forget;
        }
      }
      grads[0] = grad_gates;
      if (grad_c_prev_) grads[1] = grad_c;
    });
  }
  const char* name() const override { return "LSTMCellBackward"; }
  void release() override {
    activations_ = Tensor();
    c_prev_.reset();
    c_tanh_ = Tensor();
  }

 private:
  Tensor activations_;  // private to this node
  autograd::SavedTensor c_prev_;
  Tensor c_tanh_;  // private to this node
  bool grad_c_prev_;
};

Shape state_shape(std::int64_t layers, std::int64_t batch, std::int64_t hidden, bool unbatched) {
  return unbatched ? Shape{layers, hidden} : Shape{layers, batch, hidden};
}

}  // namespace

Tensor lstm_cell_pointwise(const Tensor& gates, const Tensor& c_prev) {
  DESCENT_CHECK(gates.defined() && c_prev.defined(), "lstm_cell_pointwise: gates or c_prev is undefined");
  DESCENT_CHECK(gates.dim() == 2 && c_prev.dim() == 2 && gates.size(0) == c_prev.size(0) &&
                    gates.size(1) == 4 * c_prev.size(1),
                "lstm_cell_pointwise: expected gates [N, 4H] and c_prev [N, H], got ", gates.shape(), " and ",
                c_prev.shape());
  DESCENT_CHECK(gates.dtype() == c_prev.dtype(), "lstm_cell_pointwise: dtypes differ (",
                dtype_name(gates.dtype()), " and ", dtype_name(c_prev.dtype()), ")");
  return dispatch_floating(gates.dtype(), "lstm_cell_pointwise", [&](auto zero) {
    using T = decltype(zero);
    const Tensor x = gates.contiguous_copy();
    const Tensor c_in = c_prev.contiguous_copy();
    const std::int64_t n = c_prev.size(0), hidden = c_prev.size(1);
    Tensor out = empty(Shape{n, 2 * hidden}, gates.dtype());
    Tensor activations = empty(Shape{n, 4 * hidden}, gates.dtype());
    Tensor c_tanh = empty(Shape{n, hidden}, gates.dtype());
    const T* xp = x.data<T>();
    const T* cp = c_in.data<T>();
    T* op = out.data<T>();
    T* ap = activations.data<T>();
    T* tp = c_tanh.data<T>();
    for (std::int64_t r = 0; r < n; ++r) {
      const T* z = xp + r * 4 * hidden;
      T* a = ap + r * 4 * hidden;
      for (std::int64_t j = 0; j < hidden; ++j) {
        a[j] = sigmoid_of(z[j]);
        a[hidden + j] = sigmoid_of(z[hidden + j]);
        a[2 * hidden + j] = std::tanh(z[2 * hidden + j]);
        a[3 * hidden + j] = sigmoid_of(z[3 * hidden + j]);
        const std::int64_t k = r * hidden + j;
        const T c = a[hidden + j] * cp[k] + a[j] * a[2 * hidden + j];
        tp[k] = std::tanh(c);
        op[r * 2 * hidden + j] = a[3 * hidden + j] * tp[k];
        op[r * 2 * hidden + hidden + j] = c;
      }
    }
    if (autograd::needs_grad(gates, c_prev)) {
      const DType low = autograd::autocast_dtype(gates);  // 16-bit saved tensors under autocast
      const auto keep = [low](const Tensor& t) {
        return low == DType::Float32 ? t : autograd::to_low_precision(t, low);
      };
      autograd::attach(out,
                       std::make_shared<LSTMCellNode>(keep(activations), keep(c_in), keep(c_tanh),
                                                      c_prev.requires_grad()),
                       {&gates, &c_prev});
    }
    return out;
  });
}

LSTM::LSTM(const LSTMOptions& options, Generator& gen) : options_(options) {
  DESCENT_CHECK(options.input_size > 0 && options.hidden_size > 0, "LSTM: input_size and hidden_size must be "
                "positive, got ", options.input_size, " and ", options.hidden_size);
  DESCENT_CHECK(options.num_layers >= 1, "LSTM: num_layers must be at least 1, got ", options.num_layers);
  DESCENT_CHECK(options.dropout >= 0.0 && options.dropout < 1.0, "LSTM: dropout must be in [0, 1), got ",
                options.dropout);
  const std::int64_t hidden = options.hidden_size;
  const double bound = 1.0 / std::sqrt(double(hidden));
  auto make = [&](const std::string& name, const Shape& shape) {
    Tensor t = empty(shape, options.dtype);
    init::uniform_(t, gen, -bound, bound);
    return register_parameter(name, t);
  };
  for (std::int64_t k = 0; k < options.num_layers; ++k) {
    const std::string suffix = "_l" + std::to_string(k);
    const std::int64_t in = k == 0 ? options.input_size : hidden;
    LayerWeights w;
    w.weight_ih = make("weight_ih" + suffix, Shape{4 * hidden, in});
    w.weight_hh = make("weight_hh" + suffix, Shape{4 * hidden, hidden});
    if (options.bias) {
      w.bias_ih = make("bias_ih" + suffix, Shape{4 * hidden});
      w.bias_hh = make("bias_hh" + suffix, Shape{4 * hidden});
    }
    layers_.push_back(w);
  }
  dropout_gen_ = gen.fork(0x4c53544d);  // "LSTM"
}

LSTMResult LSTM::forward_with_state(const Tensor& input, const std::optional<LSTMState>& initial) {
  const std::int64_t hidden = options_.hidden_size, num_layers = options_.num_layers;
  DESCENT_CHECK(input.defined(), "LSTM: input is undefined");
  const char* layout = options_.batch_first ? "[N, T, input_size]" : "[T, N, input_size]";
  DESCENT_CHECK((input.dim() == 2 || input.dim() == 3) && input.size(-1) == options_.input_size,
                "LSTM: input must be ", layout, " or unbatched [T, input_size] with input_size = ",
                options_.input_size, ", got shape ", input.shape());
  const bool unbatched = input.dim() == 2;
  // Work in [T, N, features].
  Tensor x = unbatched ? unsqueeze(input, 1) : (options_.batch_first ? transpose(input, 0, 1) : input);
  const std::int64_t steps = x.size(0), batch = x.size(1);
  DESCENT_CHECK(steps > 0, "LSTM: the sequence is empty (input shape ", input.shape(), ")");
  const Shape expected_state = state_shape(num_layers, batch, hidden, unbatched);
  Tensor h0, c0;
  if (initial.has_value()) {
    for (const Tensor* t : {&initial->h, &initial->c}) {
      DESCENT_CHECK(t->defined() && t->shape() == expected_state, "LSTM: initial ", t == &initial->h ? "h" : "c",
                    " must have shape ", expected_state, " (num_layers, N, hidden_size) for input of shape ",
                    input.shape(), ", got ", t->defined() ? t->shape() : Shape{});
    }
    h0 = unbatched ? unsqueeze(initial->h, 1) : initial->h;
    c0 = unbatched ? unsqueeze(initial->c, 1) : initial->c;
  } else {
    h0 = zeros(Shape{num_layers, batch, hidden}, input.dtype());
    c0 = h0;
  }
  std::vector<Tensor> last_h, last_c;
  for (std::int64_t k = 0; k < num_layers; ++k) {
    const LayerWeights& w = layers_[std::size_t(k)];
    const Tensor projected = linear(x, w.weight_ih, w.bias_ih);  // every step's input term in one GEMM
    Tensor h = select(h0, 0, k), c = select(c0, 0, k);
    std::vector<Tensor> outputs;
    outputs.reserve(std::size_t(steps));
    for (std::int64_t t = 0; t < steps; ++t) {
      const Tensor gates = add(select(projected, 0, t), linear(h, w.weight_hh, w.bias_hh));
      const Tensor packed = lstm_cell_pointwise(gates, c);
      h = narrow(packed, 1, 0, hidden);
      c = narrow(packed, 1, hidden, hidden);
      outputs.push_back(h);
    }
    x = stack(outputs, 0);
    if (k + 1 < num_layers && options_.dropout > 0.0 && is_training())
      x = dropout(x, options_.dropout, true, dropout_gen_);
    last_h.push_back(h);
    last_c.push_back(c);
  }
  LSTMResult result;
  result.output = unbatched ? squeeze(x, 1) : (options_.batch_first ? transpose(x, 0, 1) : x);
  result.state.h = stack(last_h, 0);
  result.state.c = stack(last_c, 0);
  if (unbatched) {
    result.state.h = squeeze(result.state.h, 1);
    result.state.c = squeeze(result.state.c, 1);
  }
  return result;
}

std::string LSTM::describe() const {
  std::ostringstream out;
  out << "LSTM(input_size=" << options_.input_size << ", hidden_size=" << options_.hidden_size
      << ", num_layers=" << options_.num_layers << ", bias=" << (options_.bias ? "true" : "false")
      << ", batch_first=" << (options_.batch_first ? "true" : "false") << ", dropout=" << options_.dropout << ")";
  return out.str();
}

}  // namespace descent::nn
