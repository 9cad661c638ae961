#include "io/model_loader.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "io/model_config.h"
#include "io/safetensors.h"
#include "ops/error.h"

namespace fs = std::filesystem;

namespace mf {

namespace {

// Every tensor of a checkpoint, across its shards.
class Checkpoint {
 public:
  explicit Checkpoint(const fs::path& dir) {
    const fs::path single = dir / "model.safetensors";
    const fs::path index = dir / "model.safetensors.index.json";
    if (fs::exists(single)) {
      add(single.string());
    } else if (fs::exists(index)) {
      nlohmann::json j;
      try {
        std::ifstream is(index);
        j = nlohmann::json::parse(is);
      } catch (const nlohmann::json::exception& e) {
        fail(index.string(), ": malformed JSON (", e.what(), ")");
      }
      if (!j.contains("weight_map") || !j["weight_map"].is_object())
        fail(index.string(), ": missing \"weight_map\" object");
      std::set<std::string> shards;
      for (auto& [name, file] : j["weight_map"].items()) {
        if (!file.is_string()) fail(index.string(), ": weight_map entry '", name, "' is not a file name");
        shards.insert(file.get<std::string>());
      }
      for (const auto& s : shards) {
        if (fs::path(s).has_parent_path())
          fail(index.string(), ": shard name '", s, "' must be a file in the model directory");
        if (!fs::exists(dir / s))
          fail(index.string(), ": names shard '", s, "', which is missing from ", dir.string());
        add((dir / s).string());
      }
    } else {
      fail(dir.string(), ": no model.safetensors (or model.safetensors.index.json) in the model directory");
    }
    describe_ = single.string();
    if (files_.size() > 1) describe_ = dir.string() + " (" + std::to_string(files_.size()) + " shards)";
  }

  const SafetensorsFile* owner(const std::string& name) const {
    auto it = where_.find(name);
    return it == where_.end() ? nullptr : it->second;
  }
  const std::string& describe() const { return describe_; }
  std::vector<std::string> names_with_prefix(const std::string& p) const {
    std::vector<std::string> out;
    for (auto it = where_.lower_bound(p); it != where_.end() && it->first.compare(0, p.size(), p) == 0; ++it)
      out.push_back(it->first);
    return out;
  }

 private:
  void add(const std::string& path) {
    files_.push_back(std::make_unique<SafetensorsFile>(path));
    for (const auto& e : files_.back()->entries()) {
      if (where_.count(e.name))
        fail(path, ": tensor '", e.name, "' is also in ", where_[e.name]->path());
      where_[e.name] = files_.back().get();
    }
  }
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const SafetensorsFile*> where_;
  std::string describe_;
};

class Builder {
 public:
  Builder(const Checkpoint& ck, const MambaConfig& c, std::string prefix)
      : ck_(ck), c_(c), prefix_(std::move(prefix)) {}

  // Loads `name` (under the prefix) as fp32 with shape `want`; absent + optional -> undefined.
  Tensor get(const std::string& name, const Shape& want, bool required = true) {
    const std::string full = prefix_ + name;
    const SafetensorsFile* f = ck_.owner(full);
    if (!f) {
      if (!required) return {};
      fail(ck_.describe(), ": missing tensor '", full, "' (expected shape ", shape_str(want), ")");
    }
    Tensor t = f->tensor(full);
    if (t.dtype() != DType::F32 && t.dtype() != DType::F16 && t.dtype() != DType::BF16)
      fail(f->path(), ": tensor '", full, "' has dtype ", dtype_name(t.dtype()), "; expected F32, F16 or BF16");
    if (t.numel() != 0 && t.shape() != want && !(squeezed(t.shape()) == want))
      fail(f->path(), ": tensor '", full, "' has shape ", shape_str(t.shape()), " but config.json (",
           summary(), ") implies ", shape_str(want));
    dtypes_.insert(std::string(dtype_name(t.dtype())));
    return t.to(DType::F32).reshape(want);
  }
  std::string dtypes() const {
    std::string s;
    for (auto& d : dtypes_) s += (s.empty() ? "" : "+") + d;
    return s;
  }

