// Element types and host-side conversions between them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace mf {

enum class DType : uint8_t { F32, F16, BF16, I32, I64, U8 };

size_t dtype_size(DType t);
std::string_view dtype_name(DType t);        // "F32", "BF16", ... (safetensors spelling)
bool dtype_from_name(std::string_view s, DType& out);

inline float bf16_to_f32(uint16_t b) {
  uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint16_t f32_to_bf16(float f) {  // round to nearest even; NaN stays NaN
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}
inline float f16_to_f32(uint16_t h) {
  _Float16 v;
  std::memcpy(&v, &h, 2);
  return float(v);
}
inline uint16_t f32_to_f16(float f) {
  _Float16 v = _Float16(f);
  uint16_t h;
  std::memcpy(&h, &v, 2);
  return h;
}

// Converts n elements of a floating type (F32/F16/BF16) to f32.
void convert_to_f32(const void* src, DType src_type, float* dst, size_t n);
// Converts n f32 elements to a floating type (F32/F16/BF16).
void convert_from_f32(const float* src, void* dst, DType dst_type, size_t n);

}  // namespace mf
