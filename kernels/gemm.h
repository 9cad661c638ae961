// Linear layer GEMM: C[m, n] = A[m, k] . B[n, k]^T (+ bias[n]).
// B is a weight in torch's nn.Linear layout [out_features, in_features]. Row-major, fp32.
#pragma once
#include <cstdint>

namespace mf::kernels {

struct GemmParams {
  const float* a; int64_t lda;
  const float* b; int64_t ldb;
  float* c; int64_t ldc;
  const float* bias;  // [n] or nullptr
  int64_t m, n, k;
};

// Parallel over TBB's workers (the BLAS library itself runs single-threaded).
void gemm_cpu(const GemmParams& p);

}  // namespace mf::kernels
