// ops/cuda_runtime.h for a build without CUDA (MAMBAFLOW_CUDA=OFF): no GPU is usable.
#include "ops/cuda_runtime.h"
#include "ops/error.h"

namespace mf::cuda {

[[noreturn]] static void no_cuda() {
  fail("this mambaflow was built without CUDA (MAMBAFLOW_CUDA=OFF); use --device cpu");
}

int count() { return 0; }
std::string description(int) { no_cuda(); }
void* malloc_device(size_t, int) { no_cuda(); }
void free_device(void*, int) noexcept {}
void memcpy(void*, const void*, size_t, CopyKind, void*) { no_cuda(); }
void memset_device(void*, int, size_t, void*) { no_cuda(); }
void* malloc_host_pinned(size_t) { no_cuda(); }
void free_host_pinned(void*) noexcept {}
void* stream_create(int) { no_cuda(); }
void stream_destroy(void*) noexcept {}
void stream_synchronize(void*) { no_cuda(); }
double copy_bandwidth(size_t, int) { no_cuda(); }
size_t memory_in_use(int) { no_cuda(); }
bool sync_checks() { return false; }
void check_launch(const char*, const char*, int) { no_cuda(); }

}  // namespace mf::cuda
