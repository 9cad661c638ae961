// RMSNorm fused with the residual add (fp32 residual):
//   residual = init_residual ? x : residual + x;   y = residual * rsqrt(mean(residual^2) + eps) * weight
// As transformers' MambaRMSNorm applied in MambaBlock (hidden = residual + mixer(norm(hidden))).
#pragma once
#include <cstdint>

#include "kernels/cast.h"

namespace mf::kernels {

struct RmsNormParams {
  const void* x; int64_t x_stride;        // [rows, cols] of x_type
  float* residual; int64_t res_stride;    // [rows, cols], read (unless init_residual) and written
  void* y; int64_t y_stride;              // [rows, cols] of y_type
  const float* weight;                    // [cols]
  int64_t rows, cols;
  float eps;
  bool init_residual;
  CastType x_type = CastType::F32;  // element type of x and y (residual and weight: f32)
  CastType y_type = CastType::F32;
};

void rmsnorm_cpu(const RmsNormParams& p);  // f32 only
void launch_rmsnorm(const RmsNormParams& p, void* stream);

}  // namespace mf::kernels