 private:
  static Shape squeezed(const Shape& s) {  // conv1d.weight is [d_inner, 1, d_conv]
    Shape out;
    for (size_t i = 0; i < s.size(); ++i)
      if (!(s[i] == 1 && i == 1 && s.size() == 3)) out.push_back(s[i]);
    return out;
  }
  std::string summary() const {
    return "d_model=" + std::to_string(c_.d_model) + ", d_inner=" + std::to_string(c_.d_inner) +
           ", d_state=" + std::to_string(c_.d_state) + ", d_conv=" + std::to_string(c_.d_conv) +
           ", dt_rank=" + std::to_string(c_.dt_rank) + ", vocab_size=" + std::to_string(c_.vocab_size);
  }
  const Checkpoint& ck_;
  const MambaConfig& c_;
  std::string prefix_;
  std::set<std::string> dtypes_;
};

}  // namespace

std::shared_ptr<MambaModel> load_model(const std::string& dir_name) {
  const fs::path dir(dir_name);
  if (!fs::exists(dir)) fail("model directory '", dir_name, "' does not exist");
  if (!fs::is_directory(dir)) fail("model '", dir_name, "' is not a directory (expected config.json + model.safetensors)");
  const fs::path cfg_path = dir / "config.json";
  if (!fs::exists(cfg_path)) fail(cfg_path.string(), ": missing (a model directory holds config.json and model.safetensors)");
  auto m = std::make_shared<MambaModel>();
  m->config = read_model_config(cfg_path.string());
  m->path = dir_name;
  const MambaConfig& c = m->config;
  Checkpoint ck(dir);

  // Key naming: transformers (embeddings) or mamba_ssm (embedding), with or without "backbone.".
  std::string prefix, emb;
  for (const char* p : {"backbone.", ""})
    for (const char* e : {"embeddings.weight", "embedding.weight"})
      if (emb.empty() && ck.owner(std::string(p) + e)) { prefix = p; emb = e; }
  if (emb.empty())
    fail(ck.describe(), ": missing tensor 'backbone.embeddings.weight' (transformers) or "
         "'backbone.embedding.weight' (mamba_ssm)");

  Builder b(ck, c, prefix);
  const int64_t D = c.d_model, DI = c.d_inner, N = c.d_state, R = c.dt_rank, K = c.d_conv;
  m->embedding = b.get(emb, {c.vocab_size, D});
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    const std::string mx = p + "mixer.";
    MambaLayer L;
    L.norm = b.get(p + "norm.weight", {D});
    L.in_proj_w = b.get(mx + "in_proj.weight", {2 * DI, D});
    L.in_proj_b = b.get(mx + "in_proj.bias", {2 * DI}, c.use_bias);
    L.conv_w = b.get(mx + "conv1d.weight", {DI, K});
    L.conv_b = b.get(mx + "conv1d.bias", {DI}, c.use_conv_bias);
    L.x_proj_w = b.get(mx + "x_proj.weight", {R + 2 * N, DI});
    L.dt_proj_w = b.get(mx + "dt_proj.weight", {DI, R});
    L.dt_proj_b = b.get(mx + "dt_proj.bias", {DI});
    L.A = b.get(mx + "A_log", {DI, N});
    for (int64_t i = 0; i < L.A.numel(); ++i) L.A.data<float>()[i] = -std::exp(L.A.data<float>()[i]);
    L.D = b.get(mx + "D", {DI});
    L.out_proj_w = b.get(mx + "out_proj.weight", {D, DI});
    L.out_proj_b = b.get(mx + "out_proj.bias", {D}, c.use_bias);
    if (!c.use_bias) L.in_proj_b = L.out_proj_b = Tensor();
    if (!c.use_conv_bias) L.conv_b = Tensor();
    m->layers.push_back(std::move(L));
  }
  m->norm_f = b.get("norm_f.weight", {D});
  for (const auto& name : ck.names_with_prefix("head.")) {
    Tensor t = ck.owner(name)->tensor(name);
    if (t.dtype() != DType::F32 && t.dtype() != DType::F16 && t.dtype() != DType::BF16)
      fail(ck.owner(name)->path(), ": tensor '", name, "' has dtype ", dtype_name(t.dtype()), "; expected F32, F16 or BF16");
    m->head[name] = t.to(DType::F32);
  }
  m->stored_dtype = b.dtypes();
  m->parameter_count = count_parameters(c);
  return m;
}

}  // namespace mf
