// Selective scan (Mamba-1) on the GPU, fused with discretization, D skip and SiLU gate.
//
// Two kernels; launch_scan picks one.
//
// 1. Segment-parallel two-pass scan (d_state == 16, n >= kSegMinSteps and 16-byte aligned
//    u/dt/z/y rows: the encoder's large chunks). Each sequence is cut into segments of L steps
//    (cut at multiples of L from its start rounded down to 8, so every segment after the first
//    starts 16-byte aligned); L is chosen so that (channel groups x segments) is about four
//    blocks per SM (one wave). One block = 128 channels x one segment; one thread = one
//    channel, marching in time over the segment with all 16 states in registers (16
//    independent recurrences per thread: no shuffles in the step loop).
//    Data movement: activations are channel-major, so a thread's own row is time-contiguous
//    but the lanes of a warp are 32 rows apart. u/dt/z therefore come in through shared
//    memory tiles of 16 steps x 128 channels, copied with coalesced 16-byte cp.async (a warp
//    reads 16 rows x 32 contiguous bytes), double-buffered one tile ahead, row pitch padded by
//    16 bytes so that each thread's 16-byte row reads are bank-conflict free; y goes out the
//    same way (written to a shared tile, stored coalesced one tile later). B/C for the next
//    tile are loaded into registers and stored as fp32 [step][B 0..15, C 16..31], read as
//    broadcasts. One barrier per tile. exp uses ex2.approx with A pre-scaled by log2(e);
//    softplus uses ex2/lg2.approx (absolute error ~2e-7 against log1pf(expf(x))), SiLU a fast
//    division.
//      pass 1: for every segment but its sequence's last: end state from zero and the sum of
//              delta (the segment's decay is exp(A * sum delta)).
//      combine: per (sequence, channel, state), chains the segments from the slot state and
//               leaves each segment's start state (the last one's in the slot).
//      pass 2: every segment from its true start state: y, and the final state into the slot
//              from the last segment.
//    The per-segment scratch (17 floats) lives in y's own row over that segment, which only
//    that segment's pass 2 writes, after reading it (before its first barrier); so no
//    workspace (y must not alias the inputs). Cost: every exp is computed twice (pass 1 and
//    pass 2), the price of parallelism over time without storing per-step values.
// 2. Block-wide pair scan (fallback: other d_state, rows not 16-byte aligned, and short
//    chunks where it has lower latency). One block per (channel d, sequence s), tiles of kThreads * kItems steps, each
//    thread owning kItems consecutive steps. For every state n the recurrence
//    h_t = a_t h_{t-1} + b_t (a_t = exp(delta_t A[d,n]), b_t = delta_t B[t,n] u_t) is an
//    associative scan over pairs (a, b): (a1, b1) then (a2, b2) = (a1 a2, a2 b1 + b2). Each
//    thread composes its own steps, a block-wide exclusive scan (warp shuffles + shared
//    memory) gives each thread the composition of everything before it in the tile, and the
//    state carried from the previous tile (or the slot) closes it. Steps outside the sequence
//    get delta = 0 (the identity).
//
// Measured on the H100, 130m shape (d_inner 1536, d_state 16, 24 layers), bf16, 65536-token
// chunks, scan seconds per 1M tokens (mambaflow bench --device cuda):
//   block-wide pair scan (kernel 2; 80 registers, 6 blocks/SM, 1536 blocks): 1.26 (8% of copy)
//   two-pass with per-lane loads (each lane 16 bytes of its own row, one group of 8 steps
//   ahead; B/C staged 64 steps at a time), L = 2048, 3 blocks/SM: 0.78 (400 GB/s, 13%).
//   ncu: pass 2 bound by L2 throughput (75%, L1 hit rate 22%: every warp access touched 32
//   lines), pass 1 by latency (0.9 eligible warps per scheduler).
//   + shared-memory tiles for u/dt/z/y (above): 0.63 at 3 blocks/SM, 0.61 at 4 (L2 at 30%)
//   + softplus through ex2/lg2.approx instead of log1pf(__expf): 0.54-0.55 (the final kernel:
//   566 GB/s, 19% of copy; encoder 1.03M tok/s, conv 0.061 s, encoder/GEMM 3.28x).
//   Lost: y's 16-term dot product split into 4 partial sums (0.547, no gain); 8 blocks per SM
//   over two waves (0.59); 3 instead of 4 blocks/SM (with the split sums) 0.548 vs 0.547.
// The remaining bound is issue/latency: 128 registers (launch bounds 4 blocks/SM) leave 4
// warps per scheduler, about 1 eligible; ~35 MUFU ops per (token, channel) (2 x 16 exp plus
// softplus and SiLU) would be ~0.35 s per 1M tokens at full MUFU rate. On 320-token chunks
// (latency bench) the block scan is faster, hence kSegMinSteps.
// Earlier alternatives for kernel 2 (docs/BENCHMARKS.md): all states per thread with one scan
// per tile (1.5x slower), 4 channels per block sharing B/C loads (no gain), 16 steps per thread
// (1.15x slower), one warp per channel without block barriers (1.6x slower), and a sequential
// kernel with one lane per state over the whole sequence (3.6x slower: too few warps).
#include "kernels/cuda/common.cuh"
#include "kernels/scan.h"

