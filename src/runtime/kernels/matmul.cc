// Matrix products: MatMul (numpy.matmul: broadcast batches, 1-D operands), Gemm (transposes,
// alpha/beta, C broadcast to the result), MatMulInteger (uint8/int8 with zero points, int32
// result) and com.microsoft's FusedMatMul (MatMul with transposes and a scale).
//
// float16/bfloat16 operands are widened to float32 (MatMul's and Gemm's B as the product packs
// it), multiplied accumulating in float32 (math_gemm.h) and the result rounded once; float64 goes
// through cblas_dgemm; integers through a wrapping loop.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "runtime/element_types.h"
#include "runtime/elementwise.h"
#include "runtime/float_compute.h"
#include "runtime/kernel_registry.h"
#include "runtime/kernels/math_gemm.h"
#include "runtime/kernels/math_permute.h"
#include "runtime/kernels/nn_integer_conv.h"
#include "runtime/value_conversion.h"
#include "tensor/buffer_pool.h"

namespace onnx_fp16::runtime {

namespace {

using math::MatMulPlan;

// How the product reads B (KernelContext::input_rounding; only float32 inputs are read rounded):
// it rounds B's values as it packs them, instead of a rounded copy of a weight matrix.
template <typename S>
const ReadRounding* b_rounding(const KernelContext& ctx) {
  if constexpr (std::is_same_v<S, float>) {
    return ctx.input_rounding(1);
  } else {
    return nullptr;
  }
}

void matmul_kernel(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  require_same_type(ctx, a, b);
  const MatMulPlan plan = math::plan_matmul(a.shape(), b.shape());
  dispatch<NumericTypes>(a.dtype(), [&]<typename S>(std::type_identity<S>) {
    const InputValues<S> x(a);
    OutputValues<S> out(plan.output);
    if constexpr (is_half_storage_v<S>) {
      // B as stored: the product widens its values as it packs them (math_gemm.h
      // blas_gemm_16bit_b), where a float32 copy of a weight matrix cost a converted model's run
      // more than the packing itself. A stays a float32 copy: the kernel reads each of its
      // values once per 32 columns. Where the product would widen B into a copy anyway
      // (packs_16bit_b), one copy here serves every matrix of a batch.
      if (math::packs_16bit_b()) {
        math::run_matmul(ctx.threads(), plan, x.span().data(), b.data<S>().data(), out.span().data());
        ctx.set_output(0, std::move(out).finish());
        return;
      }
    }
    const InputValues<S> y(b);
    math::run_matmul(ctx.threads(), plan, x.span().data(), y.span().data(), out.span().data(), b_rounding<S>(ctx));
    ctx.set_output(0, std::move(out).finish());
  });
}

// ---- Gemm ----

// Y = alpha * op(A) * op(B) + beta * C for integers: the product wraps; alpha and beta other
// than 1 scale in double, then the value converts back as Cast would.
template <typename T>
T integer_gemm_value(T product, double alpha, const T* c, double beta) {
  if (alpha == 1.0 && (c == nullptr || beta == 1.0)) {
    return c == nullptr ? product : wrapping_add(product, *c);
  }
  double value = alpha * static_cast<double>(product);
  if (c != nullptr) value += beta * static_cast<double>(*c);
  return convert_value<T>(value);
}

void gemm_kernel(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  const Tensor* c = ctx.optional_input(2);
  require_same_type(ctx, a, b);
  if (c != nullptr) require_same_type(ctx, a, *c);
  if (a.rank() != 2 || b.rank() != 2) {
    ctx.fail("A and B must be matrices, got " + shape_to_string(a.shape()) + " and " + shape_to_string(b.shape()));
  }
  const bool trans_a = ctx.attr_int("transA", 0) != 0;
  const bool trans_b = ctx.attr_int("transB", 0) != 0;
  const float alpha = ctx.attr_float("alpha", 1.0f);
  const float beta = ctx.attr_float("beta", 1.0f);
  const auto m = static_cast<std::size_t>(a.shape()[trans_a ? 1 : 0]);
  const auto k = static_cast<std::size_t>(a.shape()[trans_a ? 0 : 1]);
  const auto n = static_cast<std::size_t>(b.shape()[trans_b ? 0 : 1]);
  if (static_cast<std::size_t>(b.shape()[trans_b ? 1 : 0]) != k) {
    ctx.fail("inner dimensions differ: A " + shape_to_string(a.shape()) + (trans_a ? " (transposed)" : "") + ", B " +
             shape_to_string(b.shape()) + (trans_b ? " (transposed)" : ""));
  }
  const Shape output_shape{static_cast<std::int64_t>(m), static_cast<std::int64_t>(n)};
  // C broadcasts one way, to [M, N] (before opset 7 only with broadcast=1; we accept it always).
  const Shape c_shape = c != nullptr ? c->shape() : Shape{};
  const Shape c_shapes[] = {c_shape};
  const BroadcastLayout c_layout(c_shapes, output_shape);

  dispatch<NumericTypes>(a.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> x(a);
    OutputValues<S> out(output_shape);
    auto result = out.span();
    if constexpr (std::is_floating_point_v<C>) {
      if constexpr (is_half_storage_v<S>) {
        math::blas_gemm_16bit_b(ctx.threads(), trans_a, trans_b, m, n, k, alpha, x.span().data(), trans_a ? m : k,
                                b.data<S>().data(), trans_b ? k : n, 0.0f, result.data(), n);
      } else {
        const InputValues<S> y(b);
        math::blas_gemm<C>(ctx.threads(), trans_a, trans_b, m, n, k, static_cast<C>(alpha), x.span().data(),
                           y.span().data(), C{0}, result.data(), b_rounding<S>(ctx));
      }
      // beta == 0 leaves C out (as BLAS and ONNX Runtime do), so an infinite C does not give NaN.
      if (c != nullptr && beta != 0.0f) {
        const InputValues<S> bias(*c);
        const auto scale = static_cast<C>(beta);
        c_layout.for_each_run(
            [&](std::size_t o, std::size_t count, const std::size_t* offset, const std::size_t* step) {
              for (std::size_t i = 0; i < count; ++i) result[o + i] += scale * bias[offset[0] + i * step[0]];
            });
      }
    } else {
      const InputValues<S> y(b);
      math::integer_gemm(trans_a, trans_b, m, n, k, x.span().data(), y.span().data(), result.data());
      if (c != nullptr) {
        const InputValues<S> bias(*c);
        c_layout.for_each_run(
            [&](std::size_t o, std::size_t count, const std::size_t* offset, const std::size_t* step) {
              for (std::size_t i = 0; i < count; ++i) {
                result[o + i] = integer_gemm_value(result[o + i], alpha, &bias[offset[0] + i * step[0]], beta);
              }
            });
      } else if (alpha != 1.0f) {
        for (auto& value : result) value = integer_gemm_value<C>(value, alpha, nullptr, beta);
      }
    }
    ctx.set_output(0, std::move(out).finish());
  });
}

// ---- MatMulInteger ----

// A zero point per tensor (one value), per row of A / column of B (one per row or column of a
// matrix, or of every matrix of the stack); `index` counts rows (columns) across the stack, so
// that `index % size` picks the right one in each case.
template <typename T>
std::int32_t zero_point_at(const Tensor* zero_point, std::size_t index) {
  if (zero_point == nullptr) return 0;
  const auto values = zero_point->data<T>();
  return static_cast<std::int32_t>(values[index % values.size()]);
}

// Whether B's zero point suits the direct path: absent, one, or one per column of a 2-D B of
// B's type (the kernel and its preparer ask the same).
bool direct_b_zero_fits(const Tensor& b, const Tensor* b_zero) {
  return b_zero == nullptr ||
         (b_zero->dtype() == b.dtype() &&
          (b_zero->size() == 1 || (b.rank() == 2 && b_zero->size() == static_cast<std::size_t>(b.shape()[1]))));
}

// B's zero points for the direct path: one (absent: 0) or one per column.
std::vector<std::int32_t> direct_b_zeros(const Tensor& b, const Tensor* b_zero) {
  if (b_zero == nullptr) return {0};
  std::vector<std::int32_t> zeros;
  dispatch<TypeList<std::uint8_t, std::int8_t>>(b.dtype(), [&]<typename TB>(std::type_identity<TB>) {
    for (const TB v : b_zero->data<TB>()) zeros.push_back(v);
  });
  return zeros;
}

// While the model loads: a constant B (and zero point) packed for the direct path, as the kernel
// below would pack it in its first run. (Whether a run takes the direct path depends on A too;
// where it does not, the packed copy goes unused.)
void matmul_integer_prepare(KernelContext& ctx) {
  if (!ctx.has_input(1)) return;
  const Tensor& b = ctx.input(1);
  const Tensor* b_zero = ctx.optional_input(3);
  if (!direct_b_zero_fits(b, b_zero)) return;
  nn::prepare_direct_integer_gemm(ctx, b, direct_b_zeros(b, b_zero), {1, 3});
}

void matmul_integer_kernel(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  const Tensor* a_zero = ctx.optional_input(2);
  const Tensor* b_zero = ctx.optional_input(3);
  if (a_zero != nullptr) require_same_type(ctx, a, *a_zero);
  if (b_zero != nullptr) require_same_type(ctx, b, *b_zero);
  if ((a_zero != nullptr && a_zero->size() == 0) || (b_zero != nullptr && b_zero->size() == 0)) {
    ctx.fail("a zero point is empty");
  }
  const MatMulPlan plan = math::plan_matmul(a.shape(), b.shape());
  using Int8Types = TypeList<std::uint8_t, std::int8_t>;
  Tensor out = Tensor::uninitialized(onnx::TensorProto::INT32, plan.output);
  auto result = out.mutable_data<std::int32_t>();
  // A dynamically quantized model's product: uint8 activations (a stack of rows) by one weight
  // matrix, per-tensor a zero point: the direct u8 x s8 path where the CPU has it.
  if (plan.folds_into_one_product && nn::direct_integer_gemm_applies(a, b) && (a_zero == nullptr || a_zero->size() == 1) &&
      direct_b_zero_fits(b, b_zero)) {
    const std::size_t rows = a.size() / std::max<std::size_t>(1, plan.k);
    nn::direct_integer_gemm(ctx, a.data<std::uint8_t>().data(), rows, plan.k, zero_point_at<std::uint8_t>(a_zero, 0), b,
                            direct_b_zeros(b, b_zero), {1, 3}, result.data());
    ctx.set_output(0, std::move(out));
    return;
  }
  dispatch<Int8Types>(a.dtype(), [&]<typename TA>(std::type_identity<TA>) {
    dispatch<Int8Types>(b.dtype(), [&]<typename TB>(std::type_identity<TB>) {
      const auto x = a.data<TA>();
      const auto y = b.data<TB>();
      const std::size_t m = plan.m, k = plan.k, n = plan.n;
      // One exact integer product per matrix of the stack (math::exact_integer_gemm: float32
      // slices added in int64) on the values less their zero points, which are at most 255 in
      // magnitude. The naive loop it replaces walked B by columns.
      const buffers::Scratch<float> fa(m * k);
      const buffers::Scratch<float> fb(k * n);
      for (std::size_t batch = 0; batch < plan.a_offsets.size(); ++batch) {
        const TA* pa = x.data() + plan.a_offsets[batch];
        const TB* pb = y.data() + plan.b_offsets[batch];
        const std::size_t a_matrix = plan.a_offsets[batch] / std::max<std::size_t>(1, m * k);
        const std::size_t b_matrix = plan.b_offsets[batch] / std::max<std::size_t>(1, k * n);
        float largest_a = 0, largest_b = 0;
        for (std::size_t i = 0; i < m; ++i) {
          const std::int32_t za = zero_point_at<TA>(a_zero, a_matrix * m + i);
          for (std::size_t p = 0; p < k; ++p) {
            const float v = static_cast<float>(static_cast<std::int32_t>(pa[i * k + p]) - za);
            fa.get()[i * k + p] = v;
            largest_a = std::max(largest_a, std::abs(v));
          }
        }
        for (std::size_t p = 0; p < k; ++p) {
          for (std::size_t j = 0; j < n; ++j) {
            const std::int32_t zb = zero_point_at<TB>(b_zero, b_matrix * n + j);
            const float v = static_cast<float>(static_cast<std::int32_t>(pb[p * n + j]) - zb);
            fb.get()[p * n + j] = v;
            largest_b = std::max(largest_b, std::abs(v));
          }
        }
        math::exact_integer_gemm(ctx.threads(), m, n, k, fa.get(), k, fb.get(), n,
                                 static_cast<double>(largest_a) * static_cast<double>(largest_b),
                                 result.data() + batch * m * n, n);
      }
    });
  });
  ctx.set_output(0, std::move(out));
}

// ---- com.microsoft FusedMatMul ----

// The order in which FusedMatMul reads an operand's dimensions: transBatch moves the first
// dimension next to the last one ([d0, d1.., M', K'] -> [d1.., d0, K']), then trans swaps the
// last two (ONNX Runtime's contrib schema). A 1-D operand is never transposed.
std::vector<std::size_t> fused_operand_order(std::size_t rank, bool trans, bool trans_batch) {
  std::vector<std::size_t> order(rank);
  std::iota(order.begin(), order.end(), std::size_t{0});
  if (rank < 2) return order;
  if (trans_batch) {
    std::rotate(order.begin(), order.begin() + 1, order.end() - 1);
  }
  if (trans) std::swap(order[rank - 2], order[rank - 1]);
  return order;
}

bool is_identity(const std::vector<std::size_t>& order) {
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (order[i] != i) return false;
  }
  return true;
}

