#include <tbb/parallel_for.h>

#include <cmath>

#include "kernels/rmsnorm.h"

namespace mf::kernels {

void rmsnorm_cpu(const RmsNormParams& p) {
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, p.rows, 16), [&](const auto& r) {
    for (int64_t i = r.begin(); i < r.end(); ++i) {
      const float* x = static_cast<const float*>(p.x) + i * p.x_stride;
      float* res = p.residual + i * p.res_stride;
      float* y = static_cast<float*>(p.y) + i * p.y_stride;
      float ss = 0.0f;
      if (p.init_residual) {
        for (int64_t j = 0; j < p.cols; ++j) { res[j] = x[j]; ss += x[j] * x[j]; }
      } else {
        for (int64_t j = 0; j < p.cols; ++j) { float v = res[j] + x[j]; res[j] = v; ss += v * v; }
      }
      float inv = 1.0f / std::sqrt(ss / float(p.cols) + p.eps);
      for (int64_t j = 0; j < p.cols; ++j) y[j] = p.weight[j] * (res[j] * inv);
    }
  });
}

}  // namespace mf::kernels