#include <algorithm>

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
__global__ void __launch_bounds__(kThreads) scan_block_kernel(ScanParams p) {
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
// ---- Segment-parallel two-pass scan for d_state == 16 ----------------------------------
constexpr int kSegThreads = 128;  // one channel per thread
constexpr int kSegN = 16;
constexpr int64_t kSegMinSteps = 2048;  // below this the block-scan kernel has lower latency
constexpr float kLog2e = 1.4426950408889634f;

__device__ __forceinline__ float fast_exp2(float x) {
  float r;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
  return r;
}

// Eight elements of T as raw 16-byte vectors.
template <class T>
struct Raw8 {
  uint4 r[sizeof(T) / 2];
};
template <class T>
__device__ __forceinline__ bool whole8(const T* row, int64_t t0, int64_t lo, int64_t hi) {
  return t0 >= lo && t0 + 8 <= hi && (reinterpret_cast<uintptr_t>(row + t0) & 15) == 0;
}
template <class T>
__device__ __forceinline__ void load_raw8(const T* row, int64_t t0, Raw8<T>& v) {
#pragma unroll
  for (int i = 0; i < int(sizeof(T) / 2); ++i) v.r[i] = reinterpret_cast<const uint4*>(row + t0)[i];
}
// out = row[t0 .. t0 + 8) (0 outside [lo, hi)), from `pre` when it was prefetched.
template <class T>
__device__ __forceinline__ void get8(const T* row, int64_t t0, int64_t lo, int64_t hi, const Raw8<T>& pre, bool pre_ok,
                                     float (&out)[kItems]) {
  if (pre_ok) {
    const T* e = reinterpret_cast<const T*>(pre.r);
#pragma unroll
    for (int i = 0; i < 8; ++i) out[i] = cuda::to_f32(e[i]);
  } else {
#pragma unroll
    for (int j = 0; j < 8; ++j) out[j] = t0 + j >= lo && t0 + j < hi ? cuda::to_f32(row[t0 + j]) : 0.0f;
  }
}

struct Segment {
  int64_t lo, hi;  // steps [lo, hi) of the packed time axis
  int64_t k, K;    // segment k of K
};
// Segment k of sequence s: the sequence's steps cut at base + j * L, base = start rounded
// down to 8 (so segments after the first start 16-byte aligned). K = 0 for an empty sequence.
__device__ __forceinline__ Segment segment_of(const ScanParams& p, int s, int64_t k, int64_t L) {
  const int64_t t_begin = p.seq_start[s], t_end = p.seq_start[s + 1];
  const int64_t base = t_begin - t_begin % 8;
  Segment g;
  g.k = k;
  g.K = t_end > t_begin ? (t_end - base + L - 1) / L : 0;
  g.lo = base + k * L > t_begin ? base + k * L : t_begin;
  g.hi = base + (k + 1) * L < t_end ? base + (k + 1) * L : t_end;
  return g;
}
// Scratch for a segment that is not its sequence's last: 17 floats (end state from zero
// [16], sum of delta) written by pass 1, replaced by the start state [16] by the combine
// pass, read by pass 2 before it writes y there. It lies inside y's own row for channel d
// over the segment (>= L - 7 >= 57 elements), which only this segment's pass 2 writes.
template <class T>
__device__ __forceinline__ float* seg_scratch(const ScanParams& p, int64_t d, int64_t lo) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(static_cast<T*>(p.y) + d * p.y_cstride + lo);
  return reinterpret_cast<float*>((a + 3) & ~uintptr_t(3));
}

