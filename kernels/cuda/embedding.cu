#include "kernels/cuda/common.cuh"
#include "kernels/embedding.h"

namespace mf::kernels {

namespace {
template <class T>
__global__ void embedding_kernel(EmbeddingParams p) {
  const int64_t t = blockIdx.x;
  const T* row = static_cast<const T*>(p.table) + int64_t(p.tokens[t]) * p.d;
  T* out = static_cast<T*>(p.out) + t * p.out_stride;
  for (int64_t j = threadIdx.x; j < p.d; j += blockDim.x) out[j] = row[j];
}
}  // namespace

void launch_embedding(const EmbeddingParams& p, void* stream) {
  if (p.n == 0) return;
  cuda::type_switch(p.type, [&](auto t) {
    using T = decltype(t);
    embedding_kernel<T><<<unsigned(p.n), 128, 0, static_cast<cudaStream_t>(stream)>>>(p);
  });
  MF_CHECK_LAUNCH("embedding");
}

}  // namespace mf::kernels
