// The Mamba-1 encoder: embedding -> n_layer x (RMSNorm -> mixer -> residual) -> norm_f,
// run over a stream chunk by chunk. Everything that carries across a chunk boundary lives in
// an EncoderState (per layer: conv tail and SSM state, fp32), so running a stream in chunks
// of any sizes gives the same outputs as running it whole.
//
//   mf::Encoder enc(model, mf::Device::cpu());
//   mf::EncoderState st = enc.new_state();
//   enc.forward(tokens, n, st, out);        // out: n x d_model floats
//   enc.forward(more, m, st, out2);         // continues the same stream
//
// An Encoder is not thread-safe (it owns scratch memory); use one per thread, sharing the model.
#pragma once
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "ops/mamba_model.h"

namespace mf {

// A stream's state. On the CPU it holds the tensors; on a GPU it names a slot of the
// encoder's StateBank (released when the last copy of the EncoderState goes away), and
// Encoder::save / restore move it to and from host tensors.
struct EncoderState {
  std::vector<Tensor> conv;  // per layer [d_inner, d_conv - 1]: the last inputs of the conv
  std::vector<Tensor> ssm;   // per layer [d_inner, d_state]
  int64_t position = 0;      // tokens consumed so far
  int32_t slot = -1;         // GPU: StateBank slot
  std::shared_ptr<void> lease;  // GPU: closes the slot
};

class CudaEncoder;

// Sizes a GPU encoder allocates for at construction (ignored on the CPU).
struct EncoderLimits {
  int64_t max_tokens = 65536;  // packed tokens per launch (longer batches run in pieces)
  int64_t max_streams = 64;    // streams open at once (state slots)
};

// One stream's chunk in a batch (Encoder::forward_batch).
struct StreamChunk {
  const int32_t* tokens;
  int64_t n;
  EncoderState* state;
  float* out;  // n x d_model, host
};

class Encoder {
 public:
  // dtype: compute type of weights and activations (CPU: F32 only; CUDA: F32, BF16, F16).
  Encoder(std::shared_ptr<const MambaModel> model, Device device, DType dtype = DType::F32,
          EncoderLimits limits = {});

  // Whether this build can run the encoder on `d`.
  static bool supports(Device d);
  // The device for a --device spec: "auto" picks the first GPU the encoder supports, else
  // the CPU; an explicit device the encoder cannot use is an mf::Error.
  static Device choose_device(std::string_view spec);

  const MambaConfig& config() const { return model_->config; }
  const MambaModel& model() const { return *model_; }
  Device device() const { return device_; }

  EncoderState new_state() const;  // a fresh stream (zero state)
  // The state as host tensors (the CPU layout, whatever the device) and back: a stream can be
  // saved, moved between devices and resumed exactly.
  EncoderState save(const EncoderState& state) const;
  void restore(EncoderState& state, const EncoderState& saved) const;
  DType dtype() const { return dtype_; }

  // Runs tokens[0, n) of one stream from `state`, updating it, and writes the final-norm
  // hidden states to out[n * d_model] (host memory, row-major). Token ids must be in
  // [0, vocab_size): an id outside is an mf::Error naming its stream position.
  void forward(const int32_t* tokens, int64_t n, EncoderState& state, float* out);
  // Runs chunks of different streams (at most one per stream) together: on a GPU as one
  // packed batch (one launch per op), on the CPU one after another.
  void forward_batch(const std::vector<StreamChunk>& chunks);

  // Longest piece run at once; longer chunks run in pieces (bounded scratch memory).
  static constexpr int64_t kMaxPiece = 1024;

  Encoder(Encoder&&) noexcept;
  Encoder& operator=(Encoder&&) noexcept;
  ~Encoder();
  struct Profile;  // per-op timings, when MAMBAFLOW_PROFILE=1 is set

 private:
  void forward_piece(const int32_t* tokens, int64_t n, EncoderState& state, float* out);
  void reserve(int64_t n);

  std::shared_ptr<const MambaModel> model_;
  Device device_;
  DType dtype_;
  std::unique_ptr<CudaEncoder> cuda_;
  int64_t capacity_ = 0;
  std::vector<float> hidden_, residual_, normed_, xz_, u_, dbc_, dt_, y_;
  std::unique_ptr<Profile> profile_;
};

}  // namespace mf