// ---- Two-pass kernel: u/dt/z in and y out through shared memory tiles -------------------
// One block = 128 channels x one segment. The channel-major rows are moved in tiles of kTS
// steps x 128 channels with coalesced 16-byte cp.async copies (a warp reads 16 rows x 32
// contiguous bytes) into a padded shared tile (row pitch = row bytes + 16: the per-thread
// 16-byte row reads are bank-conflict free), double-buffered; y goes out the same way one
// tile later. One thread = one channel, marching in time, 16 states in registers.
constexpr int kTS = 16;  // steps per tile

template <class T>
struct TileCfg {
  static constexpr int kRowBytes = kTS * int(sizeof(T));  // 32 (bf16/f16) or 64 (f32)
  static constexpr int kPitch = kRowBytes + 16;
  static constexpr int kChunks = kRowBytes / 16;          // 16-byte chunks per row
  static constexpr int kElems = 16 / int(sizeof(T));      // elements per chunk
  static constexpr int kArr = kSegThreads * kPitch;       // bytes of one array's tile
  static constexpr int kBcBytes = 2 * kTS * 2 * kSegN * int(sizeof(float));
  static constexpr int smem(bool out) { return kBcBytes + 2 * (out ? 4 : 2) * kArr; }
};

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, int src_bytes) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(src_bytes) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_all;\n" ::: "memory"); }

__device__ __forceinline__ float silu_fast(float x) { return __fdividef(x, 1.0f + __expf(-x)); }
// softplus through ex2/lg2 approximations (absolute error ~2e-7 against log1pf(expf(x))).
__device__ __forceinline__ float softplus_fast(float x) {
  float l;
  asm("lg2.approx.ftz.f32 %0, %1;" : "=f"(l) : "f"(1.0f + fast_exp2(x * kLog2e)));
  return x > 20.0f ? x : l * 0.6931471805599453f;
}

