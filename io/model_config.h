// config.json of a Mamba-1 checkpoint, in either naming:
//  - transformers' MambaConfig: hidden_size, num_hidden_layers, state_size, expand or
//    intermediate_size, conv_kernel, time_step_rank ("auto" too), layer_norm_epsilon,
//    residual_in_fp32, use_bias, use_conv_bias, vocab_size;
//  - mamba_ssm's MambaConfig: d_model, n_layer, vocab_size (padded to pad_vocab_size_multiple),
//    ssm_cfg {d_state, d_conv, expand, dt_rank, bias, conv_bias}, rms_norm, residual_in_fp32.
// plus mambaflow's optional "mambaflow" object (kept verbatim for the task layers).
#pragma once
#include <string>

#include "ops/mamba_model.h"

namespace mf {

MambaConfig parse_model_config(const std::string& json_text, const std::string& where);
MambaConfig read_model_config(const std::string& path);

}  // namespace mf
