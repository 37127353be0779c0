// Ops that reorder a tensor's axes: Transpose, and DepthToSpace / SpaceToDepth, which are a
// reshape, a transpose and a reshape (as the spec defines them) done here in one copy: the
// output is seen as a rank-6 tensor whose axes each read one input axis at some stride.
#include <string>
#include <vector>

#include "runtime/index_copy.h"
#include "runtime/kernel_registry.h"

namespace onnx_fp16::runtime {

namespace {

// Transpose: output axis i is input axis perm[i]; without perm the axes are reversed.
void transpose_kernel(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const std::size_t rank = data.rank();
  std::vector<std::int64_t> perm;
  if (ctx.has_attribute("perm")) {
    perm = ctx.attr_ints("perm");
  } else {
    for (std::size_t d = rank; d-- > 0;) perm.push_back(static_cast<std::int64_t>(d));
  }
  if (perm.size() != rank) ctx.fail("perm " + shape_to_string(perm) + " does not fit rank " + std::to_string(rank));
  std::vector<bool> seen(rank, false);
  const auto strides = row_major_strides(data.shape());
  Shape shape(rank);
  std::vector<std::vector<std::int64_t>> offsets(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    // Negative entries are not in the spec; numpy and ONNX Runtime accept them.
    const std::size_t from = normalize_axis(perm[i], rank);
    if (seen[from]) ctx.fail("perm " + shape_to_string(perm) + " is not a permutation");
    seen[from] = true;
    shape[i] = data.shape()[from];
    offsets[i] = strided_offsets(shape[i], 0, 1, strides[from]);
  }
  ctx.set_output(0, copy_by_axis_offsets(data, std::move(shape), offsets));
}

struct BlockLayout {
  std::int64_t n, c, h, w, block;
};

BlockLayout block_layout(const KernelContext& ctx, const Tensor& data) {
  if (data.rank() != 4) ctx.fail("needs a rank 4 input [N,C,H,W], got " + shape_to_string(data.shape()));
  const std::int64_t block = ctx.attr_int("blocksize");
  if (block <= 0) ctx.fail("blocksize must be positive, got " + std::to_string(block));
  const Shape& s = data.shape();
  return {s[0], s[1], s[2], s[3], block};
}

// DepthToSpace: output [N, C/b², H·b, W·b] with out[n, c, h·b+i, w·b+j] =
//   DCR (default): in[n, (i·b + j)·C/b² + c, h, w]
//   CRD (opset 11): in[n, c·b² + i·b + j, h, w].
void depth_to_space_kernel(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const auto [n, c, h, w, b] = block_layout(ctx, data);
  if (c % (b * b) != 0) ctx.fail("channels " + std::to_string(c) + " are not a multiple of blocksize²");
  const std::string mode = ctx.opset() >= 11 ? ctx.attr_string("mode", "DCR") : "DCR";
  if (mode != "DCR" && mode != "CRD") ctx.fail("unknown mode '" + mode + "'");
  const std::int64_t depth = c / (b * b);
  const std::int64_t s_c = h * w;  // input strides
  const std::int64_t s_n = c * s_c;
  // The output as [N, C/b², H, b, W, b].
  const Shape view{n, depth, h, b, w, b};
  const bool dcr = mode == "DCR";
  const std::vector<std::vector<std::int64_t>> offsets{
      strided_offsets(n, 0, 1, s_n),
      strided_offsets(depth, 0, 1, (dcr ? 1 : b * b) * s_c),
      strided_offsets(h, 0, 1, w),
      strided_offsets(b, 0, 1, (dcr ? b * depth : b) * s_c),
      strided_offsets(w, 0, 1, 1),
      strided_offsets(b, 0, 1, (dcr ? depth : 1) * s_c),
  };
  ctx.set_output(0, copy_by_axis_offsets(data, view, offsets).reshaped({n, depth, h * b, w * b}));
}

// SpaceToDepth: output [N, C·b², H/b, W/b] with out[n, (i·b + j)·C + c, h, w] =
// in[n, c, h·b + i, w·b + j].
void space_to_depth_kernel(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const auto [n, c, h, w, b] = block_layout(ctx, data);
  if (h % b != 0 || w % b != 0) ctx.fail("height and width must be multiples of blocksize " + std::to_string(b));
  const std::int64_t s_c = h * w;
  // The output as [N, b, b, C, H/b, W/b].
  const Shape view{n, b, b, c, h / b, w / b};
  const std::vector<std::vector<std::int64_t>> offsets{
      strided_offsets(n, 0, 1, c * s_c), strided_offsets(b, 0, 1, w),     strided_offsets(b, 0, 1, 1),
      strided_offsets(c, 0, 1, s_c),     strided_offsets(h / b, 0, 1, b * w), strided_offsets(w / b, 0, 1, b),
  };
  ctx.set_output(0, copy_by_axis_offsets(data, view, offsets).reshaped({n, c * b * b, h / b, w / b}));
}

}  // namespace

void register_transpose_ops_kernels(KernelRegistry& r) {
  r.add("Transpose", 1, transpose_kernel);
  r.add("DepthToSpace", 1, depth_to_space_kernel);
  r.add("SpaceToDepth", 1, space_to_depth_kernel);
}

}  // namespace onnx_fp16::runtime
