// RMSNorm fused with the residual add (fp32 residual):
//   residual = init_residual ? x : residual + x;   y = residual * rsqrt(mean(residual^2) + eps) * weight
// As transformers' MambaRMSNorm applied in MambaBlock (hidden = residual + mixer(norm(hidden))).
#pragma once
#include <cstdint>

namespace mf::kernels {

struct RmsNormParams {
  const float* x; int64_t x_stride;       // [rows, cols]
  float* residual; int64_t res_stride;    // [rows, cols], read (unless init_residual) and written
  float* y; int64_t y_stride;             // [rows, cols]
  const float* weight;                    // [cols]
  int64_t rows, cols;
  float eps;
  bool init_residual;
};

void rmsnorm_cpu(const RmsNormParams& p);

}  // namespace mf::kernels
