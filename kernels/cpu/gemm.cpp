#include <immintrin.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/vmath.h"
#include "kernels/gemm.h"

namespace mf::kernels {

// C[i, j] = bias[j] + sum_k A[i, k] B[j, k], B in nn.Linear layout [n, k].
//
// Our own kernel rather than a BLAS library, for one property: every output is computed by
// the same sequence of operations whatever the number of rows, its position in a block, the
// tiling or the thread count (one fused multiply-add per k, in k order, then the bias). That
// makes the CPU encoder bitwise independent of chunking, batching and --threads. OpenBLAS
// rounds a row differently depending on where it falls in its micro-tiles (measured: up to
// 1e-5 between a row computed alone and inside a 64-row call; docs/DESIGN-NOTES.md).
//
// Layout: B is packed per call into panels of NR = 2 vectors of columns, k-major
// ([k][NR], zero-padded past n); a MR x NR register block keeps MR x 2 vector accumulators,
// broadcasting one A element per row and k (the BLIS-style outer-product micro-kernel).
namespace {
using cpu::vf;
constexpr int W = cpu::kVecLanes;
constexpr int NR = 2 * W;
constexpr int MR = 6;
constexpr int64_t kRowTile = 16 * MR;  // rows per task
constexpr int64_t kPanelsPerTask = 4;

// acc + a * b as one fused operation everywhere (explicit, so that no block shape is left to
// the compiler's contraction choices); without FMA hardware, a multiply then an add.
inline vf fma(vf a, vf b, vf acc) {
#if MF_VEC_LANES == 16
  return vf(_mm512_fmadd_ps(__m512(a), __m512(b), __m512(acc)));
#elif MF_VEC_LANES == 8 && defined(__FMA__)
  return vf(_mm256_fmadd_ps(__m256(a), __m256(b), __m256(acc)));
#else
  const vf prod = a * b;
  return acc + prod;
#endif
}

inline vf splat(float x) {
#if MF_VEC_LANES == 16
  return vf(_mm512_set1_ps(x));
#elif MF_VEC_LANES == 8
  return vf(_mm256_set1_ps(x));
#else
  vf v;
  for (int i = 0; i < W; ++i) v[i] = x;
  return v;
#endif
}

template <int R>
void micro(const GemmParams& p, const float* panel, int64_t i0, int64_t j0) {
  vf acc[R][2] = {};
  const float* a = p.a + i0 * p.lda;
  for (int64_t k = 0; k < p.k; ++k) {
    const vf b0 = cpu::vload(panel + k * NR), b1 = cpu::vload(panel + k * NR + W);
    for (int r = 0; r < R; ++r) {
      const vf av = splat(a[r * p.lda + k]);
      acc[r][0] = fma(av, b0, acc[r][0]);
      acc[r][1] = fma(av, b1, acc[r][1]);
    }
  }
  const int64_t cols = std::min<int64_t>(NR, p.n - j0);
  for (int r = 0; r < R; ++r) {
    alignas(64) float t[NR];
    cpu::vstore(t, acc[r][0]);
    cpu::vstore(t + W, acc[r][1]);
    float* c = p.c + (i0 + r) * p.ldc + j0;
    for (int64_t j = 0; j < cols; ++j) c[j] = p.bias ? t[j] + p.bias[j0 + j] : t[j];
  }
}

void rows(const GemmParams& p, const float* panel, int64_t i0, int64_t i1, int64_t j0) {
  int64_t i = i0;
  for (; i + MR <= i1; i += MR) micro<MR>(p, panel, i, j0);
  switch (i1 - i) {
    case 5: micro<5>(p, panel, i, j0); break;
    case 4: micro<4>(p, panel, i, j0); break;
    case 3: micro<3>(p, panel, i, j0); break;
    case 2: micro<2>(p, panel, i, j0); break;
    case 1: micro<1>(p, panel, i, j0); break;
    default: break;
  }
}
}  // namespace

void gemm_cpu(const GemmParams& p) {
  if (p.m == 0 || p.n == 0) return;
  const int64_t panels = (p.n + NR - 1) / NR;
  // Packed B, reused between calls of this thread (no allocation per call).
  thread_local std::vector<float> packed;
  packed.resize(size_t(panels * p.k * NR));
  float* const pk = packed.data();  // (inside the tasks, `packed` would name their thread's)
  // Isolated: while waiting, this thread must not pick up another task that calls gemm_cpu and
  // resizes its `packed` under these tasks.
  tbb::this_task_arena::isolate([&] {
    tbb::parallel_for(int64_t(0), panels, [&](int64_t q) {
      float* dst = pk + q * p.k * NR;
      for (int c = 0; c < NR; ++c) {
        const int64_t j = q * NR + c;
        if (j < p.n) {
          const float* src = p.b + j * p.ldb;
          for (int64_t k = 0; k < p.k; ++k) dst[k * NR + c] = src[k];
        } else {
          for (int64_t k = 0; k < p.k; ++k) dst[k * NR + c] = 0.0f;
        }
      }
    });
    const int64_t row_tiles = (p.m + kRowTile - 1) / kRowTile;
    const int64_t panel_groups = (panels + kPanelsPerTask - 1) / kPanelsPerTask;
    tbb::parallel_for(int64_t(0), row_tiles * panel_groups, [&](int64_t t) {
      const int64_t i0 = (t / panel_groups) * kRowTile, i1 = std::min(p.m, i0 + kRowTile);
      const int64_t q0 = (t % panel_groups) * kPanelsPerTask, q1 = std::min(panels, q0 + kPanelsPerTask);
      for (int64_t q = q0; q < q1; ++q) rows(p, pk + q * p.k * NR, i0, i1, q * NR);
    });
  });
}

}  // namespace mf::kernels
