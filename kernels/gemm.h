// Linear layer GEMM: C[m, n] = A[m, k] . B[n, k]^T (+ bias[n]).
// B is a weight in torch's nn.Linear layout [out_features, in_features]. Row-major, fp32.
#pragma once
#include <cstdint>

#include "kernels/cast.h"

namespace mf::kernels {

struct GemmParams {
  const float* a; int64_t lda;
  const float* b; int64_t ldb;
  float* c; int64_t ldc;
  const float* bias;  // [n] or nullptr
  int64_t m, n, k;
};

// Parallel over TBB's workers; bitwise the same result for any m, tiling or thread count.
void gemm_cpu(const GemmParams& p);

// GPU: column-major C[m, n] = op(A)[m, k] op(B)[k, n] through cuBLAS (cublasGemmEx), inputs
// and output of `type` (F32, F16 or BF16), fp32 accumulation (no TF32 in the F32 mode).
struct CublasGemmParams {
  bool trans_a, trans_b;
  int64_t m, n, k;
  const void* a; int64_t lda;
  const void* b; int64_t ldb;
  void* c; int64_t ldc;
  CastType type;
};
// `handle` is a cublasHandle_t already bound to the stream and workspace.
void launch_gemm(const CublasGemmParams& p, void* handle);

}  // namespace mf::kernels
