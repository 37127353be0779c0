// Einsum (opset 12): any equation numpy.einsum takes, with repeated letters (diagonals), "..."
// and implicit outputs. A product of two operands where every letter is a batch, row, column
// or contracted index goes through GEMM (float32 accumulation for float16, as MatMul); anything
// else is summed by a plain loop in the compute type. Either way the result is rounded once.
#include <algorithm>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "runtime/element_types.h"
#include "runtime/elementwise.h"
#include "runtime/float_compute.h"
#include "runtime/kernel_registry.h"
#include "runtime/kernels/math_einsum_equation.h"
#include "runtime/kernels/math_gemm.h"
#include "runtime/kernels/math_permute.h"

namespace onnx_fp16::runtime {

namespace {

using math::EinsumEquation;

bool contains(const std::vector<int>& labels, int label) {
  return std::find(labels.begin(), labels.end(), label) != labels.end();
}

std::size_t position(const std::vector<int>& labels, int label) {
  return static_cast<std::size_t>(std::find(labels.begin(), labels.end(), label) - labels.begin());
}

// The problem, resolved against the operands' shapes.
struct Contraction {
  EinsumEquation equation;
  std::map<int, std::size_t> sizes;  // per label; a dimension of 1 broadcasts to the others
  std::vector<int> summed;           // labels not in the output, in order of appearance
  Shape output_shape;
};

Contraction resolve(const KernelContext& ctx, const std::vector<const Tensor*>& operands) {
  std::vector<std::size_t> ranks;
  for (const Tensor* t : operands) ranks.push_back(t->rank());
  Contraction c{math::parse_einsum(ctx.attr_string("equation"), ranks), {}, {}, {}};
  for (std::size_t i = 0; i < operands.size(); ++i) {
    for (std::size_t d = 0; d < ranks[i]; ++d) {
      const int label = c.equation.inputs[i][d];
      const auto size = static_cast<std::size_t>(operands[i]->shape()[d]);
      const auto [it, added] = c.sizes.emplace(label, size);
      if (added || it->second == size || size == 1) continue;
      if (it->second != 1)
        ctx.fail("einsum dimensions of one letter differ: " + std::to_string(it->second) + " and " +
                 std::to_string(size));
      it->second = size;
    }
    for (const int label : c.equation.inputs[i]) {
      if (!contains(c.equation.output, label) && !contains(c.summed, label)) c.summed.push_back(label);
    }
  }
  for (const int label : c.equation.output) c.output_shape.push_back(static_cast<std::int64_t>(c.sizes.at(label)));
  return c;
}

// Operand i's step for each label of `labels`: the sum of the strides of its dimensions with
// that label (a repeated letter walks the diagonal), 0 where it broadcasts or lacks the label.
std::vector<std::size_t> label_steps(const Contraction& c, const Tensor& operand, std::size_t i,
                                     const std::vector<int>& labels) {
  const auto& dims = c.equation.inputs[i];
  std::vector<std::size_t> strides(dims.size(), 1);
  for (std::size_t d = dims.size(); d-- > 1;)
    strides[d - 1] = strides[d] * static_cast<std::size_t>(operand.shape()[d]);
  std::vector<std::size_t> steps(labels.size(), 0);
  for (std::size_t d = 0; d < dims.size(); ++d) {
    const bool broadcast = operand.shape()[d] == 1 && c.sizes.at(dims[d]) != 1;
    if (!broadcast) steps[position(labels, dims[d])] += strides[d];
  }
  return steps;
}

// out[o] = sum over the summed labels of the product of the operands, by plain loops.
template <typename C>
void loop_contraction(const Contraction& c, const std::vector<const Tensor*>& operands,
                      const std::vector<std::span<const C>>& values, std::span<C> out) {
  std::vector<int> labels = c.equation.output;
  labels.insert(labels.end(), c.summed.begin(), c.summed.end());
  std::vector<std::size_t> dims;
  for (const int label : labels) dims.push_back(c.sizes.at(label));
  std::vector<std::vector<std::size_t>> steps;
  for (std::size_t i = 0; i < operands.size(); ++i) steps.push_back(label_steps(c, *operands[i], i, labels));

  const std::size_t out_rank = c.equation.output.size();
  std::size_t group = 1;
  for (std::size_t d = out_rank; d < dims.size(); ++d) group *= dims[d];
  std::vector<std::size_t> index(dims.size(), 0);
  std::vector<std::size_t> at(operands.size(), 0);
  // Advances the odometer over dimensions [first, last); returns nothing, keeps `at` in step.
  const auto advance = [&](std::size_t first, std::size_t last) {
    for (std::size_t d = last; d-- > first;) {
      for (std::size_t k = 0; k < at.size(); ++k) at[k] += steps[k][d];
      if (++index[d] < dims[d]) return;
      for (std::size_t k = 0; k < at.size(); ++k) at[k] -= steps[k][d] * dims[d];
      index[d] = 0;
    }
  };
  for (std::size_t o = 0; o < out.size(); ++o) {
    C sum{0};
    for (std::size_t g = 0; g < group; ++g) {
      C product{1};
      for (std::size_t k = 0; k < at.size(); ++k) product = wrapping_mul(product, values[k][at[k]]);
      sum = wrapping_add(sum, product);
      advance(out_rank, dims.size());
    }
    out[o] = sum;
    advance(0, out_rank);
  }
}

// Whether two operands contract as a batch of matrix products: no repeated letter, no
// broadcast dimension, and no letter that only one operand has and the output lacks.
bool is_matrix_product(const Contraction& c, const std::vector<const Tensor*>& operands) {
  if (operands.size() != 2) return false;
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& labels = c.equation.inputs[i];
    const auto& other = c.equation.inputs[1 - i];
    for (std::size_t d = 0; d < labels.size(); ++d) {
      if (position(labels, labels[d]) != d) return false;
      if (static_cast<std::size_t>(operands[i]->shape()[d]) != c.sizes.at(labels[d])) return false;
      if (!contains(other, labels[d]) && !contains(c.equation.output, labels[d])) return false;
    }
  }
  return true;
}

// One operand as a stack of matrices [batch, rows, cols]: its own values when its dimensions are
// already in that order, or in the transposed one [batch, cols, rows] (BLAS reads it transposed);
// otherwise a copy in the first order.
template <typename C>
struct MatrixStack {
  const C* own = nullptr;
  std::vector<C> copy;
  bool transposed = false;
  const C* data() const { return own != nullptr ? own : copy.data(); }
};

bool is_identity(const std::vector<std::size_t>& order) {
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (order[i] != i) return false;
  }
  return true;
}

