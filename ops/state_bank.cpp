#include "ops/state_bank.h"

#include <algorithm>

#include "ops/cuda_runtime.h"
#include "ops/encoder.h"
#include "ops/error.h"

namespace mf {

void check_host_state(const MambaConfig& c, const EncoderState& s) {
  if (int64_t(s.conv.size()) != c.n_layer || int64_t(s.ssm.size()) != c.n_layer)
    fail("state restore: the state has ", s.ssm.size(), " layers, the model ", c.n_layer);
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const Tensor& cv = s.conv[size_t(l)];
    const Tensor& h = s.ssm[size_t(l)];
    if (cv.numel() != c.d_inner * (c.d_conv - 1) || h.numel() != c.d_inner * c.d_state ||
        !cv.device().is_cpu() || !h.device().is_cpu())
      fail("state restore: layer ", l, " has the wrong shape for this model (or is not in host memory)");
  }
}

StateBank::StateBank(const MambaConfig& config, Device device, int64_t slots)
    : config_(config), device_(device), slots_(slots), used_(size_t(slots), false) {
  if (slots < 1) fail("StateBank: needs at least one slot");
  conv_ = Tensor::zeros({config.n_layer, slots, conv_stride()}, DType::F32, device);
  ssm_ = Tensor::zeros({config.n_layer, slots, ssm_stride()}, DType::F32, device);
}

int32_t StateBank::open() {
  auto it = std::find(used_.begin(), used_.end(), false);
  if (it == used_.end()) fail("all ", slots_, " stream slots are in use (open fewer streams at once)");
  const int32_t slot = int32_t(it - used_.begin());
  used_[size_t(slot)] = true;
  reset(slot);
  return slot;
}

void StateBank::close(int32_t slot) {
  check(slot);
  used_[size_t(slot)] = false;
}

int64_t StateBank::in_use() const { return std::count(used_.begin(), used_.end(), true); }

bool StateBank::is_open(int32_t slot) const { return slot >= 0 && slot < slots_ && used_[size_t(slot)]; }

void StateBank::check(int32_t slot) const {
  if (slot < 0 || slot >= slots_ || !used_[size_t(slot)]) fail("StateBank: slot ", slot, " is not open");
}

float* StateBank::conv(int64_t layer) const { return conv_.data<float>() + layer * slots_ * conv_stride(); }
float* StateBank::ssm(int64_t layer) const { return ssm_.data<float>() + layer * slots_ * ssm_stride(); }

void StateBank::reset(int32_t slot) {
  check(slot);
  std::vector<float> zeros(size_t(std::max(conv_stride(), ssm_stride())), 0.0f);
  for (int64_t l = 0; l < config_.n_layer; ++l) {
    copy_bytes(conv(l) + slot * conv_stride(), device_, zeros.data(), Device::cpu(), size_t(conv_stride()) * 4);
    copy_bytes(ssm(l) + slot * ssm_stride(), device_, zeros.data(), Device::cpu(), size_t(ssm_stride()) * 4);
  }
}

EncoderState StateBank::to_host(int32_t slot) const {
  check(slot);
  EncoderState s;
  for (int64_t l = 0; l < config_.n_layer; ++l) {
    Tensor c = Tensor::empty({config_.d_inner, config_.d_conv - 1}, DType::F32);
    Tensor h = Tensor::empty({config_.d_inner, config_.d_state}, DType::F32);
    copy_bytes(c.raw(), Device::cpu(), conv(l) + slot * conv_stride(), device_, c.nbytes());
    copy_bytes(h.raw(), Device::cpu(), ssm(l) + slot * ssm_stride(), device_, h.nbytes());
    s.conv.push_back(std::move(c));
    s.ssm.push_back(std::move(h));
  }
  return s;
}

void StateBank::from_host(int32_t slot, const EncoderState& s) {
  check(slot);
  check_host_state(config_, s);
  for (int64_t l = 0; l < config_.n_layer; ++l) {
    const Tensor& c = s.conv[size_t(l)];
    const Tensor& h = s.ssm[size_t(l)];
    copy_bytes(conv(l) + slot * conv_stride(), device_, c.raw(), Device::cpu(), c.nbytes());
    copy_bytes(ssm(l) + slot * ssm_stride(), device_, h.raw(), Device::cpu(), h.nbytes());
  }
}

}  // namespace mf
