#include <tbb/parallel_for.h>

#include "kernels/cast.h"
#include "ops/dtype.h"

namespace mf::kernels {

static float load(const void* p, CastType t, int64_t i) {
  switch (t) {
    case CastType::F32: return static_cast<const float*>(p)[i];
    case CastType::F16: return f16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case CastType::BF16: return bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
  }
  return 0;
}

static void store(void* p, CastType t, int64_t i, float v) {
  switch (t) {
    case CastType::F32: static_cast<float*>(p)[i] = v; break;
    case CastType::F16: static_cast<uint16_t*>(p)[i] = f32_to_f16(v); break;
    case CastType::BF16: static_cast<uint16_t*>(p)[i] = f32_to_bf16(v); break;
  }
}

void cast_cpu(const CastParams& p) {
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, p.n, 1 << 16), [&](const auto& r) {
    for (int64_t i = r.begin(); i < r.end(); ++i) store(p.dst, p.dst_type, i, load(p.src, p.src_type, i));
  });
}

}  // namespace mf::kernels
