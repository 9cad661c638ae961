// The Mamba-1 encoder on a CUDA GPU. A batch of chunks from different streams (each with
// its state slot in a StateBank) runs as one launch per op: tokens of all chunks are packed
// in time, GEMMs run over the packed rows (cuBLAS, fp32 accumulation), conv and scan read
// sequence boundaries and state slots. Activations are channel-major (time contiguous) for
// the conv and the scan; the residual stream stays fp32. All memory (weights, activations
// for max_tokens packed tokens, pinned staging buffers) is allocated at construction: no
// cudaMalloc on the hot path. Not thread-safe; one per device and thread.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "ops/mamba_model.h"
#include "ops/state_bank.h"

namespace mf {

struct CudaEncoderOptions {
  DType dtype = DType::F32;    // weights/activations: F32, BF16 or F16 (state and residual: fp32)
  int64_t max_tokens = 65536;  // packed tokens per launch (longer batches run in pieces)
  int64_t max_streams = 64;    // state slots
  bool profile = false;        // time each op with CUDA events (op_times()); no graphs then
  bool cuda_graphs = true;     // capture each (streams, tokens) step shape as a CUDA graph
};

// Seconds spent per kind of op on the GPU (when CudaEncoderOptions::profile is set).
struct GpuOpTimes {
  double gemm = 0, scan = 0, conv = 0, norm = 0, other = 0;
  double total() const { return gemm + scan + conv + norm + other; }
};

struct ChunkRef {
  int32_t slot;           // the stream's StateBank slot
  const int32_t* tokens;  // host
  int64_t n;
  float* out;             // host, n x d_model; nullptr: leave the output on the device
};

class CudaEncoder {
 public:
  CudaEncoder(std::shared_ptr<const MambaModel> model, Device device, CudaEncoderOptions options = {});
  ~CudaEncoder();
  CudaEncoder(const CudaEncoder&) = delete;
  CudaEncoder& operator=(const CudaEncoder&) = delete;

  StateBank& states() { return *bank_; }
  std::shared_ptr<StateBank> shared_states() const { return bank_; }
  const MambaConfig& config() const { return model_->config; }
  Device device() const { return device_; }
  const CudaEncoderOptions& options() const { return opts_; }

  // Runs every chunk (at most one per slot) from its stream's state, updating the states;
  // outputs (final-norm hidden states, f32) land in each chunk's `out` before returning.
  void forward(const std::vector<ChunkRef>& chunks);

  GpuOpTimes op_times() const;
  void reset_op_times();
  // Device memory allocated by this encoder (weights, state bank, activations), bytes.
  size_t device_bytes() const;

  struct Impl;

 private:
  std::shared_ptr<const MambaModel> model_;
  Device device_;
  CudaEncoderOptions opts_;
  std::shared_ptr<StateBank> bank_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mf