// kOut = false: pass 1 (end state from zero and sum of delta, for all but the last segment).
// kOut = true: pass 2 (from the true start state: y, and the final state for the last segment).
template <class T, bool kOut>
__global__ void __launch_bounds__(kSegThreads, 4) scan_seg_kernel(ScanParams p, int64_t L) {
  using Cfg = TileCfg<T>;
  constexpr int kArrays = kOut ? 4 : 2;  // u, dt (, z, y)
  extern __shared__ __align__(16) unsigned char smem[];
  float(*bc)[kTS][2 * kSegN] = reinterpret_cast<float(*)[kTS][2 * kSegN]>(smem);
  unsigned char* tiles = smem + Cfg::kBcBytes;
  auto tile = [&](int buf, int a) { return tiles + (buf * kArrays + a) * Cfg::kArr; };

  const Segment g = segment_of(p, blockIdx.z, blockIdx.y, L);
  if (g.k >= g.K || (!kOut && g.k == g.K - 1)) return;
  const int64_t lo = g.lo, hi = g.hi;
  const int64_t d0 = int64_t(blockIdx.x) * kSegThreads;
  const int tid = threadIdx.x;
  const bool active = d0 + tid < p.d_inner;
  const int64_t d = active ? d0 + tid : p.d_inner - 1;

  float h[kSegN], A2[kSegN];
  float* slot = p.state + int64_t(p.seq_slot[blockIdx.z]) * p.slot_stride + d * kSegN;
  const float* h_src = kOut ? (g.k == g.K - 1 ? slot : seg_scratch<T>(p, d, lo)) : nullptr;
#pragma unroll
  for (int n = 0; n < kSegN; ++n) {
    h[n] = kOut ? h_src[n] : 0.0f;  // read before the first barrier: pass 2's y stores come after it
    A2[n] = p.A[d * kSegN + n] * kLog2e;
  }
  const float dt_bias = p.dt_bias ? p.dt_bias[d] : 0.0f;
  const float Dd = p.D ? p.D[d] : 0.0f;
  const bool has_z = kOut && p.z != nullptr;

  // Tile copies: array a's tile is 128 rows x kChunks chunks; thread tid copies chunks tid + 128 i.
  auto load_tiles = [&](int64_t ts, int buf) {
#pragma unroll
    for (int a = 0; a < (kOut ? 3 : 2); ++a) {
      if (a == 2 && !has_z) break;
      const T* base = static_cast<const T*>(a == 0 ? p.u : a == 1 ? p.dt : p.z);
      const int64_t cs = a == 0 ? p.u_cstride : a == 1 ? p.dt_cstride : p.z_cstride;
#pragma unroll
      for (int i = 0; i < Cfg::kChunks; ++i) {
        const int c = tid + kSegThreads * i, row = c / Cfg::kChunks, part = c % Cfg::kChunks;
        const int64_t t = ts + int64_t(part) * Cfg::kElems;
        if (t < hi) {
          const int64_t ch = d0 + row < p.d_inner ? d0 + row : p.d_inner - 1;
          const int64_t left = (hi - t) * int64_t(sizeof(T));
          cp_async16(tile(buf, a) + row * Cfg::kPitch + part * 16, base + ch * cs + t, left < 16 ? int(left) : 16);
        }
      }
    }
    cp_async_commit();
  };
  auto store_y = [&](int64_t ts, int buf) {
    T* ybase = static_cast<T*>(p.y);
#pragma unroll
    for (int i = 0; i < Cfg::kChunks; ++i) {
      const int c = tid + kSegThreads * i, row = c / Cfg::kChunks, part = c % Cfg::kChunks;
      const int64_t t = ts + int64_t(part) * Cfg::kElems, ch = d0 + row;
      if (ch >= p.d_inner) continue;
      const unsigned char* sp = tile(buf, 3) + row * Cfg::kPitch + part * 16;
      T* gp = ybase + ch * p.y_cstride + t;
      if (t >= lo && t + Cfg::kElems <= hi) {
        *reinterpret_cast<uint4*>(gp) = *reinterpret_cast<const uint4*>(sp);
      } else {
#pragma unroll
        for (int e = 0; e < Cfg::kElems; ++e)
          if (t + e >= lo && t + e < hi) gp[e] = reinterpret_cast<const T*>(sp)[e];
      }
    }
  };
  // B/C staging through registers: thread i < 64 (< 32 in pass 1: B only) holds 8 steps of
  // row i / 2 (B rows 0..15, C rows 16..31).
  const int bc_r = tid / 2, bc_part = tid % 2;
  const bool stager = tid < (kOut ? 64 : 32);
  const T* bc_row = static_cast<const T*>(bc_r < kSegN ? p.B : p.C) + int64_t(bc_r % kSegN) * p.bc_cstride;
  Raw8<T> st_raw;
  bool st_ok = false;
  auto bc_fetch = [&](int64_t ts) {
    const int64_t t0 = ts + 8 * bc_part;
    st_ok = stager && whole8(bc_row, t0, lo, hi);
    if (st_ok) load_raw8(bc_row, t0, st_raw);
  };
  auto bc_store = [&](int64_t ts, int buf) {
    if (!stager) return;
    float v[kItems];
    get8(bc_row, ts + 8 * bc_part, lo, hi, st_raw, st_ok, v);
#pragma unroll
    for (int j = 0; j < 8; ++j) bc[buf][8 * bc_part + j][bc_r] = v[j];
  };

  const int64_t first = lo - lo % 8;
  bc_fetch(first);
  load_tiles(first, 0);
  bc_store(first, 0);
  float dsum = 0.0f;
  int buf = 0;
  int64_t last = first;
  for (int64_t ts = first; ts < hi; ts += kTS, buf ^= 1) {
    last = ts;
    cp_async_wait_all();
    __syncthreads();
    const bool more = ts + kTS < hi;
    if (more) {
      load_tiles(ts + kTS, buf ^ 1);
      bc_fetch(ts + kTS);
    }
    if (kOut && ts > first) store_y(ts - kTS, buf ^ 1);
    const int lo_r = int(lo - ts > 0 ? lo - ts : 0);
    const int hi_r = int(hi - ts < kTS ? hi - ts : kTS);
    const int groups = (hi_r + 7) / 8;
    const unsigned char* rows = tile(buf, 0) + tid * Cfg::kPitch;
#pragma unroll 1
    for (int gi = 0; gi < groups; ++gi) {
      const int off = 8 * gi * int(sizeof(T));
      float dl[kItems], du[kItems], y[kItems];
      {
        const Raw8<T> ru = *reinterpret_cast<const Raw8<T>*>(rows + off);
        const Raw8<T> rdt = *reinterpret_cast<const Raw8<T>*>(rows + Cfg::kArr + off);
        const T* eu = reinterpret_cast<const T*>(ru.r);
        const T* edt = reinterpret_cast<const T*>(rdt.r);
#pragma unroll
        for (int j = 0; j < kItems; ++j) {
          const bool in = 8 * gi + j >= lo_r && 8 * gi + j < hi_r;
          const float u = in ? cuda::to_f32(eu[j]) : 0.0f;
          dl[j] = in ? softplus_fast(cuda::to_f32(edt[j]) + dt_bias) : 0.0f;
          du[j] = dl[j] * u;
          y[j] = Dd * u;
          dsum += dl[j];
        }
      }
#pragma unroll
      for (int j = 0; j < kItems; ++j) {
        const float4* bcs = reinterpret_cast<const float4*>(bc[buf][8 * gi + j]);
        float acc = y[j];
#pragma unroll
        for (int q = 0; q < kSegN / 4; ++q) {
          const float4 b4 = bcs[q];
          const float bq[4] = {b4.x, b4.y, b4.z, b4.w};
          float cq[4];
          if (kOut) {
            const float4 c4 = bcs[kSegN / 4 + q];
            cq[0] = c4.x; cq[1] = c4.y; cq[2] = c4.z; cq[3] = c4.w;
          }
#pragma unroll
          for (int i = 0; i < 4; ++i) {
            const int n = 4 * q + i;
            h[n] = fmaf(fast_exp2(dl[j] * A2[n]), h[n], du[j] * bq[i]);
            if (kOut) acc = fmaf(h[n], cq[i], acc);
          }
        }
        y[j] = acc;
      }
      if (kOut) {
        if (has_z) {
          const Raw8<T> rz = *reinterpret_cast<const Raw8<T>*>(rows + 2 * Cfg::kArr + off);
          const T* ez = reinterpret_cast<const T*>(rz.r);
#pragma unroll
          for (int j = 0; j < kItems; ++j) y[j] *= silu_fast(cuda::to_f32(ez[j]));
        }
        Raw8<T> ry;
        T* ey = reinterpret_cast<T*>(ry.r);
#pragma unroll
        for (int j = 0; j < kItems; ++j) ey[j] = cuda::from_f32<T>(y[j]);
        *reinterpret_cast<Raw8<T>*>(const_cast<unsigned char*>(rows) + 3 * Cfg::kArr + off) = ry;
      }
    }
    if (more) bc_store(ts + kTS, buf ^ 1);
  }
  if (kOut) {
    __syncthreads();
    store_y(last, buf ^ 1);
  }
  if (!active) return;
  if (kOut) {
    if (g.k == g.K - 1) {
#pragma unroll
      for (int n = 0; n < kSegN; ++n) slot[n] = h[n];
    }
  } else {
    float* scratch = seg_scratch<T>(p, d, lo);
#pragma unroll
    for (int n = 0; n < kSegN; ++n) scratch[n] = h[n];
    scratch[kSegN] = dsum;
  }
}

