// Element-type dispatch for kernels: write a kernel once as a template over the storage type S
// and let `dispatch<List>(tensor.dtype(), ...)` instantiate it for the types the op allows.
//
//   dispatch<NumericTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) { ... });
//
// Inside, compute_t<S> is the type to compute in: float for float16 and bfloat16 (their values
// are read as float32 and rounded back when written, see float_compute.h), S itself otherwise.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>

#include "runtime/tensor.h"

namespace onnx_fp16::runtime {

template <typename... Ts>
struct TypeList {};

template <typename A, typename B>
struct ConcatTypes;
template <typename... As, typename... Bs>
struct ConcatTypes<TypeList<As...>, TypeList<Bs...>> {
  using type = TypeList<As..., Bs...>;
};
template <typename A, typename B>
using concat_types = typename ConcatTypes<A, B>::type;

using FloatTypes = TypeList<float, Float16, BFloat16, double>;
using SignedIntTypes = TypeList<std::int8_t, std::int16_t, std::int32_t, std::int64_t>;
using UnsignedIntTypes = TypeList<std::uint8_t, std::uint16_t, std::uint32_t, std::uint64_t>;
using IntTypes = concat_types<SignedIntTypes, UnsignedIntTypes>;
using NumericTypes = concat_types<FloatTypes, IntTypes>;
// Types whose values can be negated: floats and signed integers.
using SignedNumericTypes = concat_types<FloatTypes, SignedIntTypes>;
using NumericAndBoolTypes = concat_types<NumericTypes, TypeList<bool>>;
using AllTypes = concat_types<NumericAndBoolTypes, TypeList<std::string>>;

// The type a kernel computes in for storage type S.
template <typename S>
struct ComputeType {
  using type = S;
};
template <>
struct ComputeType<Float16> {
  using type = float;
};
template <>
struct ComputeType<BFloat16> {
  using type = float;
};
template <typename S>
using compute_t = typename ComputeType<S>::type;

template <typename S>
inline constexpr bool is_float_storage_v = std::is_floating_point_v<S> || std::is_same_v<S, Float16> ||
                                           std::is_same_v<S, BFloat16>;
// float16 and bfloat16: stored in 16 bits, computed in float32 (the storage types whose compute
// type differs).
template <typename S>
inline constexpr bool is_half_storage_v = !std::is_same_v<compute_t<S>, S>;

// Throws onnx_fp16::Error: "element type X is not supported" (the executor adds the node).
[[noreturn]] void throw_unsupported_type(DataType type);

namespace detail {
template <typename F, typename T, typename... Rest>
decltype(auto) dispatch_over(DataType type, F&& f) {
  if (type == data_type_of<T>) return f(std::type_identity<T>{});
  if constexpr (sizeof...(Rest) == 0) {
    throw_unsupported_type(type);
  } else {
    return dispatch_over<F, Rest...>(type, std::forward<F>(f));
  }
}
template <typename List>
struct Dispatcher;
template <typename... Ts>
struct Dispatcher<TypeList<Ts...>> {
  template <typename F>
  static decltype(auto) run(DataType type, F&& f) {
    return dispatch_over<F, Ts...>(type, std::forward<F>(f));
  }
};
}  // namespace detail

// Calls f(std::type_identity<S>{}) for the storage type S of `type` if it is in List; throws
// onnx_fp16::Error (element type not supported) otherwise.
template <typename List, typename F>
decltype(auto) dispatch(DataType type, F&& f) {
  return detail::Dispatcher<List>::run(type, std::forward<F>(f));
}

// Whether `type` is one of List's types.
template <typename... Ts>
bool type_in(DataType type, TypeList<Ts...>) {
  return ((type == data_type_of<Ts>) || ...);
}

inline bool is_float_type(DataType type) { return type_in(type, FloatTypes{}); }

}  // namespace onnx_fp16::runtime