void fused_matmul_kernel(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  require_same_type(ctx, a, b);
  const auto a_order =
      fused_operand_order(a.rank(), ctx.attr_int("transA", 0) != 0, ctx.attr_int("transBatchA", 0) != 0);
  const auto b_order =
      fused_operand_order(b.rank(), ctx.attr_int("transB", 0) != 0, ctx.attr_int("transBatchB", 0) != 0);
  const Shape a_shape = math::permuted_shape(a.shape(), a_order);
  const Shape b_shape = math::permuted_shape(b.shape(), b_order);
  const MatMulPlan plan = math::plan_matmul(a_shape, b_shape);
  const float alpha = ctx.attr_float("alpha", 1.0f);
  dispatch<FloatTypes>(a.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> x(a);
    const InputValues<S> y(b);
    std::vector<C> x_moved;
    std::vector<C> y_moved;
    const C* px = x.span().data();
    const C* py = y.span().data();
    if (!is_identity(a_order)) {
      x_moved = math::permute_values(x.span(), a.shape(), a_order);
      px = x_moved.data();
    }
    if (!is_identity(b_order)) {
      y_moved = math::permute_values(y.span(), b.shape(), b_order);
      py = y_moved.data();
    }
    OutputValues<S> out(plan.output);
    math::run_matmul(ctx.threads(), plan, px, py, out.span().data());
    if (alpha != 1.0f) {
      for (auto& value : out.span()) value *= static_cast<C>(alpha);
    }
    ctx.set_output(0, std::move(out).finish());
  });
}

}  // namespace

void register_matmul_kernels(KernelRegistry& r) {
  r.add("MatMul", 1, matmul_kernel);
  r.add("Gemm", 1, gemm_kernel);
  r.add_rounding_reader("", "MatMul", {1});
  r.add_rounding_reader("", "Gemm", {1});
  r.add("MatMulInteger", 10, matmul_integer_kernel);
  r.add_preparer("", "MatMulInteger", matmul_integer_prepare);
  r.add("com.microsoft", "FusedMatMul", 1, fused_matmul_kernel);
}

}  // namespace onnx_fp16::runtime
