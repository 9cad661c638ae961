// Causal depthwise conv1d over a batch of sequences packed in time (channel-major, time
// contiguous), reading each sequence's conv tail from its state slot, then updating the tails.
#include "kernels/conv1d.h"
#include "kernels/cuda/common.cuh"

namespace mf::kernels {

namespace {
// The sequence holding packed time index t (seq_start is ascending, n_seqs small).
__device__ __forceinline__ int find_seq(const int64_t* seq_start, int64_t n_seqs, int64_t t) {
  int lo = 0, hi = int(n_seqs) - 1;
  while (lo < hi) {
    int mid = (lo + hi + 1) / 2;
    if (seq_start[mid] <= t) lo = mid; else hi = mid - 1;
  }
  return lo;
}

template <class TX, class TY>
__global__ void conv1d_kernel(Conv1dParams p) {
  const int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t c = blockIdx.y;
  const int64_t total = p.seq_start[p.n_seqs];
  if (t >= total) return;
  const int s = find_seq(p.seq_start, p.n_seqs, t);
  const int64_t start = p.seq_start[s];
  const int K = p.width, T = K - 1;
  const TX* x = static_cast<const TX*>(p.x) + c * p.x_cstride;
  const float* tail = p.tail + int64_t(p.seq_slot[s]) * p.slot_stride + c * T;
  float acc = p.bias ? p.bias[c] : 0.0f;
  for (int k = 0; k < K; ++k) {
    const int64_t src = t - T + k;
    const float v = src >= start ? cuda::to_f32(x[src]) : tail[T + (src - start)];
    acc = fmaf(p.weight[c * K + k], v, acc);
  }
  static_cast<TY*>(p.y)[c * p.y_cstride + t] = cuda::from_f32<TY>(p.silu ? cuda::silu(acc) : acc);
}

// New tail of (sequence s, channel c): the last T entries of tail ++ chunk.
template <class TX>
__global__ void conv1d_tail_kernel(Conv1dParams p) {
  const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int s = blockIdx.y;
  if (c >= p.channels) return;
  const int T = p.width - 1;
  const int64_t start = p.seq_start[s], n = p.seq_start[s + 1] - start;
  const TX* x = static_cast<const TX*>(p.x) + c * p.x_cstride + start;
  float* tail = p.tail + int64_t(p.seq_slot[s]) * p.slot_stride + c * T;
  for (int j = 0; j < T; ++j) {  // reads entry n + j >= j: never one already overwritten
    const int64_t idx = n + j;
    tail[j] = idx >= T ? cuda::to_f32(x[idx - T]) : tail[idx];
  }
}
}  // namespace

void launch_conv1d(const Conv1dParams& p, void* stream) {
  if (p.n == 0 || p.channels == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  cuda::type_switch(p.x_type, [&](auto xt) {
    using TX = decltype(xt);
    cuda::type_switch(p.y_type, [&](auto yt) {
      dim3 grid(cuda::grid_1d(p.n, 256), unsigned(p.channels));
      conv1d_kernel<TX, decltype(yt)><<<grid, 256, 0, st>>>(p);
    });
    MF_CHECK_LAUNCH("conv1d");
    if (p.width > 1) {
      dim3 grid(cuda::grid_1d(p.channels, 128), unsigned(p.n_seqs));
      conv1d_tail_kernel<TX><<<grid, 128, 0, st>>>(p);
      MF_CHECK_LAUNCH("conv1d_tail");
    }
  });
}

}  // namespace mf::kernels
