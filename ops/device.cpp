#include "ops/device.h"

#include <sys/resource.h>

#include <charconv>
#include <cstring>

#include "ops/cuda_runtime.h"
#include "ops/error.h"

namespace mf {

std::string Device::str() const {
  return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index);
}

int cuda_device_count() { return cuda::count(); }

void copy_bytes(void* dst, Device dd, const void* src, Device sd, size_t bytes) {
  if (bytes == 0) return;
  if (dd.is_cpu() && sd.is_cpu()) std::memcpy(dst, src, bytes);
  else if (dd.is_cpu()) cuda::memcpy(dst, src, bytes, cuda::CopyKind::DeviceToHost);
  else if (sd.is_cpu()) cuda::memcpy(dst, src, bytes, cuda::CopyKind::HostToDevice);
  else cuda::memcpy(dst, src, bytes, cuda::CopyKind::DeviceToDevice);
}

Device parse_device(std::string_view spec) {
  if (spec == "cpu") return Device::cpu();
  if (spec == "auto") return cuda_device_count() > 0 ? Device::cuda(0) : Device::cpu();
  if (spec.starts_with("cuda")) {
    int idx = 0;
    std::string_view rest = spec.substr(4);
    if (!rest.empty()) {
      if (rest[0] != ':') fail("bad device '", spec, "': expected auto, cpu, cuda or cuda:N");
      rest.remove_prefix(1);
      auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), idx);
      if (ec != std::errc() || ptr != rest.data() + rest.size() || idx < 0)
        fail("bad device '", spec, "': expected auto, cpu, cuda or cuda:N");
    }
    int n = cuda_device_count();
    if (n == 0) fail("device '", spec, "' asked for, but no CUDA GPU is usable on this machine");
    if (idx >= n) fail("device '", spec, "' asked for, but this machine has ", n, " CUDA GPU(s)");
    return Device::cuda(idx);
  }
  fail("bad device '", spec, "': expected auto, cpu, cuda or cuda:N");
}

double host_peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;  // KiB on Linux
}

std::string device_description(Device d) {
  return d.is_cpu() ? std::string() : cuda::description(d.index);
}

Stream::Stream(Device d) : device_(d) {
  if (d.is_cuda()) handle_ = cuda::stream_create(d.index);
}

Stream::~Stream() { cuda::stream_destroy(handle_); }

void Stream::synchronize() {
  if (device_.is_cuda()) cuda::stream_synchronize(handle_);
}

}  // namespace mf
