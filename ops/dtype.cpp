#include "ops/dtype.h"

#include "kernels/cast.h"
#include "ops/error.h"

namespace mf {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: case DType::I32: return 4;
    case DType::F16: case DType::BF16: return 2;
    case DType::I64: return 8;
    case DType::U8: return 1;
  }
  return 0;
}

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::I32: return "I32";
    case DType::I64: return "I64";
    case DType::U8: return "U8";
  }
  return "?";
}

bool dtype_from_name(std::string_view s, DType& out) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::I32, DType::I64, DType::U8})
    if (dtype_name(t) == s) { out = t; return true; }
  return false;
}

static kernels::CastType cast_type(DType t) {
  switch (t) {
    case DType::F32: return kernels::CastType::F32;
    case DType::F16: return kernels::CastType::F16;
    case DType::BF16: return kernels::CastType::BF16;
    default: fail("cannot convert ", dtype_name(t), " to or from a floating type");
  }
}

void convert_to_f32(const void* src, DType src_type, float* dst, size_t n) {
  kernels::CastParams p{src, cast_type(src_type), dst, kernels::CastType::F32, int64_t(n)};
  kernels::cast_cpu(p);
}

void convert_from_f32(const float* src, void* dst, DType dst_type, size_t n) {
  kernels::CastParams p{src, kernels::CastType::F32, dst, cast_type(dst_type), int64_t(n)};
  kernels::cast_cpu(p);
}

}  // namespace mf
