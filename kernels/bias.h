// Adds a per-channel fp32 bias to an activation: x[c * cstride + t * tstride] += bias[c]
// for c < channels, t < n.
#pragma once
#include <cstdint>

#include "kernels/cast.h"

namespace mf::kernels {

struct BiasParams {
  void* x;
  CastType type;
  const float* bias;
  int64_t channels, n;
  int64_t cstride, tstride;
};

void launch_add_bias(const BiasParams& p, void* stream);

}  // namespace mf::kernels
