// Embedding gather: out[t, :] = table[tokens[t], :]. Token ids are validated by the caller.
#pragma once
#include <cstdint>

namespace mf::kernels {

struct EmbeddingParams {
  const int32_t* tokens;
  int64_t n;
  const float* table;  // [vocab, d]
  int64_t d;
  float* out;          // [n, d], row stride out_stride
  int64_t out_stride;
};

void embedding_cpu(const EmbeddingParams& p);

}  // namespace mf::kernels
