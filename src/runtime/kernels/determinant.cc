// Det (opset 11): the determinants of the trailing [M, M] matrices of X [*, M, M], by LU
// decomposition with partial pivoting in compute_t (float32 for float16), rounded once.
#include <cmath>
#include <utility>
#include <vector>

#include "runtime/float_compute.h"
#include "runtime/kernel_registry.h"

namespace onnx_fp16::runtime {

namespace {

void det(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2 || x.shape()[x.rank() - 1] != x.shape()[x.rank() - 2]) {
    ctx.fail("input must be [*, M, M], not " + shape_to_string(x.shape()));
  }
  const auto m = static_cast<std::size_t>(x.shape().back());
  const Shape out_shape(x.shape().begin(), x.shape().end() - 2);
  dispatch<FloatTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> in(x);
    OutputValues<S> out(out_shape);
    std::vector<C> a(m * m);
    for (std::size_t k = 0; k < out.size(); ++k) {
      for (std::size_t i = 0; i < m * m; ++i) a[i] = in[k * m * m + i];
      C result{1};
      for (std::size_t col = 0; col < m && result != C{0}; ++col) {
        std::size_t pivot = col;
        for (std::size_t r = col + 1; r < m; ++r) {
          if (std::fabs(a[r * m + col]) > std::fabs(a[pivot * m + col])) pivot = r;
        }
        if (a[pivot * m + col] == C{0}) {
          result = C{0};
          break;
        }
        if (pivot != col) {
          for (std::size_t j = 0; j < m; ++j) std::swap(a[pivot * m + j], a[col * m + j]);
          result = -result;
        }
        const C p = a[col * m + col];
        result *= p;
        for (std::size_t r = col + 1; r < m; ++r) {
          const C f = a[r * m + col] / p;
          for (std::size_t j = col + 1; j < m; ++j) a[r * m + j] -= f * a[col * m + j];
        }
      }
      out[k] = result;
    }
    ctx.set_output(0, std::move(out).finish());
  });
}

}  // namespace

void register_determinant_kernels(KernelRegistry& r) { r.add("Det", 11, det); }

}  // namespace onnx_fp16::runtime
