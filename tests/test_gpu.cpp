// GPU tests (run by mambaflow_gpu_tests on a machine with a CUDA GPU; skipped elsewhere).
#include <random>

#include "kernels/cast.h"
#include "ops/device.h"
#include "ops/tensor.h"
#include "tests/catch.h"

using namespace mf;

TEST_CASE("device memory round trip", "[gpu]") {
  REQUIRE(cuda_device_count() > 0);
  Device g = parse_device("cuda:0");
  INFO(device_description(g));
  Tensor h = Tensor::empty({1000, 3}, DType::F32);
  for (int64_t i = 0; i < h.numel(); ++i) h.data<float>()[i] = float(i) * 0.25f;
  Tensor d = h.to(g);
  CHECK(d.device() == g);
  Tensor d2 = d.clone();
  Tensor back = d2.to(Device::cpu());
  for (int64_t i = 0; i < h.numel(); ++i) REQUIRE(back.data<float>()[i] == h.data<float>()[i]);
  Tensor z = Tensor::zeros({17}, DType::BF16, g).to(Device::cpu());
  for (int64_t i = 0; i < 17; ++i) REQUIRE(z.data<uint16_t>()[i] == 0);
}

TEST_CASE("cast kernel: GPU equals CPU bitwise", "[gpu][kernels]") {
  Device g = Device::cuda(0);
  Stream stream(g);
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0, 100);
  const int64_t n = 100003;  // odd size
  Tensor src = Tensor::empty({n}, DType::F32);
  for (int64_t i = 0; i < n; ++i) src.data<float>()[i] = nd(rng);
  for (auto [dt, ct] : {std::pair{DType::BF16, kernels::CastType::BF16}, std::pair{DType::F16, kernels::CastType::F16}}) {
    Tensor cpu = Tensor::empty({n}, dt);
    kernels::cast_cpu({src.data<float>(), kernels::CastType::F32, cpu.raw(), ct, n});
    Tensor dsrc = src.to(g), ddst = Tensor::empty({n}, dt, g);
    kernels::launch_cast({dsrc.raw(), kernels::CastType::F32, ddst.raw(), ct, n}, stream.native());
    stream.synchronize();
    Tensor got = ddst.to(Device::cpu());
    for (int64_t i = 0; i < n; ++i) REQUIRE(got.data<uint16_t>()[i] == cpu.data<uint16_t>()[i]);
  }
  kernels::launch_cast({nullptr, kernels::CastType::F32, nullptr, kernels::CastType::BF16, 0}, stream.native());
}
