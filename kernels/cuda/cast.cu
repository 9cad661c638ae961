// CUDA twin of kernels/cpu/cast.cpp: f32/f16/bf16 conversion, round to nearest even.
#include "kernels/cuda/common.cuh"

namespace mf::kernels {

namespace {
template <class S, class D>
__global__ void cast_kernel(const S* __restrict__ src, D* __restrict__ dst, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    dst[i] = cuda::from_f32<D>(cuda::to_f32(src[i]));
}
}  // namespace

void launch_cast(const CastParams& p, void* stream) {
  if (p.n == 0) return;
  cuda::type_switch(p.src_type, [&](auto s) {
    cuda::type_switch(p.dst_type, [&](auto d) {
      using S = decltype(s);
      using D = decltype(d);
      cast_kernel<S, D><<<cuda::grid_1d(p.n, 256, 65535), 256, 0, static_cast<cudaStream_t>(stream)>>>(
          static_cast<const S*>(p.src), static_cast<D*>(p.dst), p.n);
    });
  });
  MF_CHECK_LAUNCH("cast");
}

}  // namespace mf::kernels
