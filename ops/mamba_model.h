// A Mamba-1 model in memory: its configuration and its weights (fp32 on the CPU).
// io/model_loader.h fills it from a checkpoint directory; tests and benchmarks can also
// build one with random weights.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ops/tensor.h"

namespace mf {

struct MambaConfig {
  int64_t d_model = 0;     // hidden_size / d_model
  int64_t n_layer = 0;     // num_hidden_layers / n_layer
  int64_t d_state = 16;    // state_size / ssm_cfg.d_state
  int64_t d_inner = 0;     // intermediate_size, or expand * d_model
  int64_t d_conv = 4;      // conv_kernel / ssm_cfg.d_conv
  int64_t dt_rank = 0;     // time_step_rank / ssm_cfg.dt_rank ("auto": ceil(d_model / 16))
  int64_t vocab_size = 0;  // rows of the embedding matrix (mamba_ssm: padded)
  double eps = 1e-5;       // layer_norm_epsilon / norm_epsilon
  bool residual_in_fp32 = true;
  bool use_bias = false;       // in_proj / out_proj bias
  bool use_conv_bias = true;
  std::string source_format;   // "transformers" or "mamba_ssm"
  std::string mambaflow_json;  // the raw "mambaflow" object of config.json ("" if absent)

  // Throws mf::Error if a size is out of range for the kernels.
  void validate(const std::string& where) const;
};

struct MambaLayer {
  Tensor norm;                  // [d_model]
  Tensor in_proj_w, in_proj_b;  // [2*d_inner, d_model], [2*d_inner] (optional)
  Tensor conv_w, conv_b;        // [d_inner, d_conv], [d_inner] (optional)
  Tensor x_proj_w;              // [dt_rank + 2*d_state, d_inner]
  Tensor dt_proj_w, dt_proj_b;  // [d_inner, dt_rank], [d_inner]
  Tensor A;                     // [d_inner, d_state] = -exp(A_log)
  Tensor D;                     // [d_inner]
  Tensor out_proj_w, out_proj_b;  // [d_model, d_inner], [d_model] (optional)
};

struct MambaModel {
  MambaConfig config;
  Tensor embedding;  // [vocab_size, d_model]
  std::vector<MambaLayer> layers;
  Tensor norm_f;     // [d_model]
  std::map<std::string, Tensor> head;  // task head tensors ("head.*" in the checkpoint), fp32
  std::string path;               // where it was loaded from ("" if built in memory)
  std::string stored_dtype;       // dtype(s) of the checkpoint's tensors, e.g. "F32" or "BF16"
  int64_t parameter_count = 0;    // parameters of the encoder (embedding included)
};

// A model with random weights of the given shape (for tests and benchmarks). Weights are
// scaled so activations stay O(1); A_log, D, dt bias and norms are not at their defaults.
MambaModel make_random_model(const MambaConfig& config, uint64_t seed);

// Parameter count of the encoder described by `c` (embedding, layers, final norm).
int64_t count_parameters(const MambaConfig& c);

}  // namespace mf
