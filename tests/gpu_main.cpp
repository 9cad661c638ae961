// Runs the [gpu] tests, or exits 77 (reported by ctest as skipped) when no CUDA GPU is usable.
#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
#else
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#endif
#include <cstdio>

#include "ops/device.h"

int main(int argc, char** argv) {
  if (mf::cuda_device_count() == 0) {
    std::printf("SKIPPED: no CUDA GPU is usable here; the GPU tests run on the GPU machine "
                "(scripts/gpu-check)\n");
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
