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
