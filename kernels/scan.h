// Selective scan (Mamba-1) over one chunk, fused with discretization, D skip and SiLU gate.
// For each channel d and step t (h is the fp32 state [d_inner, d_state], carried in `state`):
//   delta   = softplus(dt[t, d] + dt_bias[d])            (transformers' threshold: x > 20 -> x)
//   h[d, n] = exp(delta * A[d, n]) * h[d, n] + (delta * B[t, n]) * u[t, d]
//   y[t, d] = (sum_n h[d, n] * C[t, n] + D[d] * u[t, d]) * silu(z[t, d])
// A is -exp(A_log) (negative, which the kernels rely on). The state is read at the start and written back at the end; no per-step
// state is stored. Chunked == whole bitwise on the CPU (each channel runs sequentially in t).
#pragma once
#include <cstdint>

namespace mf::kernels {

struct ScanParams {
  const float* u; int64_t u_stride;    // [n, d_inner]
  const float* dt; int64_t dt_stride;  // [n, d_inner], before bias and softplus
  const float* dt_bias;                // [d_inner] or nullptr
  const float* A;                      // [d_inner, d_state]
  const float* B; int64_t B_stride;    // [n, d_state]
  const float* C; int64_t C_stride;    // [n, d_state]
  const float* D;                      // [d_inner] or nullptr
  const float* z; int64_t z_stride;    // [n, d_inner] or nullptr (no gate)
  float* y; int64_t y_stride;          // [n, d_inner]
  float* state;                        // [d_inner, d_state]
  int64_t n, d_inner;
  int d_state;
};

void scan_cpu(const ScanParams& p);

}  // namespace mf::kernels
