#include <tbb/parallel_for.h>

#include <tbb/task_arena.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/vmath.h"
#include "kernels/scan.h"

namespace mf::kernels {

namespace {
using cpu::vf;
constexpr int kLanes = cpu::kVecLanes;  // channels per task: one vector
constexpr int64_t kGroup = 64;          // blocks per task at most

// Loads `lanes` consecutive floats (the rest `pad`).
inline vf load_lanes(const float* src, int lanes, float pad) {
  if (lanes == kLanes) return cpu::vload(src);
  alignas(64) float tmp[kLanes];
  for (int c = 0; c < kLanes; ++c) tmp[c] = c < lanes ? src[c] : pad;
  return cpu::vload(tmp);
}

inline void store_lanes(float* dst, vf v, int lanes) {
  if (lanes == kLanes) return cpu::vstore(dst, v);
  alignas(64) float tmp[kLanes];
  cpu::vstore(tmp, v);
  for (int c = 0; c < lanes; ++c) dst[c] = tmp[c];
}

// Channel blocks [b0, b1) (kLanes channels each) over the whole chunk. The token loop is
// outside the block loop, so each step reads one contiguous run of every activation row
// (a column walk per block would touch a new page per token). NT > 0 fixes d_state at
// compile time; NT == 0 handles any d_state.
template <int NT>
void scan_blocks(const ScanParams& p, int64_t b0, int64_t b1) {
  const int N = NT > 0 ? NT : p.d_state;
  const float* pu = static_cast<const float*>(p.u);
  const float* pdt = static_cast<const float*>(p.dt);
  const float* pz = static_cast<const float*>(p.z);
  float* py = static_cast<float*>(p.y);
  const int64_t nb = b1 - b0;
  std::vector<vf> h(size_t(nb * N)), At(size_t(nb * N)), dtb(static_cast<size_t>(nb)), Dv(static_cast<size_t>(nb));
  for (int64_t b = 0; b < nb; ++b) {
    const int64_t c0 = (b0 + b) * kLanes;
    const int lanes = int(std::min<int64_t>(kLanes, p.d_inner - c0));
    for (int n = 0; n < N; ++n) {
      alignas(64) float hs[kLanes], as[kLanes];
      for (int c = 0; c < kLanes; ++c) {
        hs[c] = c < lanes ? p.state[(c0 + c) * N + n] : 0.0f;
        as[c] = c < lanes ? p.A[(c0 + c) * N + n] : 0.0f;
      }
      h[size_t(b * N + n)] = cpu::vload(hs);
      At[size_t(b * N + n)] = cpu::vload(as);
    }
    dtb[size_t(b)] = p.dt_bias ? load_lanes(p.dt_bias + c0, lanes, 0.0f) : vf{};
    Dv[size_t(b)] = p.D ? load_lanes(p.D + c0, lanes, 0.0f) : vf{};
  }

  for (int64_t t = 0; t < p.n; ++t) {
    const float* Bt = static_cast<const float*>(p.B) + t * p.B_stride;
    const float* Ct = static_cast<const float*>(p.C) + t * p.C_stride;
    for (int64_t b = 0; b < nb; ++b) {
      const int64_t c0 = (b0 + b) * kLanes;
      const int lanes = int(std::min<int64_t>(kLanes, p.d_inner - c0));
      const vf u = load_lanes(pu + t * p.u_stride + c0, lanes, 0.0f);
      const vf dl = cpu::vsoftplus(load_lanes(pdt + t * p.dt_stride + c0, lanes, 0.0f) + dtb[size_t(b)]);
      vf* hb = h.data() + b * N;
      const vf* Ab = At.data() + b * N;
      vf y{};
#pragma GCC unroll 16
      for (int n = 0; n < N; ++n) {
        hb[n] = cpu::vexp_nonpos(dl * Ab[n]) * hb[n] + (dl * Bt[n]) * u;
        y += hb[n] * Ct[n];
      }
      y += Dv[size_t(b)] * u;
      if (pz) y *= cpu::vsilu(load_lanes(pz + t * p.z_stride + c0, lanes, 0.0f));
      store_lanes(py + t * p.y_stride + c0, y, lanes);
    }
  }
  for (int64_t b = 0; b < nb; ++b) {
    const int64_t c0 = (b0 + b) * kLanes;
    const int lanes = int(std::min<int64_t>(kLanes, p.d_inner - c0));
    for (int n = 0; n < N; ++n) {
      alignas(64) float hs[kLanes];
      cpu::vstore(hs, h[size_t(b * N + n)]);
      for (int c = 0; c < lanes; ++c) p.state[(c0 + c) * N + n] = hs[c];
    }
  }
}

// d_state values with a compile-time kernel (the common Mamba sizes); others use NT = 0.
template <class F>
void dstate_switch(int n, F&& f) {
  switch (n) {
    case 8: f(std::integral_constant<int, 8>{}); break;
    case 16: f(std::integral_constant<int, 16>{}); break;
    case 32: f(std::integral_constant<int, 32>{}); break;
    default: f(std::integral_constant<int, 0>{}); break;
  }
}
}  // namespace

void scan_cpu(const ScanParams& p) {
  const int64_t blocks = (p.d_inner + kLanes - 1) / kLanes;
  // One task per thread where the channels allow (long contiguous row runs per step), at
  // most kGroup blocks per task (state + A of a task stay in L2).
  const int64_t threads = tbb::this_task_arena::max_concurrency();
  const int64_t group = std::clamp<int64_t>((blocks + threads - 1) / threads, 1, kGroup);
  const int64_t tasks = (blocks + group - 1) / group;
  dstate_switch(p.d_state, [&](auto nt) {
    tbb::parallel_for(int64_t(0), tasks, [&](int64_t i) {
      scan_blocks<decltype(nt)::value>(p, i * group, std::min(blocks, (i + 1) * group));
    });
  });
}

}  // namespace mf::kernels
