// CUDA twin of kernels/cpu/cast.cpp: f32/f16/bf16 conversion, round to nearest even.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "kernels/cast.h"
#include "ops/cuda_runtime.h"

namespace mf::kernels {

namespace {

template <class T> __device__ __forceinline__ float to_f32(T v);
template <> __device__ __forceinline__ float to_f32(float v) { return v; }
template <> __device__ __forceinline__ float to_f32(__half v) { return __half2float(v); }
template <> __device__ __forceinline__ float to_f32(__nv_bfloat16 v) { return __bfloat162float(v); }

template <class T> __device__ __forceinline__ T from_f32(float v);
template <> __device__ __forceinline__ float from_f32(float v) { return v; }
template <> __device__ __forceinline__ __half from_f32(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 from_f32(float v) { return __float2bfloat16_rn(v); }

template <class S, class D>
__global__ void cast_kernel(const S* __restrict__ src, D* __restrict__ dst, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    dst[i] = from_f32<D>(to_f32(src[i]));
}

template <class F>
void type_switch(CastType t, F&& f) {
  switch (t) {
    case CastType::F32: f(float{}); break;
    case CastType::F16: f(__half{}); break;
    case CastType::BF16: f(__nv_bfloat16{}); break;
  }
}

}  // namespace

void launch_cast(const CastParams& p, void* stream) {
  if (p.n == 0) return;
  const int threads = 256;
  const int blocks = int(std::min<int64_t>((p.n + threads - 1) / threads, 65535));
  type_switch(p.src_type, [&](auto s) {
    type_switch(p.dst_type, [&](auto d) {
      using S = decltype(s);
      using D = decltype(d);
      cast_kernel<S, D><<<blocks, threads, 0, static_cast<cudaStream_t>(stream)>>>(
          static_cast<const S*>(p.src), static_cast<D*>(p.dst), p.n);
    });
  });
  cuda::check_launch("cast", __FILE__, __LINE__);
}

}  // namespace mf::kernels
