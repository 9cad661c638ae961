#include "ops/encoder.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "kernels/conv1d.h"
#include "kernels/embedding.h"
#include "kernels/gemm.h"
#include "kernels/rmsnorm.h"
#include "kernels/scan.h"
#include "ops/error.h"
#include "ops/cuda_encoder.h"
#include "ops/state_bank.h"

namespace mf {

namespace {
const float* opt(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }

bool profiling_enabled() {
  static const bool on = [] {
    const char* v = std::getenv("MAMBAFLOW_PROFILE");
    return v && *v && *v != '0';
  }();
  return on;
}
}  // namespace

// Per-op wall time, collected when MAMBAFLOW_PROFILE=1 and printed when the encoder ends.
struct Encoder::Profile {
  static constexpr const char* kNames[] = {"embedding", "rmsnorm", "in_proj", "conv1d", "x_proj",
                                           "dt_proj", "scan", "out_proj"};
  double seconds[8] = {};
  int64_t tokens = 0;
  ~Profile() {
    double total = 0;
    for (double s : seconds) total += s;
    if (total <= 0) return;
    std::fprintf(stderr, "mambaflow: encoder profile, %lld tokens, %.3f s:\n", (long long)tokens, total);
    for (int i = 0; i < 8; ++i)
      std::fprintf(stderr, "  %-10s %8.3f s  %5.1f%%\n", kNames[i], seconds[i], 100.0 * seconds[i] / total);
  }
};

namespace {
// Times one op into profile->seconds[slot] (no-op without a profile).
template <class F>
void timed(Encoder::Profile* profile, int slot, F&& f) {
  if (!profile) return f();
  auto t0 = std::chrono::steady_clock::now();
  f();
  profile->seconds[slot] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

bool Encoder::supports(Device d) {
#ifdef MAMBAFLOW_WITH_CUDA
  return true;
#else
  return d.is_cpu();
#endif
}

Device Encoder::choose_device(std::string_view spec) {
  Device d = parse_device(spec);
  if (supports(d)) return d;
  if (spec == "auto") return Device::cpu();
  fail("device '", spec, "': this mambaflow was built without CUDA; use --device cpu");
}

Encoder::Encoder(std::shared_ptr<const MambaModel> model, Device device, DType dtype,
                 EncoderLimits limits)
    : model_(std::move(model)), device_(device), dtype_(dtype) {
  if (profiling_enabled()) profile_ = std::make_unique<Profile>();
  if (!model_) fail("Encoder: no model");
  if (!supports(device)) fail("this mambaflow was built without CUDA; run with --device cpu");
  model_->config.validate("model");
  if (device.is_cpu() && dtype != DType::F32) fail("the CPU encoder computes in f32 only");
  if (device.is_cuda()) {
    CudaEncoderOptions o;
    o.dtype = dtype;
    o.max_tokens = limits.max_tokens;
    o.max_streams = limits.max_streams;
    cuda_ = std::make_unique<CudaEncoder>(model_, device, o);
  }
}

EncoderState Encoder::new_state() const {
  const auto& c = config();
  EncoderState s;
  if (cuda_) {
    std::weak_ptr<StateBank> bank = cuda_->shared_states();
    s.slot = cuda_->states().open();
    s.lease = std::shared_ptr<void>(nullptr, [bank, slot = s.slot](void*) {
      if (auto b = bank.lock(); b && b->is_open(slot)) b->close(slot);  // never throws here
    });
    return s;
  }
  for (int64_t l = 0; l < c.n_layer; ++l) {
    s.conv.push_back(Tensor::zeros({c.d_inner, c.d_conv - 1}, DType::F32, device_));
    s.ssm.push_back(Tensor::zeros({c.d_inner, c.d_state}, DType::F32, device_));
  }
  return s;
}

void Encoder::reserve(int64_t n) {
  if (n <= capacity_) return;
  const auto& c = config();
  auto grow = [n](std::vector<float>& v, int64_t cols) { v.resize(size_t(n * cols)); };
  grow(hidden_, c.d_model);
  grow(residual_, c.d_model);
  grow(normed_, c.d_model);
  grow(xz_, 2 * c.d_inner);
  grow(u_, c.d_inner);
  grow(dbc_, c.dt_rank + 2 * c.d_state);
  grow(dt_, c.d_inner);
  grow(y_, c.d_inner);
  capacity_ = n;
}

void Encoder::forward(const int32_t* tokens, int64_t n, EncoderState& state, float* out) {
  const auto& c = config();
  if (cuda_) {
    if (state.slot < 0) fail("Encoder::forward: the state was not made by this GPU encoder");
    if (n > 0) cuda_->forward({ChunkRef{state.slot, tokens, n, out}});
    state.position += n;
    return;
  }
  if (int64_t(state.ssm.size()) != c.n_layer || int64_t(state.conv.size()) != c.n_layer)
    fail("Encoder::forward: the state was made for another model");
  for (int64_t i = 0; i < n; ++i)
    if (tokens[i] < 0 || tokens[i] >= c.vocab_size)
      fail("token id ", tokens[i], " at stream position ", state.position + i,
           " is outside the model's vocabulary [0, ", c.vocab_size, ")");
  for (int64_t done = 0; done < n;) {
    const int64_t m = std::min(kMaxPiece, n - done);
    forward_piece(tokens + done, m, state, out + done * c.d_model);
    done += m;
  }
}

void Encoder::forward_batch(const std::vector<StreamChunk>& chunks) {
  if (!cuda_) {
    for (const auto& c : chunks) forward(c.tokens, c.n, *c.state, c.out);
    return;
  }
  std::vector<ChunkRef> refs;
  refs.reserve(chunks.size());
  for (const auto& c : chunks) {
    if (c.state->slot < 0) fail("Encoder::forward_batch: a state was not made by this GPU encoder");
    if (c.n > 0) refs.push_back(ChunkRef{c.state->slot, c.tokens, c.n, c.out});
  }
  if (!refs.empty()) cuda_->forward(refs);
  for (const auto& c : chunks) c.state->position += c.n;
}

void Encoder::forward_piece(const int32_t* tokens, int64_t n, EncoderState& state, float* out) {
  const auto& c = config();
  reserve(n);
  const int64_t D = c.d_model, DI = c.d_inner, N = c.d_state, R = c.dt_rank;
  const int64_t XW = R + 2 * N;  // x_proj output width
  Profile* prof = profile_.get();
  enum { kEmbed, kNorm, kInProj, kConv, kXProj, kDtProj, kScan, kOutProj };

  timed(prof, kEmbed, [&] {
    kernels::embedding_cpu({tokens, n, model_->embedding.data<float>(), D, hidden_.data(), D});
  });
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const MambaLayer& L = model_->layers[size_t(l)];
    timed(prof, kNorm, [&] {
      kernels::rmsnorm_cpu({hidden_.data(), D, residual_.data(), D, normed_.data(), D,
                            L.norm.data<float>(), n, D, float(c.eps), l == 0});
    });
    timed(prof, kInProj, [&] {
      kernels::gemm_cpu({normed_.data(), D, L.in_proj_w.data<float>(), D, xz_.data(), 2 * DI,
                         opt(L.in_proj_b), n, 2 * DI, D});
    });
    timed(prof, kConv, [&] {
      kernels::conv1d_cpu({xz_.data(), 2 * DI, u_.data(), DI, state.conv[size_t(l)].data<float>(),
                           L.conv_w.data<float>(), opt(L.conv_b), n, DI, int(c.d_conv), true});
    });
    timed(prof, kXProj, [&] {
      kernels::gemm_cpu({u_.data(), DI, L.x_proj_w.data<float>(), DI, dbc_.data(), XW, nullptr, n,
                         XW, DI});
    });
    timed(prof, kDtProj, [&] {
      kernels::gemm_cpu({dbc_.data(), XW, L.dt_proj_w.data<float>(), R, dt_.data(), DI, nullptr, n,
                         DI, R});
    });
    timed(prof, kScan, [&] {
      kernels::ScanParams sp{};
      sp.u = u_.data(); sp.u_stride = DI;
      sp.dt = dt_.data(); sp.dt_stride = DI;
      sp.dt_bias = L.dt_proj_b.data<float>();
      sp.A = L.A.data<float>();
      sp.B = dbc_.data() + R; sp.B_stride = XW;
      sp.C = dbc_.data() + R + N; sp.C_stride = XW;
      sp.D = L.D.data<float>();
      sp.z = xz_.data() + DI; sp.z_stride = 2 * DI;
      sp.y = y_.data(); sp.y_stride = DI;
      sp.state = state.ssm[size_t(l)].data<float>();
      sp.n = n; sp.d_inner = DI; sp.d_state = int(N);
      kernels::scan_cpu(sp);
    });
    timed(prof, kOutProj, [&] {
      kernels::gemm_cpu({y_.data(), DI, L.out_proj_w.data<float>(), DI, hidden_.data(), D,
                         opt(L.out_proj_b), n, D, DI});
    });
  }
  timed(prof, kNorm, [&] {
    kernels::rmsnorm_cpu({hidden_.data(), D, residual_.data(), D, out, D,
                          model_->norm_f.data<float>(), n, D, float(c.eps), false});
  });
  if (prof) prof->tokens += n;
  state.position += n;
}

EncoderState Encoder::save(const EncoderState& state) const {
  EncoderState out;
  if (cuda_) out = cuda_->states().to_host(state.slot);
  else
    for (size_t l = 0; l < state.conv.size(); ++l) {
      out.conv.push_back(state.conv[l].to(Device::cpu()));
      out.ssm.push_back(state.ssm[l].to(Device::cpu()));
    }
  out.position = state.position;
  return out;
}

void Encoder::restore(EncoderState& state, const EncoderState& saved) const {
  if (cuda_) {
    cuda_->states().from_host(state.slot, saved);
    state.position = saved.position;
    return;
  }
  const auto& c = config();
  check_host_state(c, saved);
  for (int64_t l = 0; l < c.n_layer; ++l) {
    state.conv[size_t(l)] = saved.conv[size_t(l)].clone();
    state.ssm[size_t(l)] = saved.ssm[size_t(l)].clone();
  }
  state.position = saved.position;
}

Encoder::Encoder(Encoder&&) noexcept = default;
Encoder& Encoder::operator=(Encoder&&) noexcept = default;
Encoder::~Encoder() = default;

}  // namespace mf
