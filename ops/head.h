// Task heads over the encoder's final hidden states, all streaming (state carries across
// chunks, so results do not depend on how a stream is cut):
//   - WindowPooler: windows [k*stride, k*stride + window) pooled by mean or by the last row.
//     Sums run over blocks of gcd(window, stride) rows in a fixed order, so a window's value is
//     the same whatever the chunking. The last window of a stream is clipped to the stream's
//     end; no window starts after one that already reached the end.
//   - LinearHead: logits = W x + b over pooled rows, then softmax (classify) or a sigmoid per
//     label (tag, multi-label with per-label thresholds).
// Head weights live in the checkpoint under head.weight [labels, d_model] and head.bias
// [labels]; the task settings in config.json's "mambaflow" object (io/task_config.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ops/tensor.h"

namespace mf {

enum class Task { Embed, Classify, Tag, Transcribe };
enum class Pooling { Mean, Last };

struct TaskSpec {
  Task task = Task::Embed;
  std::string tokenizer = "dna";    // "dna" or "mulaw" (raw audio, one token per sample)
  int sample_rate = 16000;          // mulaw: samples (tokens) per second
  std::vector<std::string> labels;  // classify / tag; transcribe: the CTC alphabet (one string per label)
  int32_t blank = 0;                // transcribe: the CTC blank label
  std::vector<float> thresholds;    // tag: one per label (default 0.5)
  std::vector<float> off_thresholds;  // audio tag events: stay on while >= this (default: thresholds)
  int64_t window = 0;               // 0: no windows (embed: one row per position)
  int64_t stride = 0;               // 0: = window
  Pooling pooling = Pooling::Mean;

  // Throws mf::Error when the settings do not fit together (where: for the message).
  void validate(const std::string& where) const;
};

const char* task_name(Task t);
const char* pooling_name(Pooling p);

// Pooled windows: start/end are stream positions (0-based, end exclusive); rows [size, d].
struct PooledWindows {
  std::vector<int64_t> start, end;
  std::vector<float> rows;
  int64_t size() const { return int64_t(start.size()); }
  void clear() { start.clear(); end.clear(); rows.clear(); }
};

class WindowPooler {
 public:
  WindowPooler(int64_t d, int64_t window, int64_t stride, Pooling pooling);
  // Feeds hidden rows h[n, d] (the next n positions of the stream); windows that end inside
  // them are appended to `out`.
  void push(const float* h, int64_t n, PooledWindows& out);
  // The stream ended: appends the last, clipped window if the stream's end is not covered yet.
  void finish(PooledWindows& out);
  int64_t position() const { return pos_; }

 private:
  void emit(int64_t start, int64_t end, PooledWindows& out);
  int64_t d_, window_, stride_, block_, nblocks_;
  Pooling pooling_;
  int64_t pos_ = 0, next_window_ = 0, covered_ = 0;
  std::vector<double> blocks_;   // Mean: ring of the last nblocks_ block sums [nblocks_, d]
  std::vector<double> sum_;      // Mean: a window's sum (scratch, [d])
  std::vector<float> last_row_;  // the most recent row (Last pooling)
};

class LinearHead {
 public:
  // weight [labels, d], bias [labels] (may be undefined): fp32 CPU tensors.
  LinearHead(Tensor weight, Tensor bias, Task task);
  int64_t labels() const { return weight_.shape()[0]; }
  int64_t d() const { return weight_.shape()[1]; }
  // rows [m, d] -> probabilities [m, labels] (softmax for classify, sigmoids for tag).
  void apply(const float* rows, int64_t m, float* probs) const;

 private:
  Tensor weight_, bias_;
  Task task_;
};

}  // namespace mf
