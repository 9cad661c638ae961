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

void gemm_cpu(const GemmParams& p);
// Sets the BLAS library's thread count (0: leave its default).
void gemm_cpu_set_threads(int n);

}  // namespace mf::kernels
