// Embedding gather: out[t, :] = table[tokens[t], :]. Token ids are validated by the caller.
#pragma once
#include <cstdint>

#include "kernels/cast.h"

namespace mf::kernels {

struct EmbeddingParams {
  const int32_t* tokens;
  int64_t n;
  const void* table;   // [vocab, d] of `type`
  int64_t d;
  void* out;           // [n, d] of `type`, row stride out_stride
  int64_t out_stride;
  CastType type = CastType::F32;
};

void embedding_cpu(const EmbeddingParams& p);  // f32 only
void launch_embedding(const EmbeddingParams& p, void* stream);

}  // namespace mf::kernels
