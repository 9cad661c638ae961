#include <tbb/parallel_for.h>

#include <immintrin.h>

#include <algorithm>

#include "kernels/cpu/vmath.h"
#include "kernels/gemm.h"

namespace mf::kernels {

// C[i, j] = bias[j] + dot(A[i, :], B[j, :]): both operands are read along k (A rows are
// tokens, B rows are nn.Linear weight rows), SIMD over k, a RB x CB register block of dot
// products at a time. Every output is computed by the same sequence of operations whatever
// its position in a block, the number of rows, the tiling or the thread count: lanes
// accumulate k in order, one fixed reduction tree folds the lanes, then the bias is added.
// That makes the CPU encoder bitwise independent of chunking, batching and --threads, which a
// BLAS library does not give (OpenBLAS rounds a row differently depending on where it falls in
// its micro-tiles: measured, docs/DESIGN-NOTES.md). The price is speed: see BENCHMARKS.md.
namespace {
using cpu::vf;
constexpr int W = cpu::kVecLanes;

inline vf load_k(const float* p, int64_t left) {  // p[0, min(W, left)), zero-padded
  if (left >= W) return cpu::vload(p);
  alignas(64) float t[W] = {};
  for (int64_t i = 0; i < left; ++i) t[i] = p[i];
  return cpu::vload(t);
}

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

inline float fold(vf v) {  // fixed pairwise tree over the lanes
  alignas(64) float t[W];
  cpu::vstore(t, v);
  for (int w = W / 2; w >= 1; w /= 2)
    for (int i = 0; i < w; ++i) t[i] = t[i] + t[i + w];
  return t[0];
}

template <int RB, int CB>
__attribute__((always_inline)) inline void block(const GemmParams& p, int64_t i0, int64_t j0) {
  vf acc[RB][CB] = {};
  const float* a = p.a + i0 * p.lda;
  const float* b = p.b + j0 * p.ldb;
  int64_t kk = 0;
  for (; kk + W <= p.k; kk += W) {
    vf av[RB], bv[CB];
    for (int r = 0; r < RB; ++r) av[r] = cpu::vload(a + r * p.lda + kk);
    for (int c = 0; c < CB; ++c) bv[c] = cpu::vload(b + c * p.ldb + kk);
    for (int r = 0; r < RB; ++r)
      for (int c = 0; c < CB; ++c) acc[r][c] = fma(av[r], bv[c], acc[r][c]);
  }
  if (kk < p.k) {  // the last, partial step: zero-padded (same arithmetic as a full one)
    vf av[RB], bv[CB];
    for (int r = 0; r < RB; ++r) av[r] = load_k(a + r * p.lda + kk, p.k - kk);
    for (int c = 0; c < CB; ++c) bv[c] = load_k(b + c * p.ldb + kk, p.k - kk);
    for (int r = 0; r < RB; ++r)
      for (int c = 0; c < CB; ++c) acc[r][c] = fma(av[r], bv[c], acc[r][c]);
  }
  for (int r = 0; r < RB; ++r)
    for (int c = 0; c < CB; ++c) {
      const float s = fold(acc[r][c]);
      p.c[(i0 + r) * p.ldc + j0 + c] = p.bias ? p.bias[j0 + c] + s : s;
    }
}

constexpr int64_t kRB = 4, kCB = 4;        // register block
constexpr int64_t kRowTile = 64, kColTile = 64;  // a task: B rows stay in L1 across its rows

void tile(const GemmParams& p, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  int64_t j = j0;
  for (; j + kCB <= j1; j += kCB) {
    int64_t i = i0;
    for (; i + kRB <= i1; i += kRB) block<kRB, kCB>(p, i, j);
    for (; i < i1; ++i) block<1, kCB>(p, i, j);
  }
  for (; j < j1; ++j) {
    int64_t i = i0;
    for (; i + kRB <= i1; i += kRB) block<kRB, 1>(p, i, j);
    for (; i < i1; ++i) block<1, 1>(p, i, j);
  }
}
}  // namespace

void gemm_cpu(const GemmParams& p) {
  if (p.m == 0 || p.n == 0) return;
  const int64_t rt = (p.m + kRowTile - 1) / kRowTile, ct = (p.n + kColTile - 1) / kColTile;
  tbb::parallel_for(int64_t(0), rt * ct, [&](int64_t t) {
    const int64_t i0 = (t / ct) * kRowTile, j0 = (t % ct) * kColTile;
    tile(p, i0, std::min(p.m, i0 + kRowTile), j0, std::min(p.n, j0 + kColTile));
  });
}

}  // namespace mf::kernels
