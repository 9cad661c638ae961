// bench/gpu_bench.h for a build without CUDA.
#include "bench/gpu_bench.h"
#include "ops/error.h"

namespace mf::bench {
void run_gpu_bench(const GpuBenchOptions&) {
  fail("this mambaflow was built without CUDA (MAMBAFLOW_CUDA=OFF): no GPU benchmark");
}
bool run_gpu_long_stream(const GpuBenchOptions&, int64_t) {
  fail("this mambaflow was built without CUDA (MAMBAFLOW_CUDA=OFF): no GPU benchmark");
}
void run_gpu_compare(const std::string&, const GpuBenchOptions&) {
  fail("this mambaflow was built without CUDA (MAMBAFLOW_CUDA=OFF): no GPU benchmark");
}
}  // namespace mf::bench
