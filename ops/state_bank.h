// StateBank: the encoder states of many streams on one device, in fixed-size slots, so a
// batch of chunks from different streams runs as one launch per op (kernels index slots).
// Per layer: conv tails [slots, d_inner, d_conv - 1] and SSM states [slots, d_inner, d_state],
// fp32. Streams open and close independently; a slot can be copied to the host (an
// EncoderState in the CPU layout, which can be saved) and restored, bit for bit.
#pragma once
#include <cstdint>
#include <vector>

#include "ops/mamba_model.h"

namespace mf {

struct EncoderState;

class StateBank {
 public:
  StateBank(const MambaConfig& config, Device device, int64_t slots);

  int32_t open();              // a zeroed slot; mf::Error when all slots are taken
  void close(int32_t slot);
  void reset(int32_t slot);    // zero the slot
  bool is_open(int32_t slot) const;
  int64_t capacity() const { return slots_; }
  int64_t in_use() const;

  EncoderState to_host(int32_t slot) const;                 // copy out (CPU layout)
  void from_host(int32_t slot, const EncoderState& state);  // copy in (shapes checked)

  Device device() const { return device_; }
  float* conv(int64_t layer) const;  // slot 0 of layer's conv tails; slot stride conv_stride()
  float* ssm(int64_t layer) const;
  int64_t conv_stride() const { return config_.d_inner * (config_.d_conv - 1); }
  int64_t ssm_stride() const { return config_.d_inner * config_.d_state; }

 private:
  void check(int32_t slot) const;
  MambaConfig config_;
  Device device_;
  int64_t slots_;
  Tensor conv_, ssm_;  // [n_layer, slots, ...]
  std::vector<bool> used_;
};

// Checks that `s` is a host state (CPU layout) of a model with config `c`; mf::Error if not.
void check_host_state(const MambaConfig& c, const EncoderState& s);

}  // namespace mf
