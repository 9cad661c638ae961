#include <cblas.h>

#include "kernels/gemm.h"

extern "C" void openblas_set_num_threads(int);

namespace mf::kernels {

void gemm_cpu(const GemmParams& p) {
  if (p.m == 0 || p.n == 0) return;
  float beta = 0.0f;
  if (p.bias) {
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t j = 0; j < p.n; ++j) p.c[i * p.ldc + j] = p.bias[j];
    beta = 1.0f;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(p.m), int(p.n), int(p.k), 1.0f, p.a,
              int(p.lda), p.b, int(p.ldb), beta, p.c, int(p.ldc));
}

void gemm_cpu_set_threads(int n) {
  if (n > 0) openblas_set_num_threads(n);
}

}  // namespace mf::kernels
