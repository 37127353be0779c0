// BitShift (opset 11): unsigned integers shifted left or right by the broadcast second input.
// A shift by the type's width or more gives 0 (C++ leaves it undefined).
#include <limits>
#include <string>

#include "runtime/elementwise.h"
#include "runtime/kernel_registry.h"

namespace onnx_fp16::runtime {

namespace {

void bit_shift(KernelContext& ctx) {
  const std::string direction = ctx.attr_string("direction");
  if (direction != "LEFT" && direction != "RIGHT") ctx.fail("direction must be 'LEFT' or 'RIGHT', not '" + direction + "'");
  const bool left = direction == "LEFT";
  binary_map<UnsignedIntTypes, SameType>(ctx, [left](auto x, auto s) {
    using T = decltype(x);
    constexpr auto bits = static_cast<T>(std::numeric_limits<T>::digits);
    if (s >= bits) return T{0};
    return static_cast<T>(left ? static_cast<T>(x << s) : static_cast<T>(x >> s));
  });
}

}  // namespace

void register_bit_shift_kernels(KernelRegistry& r) { r.add("BitShift", 11, bit_shift); }

}  // namespace onnx_fp16::runtime