template <typename C>
MatrixStack<C> as_matrix_stack(std::span<const C> values, const Shape& shape, const std::vector<int>& labels,
                               const std::vector<int>& batch, const std::vector<int>& rows,
                               const std::vector<int>& cols) {
  const auto order_of = [&](const std::vector<int>& first, const std::vector<int>& second) {
    std::vector<std::size_t> order;
    for (const auto* group : {&batch, &first, &second}) {
      for (const int label : *group) order.push_back(position(labels, label));
    }
    return order;
  };
  MatrixStack<C> stack;
  const auto order = order_of(rows, cols);
  if (is_identity(order)) {
    stack.own = values.data();
  } else if (is_identity(order_of(cols, rows))) {
    stack.own = values.data();
    stack.transposed = true;
  } else {
    stack.copy = math::permute_values(values, shape, order);
  }
  return stack;
}

// The matrix-product case: A as [batch, m, k], B as [batch, k, n] (each possibly read
// transposed), one GEMM per batch, the [batch, m, n] result put in the output's order.
template <typename C>
void gemm_contraction(int threads, const Contraction& c, const std::vector<const Tensor*>& operands,
                      const std::vector<std::span<const C>>& values, std::span<C> out) {
  const auto& a_labels = c.equation.inputs[0];
  const auto& b_labels = c.equation.inputs[1];
  std::vector<int> batch, rows, cols, inner;
  for (const int label : c.equation.output) {
    const bool in_a = contains(a_labels, label);
    const bool in_b = contains(b_labels, label);
    (in_a && in_b ? batch : in_a ? rows : cols).push_back(label);
  }
  for (const int label : a_labels) {
    if (contains(b_labels, label) && !contains(c.equation.output, label)) inner.push_back(label);
  }
  const auto size_of = [&](const std::vector<int>& labels) {
    std::size_t size = 1;
    for (const int label : labels) size *= c.sizes.at(label);
    return size;
  };
  const auto a = as_matrix_stack(values[0], operands[0]->shape(), a_labels, batch, rows, inner);
  const auto b = as_matrix_stack(values[1], operands[1]->shape(), b_labels, batch, inner, cols);
  std::vector<int> product_labels = batch;
  product_labels.insert(product_labels.end(), rows.begin(), rows.end());
  product_labels.insert(product_labels.end(), cols.begin(), cols.end());
  std::vector<std::size_t> order;
  for (const int label : c.equation.output) order.push_back(position(product_labels, label));
  const bool in_place = is_identity(order);
  const std::size_t batches = size_of(batch), m = size_of(rows), n = size_of(cols), k = size_of(inner);
  std::vector<C> scratch(in_place ? 0 : batches * m * n);
  C* product = in_place ? out.data() : scratch.data();
  for (std::size_t i = 0; i < batches; ++i) {
    math::matrix_product(threads, a.transposed, b.transposed, m, n, k, a.data() + i * m * k, b.data() + i * k * n,
                         product + i * m * n);
  }
  if (in_place) return;
  Shape product_shape;
  for (const int label : product_labels) product_shape.push_back(static_cast<std::int64_t>(c.sizes.at(label)));
  const std::vector<C> arranged = math::permute_values(std::span<const C>(scratch), product_shape, order);
  std::copy(arranged.begin(), arranged.end(), out.begin());
}

void einsum_kernel(KernelContext& ctx) {
  std::vector<const Tensor*> operands;
  for (std::size_t i = 0; i < ctx.input_count(); ++i) operands.push_back(&ctx.input(i));
  if (operands.empty()) ctx.fail("needs at least one operand");
  for (const Tensor* t : operands) require_same_type(ctx, *operands[0], *t);
  const Contraction c = resolve(ctx, operands);
  dispatch<NumericTypes>(operands[0]->dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    std::vector<std::unique_ptr<InputValues<S>>> inputs;
    std::vector<std::span<const C>> values;
    for (const Tensor* t : operands) {
      inputs.push_back(std::make_unique<InputValues<S>>(*t));
      values.push_back(inputs.back()->span());
    }
    OutputValues<S> out(c.output_shape);
    if (std::is_floating_point_v<C> && is_matrix_product(c, operands)) {
      gemm_contraction<C>(ctx.threads(), c, operands, values, out.span());
    } else {
      loop_contraction<C>(c, operands, values, out.span());
    }
    ctx.set_output(0, std::move(out).finish());
  });
}

}  // namespace

void register_einsum_kernels(KernelRegistry& r) { r.add("Einsum", 12, einsum_kernel); }

}  // namespace onnx_fp16::runtime
