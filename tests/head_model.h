// A classify/tag model for the tests: the bundled tiny model plus a random linear head and a
// "mambaflow" task object in config.json.
#pragma once
#include <nlohmann/json.hpp>
#include <random>

#include "io/safetensors.h"
#include "tests/util.h"

namespace mft {

inline fs::path make_head_model(const fs::path& dir, const std::string& task,
                                const std::vector<std::string>& labels, int64_t window, int64_t stride,
                                const std::string& pooling = "mean", uint64_t seed = 5) {
  copy_dir(tiny_model(), dir);
  auto cfg = nlohmann::json::parse(read_file(dir / "config.json"));
  const int64_t d = cfg["hidden_size"].get<int64_t>();
  cfg["mambaflow"] = {{"task", task}, {"tokenizer", "dna"}, {"labels", labels},
                      {"window", window}, {"stride", stride}, {"pooling", pooling}};
  write_file(dir / "config.json", cfg.dump(2));
  std::map<std::string, mf::Tensor> tensors;
  {
    mf::SafetensorsFile f((dir / "model.safetensors").string());
    for (auto& e : f.entries()) tensors[e.name] = f.tensor(e.name).clone();
  }
  const int64_t K = int64_t(labels.size());
  mf::Tensor w = mf::Tensor::empty({K, d}, mf::DType::F32), b = mf::Tensor::empty({K}, mf::DType::F32);
  std::mt19937 rng{static_cast<uint32_t>(seed)};
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (int64_t i = 0; i < K * d; ++i) w.data<float>()[i] = nd(rng) * 2.0f / std::sqrt(float(d));
  for (int64_t i = 0; i < K; ++i) b.data<float>()[i] = 0.1f * nd(rng);
  tensors["head.weight"] = w;
  tensors["head.bias"] = b;
  mf::write_safetensors((dir / "model.safetensors").string(), tensors);
  return dir;
}

}  // namespace mft

#include <cmath>

#include "ops/mamba_model.h"

namespace mft {

// A random Mamba model written in transformers' layout (config.json + model.safetensors), with
// a linear head: for models the bundled ones do not cover (e.g. 256 mu-law tokens).
// head_bias: per-label bias (empty: random head).
inline fs::path write_random_model(const fs::path& dir, const nlohmann::json& task, int64_t vocab,
                                   const std::vector<float>& head_bias = {}, uint64_t seed = 3) {
  mf::MambaConfig c;
  c.d_model = 32; c.n_layer = 2; c.d_state = 16; c.d_inner = 64; c.d_conv = 4; c.dt_rank = 2;
  c.vocab_size = vocab;
  const mf::MambaModel m = mf::make_random_model(c, seed);
  std::map<std::string, mf::Tensor> t;
  t["backbone.embeddings.weight"] = m.embedding;
  t["backbone.norm_f.weight"] = m.norm_f;
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const auto& L = m.layers[size_t(l)];
    const std::string p = "backbone.layers." + std::to_string(l) + ".";
    t[p + "norm.weight"] = L.norm;
    t[p + "mixer.in_proj.weight"] = L.in_proj_w;
    t[p + "mixer.conv1d.weight"] = L.conv_w.reshape({c.d_inner, 1, c.d_conv});
    t[p + "mixer.conv1d.bias"] = L.conv_b;
    t[p + "mixer.x_proj.weight"] = L.x_proj_w;
    t[p + "mixer.dt_proj.weight"] = L.dt_proj_w;
    t[p + "mixer.dt_proj.bias"] = L.dt_proj_b;
    mf::Tensor a = mf::Tensor::empty(L.A.shape(), mf::DType::F32);
    for (int64_t i = 0; i < a.numel(); ++i) a.data<float>()[i] = std::log(-L.A.data<float>()[i]);
    t[p + "mixer.A_log"] = a;
    t[p + "mixer.D"] = L.D;
    t[p + "mixer.out_proj.weight"] = L.out_proj_w;
  }
  const int64_t K = int64_t(task.value("labels", nlohmann::json::array()).size());
  if (K > 0) {
    mf::Tensor w = mf::Tensor::empty({K, c.d_model}, mf::DType::F32), b = mf::Tensor::empty({K}, mf::DType::F32);
    std::mt19937 rng{static_cast<uint32_t>(seed)};
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (int64_t i = 0; i < K * c.d_model; ++i) w.data<float>()[i] = head_bias.empty() ? nd(rng) * 2.0f / std::sqrt(float(c.d_model)) : 0.0f;
    for (int64_t i = 0; i < K; ++i) b.data<float>()[i] = head_bias.empty() ? 0.1f * nd(rng) : head_bias[size_t(i)];
    t["head.weight"] = w;
    t["head.bias"] = b;
  }
  fs::create_directories(dir);
  mf::write_safetensors((dir / "model.safetensors").string(), t);
  nlohmann::json cfg = {{"model_type", "mamba"}, {"hidden_size", c.d_model}, {"num_hidden_layers", c.n_layer},
                        {"state_size", c.d_state}, {"intermediate_size", c.d_inner}, {"conv_kernel", c.d_conv},
                        {"time_step_rank", c.dt_rank}, {"vocab_size", vocab}, {"layer_norm_epsilon", 1e-5},
                        {"use_bias", false}, {"use_conv_bias", true}, {"residual_in_fp32", true},
                        {"mambaflow", task}};
  write_file(dir / "config.json", cfg.dump(2));
  return dir;
}

}  // namespace mft
