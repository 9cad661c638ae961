#include <cstring>

#include "kernels/embedding.h"

namespace mf::kernels {

void embedding_cpu(const EmbeddingParams& p) {
  const float* table = static_cast<const float*>(p.table);
  float* out = static_cast<float*>(p.out);
  for (int64_t t = 0; t < p.n; ++t)
    std::memcpy(out + t * p.out_stride, table + int64_t(p.tokens[t]) * p.d, size_t(p.d) * 4);
}

}  // namespace mf::kernels
