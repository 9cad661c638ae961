// Element-type conversion between f32, f16 and bf16 (round to nearest even).
#pragma once
#include <cstdint>

namespace mf::kernels {

enum class CastType : uint8_t { F32, F16, BF16 };

struct CastParams {
  const void* src;
  CastType src_type;
  void* dst;
  CastType dst_type;
  int64_t n;
};

void cast_cpu(const CastParams& p);
// CUDA twin; `stream` is a cudaStream_t. Pointers are device pointers.
void launch_cast(const CastParams& p, void* stream);

}  // namespace mf::kernels
