#include "kernels/cuda/common.cuh"
#include "kernels/rmsnorm.h"

namespace mf::kernels {

namespace {
constexpr int kThreads = 256;

template <class TX, class TY>
__global__ void rmsnorm_kernel(RmsNormParams p) {
  const int64_t row = blockIdx.x;
  const TX* x = static_cast<const TX*>(p.x) + row * p.x_stride;
  float* res = p.residual + row * p.res_stride;
  TY* y = static_cast<TY*>(p.y) + row * p.y_stride;
  float ss = 0.0f;
  for (int64_t j = threadIdx.x; j < p.cols; j += kThreads) {
    float v = cuda::to_f32(x[j]) + (p.init_residual ? 0.0f : res[j]);
    res[j] = v;
    ss += v * v;
  }
  __shared__ float warp_sums[kThreads / 32];
  for (int o = 16; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
  if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = ss;
  __syncthreads();
  __shared__ float inv;
  if (threadIdx.x == 0) {
    float total = 0.0f;
    for (int w = 0; w < kThreads / 32; ++w) total += warp_sums[w];
    inv = rsqrtf(total / float(p.cols) + p.eps);
  }
  __syncthreads();
  for (int64_t j = threadIdx.x; j < p.cols; j += kThreads) y[j] = cuda::from_f32<TY>(p.weight[j] * (res[j] * inv));
}
}  // namespace

void launch_rmsnorm(const RmsNormParams& p, void* stream) {
  if (p.rows == 0) return;
  cuda::type_switch(p.x_type, [&](auto xt) {
    cuda::type_switch(p.y_type, [&](auto yt) {
      rmsnorm_kernel<decltype(xt), decltype(yt)>
          <<<unsigned(p.rows), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(p);
    });
  });
  MF_CHECK_LAUNCH("rmsnorm");
}

}  // namespace mf::kernels
