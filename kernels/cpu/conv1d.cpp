#include <tbb/parallel_for.h>

#include <algorithm>

#include "kernels/conv1d.h"
#include "kernels/cpu/vmath.h"

namespace mf::kernels {

namespace {
constexpr int kLanes = 64;     // channels per task: contiguous in a row, so the c loop vectorizes
constexpr int kMaxWidth = 16;  // checked by the caller (ops/)
}  // namespace

void conv1d_cpu(const Conv1dParams& p) {
  const int K = p.width, T = K - 1;
  const int64_t blocks = (p.channels + kLanes - 1) / kLanes;
  tbb::parallel_for(int64_t(0), blocks, [&](int64_t b) {
    const int64_t c0 = b * kLanes;
    const int lanes = int(std::min<int64_t>(kLanes, p.channels - c0));
    float w[kMaxWidth][kLanes], bias[kLanes], acc[kLanes];
    for (int k = 0; k < K; ++k)
      for (int c = 0; c < lanes; ++c) w[k][c] = p.weight[(c0 + c) * K + k];
    for (int c = 0; c < lanes; ++c) bias[c] = p.bias ? p.bias[c0 + c] : 0.0f;

    for (int64_t t = 0; t < p.n; ++t) {
      for (int c = 0; c < lanes; ++c) acc[c] = bias[c];
      for (int k = 0; k < K; ++k) {
        const int64_t pos = t - T + k;  // position in the chunk; negative: in the tail
        if (pos >= 0) {
          const float* xr = p.x + pos * p.x_stride + c0;
          for (int c = 0; c < lanes; ++c) acc[c] += w[k][c] * xr[c];
        } else {
          const float* tr = p.tail + c0 * T + (T + pos);
          for (int c = 0; c < lanes; ++c) acc[c] += w[k][c] * tr[int64_t(c) * T];
        }
      }
      float* yr = p.y + t * p.y_stride + c0;
      if (p.silu)
        for (int c = 0; c < lanes; ++c) yr[c] = cpu::vsilu(acc[c]);
      else
        for (int c = 0; c < lanes; ++c) yr[c] = acc[c];
    }
    // New tail: the last T entries of tail ++ chunk. Entry j comes from concat index n + j >= j,
    // so updating in increasing j never reads an entry already overwritten.
    for (int c = 0; c < lanes; ++c) {
      float* tr = p.tail + (c0 + c) * T;
      for (int j = 0; j < T; ++j) {
        const int64_t idx = p.n + j;
        tr[j] = idx >= T ? p.x[(idx - T) * p.x_stride + c0 + c] : tr[idx];
      }
    }
  });
}

}  // namespace mf::kernels
