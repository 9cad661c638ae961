#include <tbb/parallel_for.h>

#include <algorithm>

#include "kernels/cpu/vmath.h"
#include "kernels/scan.h"

namespace mf::kernels {

namespace {
constexpr int kLanes = 16;      // channels per task, kept in registers across the state dim
constexpr int kMaxState = 256;  // checked by the caller (ops/)

// Copies `lanes` values from src (stride 1) into a padded lane array.
inline void load_lanes(float* dst, const float* src, int lanes, float pad) {
  if (lanes == kLanes) {
    for (int c = 0; c < kLanes; ++c) dst[c] = src[c];
  } else {
    for (int c = 0; c < kLanes; ++c) dst[c] = c < lanes ? src[c] : pad;
  }
}
}  // namespace

void scan_cpu(const ScanParams& p) {
  const int N = p.d_state;
  const int64_t blocks = (p.d_inner + kLanes - 1) / kLanes;
  tbb::parallel_for(int64_t(0), blocks, [&](int64_t b) {
    const int64_t c0 = b * kLanes;
    const int lanes = int(std::min<int64_t>(kLanes, p.d_inner - c0));
    alignas(64) float h[kMaxState][kLanes];
    alignas(64) float At[kMaxState][kLanes];
    alignas(64) float dtb[kLanes], Dv[kLanes];
    for (int n = 0; n < N; ++n)
      for (int c = 0; c < kLanes; ++c) {
        h[n][c] = c < lanes ? p.state[(c0 + c) * N + n] : 0.0f;
        At[n][c] = c < lanes ? p.A[(c0 + c) * N + n] : 0.0f;
      }
    for (int c = 0; c < kLanes; ++c) {
      dtb[c] = (p.dt_bias && c < lanes) ? p.dt_bias[c0 + c] : 0.0f;
      Dv[c] = (p.D && c < lanes) ? p.D[c0 + c] : 0.0f;
    }

    alignas(64) float u[kLanes], dl[kLanes], z[kLanes], y[kLanes];
    for (int64_t t = 0; t < p.n; ++t) {
      load_lanes(u, p.u + t * p.u_stride + c0, lanes, 0.0f);
      load_lanes(dl, p.dt + t * p.dt_stride + c0, lanes, 0.0f);
      if (p.z) load_lanes(z, p.z + t * p.z_stride + c0, lanes, 0.0f);
      for (int c = 0; c < kLanes; ++c) {
        dl[c] = cpu::vsoftplus(dl[c] + dtb[c]);
        y[c] = 0.0f;
      }
      const float* Bt = p.B + t * p.B_stride;
      const float* Ct = p.C + t * p.C_stride;
      for (int n = 0; n < N; ++n) {
        const float bn = Bt[n], cn = Ct[n];
        for (int c = 0; c < kLanes; ++c) {
          float hn = cpu::vexp(dl[c] * At[n][c]) * h[n][c] + (dl[c] * bn) * u[c];
          h[n][c] = hn;
          y[c] += hn * cn;
        }
      }
      for (int c = 0; c < kLanes; ++c) {
        float v = y[c] + Dv[c] * u[c];
        y[c] = p.z ? v * cpu::vsilu(z[c]) : v;
      }
      float* yr = p.y + t * p.y_stride + c0;
      for (int c = 0; c < lanes; ++c) yr[c] = y[c];
    }
    for (int n = 0; n < N; ++n)
      for (int c = 0; c < lanes; ++c) p.state[(c0 + c) * N + n] = h[n][c];
  });
}

}  // namespace mf::kernels