template <class T, bool kOut>
void launch_seg(dim3 grid, cudaStream_t st, const ScanParams& p, int64_t L) {
  static const bool attr = [] {  // above the 48 KB default
    cudaFuncSetAttribute(scan_seg_kernel<T, kOut>, cudaFuncAttributeMaxDynamicSharedMemorySize, TileCfg<T>::smem(kOut));
    return true;
  }();
  (void)attr;
  scan_seg_kernel<T, kOut><<<grid, kSegThreads, TileCfg<T>::smem(kOut), st>>>(p, L);
}

// The tiles need 16-byte aligned u/dt/z/y rows (the encoder's layout); B/C are checked per load.
template <class T>
bool tile_aligned(const ScanParams& p) {
  auto al = [](const void* q) { return (reinterpret_cast<uintptr_t>(q) & 15) == 0; };
  auto cs = [](int64_t s) { return s * int64_t(sizeof(T)) % 16 == 0; };
  return al(p.u) && al(p.dt) && al(p.y) && cs(p.u_cstride) && cs(p.dt_cstride) && cs(p.y_cstride) &&
         (p.z == nullptr || (al(p.z) && cs(p.z_cstride)));
}

// Chains the segments of each (sequence, channel, state) from the slot state: writes each
// non-last segment's start state into its scratch and the last segment's into the slot.
template <class T>
__global__ void __launch_bounds__(256) scan_seg_combine(ScanParams p, int64_t L) {
  const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= p.d_inner * kSegN) return;
  const int64_t d = idx / kSegN;
  const int n = int(idx % kSegN);
  const int s = blockIdx.y;
  const int64_t K = segment_of(p, s, 0, L).K;
  if (K < 2) return;
  float* slot = p.state + int64_t(p.seq_slot[s]) * p.slot_stride + d * kSegN + n;
  const float A2 = p.A[d * kSegN + n] * kLog2e;
  float h = *slot;
