// Selective scan (Mamba-1) on the GPU, fused with discretization, D skip and SiLU gate.
//
// One block per (channel d, sequence s). The sequence is processed in tiles of
// kThreads * kItems time steps; each thread owns kItems consecutive steps. For every state
// index n the recurrence h_t = a_t h_{t-1} + b_t (a_t = exp(delta_t A[d,n]),
// b_t = delta_t B[t,n] u_t) is an associative scan over pairs (a, b):
//   (a1, b1) then (a2, b2) = (a1 a2, a2 b1 + b2).
// Tiles are aligned to kItems in the packed time axis so the loads are 16-byte vectors.
// Each thread composes its own steps, a block-wide exclusive scan (warp shuffles + shared
// memory) gives each thread the composition of everything before it in the tile, and the
// state carried from the previous tile (or the stream's state slot) closes it. The state
// lives in registers/shared memory; no per-step state goes to global memory. Steps past the
// end of the sequence get delta = 0 (a = 1, b = 0: the identity), so the last thread's
// value is the state after the tile.
//
// Measured alternatives (docs/BENCHMARKS.md): all states per thread with one scan per tile
// (1.5x slower), 4 channels per block sharing B/C loads (no gain), 16 steps per thread
// (1.15x slower), one warp per channel without block barriers (1.6x slower: 4x fewer warps),
// and a sequential kernel with one lane per state (3.6x slower: latency-bound with
// d_inner x d_state / 32 warps per stream).
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

// Loads row[t0 .. t0 + kItems) as floats, 0 outside [t_lo, t_hi): one 16-byte load per
// 16 bytes when the run is whole and aligned, element by element otherwise.
template <class T>
__device__ __forceinline__ void load_items(const T* row, int64_t t0, int64_t t_lo, int64_t t_hi,
                                           float (&out)[kItems]) {
  static_assert(kItems * sizeof(T) % 16 == 0);
  const T* p = row + t0;
  if (t0 >= t_lo && t0 + kItems <= t_hi && (reinterpret_cast<uintptr_t>(p) & 15) == 0) {
#pragma unroll
    for (int v = 0; v < int(kItems * sizeof(T) / 16); ++v) {
      const uint4 raw = reinterpret_cast<const uint4*>(p)[v];
      const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
      for (int i = 0; i < int(16 / sizeof(T)); ++i) out[v * (16 / sizeof(T)) + i] = cuda::to_f32(e[i]);
    }
  } else {
#pragma unroll
    for (int j = 0; j < kItems; ++j) out[j] = t0 + j >= t_lo && t0 + j < t_hi ? cuda::to_f32(p[j]) : 0.0f;
  }
}

template <class T>
__device__ __forceinline__ void store_items(T* row, int64_t t0, int64_t t_lo, int64_t t_hi,
                                            const float (&in)[kItems]) {
  T* p = row + t0;
  if (t0 >= t_lo && t0 + kItems <= t_hi && (reinterpret_cast<uintptr_t>(p) & 15) == 0) {
#pragma unroll
    for (int v = 0; v < int(kItems * sizeof(T) / 16); ++v) {
      uint4 raw;
      T* e = reinterpret_cast<T*>(&raw);
#pragma unroll
      for (int i = 0; i < int(16 / sizeof(T)); ++i) e[i] = cuda::from_f32<T>(in[v * (16 / sizeof(T)) + i]);
      reinterpret_cast<uint4*>(p)[v] = raw;
    }
  } else {
#pragma unroll
    for (int j = 0; j < kItems; ++j)
      if (t0 + j >= t_lo && t0 + j < t_hi) p[j] = cuda::from_f32<T>(in[j]);
  }
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

  // Tiles start at multiples of kItems in the packed time axis (aligned vector loads); steps
  // before t_begin are masked like steps past t_end: delta = 0, B = 0, i.e. the identity.
  for (int64_t tile = t_begin - t_begin % kItems; tile < t_end; tile += int64_t(kThreads) * kItems) {
    const int64_t t0 = tile + int64_t(threadIdx.x) * kItems;
    float u[kItems], delta[kItems], y[kItems];
    load_items(u_row, t0, t_begin, t_end, u);
    load_items(dt_row, t0, t_begin, t_end, delta);
#pragma unroll
    for (int j = 0; j < kItems; ++j) {
      delta[j] = t0 + j >= t_begin && t0 + j < t_end ? cuda::softplus(delta[j] + dt_bias) : 0.0f;
      y[j] = 0.0f;
    }
    for (int n = 0; n < N; ++n) {
      const float An = A_s[n];
      float Bv[kItems], Cv[kItems];
      load_items(Bm + int64_t(n) * p.bc_cstride, t0, t_begin, t_end, Bv);
      load_items(Cm + int64_t(n) * p.bc_cstride, t0, t_begin, t_end, Cv);
      Pair inc[kItems];
      Pair acc{1.0f, 0.0f};
#pragma unroll
      for (int j = 0; j < kItems; ++j) {
        const float b = delta[j] * Bv[j] * u[j];  // Bv = 0 outside the sequence
        acc = compose(acc, Pair{__expf(delta[j] * An), b});
        inc[j] = acc;
      }
      const Pair before = block_exclusive_scan(acc, scan_smem);
      const float h0 = fmaf(before.a, h_carry[n], before.b);  // state before this thread's steps
#pragma unroll
      for (int j = 0; j < kItems; ++j) {
        const float h = fmaf(inc[j].a, h0, inc[j].b);
        y[j] = fmaf(h, Cv[j], y[j]);  // Cv = 0 outside the sequence
      }
      __syncthreads();  // every thread has read h_carry[n]
      if (threadIdx.x == kThreads - 1) h_carry[n] = fmaf(inc[kItems - 1].a, h0, inc[kItems - 1].b);
    }
    float z[kItems];
    if (z_row) load_items(z_row, t0, t_begin, t_end, z);
#pragma unroll
    for (int j = 0; j < kItems; ++j) {
      y[j] = fmaf(Dd, u[j], y[j]);
      if (z_row) y[j] *= cuda::silu(z[j]);
    }
    store_items(y_row, t0, t_begin, t_end, y);
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
