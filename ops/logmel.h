// Streaming log-mel spectrogram (CPU, FFTW): frame t covers samples [t*hop, t*hop + win_length)
// of the stream (causal: no centring or padding, so a frame is final as soon as its samples
// have arrived). Each frame: periodic Hann window of win_length (zero-padded to n_fft), power
// spectrum |FFT|^2, triangular mel filters (HTK mel scale 2595 log10(1 + f/700), n_mels + 2
// points evenly spaced in mel between fmin and fmax, unnormalised), then log(max(e, floor)).
// State between chunks is the unconsumed tail of samples, so any chunking gives the same frames
// bitwise.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

namespace mf {

struct LogMelConfig {
  int sample_rate = 16000;
  int n_fft = 400, win_length = 400, hop = 160, n_mels = 80;
  double fmin = 0.0, fmax = 0.0;  // fmax 0: sample_rate / 2
  double floor = 1e-10;

  void validate() const;  // mf::Error for impossible settings
};

// The mel filterbank [n_mels, n_fft / 2 + 1] of `c` (row-major).
std::vector<float> mel_filterbank(const LogMelConfig& c);

class LogMel {
 public:
  explicit LogMel(const LogMelConfig& config);
  ~LogMel();
  LogMel(const LogMel&) = delete;
  LogMel& operator=(const LogMel&) = delete;

  // Feeds n samples; appends every frame completed by them to `frames` ([count, n_mels]).
  void push(const float* x, int64_t n, std::vector<float>& frames);
  int64_t frames_done() const { return done_; }
  const LogMelConfig& config() const { return c_; }

 private:
  struct Fft;
  LogMelConfig c_;
  std::unique_ptr<Fft> fft_;
  std::vector<float> window_, filters_, pending_, power_;
  int64_t done_ = 0;
};

}  // namespace mf
