// Loads a model directory in the Hugging Face layout: config.json plus model.safetensors, or
// sharded model-0000x-of-0000y.safetensors with model.safetensors.index.json. Tensor names of
// transformers (backbone.embeddings.weight, or without "backbone." for MambaModel) and of
// mamba_ssm (backbone.embedding.weight) both load. Every tensor's shape is checked against
// config.json; weights are converted to fp32 on the host.
#pragma once
#include <memory>
#include <string>

#include "ops/mamba_model.h"

namespace mf {

std::shared_ptr<MambaModel> load_model(const std::string& dir);

}  // namespace mf
