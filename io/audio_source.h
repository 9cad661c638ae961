// Audio in, as mono float samples at the model's rate, read in bounded pieces (hours of audio
// are never held whole):
//   - files through libsndfile 1.2: WAV, FLAC, OGG/Vorbis, Opus, MP3, AIFF, ... at any rate and
//     channel count; "-" reads a self-describing stream (e.g. WAV) from standard input;
//   - raw PCM (`pcm` = "s16le" or "f32le" with rate and channels), from a file or stdin;
//   - channels down-mixed to mono (mean) by default, or one channel picked;
//   - resampled with libsoxr (high quality), one stateful resampler per source, so the output
//     does not depend on how the input is cut.
// Problems are mf::Errors naming the file: unsupported or unreadable formats, zero-length
// audio, a header that promises more audio than the file holds (truncated file).
//
//   mf::AudioSource src("talk.flac", {.rate = 16000});
//   while (size_t n = src.read(buf, cap)) use(buf, n);
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "io/sequence_source.h"

namespace mf {

struct AudioOptions {
  int rate = 16000;      // output sample rate (0: the input's own)
  int channel = -1;      // -1: mean of all channels; otherwise the 0-based channel to keep
  std::string pcm;       // "" (a file format libsndfile recognises), "s16le" or "f32le"
  int pcm_rate = 0;      // raw PCM: sample rate
  int pcm_channels = 1;  // raw PCM: channels
};

class AudioSource {
 public:
  AudioSource(const std::string& path, const AudioOptions& options);
  ~AudioSource();
  AudioSource(const AudioSource&) = delete;
  AudioSource& operator=(const AudioSource&) = delete;

  // Reads up to `max` output samples (mono, options.rate); 0 once the audio is done.
  size_t read(float* out, size_t max);

  const std::string& path() const { return path_; }
  int input_rate() const { return in_rate_; }
  int output_rate() const { return out_rate_; }
  int channels() const { return channels_; }
  int64_t input_frames() const { return frames_; }  // declared by the header (-1: unknown)
  const std::string& format() const { return format_; }  // e.g. "WAV (Microsoft), PCM 16 bit"
  double seconds_read() const { return double(in_done_) / double(in_rate_); }

 private:
  struct Impl;
  bool fill();  // reads and converts the next input block; false at the end of the input
  std::unique_ptr<Impl> impl_;
  std::string path_, format_;
  int in_rate_ = 0, out_rate_ = 0, channels_ = 0, channel_ = -1;
  int64_t frames_ = -1, in_done_ = 0;
};

// An audio file as one record of 8-bit mu-law tokens at options.rate (ops/mulaw.h), for
// raw-waveform models; the record's name is the file name ("-": "stdin"). Progress units are
// input frames.
std::unique_ptr<SequenceSource> open_mulaw_source(const std::string& path, const AudioOptions& options);

}  // namespace mf
