// A model's task settings: config.json's "mambaflow" object, e.g.
//   "mambaflow": {"task": "classify", "tokenizer": "dna", "labels": ["E. coli", "S. aureus"],
//                 "window": 4096, "stride": 2048, "pooling": "mean"}
//   "mambaflow": {"task": "tag", "labels": ["repeat", "coding"], "thresholds": [0.5, 0.7],
//                 "window": 200, "pooling": "last"}
//   "mambaflow": {"task": "tag", "tokenizer": "mulaw", "sample_rate": 16000, "labels": [...],
//                 "window": 8000, "stride": 1600, "thresholds": [...], "off_thresholds": [...]}
//   "mambaflow": {"task": "transcribe", "tokenizer": "mulaw", "sample_rate": 16000,
//                 "labels": ["_", " ", "a", "b", ...], "blank": 0, "window": 320, "stride": 320}
// Keys: task (embed | classify | tag | transcribe), tokenizer (dna | mulaw), sample_rate
// (mulaw), labels, blank (transcribe), thresholds (per label) or threshold (one for all), off_thresholds (audio tag events:
// hysteresis), window, stride (default: window), pooling (mean | last). Windows are in tokens
// (bases, or samples for mulaw). Head weights: head.weight [labels, d_model] and head.bias
// [labels] in the checkpoint.
#pragma once
#include <memory>

#include "ops/head.h"
#include "ops/mamba_model.h"

namespace mf {

// The settings of `model` (defaults when config.json has no "mambaflow" object).
TaskSpec read_task_spec(const MambaModel& model);
// The linear head of a classify/tag model, checked against the spec and d_model.
std::unique_ptr<LinearHead> make_linear_head(const MambaModel& model, const TaskSpec& spec);

}  // namespace mf
