#pragma once
// Element types of arrays on disk (NumPy dtypes) and their mapping to C++ types.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tg {

enum class dtype { boolean, int8, uint8, int16, uint16, int32, uint32, int64, uint64, float16, float32, float64 };

std::size_t dtype_size(dtype t);
// "float32", "int64", ... (the names meta.json and the CLI use).
std::string_view dtype_name(dtype t);
// Parses a name as written by dtype_name; throws input_error naming `what` otherwise.
dtype dtype_from_name(std::string_view name, std::string_view what);
bool is_integer(dtype t);
bool is_float(dtype t);

// IEEE half stored as raw bits; conversion helpers for the CPU path.
struct float16_t {
  std::uint16_t bits;
};
float half_to_float(std::uint16_t h);
std::uint16_t float_to_half(float f);

template <typename T>
constexpr dtype dtype_of();
template <>
constexpr dtype dtype_of<bool>() {
  return dtype::boolean;
}
template <>
constexpr dtype dtype_of<std::int8_t>() {
  return dtype::int8;
}
template <>
constexpr dtype dtype_of<std::uint8_t>() {
  return dtype::uint8;
}
template <>
constexpr dtype dtype_of<std::int16_t>() {
  return dtype::int16;
}
template <>
constexpr dtype dtype_of<std::uint16_t>() {
  return dtype::uint16;
}
template <>
constexpr dtype dtype_of<std::int32_t>() {
  return dtype::int32;
}
template <>
constexpr dtype dtype_of<std::uint32_t>() {
  return dtype::uint32;
}
template <>
constexpr dtype dtype_of<std::int64_t>() {
  return dtype::int64;
}
template <>
constexpr dtype dtype_of<std::uint64_t>() {
  return dtype::uint64;
}
template <>
constexpr dtype dtype_of<float16_t>() {
  return dtype::float16;
}
template <>
constexpr dtype dtype_of<float>() {
  return dtype::float32;
}
template <>
constexpr dtype dtype_of<double>() {
  return dtype::float64;
}

}  // namespace tg
