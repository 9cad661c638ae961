#include "io/model_config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ops/error.h"

namespace mf {

namespace {
using json = nlohmann::json;

struct Reader {
  const json& j;
  std::string where;

  bool has(const char* key) const { return j.contains(key) && !j[key].is_null(); }
  int64_t integer(const char* key, int64_t def, bool required = false) const {
    if (!has(key)) {
      if (required) fail(where, ": missing \"", key, "\"");
      return def;
    }
    const json& v = j[key];
    if (v.is_number_integer()) return v.get<int64_t>();
    if (v.is_number_float() && v.get<double>() == double(int64_t(v.get<double>())))
      return int64_t(v.get<double>());
    fail(where, ": \"", key, "\" must be an integer, found ", v.dump());
  }
  double number(const char* key, double def) const {
    if (!has(key)) return def;
    if (!j[key].is_number()) fail(where, ": \"", key, "\" must be a number, found ", j[key].dump());
    return j[key].get<double>();
  }
  bool boolean(const char* key, bool def) const {
    if (!has(key)) return def;
    if (!j[key].is_boolean()) fail(where, ": \"", key, "\" must be true or false, found ", j[key].dump());
    return j[key].get<bool>();
  }
  // An integer or "auto" (returns `auto_value`).
  int64_t rank(const char* key, int64_t auto_value) const {
    if (!has(key)) return auto_value;
    if (j[key].is_string()) {
      if (j[key].get<std::string>() == "auto") return auto_value;
      fail(where, ": \"", key, "\" must be an integer or \"auto\", found ", j[key].dump());
    }
    return integer(key, auto_value);
  }
};

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

MambaConfig parse_transformers(const json& j, const std::string& where) {
  Reader r{j, where};
  MambaConfig c;
  c.source_format = "transformers";
  c.d_model = r.integer("hidden_size", 0, true);
  c.n_layer = r.integer("num_hidden_layers", 0, true);
  c.vocab_size = r.integer("vocab_size", 0, true);
  c.d_state = r.integer("state_size", 16);
  const double expand = r.number("expand", 2);
  c.d_inner = r.has("intermediate_size") ? r.integer("intermediate_size", 0)
                                         : int64_t(expand * double(c.d_model));
  c.d_conv = r.integer("conv_kernel", 4);
  c.dt_rank = r.rank("time_step_rank", ceil_div(c.d_model, 16));
  c.eps = r.number("layer_norm_epsilon", 1e-5);
  c.residual_in_fp32 = r.boolean("residual_in_fp32", true);
  c.use_bias = r.boolean("use_bias", false);
  c.use_conv_bias = r.boolean("use_conv_bias", true);
  if (r.has("hidden_act") && j["hidden_act"] != "silu")
    fail(where, ": hidden_act ", j["hidden_act"].dump(), " is not supported (only \"silu\")");
  return c;
}

MambaConfig parse_mamba_ssm(const json& j, const std::string& where) {
  Reader r{j, where};
  MambaConfig c;
  c.source_format = "mamba_ssm";
  c.d_model = r.integer("d_model", 0, true);
  c.n_layer = r.integer("n_layer", 0, true);
  const int64_t vocab = r.integer("vocab_size", 0, true);
  const int64_t pad = r.integer("pad_vocab_size_multiple", 8);
  c.vocab_size = pad > 1 ? ceil_div(vocab, pad) * pad : vocab;
  if (r.integer("d_intermediate", 0) != 0)
    fail(where, ": d_intermediate > 0 (MLP blocks) is not supported");
  if (r.has("attn_layer_idx") && !j["attn_layer_idx"].empty())
    fail(where, ": attention layers (attn_layer_idx) are not supported");
  if (!r.boolean("rms_norm", true))
    fail(where, ": rms_norm = false (LayerNorm) is not supported; mambaflow runs RMSNorm models");
  c.residual_in_fp32 = r.boolean("residual_in_fp32", true);
  c.eps = r.number("norm_epsilon", 1e-5);
  json ssm = r.has("ssm_cfg") ? j["ssm_cfg"] : json::object();
  if (!ssm.is_object()) fail(where, ": \"ssm_cfg\" must be an object");
  Reader s{ssm, where + " (ssm_cfg)"};
  if (s.has("layer") && ssm["layer"] != "Mamba1")
    fail(where, ": ssm_cfg.layer ", ssm["layer"].dump(), " is not supported; mambaflow runs Mamba-1");
  c.d_state = s.integer("d_state", 16);
  c.d_conv = s.integer("d_conv", 4);
  c.d_inner = int64_t(s.number("expand", 2) * double(c.d_model));
  c.dt_rank = s.rank("dt_rank", ceil_div(c.d_model, 16));
  c.use_bias = s.boolean("bias", false);
  c.use_conv_bias = s.boolean("conv_bias", true);
  return c;
}
}  // namespace

MambaConfig parse_model_config(const std::string& text, const std::string& where) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail(where, ": malformed JSON (", e.what(), ")");
  }
  if (!j.is_object()) fail(where, ": expected a JSON object");
  if (j.contains("model_type") && j["model_type"] != "mamba")
    fail(where, ": model_type ", j["model_type"].dump(),
         " is not supported; mambaflow runs Mamba-1 models (model_type \"mamba\")");
  MambaConfig c;
  if (j.contains("hidden_size")) c = parse_transformers(j, where);
  else if (j.contains("d_model")) c = parse_mamba_ssm(j, where);
  else fail(where, ": not a Mamba config: neither \"hidden_size\" (transformers) nor \"d_model\" (mamba_ssm)");
  if (j.contains("mambaflow")) {
    if (!j["mambaflow"].is_object()) fail(where, ": \"mambaflow\" must be an object");
    c.mambaflow_json = j["mambaflow"].dump();
  }
  c.validate(where);
  return c;
}

MambaConfig read_model_config(const std::string& path) {
  std::ifstream is(path);
  if (!is) fail(path, ": cannot open");
  std::stringstream ss;
  ss << is.rdbuf();
  return parse_model_config(ss.str(), path);
}

}  // namespace mf
