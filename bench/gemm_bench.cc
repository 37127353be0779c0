// gemm_bench: the own AVX-512 matrix product (nn::sgemm_avx512, runtime/kernels/avx512.h) on
// BERT-base's weight products, plain and with its weights read rounded (read_rounding.h: what
// the mixed-precision search's engine asks for every weight a float16 node reads), one thread.
// Each product reads one of 24 weight matrices in turn, more than the caches hold, as a model's
// layers do. Prints the best of 5 rounds of --reps products, per product, and the rounded
// reads' cost over the plain ones. A measurement: it exits 0 unless the CPU lacks AVX-512F.
//
//   gemm_bench [--reps N]
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "runtime/kernels/avx512.h"
#include "runtime/read_rounding.h"

namespace {

using onnx_fp16::runtime::ReadRounding;

struct Shape {
  const char* name;
  std::size_t m, k, n;
};

// Seconds per product of a (m x k) by each weight in turn, the best of 5 rounds of `reps`.
double seconds_per_product(const Shape& shape, const std::vector<std::vector<float>>& weights, const std::vector<float>& a,
                           std::vector<float>& c, const ReadRounding* rounding, int reps) {
  double best = 1e30;
  for (int round = 0; round < 5; ++round) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) {
      onnx_fp16::runtime::nn::sgemm_avx512(false, false, shape.m, shape.n, shape.k, 1.0f, a.data(), shape.k,
                                           weights[i % weights.size()].data(), shape.n, 0.0f, c.data(), shape.n,
                                           nullptr, false, rounding);
    }
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / reps);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gemm_bench: the own AVX-512 product, plain and with its weights read rounded"};
  int reps = 100;
  app.add_option("--reps", reps, "products per round")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  if (!onnx_fp16::runtime::nn::cpu_has_avx512f()) {
    std::puts("this CPU has no AVX-512F: the products go to OpenBLAS, nothing to measure");
    return 1;
  }
  ReadRounding float16{.target = ReadRounding::Target::Float16, .clamp = true, .rule = {}};
  ReadRounding bfloat16{.target = ReadRounding::Target::BFloat16, .clamp = false, .rule = {}};
  const Shape shapes[] = {{"attention 128x768 by 768x768", 128, 768, 768},
                          {"feed-forward in 128x768 by 768x3072", 128, 768, 3072},
                          {"feed-forward out 128x3072 by 3072x768", 128, 3072, 768}};
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::printf("%-40s %10s %16s %16s\n", "product (one thread)", "plain ms", "float16 read ms", "bfloat16 read ms");
  for (const Shape& shape : shapes) {
    std::vector<float> a(shape.m * shape.k), c(shape.m * shape.n);
    for (float& x : a) x = normal(rng);
    std::vector<std::vector<float>> weights(24, std::vector<float>(shape.k * shape.n));
    for (auto& w : weights) {
      for (float& x : w) x = 0.05f * normal(rng);
    }
    const double plain = seconds_per_product(shape, weights, a, c, nullptr, reps);
    const double f16 = seconds_per_product(shape, weights, a, c, &float16, reps);
    const double bf16 = seconds_per_product(shape, weights, a, c, &bfloat16, reps);
    std::printf("%-40s %10.3f %9.3f (x%.2f) %9.3f (x%.2f)\n", shape.name, 1e3 * plain, 1e3 * f16, f16 / plain, 1e3 * bf16,
                bf16 / plain);
  }
  return 0;
}
