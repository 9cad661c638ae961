#include "io/task_config.h"

#include <nlohmann/json.hpp>

#include "ops/error.h"

namespace mf {

TaskSpec read_task_spec(const MambaModel& model) {
  TaskSpec t;
  const std::string where = (model.path.empty() ? std::string("model") : model.path + "/config.json") + " \"mambaflow\"";
  if (model.config.mambaflow_json.empty()) return t;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(model.config.mambaflow_json);
  } catch (const nlohmann::json::exception& e) {
    fail(where, ": not valid JSON: ", e.what());
  }
  if (!j.is_object()) fail(where, ": must be a JSON object");
  try {
    t.tokenizer = j.value("tokenizer", std::string("dna"));
    t.sample_rate = j.value("sample_rate", 16000);
    if (j.contains("off_thresholds")) t.off_thresholds = j["off_thresholds"].get<std::vector<float>>();
    const std::string task = j.value("task", std::string("embed"));
    if (task == "embed") t.task = Task::Embed;
    else if (task == "classify") t.task = Task::Classify;
    else if (task == "tag") t.task = Task::Tag;
    else if (task == "transcribe") t.task = Task::Transcribe;
    else fail(where, ": task '", task, "' is not one of embed, classify, tag, transcribe");
    t.blank = j.value("blank", 0);
    if (j.contains("labels")) t.labels = j["labels"].get<std::vector<std::string>>();
    if (j.contains("thresholds")) t.thresholds = j["thresholds"].get<std::vector<float>>();
    else if (j.contains("threshold")) t.thresholds.assign(t.labels.size(), j["threshold"].get<float>());
    t.window = j.value("window", int64_t(0));
    t.stride = j.value("stride", int64_t(0));
    const std::string pooling = j.value("pooling", std::string("mean"));
    if (pooling == "mean") t.pooling = Pooling::Mean;
    else if (pooling == "last") t.pooling = Pooling::Last;
    else fail(where, ": pooling '", pooling, "' is not mean or last");
  } catch (const nlohmann::json::exception& e) {
    fail(where, ": a value has the wrong type: ", e.what());
  }
  if (t.task == Task::Tag && t.thresholds.empty()) t.thresholds.assign(t.labels.size(), 0.5f);
  t.validate(where);
  return t;
}

std::unique_ptr<LinearHead> make_linear_head(const MambaModel& model, const TaskSpec& spec) {
  const std::string where = model.path.empty() ? std::string("model") : model.path;
  auto w = model.head.find("head.weight");
  if (w == model.head.end())
    fail(where, ": the model's task is ", task_name(spec.task), " but the checkpoint has no 'head.weight' tensor");
  const Tensor& W = w->second;
  const int64_t K = int64_t(spec.labels.size());
  if (W.ndim() != 2 || W.dim(0) != K || W.dim(1) != model.config.d_model)
    fail(where, ": head.weight has shape ", shape_str(W.shape()), "; expected [", K, ", ", model.config.d_model,
         "] (", K, " labels, d_model ", model.config.d_model, ")");
  auto b = model.head.find("head.bias");
  Tensor B = b == model.head.end() ? Tensor() : b->second;
  if (B.defined() && (B.ndim() != 1 || B.dim(0) != K))
    fail(where, ": head.bias has shape ", shape_str(B.shape()), "; expected [", K, "]");
  return std::make_unique<LinearHead>(W, B, spec.task);
}

}  // namespace mf
