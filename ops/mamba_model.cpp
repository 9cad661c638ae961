#include "ops/mamba_model.h"

#include <cmath>
#include <random>

#include "ops/error.h"

namespace mf {

void MambaConfig::validate(const std::string& where) const {
  auto check = [&](const char* name, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi) fail(where, ": ", name, " = ", v, " is out of range [", lo, ", ", hi, "]");
  };
  check("d_model (hidden_size)", d_model, 1, 1 << 16);
  check("n_layer (num_hidden_layers)", n_layer, 1, 4096);
  check("d_state (state_size)", d_state, 1, 256);
  check("d_inner (intermediate_size)", d_inner, 1, 1 << 18);
  check("d_conv (conv_kernel)", d_conv, 1, 16);
  check("dt_rank (time_step_rank)", dt_rank, 1, 1 << 16);
  check("vocab_size", vocab_size, 1, int64_t(1) << 31);
  if (!(eps > 0 && eps < 1)) fail(where, ": layer_norm_epsilon = ", eps, " is out of range (0, 1)");
}

int64_t count_parameters(const MambaConfig& c) {
  const int64_t per_layer = c.d_model                                   // norm
      + 2 * c.d_inner * c.d_model + (c.use_bias ? 2 * c.d_inner : 0)    // in_proj
      + c.d_inner * c.d_conv + (c.use_conv_bias ? c.d_inner : 0)        // conv1d
      + (c.dt_rank + 2 * c.d_state) * c.d_inner                         // x_proj
      + c.dt_rank * c.d_inner + c.d_inner                               // dt_proj
      + c.d_inner * c.d_state + c.d_inner                               // A_log, D
      + c.d_model * c.d_inner + (c.use_bias ? c.d_model : 0);           // out_proj
  return c.vocab_size * c.d_model + c.n_layer * per_layer + c.d_model;
}

MambaModel make_random_model(const MambaConfig& config, uint64_t seed) {
  config.validate("random model");
  std::mt19937_64 rng(seed);
  auto normal = [&](Shape s, float stddev, float mean = 0.0f) {
    Tensor t = Tensor::empty(std::move(s), DType::F32);
    std::normal_distribution<float> nd(mean, stddev);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = nd(rng);
    return t;
  };
  auto uniform = [&](Shape s, float lo, float hi) {
    Tensor t = Tensor::empty(std::move(s), DType::F32);
    std::uniform_real_distribution<float> ud(lo, hi);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = ud(rng);
    return t;
  };
  const auto& c = config;
  MambaModel m;
  m.config = c;
  m.embedding = normal({c.vocab_size, c.d_model}, 1.0f);
  for (int64_t l = 0; l < c.n_layer; ++l) {
    MambaLayer L;
    L.norm = uniform({c.d_model}, 0.5f, 1.5f);
    L.in_proj_w = normal({2 * c.d_inner, c.d_model}, 1.0f / std::sqrt(float(c.d_model)));
    if (c.use_bias) L.in_proj_b = normal({2 * c.d_inner}, 0.1f);
    L.conv_w = normal({c.d_inner, c.d_conv}, 1.0f / std::sqrt(float(c.d_conv)));
    if (c.use_conv_bias) L.conv_b = normal({c.d_inner}, 0.2f);
    L.x_proj_w = normal({c.dt_rank + 2 * c.d_state, c.d_inner}, 1.0f / std::sqrt(float(c.d_inner)));
    L.dt_proj_w = normal({c.d_inner, c.dt_rank}, 1.0f / std::sqrt(float(c.dt_rank)));
    // dt bias: inverse softplus of dt in [1e-3, 1e-1], log-uniform (as Mamba's init).
    L.dt_proj_b = uniform({c.d_inner}, std::log(1e-3f), std::log(1e-1f));
    for (int64_t i = 0; i < c.d_inner; ++i) {
      float dt = std::exp(L.dt_proj_b.data<float>()[i]);
      L.dt_proj_b.data<float>()[i] = dt + std::log(-std::expm1(-dt));
    }
    L.A = uniform({c.d_inner, c.d_state}, 0.5f, 16.0f);
    for (int64_t i = 0; i < L.A.numel(); ++i) L.A.data<float>()[i] = -L.A.data<float>()[i];
    L.D = normal({c.d_inner}, 0.5f, 1.0f);
    L.out_proj_w = normal({c.d_model, c.d_inner}, 1.0f / std::sqrt(float(c.d_inner)));
    if (c.use_bias) L.out_proj_b = normal({c.d_model}, 0.1f);
    m.layers.push_back(std::move(L));
  }
  m.norm_f = uniform({c.d_model}, 0.5f, 1.5f);
  m.stored_dtype = "F32";
  m.parameter_count = count_parameters(c);
  return m;
}

}  // namespace mf