#pragma unroll 4
  for (int64_t k = 0; k < K - 1; ++k) {
    float* scr = seg_scratch<T>(p, d, segment_of(p, s, k, L).lo);
    const float h_end = scr[n], dsum = scr[kSegN];
    scr[n] = h;
    h = fmaf(fast_exp2(A2 * dsum), h, h_end);
  }
  *slot = h;
}

int num_sms() {
  static const int sms = [] {
    int dev = 0, n = 0;
    cudaGetDevice(&dev);
    cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev);
    return n > 0 ? n : 1;
  }();
  return sms;
}

// Segment length: about three blocks per SM in total (one wave; longer segments beat more,
// shorter ones), in multiples of 64 steps.
int64_t seg_length(const ScanParams& p) {
  const int64_t groups = (p.d_inner + kSegThreads - 1) / kSegThreads;
  const int64_t segs = std::max<int64_t>(1, 4 * num_sms() / groups);
  int64_t L = (p.n + segs - 1) / segs;
  L = std::max<int64_t>((L + 63) / 64 * 64, 64);
  while ((p.n + 7 + L - 1) / L > 65535) L *= 2;
  return L;
}
}  // namespace

void launch_scan(const ScanParams& p, void* stream) {
  if (p.n == 0 || p.d_inner == 0) return;  // d_state <= kMaxState: checked by MambaConfig
  cuda::type_switch(p.act_type, [&](auto t) {
    using T = decltype(t);
    auto st = static_cast<cudaStream_t>(stream);
    if (p.d_state == kSegN && p.n >= kSegMinSteps && tile_aligned<T>(p)) {
      const int64_t L = seg_length(p);
      dim3 grid(unsigned((p.d_inner + kSegThreads - 1) / kSegThreads), unsigned((p.n + 7 + L - 1) / L),
                unsigned(p.n_seqs));
      if (p.n + 7 > L) {  // some sequence may have more than one segment
        launch_seg<T, false>(grid, st, p, L);
        dim3 cgrid(unsigned((p.d_inner * kSegN + 255) / 256), unsigned(p.n_seqs));
        scan_seg_combine<T><<<cgrid, 256, 0, st>>>(p, L);
      }
      launch_seg<T, true>(grid, st, p, L);
    } else {
      dim3 grid(unsigned(p.d_inner), unsigned(p.n_seqs));
      if (p.d_state == 16) scan_block_kernel<T, 16><<<grid, kThreads, 0, st>>>(p);
      else scan_block_kernel<T, 0><<<grid, kThreads, 0, st>>>(p);
    }
  });
  MF_CHECK_LAUNCH("scan");
}

}  // namespace mf::kernels
