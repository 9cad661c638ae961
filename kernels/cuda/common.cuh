// Shared device helpers for the CUDA kernels: element types, conversions, math.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cast.h"
#include "ops/cuda_runtime.h"

#define MF_CHECK_LAUNCH(name) ::mf::cuda::check_launch(name, __FILE__, __LINE__)

namespace mf::kernels::cuda {

template <class T> __device__ __forceinline__ float to_f32(T v);
template <> __device__ __forceinline__ float to_f32(float v) { return v; }
template <> __device__ __forceinline__ float to_f32(__half v) { return __half2float(v); }
template <> __device__ __forceinline__ float to_f32(__nv_bfloat16 v) { return __bfloat162float(v); }

template <class T> __device__ __forceinline__ T from_f32(float v);
template <> __device__ __forceinline__ float from_f32(float v) { return v; }
template <> __device__ __forceinline__ __half from_f32(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 from_f32(float v) { return __float2bfloat16_rn(v); }

// Calls f(T{}) with T the C++ type of `t` (float, __half, __nv_bfloat16).
template <class F>
void type_switch(CastType t, F&& f) {
  switch (t) {
    case CastType::F32: f(float{}); break;
    case CastType::F16: f(__half{}); break;
    case CastType::BF16: f(__nv_bfloat16{}); break;
  }
}

__device__ __forceinline__ float silu(float x) { return x / (1.0f + __expf(-x)); }

// softplus with torch's threshold (x > 20 returns x); log1pf keeps small values exact.
__device__ __forceinline__ float softplus(float x) { return x > 20.0f ? x : log1pf(__expf(x)); }

inline unsigned grid_1d(int64_t n, int threads, int64_t max_blocks = 1 << 20) {
  int64_t b = (n + threads - 1) / threads;
  return unsigned(b < 1 ? 1 : (b > max_blocks ? max_blocks : b));
}

}  // namespace mf::kernels::cuda
