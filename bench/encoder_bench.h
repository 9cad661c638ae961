// Encoder throughput against its GEMMs alone, measured in the same run.
#pragma once
#include <cstdint>
#include <string>

#include "ops/mamba_model.h"

namespace mf::bench {

struct EncoderBenchResult {
  std::string shape;
  int64_t tokens = 0, chunk = 0;
  int rounds = 0;
  double encoder_tokens_per_s = 0;  // whole encoder, chunks of `chunk`, state carried
  double gemm_tokens_per_s = 0;     // the same GEMMs (4 per layer, same sizes) alone
  double seconds_encoder = 0, seconds_gemm = 0;
};

// Named shapes: "130m" (d_model 768, 24 layers, d_state 16, expand 2, vocab 50280) and
// "dna" (d_model 128, 4 layers, d_state 16, expand 2, vocab 12).
MambaConfig bench_shape(const std::string& name);

// Runs `rounds` interleaved rounds of (encoder, GEMMs only) and keeps the best time of each.
EncoderBenchResult run_encoder_bench(const std::string& shape, int64_t tokens, int64_t chunk, int rounds);

}  // namespace mf::bench
