// Devices and streams. A Device names where memory and compute live (the CPU, or CUDA GPU N);
// a Stream is an ordered queue of work on one device (a cudaStream_t on a GPU; on the CPU,
// work runs at the call and synchronize() is a no-op). Callers hold Devices and Streams,
// never raw CUDA handles, so a backend plugs in below without changing them.
#pragma once
#include <memory>
#include <string>
#include <string_view>

namespace mf {

enum class DeviceKind : unsigned char { CPU, CUDA };

struct Device {
  DeviceKind kind = DeviceKind::CPU;
  int index = 0;

  static Device cpu() { return {}; }
  static Device cuda(int i) { return {DeviceKind::CUDA, i}; }
  bool is_cpu() const { return kind == DeviceKind::CPU; }
  bool is_cuda() const { return kind == DeviceKind::CUDA; }
  std::string str() const;  // "cpu", "cuda:0"
  friend bool operator==(const Device&, const Device&) = default;
};

// Parses "cpu", "cuda", "cuda:N" or "auto" (the first GPU if one is usable, else the CPU).
// Throws mf::Error for anything else, or for a GPU index that does not exist.
Device parse_device(std::string_view spec);

// Copies `bytes` from src (on device sd) to dst (on device dd), whichever devices they are.
void copy_bytes(void* dst, Device dd, const void* src, Device sd, size_t bytes);

// GPUs usable by this binary (0 when built without CUDA or when no driver/GPU is present).
int cuda_device_count();
// "NVIDIA H100 80GB HBM3, sm_90, 79.1 GiB" for GPU i; "" for the CPU.
std::string device_description(Device d);

// Peak resident host memory of this process so far, MiB.
double host_peak_rss_mib();

class Stream {
 public:
  explicit Stream(Device d);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  Device device() const { return device_; }
  void synchronize();
  void* native() const { return handle_; }  // cudaStream_t on a GPU, nullptr on the CPU

 private:
  Device device_;
  void* handle_ = nullptr;
};

}  // namespace mf
