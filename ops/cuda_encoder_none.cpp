// ops/cuda_encoder.h for a build without CUDA (MAMBAFLOW_CUDA=OFF).
#include "ops/cuda_encoder.h"
#include "ops/error.h"

namespace mf {

struct CudaEncoder::Impl {};

CudaEncoder::CudaEncoder(std::shared_ptr<const MambaModel>, Device, CudaEncoderOptions) {
  fail("this mambaflow was built without CUDA (MAMBAFLOW_CUDA=OFF); use --device cpu");
}
CudaEncoder::~CudaEncoder() = default;
void CudaEncoder::forward(const std::vector<ChunkRef>&) {
  fail("this mambaflow was built without CUDA (MAMBAFLOW_CUDA=OFF); use --device cpu");
}

}  // namespace mf
