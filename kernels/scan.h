// Selective scan (Mamba-1) over one chunk, fused with discretization, D skip and SiLU gate.
// For each channel d and step t (h is the fp32 state [d_inner, d_state], carried in `state`):
//   delta   = softplus(dt[t, d] + dt_bias[d])            (transformers' threshold: x > 20 -> x)
//   h[d, n] = exp(delta * A[d, n]) * h[d, n] + (delta * B[t, n]) * u[t, d]
//   y[t, d] = (sum_n h[d, n] * C[t, n] + D[d] * u[t, d]) * silu(z[t, d])
// A is -exp(A_log) (negative, which the kernels rely on). The state is read at the start and written back at the end; no per-step
// state is stored. Chunked == whole bitwise on the CPU (each channel runs sequentially in t).
#pragma once
#include <cstdint>

#include "kernels/cast.h"

namespace mf::kernels {

// Activations (u, dt, B, C, z, y) are f32 on the CPU and act_type on the GPU.
struct ScanParams {
  const void* u; int64_t u_stride;     // [n, d_inner]
  const void* dt; int64_t dt_stride;   // [n, d_inner], before bias and softplus
  const float* dt_bias;                // [d_inner] or nullptr
  const float* A;                      // [d_inner, d_state]
  const void* B; int64_t B_stride;     // [n, d_state]
  const void* C; int64_t C_stride;     // [n, d_state]
  const float* D;                      // [d_inner] or nullptr
  const void* z; int64_t z_stride;     // [n, d_inner] or nullptr (no gate)
  void* y; int64_t y_stride;           // [n, d_inner]
  float* state;                        // [d_inner, d_state]
  int64_t n, d_inner;
  int d_state;

  // GPU layout (see Conv1dParams): u, dt, z, y channel-major with time contiguous (element
  // (t, d) at d * cstride + t); B and C as [d_state, n] (element (t, k) at k * bc_cstride + t);
  // act_type for u, dt, z, y, B, C; a batch of sequences packed in time, sequence s owning
  // state slot seq_slot[s] (state + seq_slot[s] * slot_stride). Rows and sequence starts
  // 16-byte aligned (multiples of 8 elements) let the kernel use vector loads.
  int64_t u_cstride = 0, dt_cstride = 0, z_cstride = 0, y_cstride = 0, bc_cstride = 0;
  CastType act_type = CastType::F32;
  int64_t n_seqs = 1;
  const int64_t* seq_start = nullptr;
  const int32_t* seq_slot = nullptr;
  int64_t slot_stride = 0;
};

void scan_cpu(const ScanParams& p);
void launch_scan(const ScanParams& p, void* stream);

}  // namespace mf::kernels
