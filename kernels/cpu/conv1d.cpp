#include <tbb/parallel_for.h>

#include <algorithm>
#include <vector>

#include "kernels/conv1d.h"
#include "kernels/cpu/vmath.h"

namespace mf::kernels {

namespace {
constexpr int kRows = 16;      // output rows per task
}  // namespace

void conv1d_cpu(const Conv1dParams& p) {
  const int K = p.width, T = K - 1;
  const int64_t C = p.channels;
  const float* x = static_cast<const float*>(p.x);
  float* y = static_cast<float*>(p.y);
  if (p.n == 0) return;
  // Weights transposed to [K][C] so the channel loop reads them contiguously.
  std::vector<float> wt(size_t(K * C));
  for (int64_t c = 0; c < C; ++c)
    for (int k = 0; k < K; ++k) wt[size_t(k * C + c)] = p.weight[c * K + k];
  // The tail transposed to rows [T][C]: input row (pos < 0) is tail row T + pos.
  std::vector<float> tail_rows(size_t(T * C));
  for (int64_t c = 0; c < C; ++c)
    for (int j = 0; j < T; ++j) tail_rows[size_t(j * C + c)] = p.tail[c * T + j];

  // Rows are independent given the input, so tasks split the chunk by time: each step reads
  // whole contiguous rows.
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, p.n, kRows), [&](const auto& range) {
    std::vector<float> acc(static_cast<size_t>(C));
    for (int64_t t = range.begin(); t < range.end(); ++t) {
      if (p.bias) std::copy(p.bias, p.bias + C, acc.begin());
      else std::fill(acc.begin(), acc.end(), 0.0f);
      for (int k = 0; k < K; ++k) {
        const int64_t pos = t - T + k;
        const float* xr = pos >= 0 ? x + pos * p.x_stride : tail_rows.data() + (T + pos) * C;
        const float* w = wt.data() + k * C;
        for (int64_t c = 0; c < C; ++c) acc[size_t(c)] += w[c] * xr[c];
      }
      float* yr = y + t * p.y_stride;
      if (p.silu)
        for (int64_t c = 0; c < C; ++c) yr[c] = cpu::vsilu(acc[size_t(c)]);
      else
        std::copy(acc.begin(), acc.end(), yr);
    }
  });
  // New tail: the last T inputs of tail ++ chunk (concat index n + j for entry j).
  for (int64_t c = 0; c < C; ++c)
    for (int j = 0; j < T; ++j) {
      const int64_t idx = p.n + j;
      p.tail[c * T + j] = idx >= T ? x[(idx - T) * p.x_stride + c] : tail_rows[size_t(idx * C + c)];
    }
}

}  // namespace mf::kernels
