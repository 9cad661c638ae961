// Selective scan (Mamba-1) on the GPU, fused with discretization, D skip and SiLU gate.
//
// One block per (channel d, sequence s). The sequence is processed in tiles of
// kThreads * kItems time steps; each thread owns kItems consecutive steps. For every state
// index n the recurrence h_t = a_t h_{t-1} + b_t (a_t = exp(delta_t A[d,n]),
// b_t = delta_t B[t,n] u_t) is an associative scan over pairs (a, b):
//   (a1, b1) then (a2, b2) = (a1 a2, a2 b1 + b2).
// Each thread composes its own steps, a block-wide exclusive scan (warp shuffles + shared
// memory) gives each thread the composition of everything before it in the tile, and the
// state carried from the previous tile (or the stream's state slot) closes it. The state
// lives in registers/shared memory; no per-step state goes to global memory. Steps past the
// end of the sequence get delta = 0 (a = 1, b = 0: the identity), so the last thread's
// value is the state after the tile.
//
// Measured alternatives (docs/BENCHMARKS.md): all states per thread with one scan per tile
// (1.5x slower), 4 channels per block sharing B/C loads (no gain), and a sequential kernel
// with one lane per state (3x slower: latency-bound with d_inner x d_state / 32 warps).
#include "kernels/cuda/common.cuh"
#include "kernels/scan.h"

namespace mf::kernels {

namespace {
constexpr int kThreads = 128;
constexpr int kItems = 8;
constexpr int kWarps = kThreads / 32;
constexpr int kMaxState = 256;

struct Pair {
  float a, b;
};
__device__ __forceinline__ Pair compose(Pair first, Pair second) {
  return {first.a * second.a, fmaf(second.a, first.b, second.b)};
}

// Exclusive scan of `v` over the block (thread order); returns the prefix for this thread
// (identity for thread 0). `smem` holds kWarps pairs.
__device__ __forceinline__ Pair block_exclusive_scan(Pair v, Pair* smem) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  Pair inc = v;  // inclusive within the warp
#pragma unroll
  for (int o = 1; o < 32; o <<= 1) {
    Pair up{__shfl_up_sync(0xffffffffu, inc.a, o), __shfl_up_sync(0xffffffffu, inc.b, o)};
    if (lane >= o) inc = compose(up, inc);
  }
  if (lane == 31) smem[warp] = inc;
  __syncthreads();
  Pair warp_prefix{1.0f, 0.0f};
  for (int w = 0; w < warp; ++w) warp_prefix = compose(warp_prefix, smem[w]);
  Pair exc{__shfl_up_sync(0xffffffffu, inc.a, 1), __shfl_up_sync(0xffffffffu, inc.b, 1)};
  if (lane == 0) exc = {1.0f, 0.0f};
  __syncthreads();  // smem is reused by the next call
  return compose(warp_prefix, exc);
}

template <class T, int NT>
__global__ void __launch_bounds__(kThreads) scan_kernel(ScanParams p) {
  const int N = NT > 0 ? NT : p.d_state;
  const int64_t d = blockIdx.x;
  const int s = blockIdx.y;
  const int64_t t_begin = p.seq_start[s], t_end = p.seq_start[s + 1];
  float* state = p.state + int64_t(p.seq_slot[s]) * p.slot_stride + d * N;

  __shared__ float h_carry[NT > 0 ? NT : kMaxState];
  __shared__ float A_s[NT > 0 ? NT : kMaxState];
  __shared__ Pair scan_smem[kWarps];
  for (int n = threadIdx.x; n < N; n += kThreads) {
    h_carry[n] = state[n];
    A_s[n] = p.A[d * N + n];
  }
  __syncthreads();
  const float dt_bias = p.dt_bias ? p.dt_bias[d] : 0.0f;
  const float Dd = p.D ? p.D[d] : 0.0f;
  const T* u_row = static_cast<const T*>(p.u) + d * p.u_cstride;
  const T* dt_row = static_cast<const T*>(p.dt) + d * p.dt_cstride;
  const T* z_row = p.z ? static_cast<const T*>(p.z) + d * p.z_cstride : nullptr;
  T* y_row = static_cast<T*>(p.y) + d * p.y_cstride;
  const T* Bm = static_cast<const T*>(p.B);
  const T* Cm = static_cast<const T*>(p.C);

  for (int64_t tile = t_begin; tile < t_end; tile += int64_t(kThreads) * kItems) {
    const int64_t t0 = tile + int64_t(threadIdx.x) * kItems;
    float u[kItems], delta[kItems], y[kItems];
#pragma unroll
    for (int j = 0; j < kItems; ++j) {
      const int64_t t = t0 + j;
      const bool ok = t < t_end;
      u[j] = ok ? cuda::to_f32(u_row[t]) : 0.0f;
      delta[j] = ok ? cuda::softplus(cuda::to_f32(dt_row[t]) + dt_bias) : 0.0f;
      y[j] = 0.0f;
    }
    for (int n = 0; n < N; ++n) {
      const float An = A_s[n];
      Pair inc[kItems];
      Pair acc{1.0f, 0.0f};
#pragma unroll
      for (int j = 0; j < kItems; ++j) {
        const int64_t t = t0 + j;
        const float b = t < t_end ? delta[j] * cuda::to_f32(Bm[t * p.B_stride + n]) * u[j] : 0.0f;
        acc = compose(acc, Pair{__expf(delta[j] * An), b});
        inc[j] = acc;
      }
      const Pair before = block_exclusive_scan(acc, scan_smem);
      const float h0 = fmaf(before.a, h_carry[n], before.b);  // state before this thread's steps
#pragma unroll
      for (int j = 0; j < kItems; ++j) {
        const int64_t t = t0 + j;
        const float h = fmaf(inc[j].a, h0, inc[j].b);
        if (t < t_end) y[j] = fmaf(h, cuda::to_f32(Cm[t * p.C_stride + n]), y[j]);
      }
      __syncthreads();  // every thread has read h_carry[n]
      if (threadIdx.x == kThreads - 1) h_carry[n] = fmaf(inc[kItems - 1].a, h0, inc[kItems - 1].b);
    }
#pragma unroll
    for (int j = 0; j < kItems; ++j) {
      const int64_t t = t0 + j;
      if (t >= t_end) break;
      float out = fmaf(Dd, u[j], y[j]);
      if (z_row) out *= cuda::silu(cuda::to_f32(z_row[t]));
      y_row[t] = cuda::from_f32<T>(out);
    }
    __syncthreads();  // h_carry complete before the next tile
  }
  for (int n = threadIdx.x; n < N; n += kThreads) state[n] = h_carry[n];
}
}  // namespace

void launch_scan(const ScanParams& p, void* stream) {
  if (p.n == 0 || p.d_inner == 0) return;  // d_state <= kMaxState: checked by MambaConfig
  cuda::type_switch(p.act_type, [&](auto t) {
    using T = decltype(t);
    dim3 grid(unsigned(p.d_inner), unsigned(p.n_seqs));
    auto st = static_cast<cudaStream_t>(stream);
    if (p.d_state == 16) scan_kernel<T, 16><<<grid, kThreads, 0, st>>>(p);
    else scan_kernel<T, 0><<<grid, kThreads, 0, st>>>(p);
  });
  MF_CHECK_LAUNCH("scan");
}

}  // namespace mf::kernels
