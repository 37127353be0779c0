// The activation functions RNN, GRU and LSTM name in their `activations` attribute, with the
// activation_alpha / activation_beta lists shared out among them: each function that takes an
// alpha (or beta) consumes the next value of the list, or its default when the list has run
// out (the defaults are those of the ONNX operators of the same name).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "runtime/kernel.h"

namespace onnx_fp16::runtime::nn {

enum class ActivationKind {
  relu,
  tanh,
  sigmoid,
  affine,
  leaky_relu,
  thresholded_relu,
  scaled_tanh,
  hard_sigmoid,
  elu,
  softsign,
  softplus,
};

struct Activation {
  ActivationKind kind = ActivationKind::tanh;
  float alpha = 0;
  float beta = 0;

  template <typename T>
  T operator()(T x) const {
    const T a = static_cast<T>(alpha);
    const T b = static_cast<T>(beta);
    switch (kind) {
      case ActivationKind::relu:
        return std::max(x, T{0});
      case ActivationKind::tanh:
        return std::tanh(x);
      case ActivationKind::sigmoid:
        return T{1} / (T{1} + std::exp(-x));
      case ActivationKind::affine:
        return a * x + b;
      case ActivationKind::leaky_relu:
        return x >= T{0} ? x : a * x;
      case ActivationKind::thresholded_relu:
        return x > a ? x : T{0};
      case ActivationKind::scaled_tanh:
        return a * std::tanh(b * x);
      case ActivationKind::hard_sigmoid:
        return std::clamp(a * x + b, T{0}, T{1});
      case ActivationKind::elu:
        return x >= T{0} ? x : a * (std::exp(x) - T{1});
      case ActivationKind::softsign:
        return x / (T{1} + std::abs(x));
      // log(1 + e^x), without e^x overflowing for large x.
      case ActivationKind::softplus:
        return x > T{0} ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
    }
    return x;
  }
};

// The node's activations: `per_direction` functions per direction (RNN 1, GRU 2, LSTM 3),
// `defaults` when the attribute is absent. A list with one direction's worth serves both
// directions of a bidirectional node.
std::vector<Activation> read_activations(const KernelContext& ctx, std::size_t directions,
                                         const std::vector<std::string>& defaults);

}  // namespace onnx_fp16::runtime::nn
