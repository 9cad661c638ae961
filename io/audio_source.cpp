#include "io/audio_source.h"

#include <sndfile.h>
#include <soxr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <vector>

#include "ops/error.h"
#include "ops/mulaw.h"

namespace mf {

namespace {
constexpr sf_count_t kBlock = 4096;  // input frames per read


std::string format_name(int format) {
  SF_FORMAT_INFO major{}, sub{};
  major.format = format & SF_FORMAT_TYPEMASK;
  sub.format = format & SF_FORMAT_SUBMASK;
  std::string s = sf_command(nullptr, SFC_GET_FORMAT_INFO, &major, sizeof major) == 0 && major.name ? major.name : "?";
  if (sf_command(nullptr, SFC_GET_FORMAT_INFO, &sub, sizeof sub) == 0 && sub.name) s += std::string(", ") + sub.name;
  return s;
}
}  // namespace

struct AudioSource::Impl {
  SNDFILE* snd = nullptr;
  soxr_t soxr = nullptr;
  std::vector<float> interleaved, mono, pending;  // pending: resampled, not yet returned
  size_t pending_pos = 0;
  bool input_done = false, flushed = false;
  ~Impl() {
    if (soxr) soxr_delete(soxr);
    if (snd) sf_close(snd);
  }
};

AudioSource::AudioSource(const std::string& path, const AudioOptions& o) : impl_(new Impl), path_(display_path(path)) {
  SF_INFO info{};
  if (!o.pcm.empty()) {
    if (o.pcm_rate <= 0) fail(path_, ": raw PCM needs a sample rate (--rate)");
    if (o.pcm_channels <= 0) fail(path_, ": raw PCM needs a channel count >= 1 (--channels)");
    if (o.pcm == "s16le") info.format = SF_FORMAT_RAW | SF_FORMAT_PCM_16 | SF_ENDIAN_LITTLE;
    else if (o.pcm == "f32le") info.format = SF_FORMAT_RAW | SF_FORMAT_FLOAT | SF_ENDIAN_LITTLE;
    else fail("raw PCM format '", o.pcm, "' is not s16le or f32le");
    info.samplerate = o.pcm_rate;
    info.channels = o.pcm_channels;
  }
  impl_->snd = path == "-" ? sf_open_fd(STDIN_FILENO, SFM_READ, &info, 0) : sf_open(path.c_str(), SFM_READ, &info);
  if (!impl_->snd)
    fail(path_, ": cannot read as audio: ", sf_strerror(nullptr),
         o.pcm.empty() ? " (formats: WAV, FLAC, OGG/Vorbis, Opus, MP3, AIFF, ...; raw PCM needs --pcm)" : "");
  // A header that promises more audio than the file holds: libsndfile shortens the length
  // and notes "should be" in its log; that is a truncated file, not a shorter recording.
  char log[8192] = {};
  sf_command(impl_->snd, SFC_GET_LOG_INFO, log, sizeof log);
  for (const char* line = log; line && *line;) {
    const char* end = std::strchr(line, '\n');
    const std::string l(line, end ? size_t(end - line) : std::strlen(line));
    // Streamed WAVs (ffmpeg -f wav -) declare 0 or 0xFFFFFFFF bytes: "unknown", not a lie.
    const bool unknown = l.find(": 0xffffffff") != std::string::npos || l.find(": 4294967295") != std::string::npos ||
                         l.find(": -1 ") != std::string::npos || l.find(": 0 ") != std::string::npos;
    if ((l.rfind("data", 0) == 0 || l.rfind("SSND", 0) == 0) && l.find("should be") != std::string::npos && !unknown)
      fail(path_, ": truncated or corrupt: the header declares more audio than the file holds (", l, ")");
    line = end ? end + 1 : nullptr;
  }
  in_rate_ = info.samplerate;
  channels_ = info.channels;
  frames_ = (info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_RAW || path == "-" ? -1 : int64_t(info.frames);
  format_ = format_name(info.format);
  if (in_rate_ <= 0 || channels_ <= 0) fail(path_, ": no sample rate or channels in the header");
  if (frames_ == 0) fail(path_, ": no audio (zero length)");
  if (o.channel >= channels_) fail(path_, ": --channel ", o.channel, " does not exist (", channels_, " channel(s))");
  out_rate_ = o.rate > 0 ? o.rate : in_rate_;
  if (out_rate_ != in_rate_) {
    soxr_error_t err = nullptr;
    const soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    impl_->soxr = soxr_create(in_rate_, out_rate_, 1, &err, nullptr, &q, nullptr);
    if (!impl_->soxr || err) fail(path_, ": cannot resample ", in_rate_, " Hz -> ", out_rate_, " Hz: ", soxr_strerror(err));
  }
  impl_->interleaved.resize(size_t(kBlock * channels_));
  impl_->mono.resize(size_t(kBlock));
  channel_ = o.channel;
}

AudioSource::~AudioSource() = default;

bool AudioSource::fill() {
  Impl& m = *impl_;
  m.pending.clear();
  m.pending_pos = 0;
  if (m.flushed) return false;
  sf_count_t got = 0;
  if (!m.input_done) {
    got = sf_readf_float(m.snd, m.interleaved.data(), kBlock);
    if (got < 0) fail(path_, ": read error: ", sf_strerror(m.snd));
    if (got == 0) {
      if (sf_error(m.snd) != SF_ERR_NO_ERROR) fail(path_, ": read error after ", in_done_, " frames: ", sf_strerror(m.snd));
      m.input_done = true;
      if (in_done_ == 0) fail(path_, ": no audio (zero length)");
    }
  }
  for (sf_count_t i = 0; i < got; ++i) {
    const float* f = m.interleaved.data() + i * channels_;
    if (channel_ >= 0) {
      m.mono[size_t(i)] = f[channel_];
    } else {
      float s = 0;
      for (int c = 0; c < channels_; ++c) s += f[c];
      m.mono[size_t(i)] = s / float(channels_);
    }
  }
  in_done_ += got;
  if (!m.soxr) {
    if (got == 0) { m.flushed = true; return false; }
    m.pending.assign(m.mono.begin(), m.mono.begin() + got);
    return true;
  }
  // Resample this block (or flush the resampler's tail at the end of the input).
  const size_t cap = size_t(double(got) * out_rate_ / in_rate_) + 64;
  m.pending.resize(std::max<size_t>(cap, 4096));
  size_t idone = 0, odone = 0;
  soxr_error_t err = m.input_done
      ? soxr_process(m.soxr, nullptr, 0, nullptr, m.pending.data(), m.pending.size(), &odone)
      : soxr_process(m.soxr, m.mono.data(), size_t(got), &idone, m.pending.data(), m.pending.size(), &odone);
  if (err) fail(path_, ": resampling failed: ", soxr_strerror(err));
  if (!m.input_done && idone != size_t(got)) fail(path_, ": internal: resampler took ", idone, " of ", got, " samples");
  m.pending.resize(odone);
  if (m.input_done && odone == 0) { m.flushed = true; return false; }
  return true;
}

size_t AudioSource::read(float* out, size_t max) {
  Impl& m = *impl_;
  size_t n = 0;
  while (n < max) {
    if (m.pending_pos == m.pending.size() && !fill()) break;
    const size_t k = std::min(max - n, m.pending.size() - m.pending_pos);
    std::copy_n(m.pending.data() + m.pending_pos, k, out + n);
    m.pending_pos += k;
    n += k;
  }
  return n;
}

namespace {
class MulawSource final : public SequenceSource {
 public:
  MulawSource(const std::string& path, const AudioOptions& o) : audio_(path, o) {
    name_ = path == "-" ? "stdin" : std::filesystem::path(path).filename().string();
  }
  bool next_record() override { return !started_ && (started_ = true); }
  size_t read(int32_t* tokens, size_t max) override {
    size_t done = 0;
    while (done < max) {
      buf_.resize(std::min<size_t>(max - done, 1 << 16));
      const size_t n = audio_.read(buf_.data(), buf_.size());
      if (n == 0) break;
      mulaw_encode(buf_.data(), int64_t(n), tokens + done);
      done += n;
    }
    return done;
  }
  const std::string& name() const override { return name_; }
  const std::string& path() const override { return audio_.path(); }
  int64_t bytes_done() const override { return int64_t(audio_.seconds_read() * audio_.input_rate()); }
  int64_t bytes_total() const override { return std::max<int64_t>(audio_.input_frames(), 0); }

 private:
  AudioSource audio_;
  std::string name_;
  std::vector<float> buf_;
  bool started_ = false;
};
}  // namespace

std::unique_ptr<SequenceSource> open_mulaw_source(const std::string& path, const AudioOptions& options) {
  return std::make_unique<MulawSource>(path, options);
}

}  // namespace mf
