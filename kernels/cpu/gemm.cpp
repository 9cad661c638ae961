#include <cblas.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <mutex>

#include "kernels/gemm.h"

extern "C" void openblas_set_num_threads(int);

namespace mf::kernels {

namespace {
// C[i0:i0+mi, j0:j0+nj] = A[i0:, :] . B[j0:, :]^T (+ bias)
void gemm_tile(const GemmParams& p, int64_t i0, int64_t mi, int64_t j0, int64_t nj) {
  float* c = p.c + i0 * p.ldc + j0;
  float beta = 0.0f;
  if (p.bias) {
    for (int64_t i = 0; i < mi; ++i) std::copy(p.bias + j0, p.bias + j0 + nj, c + i * p.ldc);
    beta = 1.0f;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(mi), int(nj), int(p.k), 1.0f,
              p.a + i0 * p.lda, int(p.lda), p.b + j0 * p.ldb, int(p.ldb), beta, c, int(p.ldc));
}
}  // namespace

// OpenBLAS runs single-threaded and the product is split across TBB's workers: one thread
// pool for every op. With OpenBLAS's own threads, their spinning after each GEMM took the
// cores from the TBB kernels that follow (the scan ran ~30% slower, docs/BENCHMARKS.md).
// Tall products (chunks of tokens) split by rows, each thread one block; short ones (a few
// tokens, streaming) split by output columns.
void gemm_cpu(const GemmParams& p) {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
  if (p.m == 0 || p.n == 0) return;
  const int64_t threads = tbb::this_task_arena::max_concurrency();
  if (threads == 1) return gemm_tile(p, 0, p.m, 0, p.n);
  if (p.m >= 16 * threads) {
    const int64_t block = (p.m + threads - 1) / threads;
    tbb::parallel_for(int64_t(0), threads, [&](int64_t b) {
      const int64_t i0 = b * block;
      if (i0 < p.m) gemm_tile(p, i0, std::min(block, p.m - i0), 0, p.n);
    });
  } else {
    const int64_t block = std::max<int64_t>(64, ((p.n + threads - 1) / threads + 15) / 16 * 16);
    const int64_t blocks = (p.n + block - 1) / block;
    tbb::parallel_for(int64_t(0), blocks, [&](int64_t b) {
      const int64_t j0 = b * block;
      gemm_tile(p, 0, p.m, j0, std::min(block, p.n - j0));
    });
  }
}

}  // namespace mf::kernels
