// The thin layer of CUDA runtime calls that ops/ needs (memory, copies, streams, device
// queries). Built from ops/cuda_runtime.cpp with CUDA, or ops/cuda_runtime_none.cpp without,
// where every call but cuda_count() throws mf::Error saying the binary has no CUDA backend.
// Errors carry the failing call, file and line. MAMBAFLOW_CUDA_SYNC=1 in the environment
// makes each checked launch synchronous, so an asynchronous fault is reported where it happened.
#pragma once
#include <cstddef>
#include <string>

namespace mf::cuda {

int count();                               // 0 when no driver / no GPU / no CUDA backend
std::string description(int dev);
void* malloc_device(size_t bytes, int dev);
void free_device(void* p, int dev) noexcept;
enum class CopyKind { HostToDevice, DeviceToHost, DeviceToDevice };
void memcpy(void* dst, const void* src, size_t bytes, CopyKind kind, void* stream = nullptr);
void memset_device(void* p, int value, size_t bytes, void* stream = nullptr);
void* malloc_host_pinned(size_t bytes);     // page-locked host memory (async copies)
void free_host_pinned(void* p) noexcept;
void* stream_create(int dev);
void stream_destroy(void* s) noexcept;
void stream_synchronize(void* s);
// Bandwidth of a device-to-device copy of `bytes` on GPU dev, in bytes/s counting bytes
// read and written (the yardstick for memory-bound kernels).
double copy_bandwidth(size_t bytes, int dev);
// Device memory in use on GPU dev (total - free), bytes.
size_t memory_in_use(int dev);
// True when MAMBAFLOW_CUDA_SYNC=1 asks for synchronous launch checks (debugging).
bool sync_checks();
// Checks the last kernel launch (and synchronizes when MAMBAFLOW_CUDA_SYNC=1).
void check_launch(const char* what, const char* file, int line);

}  // namespace mf::cuda
