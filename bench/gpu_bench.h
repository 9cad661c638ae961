// GPU benchmarks of issue 3's targets: throughput (one stream, 8 streams), the encoder's time
// against its GEMMs and the scan against a device copy (same run), memory constant in stream
// length, per-chunk latency for small chunks.
#pragma once
#include <cstdint>
#include <string>

namespace mf::bench {

struct GpuBenchOptions {
  std::string device = "cuda:0";
  std::string dtype = "bf16";
  int64_t tokens = 1 << 20;       // per throughput measurement
  int64_t chunk = 65536;          // tokens per launch (all streams together)
  int64_t long_tokens = 16 << 20; // stream length for the constant-memory check (0: skip)
  int latency_chunks = 500;       // 320-token chunks timed for the latency figure
};

// One stream of `tokens` tokens (more than 2^31 to check 64-bit positions) through a tiny
// model on the GPU, in chunks of 2^20, with a periodic input: once the state has converged
// to the input's period, the outputs at the same phase must agree (the first chunk against
// the last). Prints the result; returns false if they disagree.
bool run_gpu_long_stream(const GpuBenchOptions& o, int64_t tokens);

// Prints a report to stdout.
void run_gpu_bench(const GpuBenchOptions& o);

// Side by side with transformers: runs the tokens of DIR/reference.safetensors (input_ids,
// last_hidden_state, written by bench/transformers_compare.py) through the model in DIR on
// the GPU, whole, and prints tokens/s and the max abs difference from the reference.
void run_gpu_compare(const std::string& model_dir, const GpuBenchOptions& o);

}  // namespace mf::bench
