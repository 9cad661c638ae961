#include "ops/head.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "ops/error.h"

namespace mf {

const char* task_name(Task t) {
  switch (t) {
    case Task::Embed: return "embed";
    case Task::Classify: return "classify";
    case Task::Tag: return "tag";
    case Task::Transcribe: return "transcribe";
  }
  return "?";
}

const char* pooling_name(Pooling p) { return p == Pooling::Mean ? "mean" : "last"; }

void TaskSpec::validate(const std::string& where) const {
  if (window < 0) fail(where, ": window must be >= 0 (got ", window, ")");
  if (stride < 0) fail(where, ": stride must be >= 0 (got ", stride, ")");
  if (window == 0 && stride > 0) fail(where, ": a stride needs a window");
  if (stride > window) fail(where, ": stride ", stride, " is larger than the window ", window, " (bases would be skipped)");
  if (task != Task::Embed) {
    if (window == 0) fail(where, ": ", task_name(task), " needs a window (--window N or \"window\" in config.json)");
    if (labels.empty()) fail(where, ": ", task_name(task), " needs labels (\"labels\" in config.json's \"mambaflow\" object)");
  }
  if (tokenizer != "dna" && tokenizer != "mulaw") fail(where, ": tokenizer '", tokenizer, "' is not dna or mulaw");
  if (sample_rate <= 0) fail(where, ": sample_rate must be > 0");
  if (!off_thresholds.empty() && off_thresholds.size() != labels.size())
    fail(where, ": ", off_thresholds.size(), " off_thresholds for ", labels.size(), " labels");
  for (size_t i = 0; i < off_thresholds.size() && i < thresholds.size(); ++i)
    if (off_thresholds[i] > thresholds[i]) fail(where, ": off_threshold ", off_thresholds[i], " is above its threshold ", thresholds[i]);
  if (!thresholds.empty() && thresholds.size() != labels.size())
    fail(where, ": ", thresholds.size(), " thresholds for ", labels.size(), " labels");
  if (task == Task::Transcribe && (blank < 0 || size_t(blank) >= labels.size()))
    fail(where, ": blank ", blank, " is not one of the ", labels.size(), " labels");
  for (float t : thresholds)
    if (!(t >= 0.0f && t <= 1.0f)) fail(where, ": threshold ", t, " is outside [0, 1]");
}

WindowPooler::WindowPooler(int64_t d, int64_t window, int64_t stride, Pooling pooling)
    : d_(d), window_(window), stride_(stride > 0 ? stride : window), pooling_(pooling) {
  if (d <= 0 || window <= 0 || stride_ > window_) fail("WindowPooler: bad shape (d ", d, ", window ", window, ", stride ", stride, ")");
  block_ = std::gcd(window_, stride_);
  nblocks_ = window_ / block_;
  if (pooling_ == Pooling::Mean) blocks_.assign(size_t(nblocks_ * d_), 0.0);
  last_row_.assign(size_t(d_), 0.0f);
}

void WindowPooler::emit(int64_t start, int64_t end, PooledWindows& out) {
  out.start.push_back(start);
  out.end.push_back(end);
  const size_t at = out.rows.size();
  out.rows.resize(at + size_t(d_));
  float* row = out.rows.data() + at;
  if (pooling_ == Pooling::Last) {
    std::copy(last_row_.begin(), last_row_.end(), row);
  } else {
    sum_.assign(size_t(d_), 0.0);
    for (int64_t j = start / block_; j * block_ < end; ++j) {
      const double* b = blocks_.data() + (j % nblocks_) * d_;
      for (int64_t i = 0; i < d_; ++i) sum_[size_t(i)] += b[i];
    }
    const double inv = 1.0 / double(end - start);
    for (int64_t i = 0; i < d_; ++i) row[i] = float(sum_[size_t(i)] * inv);
  }
  covered_ = end;
  ++next_window_;
}

void WindowPooler::push(const float* h, int64_t n, PooledWindows& out) {
  for (int64_t r = 0; r < n; ++r, ++pos_) {
    const float* x = h + r * d_;
    if (pooling_ == Pooling::Mean) {
      double* b = blocks_.data() + ((pos_ / block_) % nblocks_) * d_;
      if (pos_ % block_ == 0) std::fill(b, b + d_, 0.0);
      for (int64_t i = 0; i < d_; ++i) b[i] += double(x[i]);
    }
    const int64_t end = pos_ + 1;
    if (end >= window_ && (end - window_) % stride_ == 0) {
      if (pooling_ == Pooling::Last) std::copy(x, x + d_, last_row_.begin());
      emit(end - window_, end, out);
    } else if (pooling_ == Pooling::Last && r == n - 1) {
      std::copy(x, x + d_, last_row_.begin());  // kept for a clipped last window
    }
  }
}

void WindowPooler::finish(PooledWindows& out) {
  if (pos_ > covered_) emit(next_window_ * stride_, pos_, out);
}

LinearHead::LinearHead(Tensor weight, Tensor bias, Task task)
    : weight_(std::move(weight)), bias_(std::move(bias)), task_(task) {
  if (weight_.ndim() != 2 || weight_.dtype() != DType::F32)
    fail("head.weight must be a 2-D float tensor [labels, d_model]");
  if (bias_.defined() && (bias_.ndim() != 1 || bias_.shape()[0] != weight_.shape()[0]))
    fail("head.bias must have one value per label (", weight_.shape()[0], ")");
}

void LinearHead::apply(const float* rows, int64_t m, float* probs) const {
  const int64_t K = labels(), D = d();
  const float* W = weight_.data<float>();
  const float* b = bias_.defined() ? bias_.data<float>() : nullptr;
  for (int64_t r = 0; r < m; ++r) {
    const float* x = rows + r * D;
    float* p = probs + r * K;
    for (int64_t k = 0; k < K; ++k) {
      double acc = b ? b[k] : 0.0;
      const float* w = W + k * D;
      for (int64_t i = 0; i < D; ++i) acc += double(w[i]) * double(x[i]);
      p[k] = float(acc);
    }
    if (task_ != Task::Tag) {  // classify, transcribe: one distribution over the labels
      const float mx = *std::max_element(p, p + K);
      double sum = 0.0;
      for (int64_t k = 0; k < K; ++k) sum += std::exp(double(p[k] - mx));
      for (int64_t k = 0; k < K; ++k) p[k] = float(std::exp(double(p[k] - mx)) / sum);
    } else {
      for (int64_t k = 0; k < K; ++k) p[k] = float(1.0 / (1.0 + std::exp(-double(p[k]))));
    }
  }
}

}  // namespace mf
