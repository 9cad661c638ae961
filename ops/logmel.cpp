#include "ops/logmel.h"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <mutex>

#include "ops/error.h"

namespace mf {

namespace {
std::mutex g_plan_mutex;  // FFTW planning is not thread-safe (execution is)
double hz_to_mel(double f) { return 2595.0 * std::log10(1.0 + f / 700.0); }
double mel_to_hz(double m) { return 700.0 * (std::pow(10.0, m / 2595.0) - 1.0); }
}  // namespace

void LogMelConfig::validate() const {
  if (sample_rate <= 0 || n_fft <= 0 || hop <= 0 || n_mels <= 0 || win_length <= 0)
    fail("log-mel: sample_rate, n_fft, win_length, hop and n_mels must be > 0");
  if (win_length > n_fft) fail("log-mel: win_length ", win_length, " is larger than n_fft ", n_fft);
  if (hop > win_length) fail("log-mel: hop ", hop, " is larger than win_length ", win_length, " (samples would be skipped)");
  const double hi = fmax > 0 ? fmax : sample_rate / 2.0;
  if (!(fmin >= 0 && fmin < hi && hi <= sample_rate / 2.0)) fail("log-mel: need 0 <= fmin < fmax <= sample_rate / 2");
  if (!(floor > 0)) fail("log-mel: floor must be > 0");
}

std::vector<float> mel_filterbank(const LogMelConfig& c) {
  c.validate();
  const int bins = c.n_fft / 2 + 1;
  const double lo = hz_to_mel(c.fmin), hi = hz_to_mel(c.fmax > 0 ? c.fmax : c.sample_rate / 2.0);
  std::vector<double> edges(size_t(c.n_mels + 2));
  for (int i = 0; i < c.n_mels + 2; ++i) edges[size_t(i)] = mel_to_hz(lo + (hi - lo) * i / (c.n_mels + 1));
  std::vector<float> w(size_t(c.n_mels) * size_t(bins), 0.0f);
  for (int m = 0; m < c.n_mels; ++m)
    for (int k = 0; k < bins; ++k) {
      const double f = double(k) * c.sample_rate / c.n_fft;
      const double up = (f - edges[size_t(m)]) / (edges[size_t(m + 1)] - edges[size_t(m)]);
      const double down = (edges[size_t(m + 2)] - f) / (edges[size_t(m + 2)] - edges[size_t(m + 1)]);
      w[size_t(m) * size_t(bins) + size_t(k)] = float(std::max(0.0, std::min(up, down)));
    }
  return w;
}

struct LogMel::Fft {
  float* in = nullptr;
  fftwf_complex* out = nullptr;
  fftwf_plan plan = nullptr;
  ~Fft() {
    std::lock_guard<std::mutex> lk(g_plan_mutex);
    if (plan) fftwf_destroy_plan(plan);
    fftwf_free(in);
    fftwf_free(out);
  }
};

LogMel::LogMel(const LogMelConfig& config) : c_(config), fft_(new Fft) {
  filters_ = mel_filterbank(c_);
  window_.resize(size_t(c_.win_length));
  for (int i = 0; i < c_.win_length; ++i)  // periodic Hann
    window_[size_t(i)] = float(0.5 - 0.5 * std::cos(2.0 * M_PI * i / c_.win_length));
  fft_->in = fftwf_alloc_real(size_t(c_.n_fft));
  fft_->out = fftwf_alloc_complex(size_t(c_.n_fft / 2 + 1));
  if (!fft_->in || !fft_->out) fail("log-mel: out of memory for the FFT buffers");
  {
    std::lock_guard<std::mutex> lk(g_plan_mutex);
    fft_->plan = fftwf_plan_dft_r2c_1d(c_.n_fft, fft_->in, fft_->out, FFTW_ESTIMATE);
  }
  if (!fft_->plan) fail("log-mel: FFTW could not plan a transform of ", c_.n_fft);
  power_.resize(size_t(c_.n_fft / 2 + 1));
}

LogMel::~LogMel() = default;

void LogMel::push(const float* x, int64_t n, std::vector<float>& frames) {
  pending_.insert(pending_.end(), x, x + n);
  const int bins = c_.n_fft / 2 + 1;
  size_t pos = 0;
  while (pending_.size() - pos >= size_t(c_.win_length)) {
    for (int i = 0; i < c_.win_length; ++i) fft_->in[i] = pending_[pos + size_t(i)] * window_[size_t(i)];
    for (int i = c_.win_length; i < c_.n_fft; ++i) fft_->in[i] = 0.0f;
    fftwf_execute(fft_->plan);
    for (int k = 0; k < bins; ++k) power_[size_t(k)] = fft_->out[k][0] * fft_->out[k][0] + fft_->out[k][1] * fft_->out[k][1];
    for (int m = 0; m < c_.n_mels; ++m) {
      const float* w = filters_.data() + size_t(m) * size_t(bins);
      double e = 0;
      for (int k = 0; k < bins; ++k) e += double(w[k]) * power_[size_t(k)];
      frames.push_back(float(std::log(std::max(e, c_.floor))));
    }
    pos += size_t(c_.hop);
    ++done_;
  }
  pending_.erase(pending_.begin(), pending_.begin() + std::ptrdiff_t(std::min(pos, pending_.size())));
}

}  // namespace mf
