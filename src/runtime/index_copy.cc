#include "runtime/index_copy.h"

#include <algorithm>

#include "onnx_fp16/error.h"
#include "runtime/element_types.h"

namespace onnx_fp16::runtime {

std::int64_t dim_product(const Shape& shape, std::size_t begin, std::size_t end) {
  std::int64_t product = 1;
  for (std::size_t d = begin; d < end; ++d) product *= shape[d];
  return product;
}

std::vector<std::int64_t> row_major_strides(const Shape& shape) {
  std::vector<std::int64_t> strides(shape.size(), 1);
  for (std::size_t d = shape.size(); d-- > 1;) strides[d - 1] = strides[d] * shape[d];
  return strides;
}

std::vector<std::int64_t> strided_offsets(std::int64_t count, std::int64_t start, std::int64_t step,
                                          std::int64_t stride) {
  std::vector<std::int64_t> offsets(static_cast<std::size_t>(std::max<std::int64_t>(count, 0)));
  for (std::size_t k = 0; k < offsets.size(); ++k) offsets[k] = (start + static_cast<std::int64_t>(k) * step) * stride;
  return offsets;
}

std::int64_t wrap_index(std::int64_t index, std::int64_t extent) {
  if (index < -extent || index >= extent) {
    throw Error("index " + std::to_string(index) + " is out of range for extent " + std::to_string(extent));
  }
  return index < 0 ? index + extent : index;
}

namespace {

// The sum of two offsets, staying kFillOffset once either is.
inline std::int64_t add_offset(std::int64_t base, std::int64_t offset) {
  return (base < 0 || offset < 0) ? kFillOffset : base + offset;
}

template <typename T>
void copy_offsets_typed(const T* in, T* out, const Shape& shape, const std::vector<std::vector<std::int64_t>>& offsets,
                        const T& fill) {
  const std::size_t rank = shape.size();
  if (rank == 0) {
    out[0] = in[0];
    return;
  }
  // The innermost axis is a plain loop; the outer ones advance like an odometer, keeping in
  // base[d] the sum of the offsets of axes before d so that a step recomputes only what changed.
  const std::size_t outer = rank - 1;
  const std::vector<std::int64_t>& inner = offsets[outer];
  const auto inner_count = static_cast<std::size_t>(shape[outer]);
  // The common inner runs, decided once: contiguous (a block copy: slices, gathers of rows,
  // concatenations) or without fill entries (a plain gather loop).
  bool contiguous = inner[0] >= 0;
  bool has_fill = false;
  for (std::size_t k = 0; k < inner_count; ++k) {
    contiguous = contiguous && inner[k] == inner[0] + static_cast<std::int64_t>(k);
    has_fill = has_fill || inner[k] < 0;
  }
  std::vector<std::size_t> index(outer, 0);
  std::vector<std::int64_t> base(rank, 0);
  for (std::size_t d = 0; d < outer; ++d) base[d + 1] = add_offset(base[d], offsets[d][0]);
  for (T* o = out;; o += inner_count) {
    const std::int64_t b = base[outer];
    if (b < 0) {
      std::fill_n(o, inner_count, fill);
    } else if (contiguous) {
      std::copy_n(in + b + inner[0], inner_count, o);
    } else if (!has_fill) {
      const T* from = in + b;
      for (std::size_t k = 0; k < inner_count; ++k) o[k] = from[inner[k]];
    } else {
      const T* from = in + b;
      for (std::size_t k = 0; k < inner_count; ++k) o[k] = inner[k] < 0 ? fill : from[inner[k]];
    }
    std::size_t d = outer;
    for (;;) {
      if (d == 0) return;
      --d;
      if (++index[d] < static_cast<std::size_t>(shape[d])) break;
      index[d] = 0;
    }
    for (std::size_t e = d; e < outer; ++e) base[e + 1] = add_offset(base[e], offsets[e][index[e]]);
  }
}

}  // namespace

Tensor copy_by_axis_offsets(const Tensor& input, Shape out_shape, const std::vector<std::vector<std::int64_t>>& offsets,
                            const Tensor* fill) {
  if (offsets.size() != out_shape.size()) throw Error("copy_by_axis_offsets: one offset table per output axis needed");
  for (std::size_t d = 0; d < out_shape.size(); ++d) {
    if (offsets[d].size() != static_cast<std::size_t>(out_shape[d])) {
      throw Error("copy_by_axis_offsets: offset table " + std::to_string(d) + " does not match the output shape");
    }
  }
  if (fill != nullptr && (fill->dtype() != input.dtype() || fill->size() != 1)) {
    throw Error("the fill value must be one " + data_type_name(input.dtype()) + " value");
  }
  Tensor output = Tensor::uninitialized(input.dtype(), std::move(out_shape));
  if (output.size() == 0) return output;
  dispatch<AllTypes>(input.dtype(), [&]<typename T>(std::type_identity<T>) {
    const T fill_value = fill != nullptr ? fill->data<T>()[0] : T{};
    copy_offsets_typed<T>(input.data<T>().data(), output.mutable_data<T>().data(), output.shape(), offsets,
                          fill_value);
  });
  return output;
}

Tensor take_blocks(const Tensor& input, Shape out_shape, std::span<const std::int64_t> starts, std::size_t block) {
  Tensor output = Tensor::uninitialized(input.dtype(), std::move(out_shape));
  if (starts.size() * block != output.size()) throw Error("take_blocks: the blocks do not fill the output");
  if (output.size() == 0) return output;
  dispatch<AllTypes>(input.dtype(), [&]<typename T>(std::type_identity<T>) {
    const auto in = input.data<T>();
    auto out = output.mutable_data<T>();
    for (std::size_t i = 0; i < starts.size(); ++i) {
      const auto start = static_cast<std::size_t>(starts[i]);
      if (start + block > in.size()) throw Error("take_blocks: a block lies outside the input");
      std::copy_n(in.begin() + static_cast<std::ptrdiff_t>(start), block,
                  out.begin() + static_cast<std::ptrdiff_t>(i * block));
    }
  });
  return output;
}

}  // namespace onnx_fp16::runtime
