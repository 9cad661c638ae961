// cuBLAS GEMMs (fp32 accumulation) and the bias add that follows a biased projection.
#include <cublas_v2.h>

#include "kernels/bias.h"
#include "kernels/cuda/common.cuh"
#include "kernels/gemm.h"
#include "ops/error.h"

namespace mf::kernels {

namespace {
cudaDataType_t cuda_type(CastType t) {
  switch (t) {
    case CastType::F32: return CUDA_R_32F;
    case CastType::F16: return CUDA_R_16F;
    case CastType::BF16: return CUDA_R_16BF;
  }
  return CUDA_R_32F;
}

template <class T>
__global__ void add_bias_kernel(BiasParams p) {
  const int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t c = blockIdx.y;
  if (t >= p.n) return;
  T* x = static_cast<T*>(p.x) + c * p.cstride + t * p.tstride;
  *x = cuda::from_f32<T>(cuda::to_f32(*x) + p.bias[c]);
}
}  // namespace

void launch_gemm(const CublasGemmParams& p, void* handle) {
  if (p.m == 0 || p.n == 0) return;
  const float alpha = 1.0f, beta = 0.0f;
  // F32: pedantic, so no TF32 (parity with the CPU and transformers in fp32).
  const cublasComputeType_t compute =
      p.type == CastType::F32 ? CUBLAS_COMPUTE_32F_PEDANTIC : CUBLAS_COMPUTE_32F;
  const cudaDataType_t t = cuda_type(p.type);
  cublasStatus_t st = cublasGemmEx(static_cast<cublasHandle_t>(handle),
                                   p.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                   p.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, int(p.m), int(p.n),
                                   int(p.k), &alpha, p.a, t, int(p.lda), p.b, t, int(p.ldb),
                                   &beta, p.c, t, int(p.ldc), compute, CUBLAS_GEMM_DEFAULT);
  if (st != CUBLAS_STATUS_SUCCESS)
    fail("cuBLAS error: ", cublasGetStatusString(st), " in cublasGemmEx (m=", p.m, ", n=", p.n,
         ", k=", p.k, ") at ", __FILE__, ":", __LINE__);
}

void launch_add_bias(const BiasParams& p, void* stream) {
  if (p.n == 0 || p.channels == 0) return;
  cuda::type_switch(p.type, [&](auto tt) {
    dim3 grid(cuda::grid_1d(p.n, 256), unsigned(p.channels));
    add_bias_kernel<decltype(tt)><<<grid, 256, 0, static_cast<cudaStream_t>(stream)>>>(p);
  });
  MF_CHECK_LAUNCH("add_bias");
}

}  // namespace mf::kernels
