#include "runtime/kernels/recurrent_activations.h"

#include <cctype>

namespace onnx_fp16::runtime::nn {

namespace {

struct Known {
  const char* name;
  ActivationKind kind;
  bool takes_alpha;
  bool takes_beta;
  float alpha;
  float beta;
};

constexpr Known kKnown[] = {
    {"relu", ActivationKind::relu, false, false, 0, 0},
    {"tanh", ActivationKind::tanh, false, false, 0, 0},
    {"sigmoid", ActivationKind::sigmoid, false, false, 0, 0},
    {"affine", ActivationKind::affine, true, true, 1.0f, 0.0f},
    {"leakyrelu", ActivationKind::leaky_relu, true, false, 0.01f, 0},
    {"thresholdedrelu", ActivationKind::thresholded_relu, true, false, 1.0f, 0},
    {"scaledtanh", ActivationKind::scaled_tanh, true, true, 1.0f, 1.0f},
    {"hardsigmoid", ActivationKind::hard_sigmoid, true, true, 0.2f, 0.5f},
    {"elu", ActivationKind::elu, true, false, 1.0f, 0},
    {"softsign", ActivationKind::softsign, false, false, 0, 0},
    {"softplus", ActivationKind::softplus, false, false, 0, 0},
};

std::string lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

std::vector<Activation> read_activations(const KernelContext& ctx, std::size_t directions,
                                         const std::vector<std::string>& defaults) {
  auto names = ctx.attr_strings("activations", {});
  const std::size_t per_direction = defaults.size();
  if (names.empty()) {
    for (std::size_t d = 0; d < directions; ++d) names.insert(names.end(), defaults.begin(), defaults.end());
  } else if (names.size() == per_direction && directions == 2) {
    const auto one = names;
    names.insert(names.end(), one.begin(), one.end());
  }
  if (names.size() != per_direction * directions) {
    ctx.fail("expects " + std::to_string(per_direction * directions) + " activations, got " +
             std::to_string(names.size()));
  }
  const auto alphas = ctx.attr_floats("activation_alpha", {});
  const auto betas = ctx.attr_floats("activation_beta", {});
  std::size_t next_alpha = 0;
  std::size_t next_beta = 0;
  std::vector<Activation> result;
  for (const auto& name : names) {
    const Known* known = nullptr;
    for (const auto& k : kKnown) {
      if (lower(name) == k.name) known = &k;
    }
    if (known == nullptr) ctx.fail("unknown activation '" + name + "'");
    Activation activation{known->kind, known->alpha, known->beta};
    if (known->takes_alpha && next_alpha < alphas.size()) activation.alpha = alphas[next_alpha++];
    if (known->takes_beta && next_beta < betas.size()) activation.beta = betas[next_beta++];
    result.push_back(activation);
  }
  return result;
}

}  // namespace onnx_fp16::runtime::nn
