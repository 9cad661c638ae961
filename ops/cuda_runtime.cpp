#include "ops/cuda_runtime.h"

#include <cuda_runtime.h>

#include <cstdlib>
#include <cstdio>

#include "ops/error.h"

#define MF_CUDA_CHECK(stmt)                                                                 \
  do {                                                                                      \
    cudaError_t err_ = (stmt);                                                              \
    if (err_ != cudaSuccess)                                                                \
      ::mf::fail("CUDA error: ", cudaGetErrorString(err_), " in `", #stmt, "` at ", __FILE__, \
                 ":", __LINE__);                                                            \
  } while (0)

namespace mf::cuda {

int count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // no driver or no GPU: clear the sticky error, report none
    return 0;
  }
  return n;
}

std::string description(int dev) {
  cudaDeviceProp prop{};
  MF_CUDA_CHECK(cudaGetDeviceProperties(&prop, dev));
  char buf[512];
  std::snprintf(buf, sizeof buf, "%s, sm_%d%d, %.1f GiB", prop.name, prop.major, prop.minor,
                double(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

void* malloc_device(size_t bytes, int dev) {
  MF_CUDA_CHECK(cudaSetDevice(dev));
  void* p = nullptr;
  if (bytes) MF_CUDA_CHECK(cudaMalloc(&p, bytes));
  return p;
}

void free_device(void* p, int dev) noexcept {
  if (!p) return;
  cudaSetDevice(dev);
  cudaFree(p);
}

void memcpy(void* dst, const void* src, size_t bytes, CopyKind kind, void* stream) {
  cudaMemcpyKind k = kind == CopyKind::HostToDevice   ? cudaMemcpyHostToDevice
                     : kind == CopyKind::DeviceToHost ? cudaMemcpyDeviceToHost
                                                      : cudaMemcpyDeviceToDevice;
  if (stream)
    MF_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, k, static_cast<cudaStream_t>(stream)));
  else
    MF_CUDA_CHECK(cudaMemcpy(dst, src, bytes, k));
}

void memset_device(void* p, int value, size_t bytes, void* stream) {
  MF_CUDA_CHECK(cudaMemsetAsync(p, value, bytes, static_cast<cudaStream_t>(stream)));
  if (!stream) MF_CUDA_CHECK(cudaStreamSynchronize(nullptr));
}

void* malloc_host_pinned(size_t bytes) {
  void* p = nullptr;
  if (bytes) MF_CUDA_CHECK(cudaMallocHost(&p, bytes));
  return p;
}

void free_host_pinned(void* p) noexcept {
  if (p) cudaFreeHost(p);
}

void* stream_create(int dev) {
  MF_CUDA_CHECK(cudaSetDevice(dev));
  cudaStream_t s;
  MF_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  return s;
}

void stream_destroy(void* s) noexcept {
  if (s) cudaStreamDestroy(static_cast<cudaStream_t>(s));
}

void stream_synchronize(void* s) { MF_CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(s))); }

double copy_bandwidth(size_t bytes, int dev) {
  MF_CUDA_CHECK(cudaSetDevice(dev));
  void *a = nullptr, *b = nullptr;
  MF_CUDA_CHECK(cudaMalloc(&a, bytes));
  MF_CUDA_CHECK(cudaMalloc(&b, bytes));
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  MF_CUDA_CHECK(cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice));  // warm-up
  cudaEventRecord(e0);
  const int reps = 10;
  for (int i = 0; i < reps; ++i) cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice);
  cudaEventRecord(e1);
  MF_CUDA_CHECK(cudaEventSynchronize(e1));
  float ms = 0;
  cudaEventElapsedTime(&ms, e0, e1);
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  cudaFree(a);
  cudaFree(b);
  return 2.0 * double(bytes) * reps / (ms * 1e-3);
}

size_t memory_in_use(int dev) {
  MF_CUDA_CHECK(cudaSetDevice(dev));
  size_t free = 0, total = 0;
  MF_CUDA_CHECK(cudaMemGetInfo(&free, &total));
  return total - free;
}

bool sync_checks() {
  static const bool sync = [] {
    const char* v = std::getenv("MAMBAFLOW_CUDA_SYNC");
    return v && *v && *v != '0';
  }();
  return sync;
}

void check_launch(const char* what, const char* file, int line) {
  cudaError_t err = cudaGetLastError();
  if (err == cudaSuccess && sync_checks()) err = cudaDeviceSynchronize();
  if (err != cudaSuccess)
    fail("CUDA error: ", cudaGetErrorString(err), " in kernel ", what, " at ", file, ":", line);
}

}  // namespace mf::cuda
