#include "ops/mulaw.h"

#include <algorithm>
#include <cmath>

namespace mf {

namespace {
constexpr double kMu = 255.0;
}

void mulaw_encode(const float* x, int64_t n, int32_t* tokens) {
  const double inv_log = 1.0 / std::log1p(kMu);
  for (int64_t i = 0; i < n; ++i) {
    const double v = std::clamp(double(x[i]), -1.0, 1.0);
    const double f = std::copysign(std::log1p(kMu * std::abs(v)) * inv_log, v);
    tokens[i] = int32_t(std::lround((f + 1.0) * 0.5 * 255.0));
  }
}

void mulaw_decode(const int32_t* tokens, int64_t n, float* x) {
  for (int64_t i = 0; i < n; ++i) {
    const double f = double(std::clamp(tokens[i], 0, 255)) / 255.0 * 2.0 - 1.0;
    x[i] = float(std::copysign((std::pow(1.0 + kMu, std::abs(f)) - 1.0) / kMu, f));
  }
}

}  // namespace mf
