// Audio sources (libsndfile + libsoxr) and the mu-law front-end: files written here in each
// format, resampling accuracy, chunking independence, channels, raw PCM, and clear errors.
#include <sndfile.h>

#include <cmath>
#include <random>

#include "io/audio_source.h"
#include "ops/error.h"
#include "ops/mulaw.h"
#include "tests/util.h"

using namespace mf;
using Catch::Matchers::Contains;

namespace {

constexpr double kPi = 3.14159265358979323846;

// Writes `frames` frames of a sine (channel 0) and `other` (channels >= 1) with libsndfile.
bool write_audio(const mft::fs::path& p, int format, int rate, int channels, int64_t frames, double hz,
                 float amp = 0.5f, float other = 0.0f) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = format;
  SNDFILE* f = sf_open(p.c_str(), SFM_WRITE, &info);
  if (!f) return false;
  std::vector<float> buf(size_t(frames * channels));
  for (int64_t i = 0; i < frames; ++i)
    for (int c = 0; c < channels; ++c)
      buf[size_t(i * channels + c)] = c == 0 ? amp * float(std::sin(2 * kPi * hz * double(i) / rate)) : other;
  const bool ok = sf_writef_float(f, buf.data(), frames) == frames;
  sf_close(f);
  return ok;
}

std::vector<float> read_all(const std::string& path, const AudioOptions& o, size_t piece = 1000) {
  AudioSource src(path, o);
  std::vector<float> out, buf(piece);
  while (size_t n = src.read(buf.data(), buf.size())) out.insert(out.end(), buf.begin(), buf.begin() + long(n));
  return out;
}

// Frequency from upward zero crossings over the middle half (edges hold filter transients).
double frequency(const std::vector<float>& x, int rate) {
  const size_t a = x.size() / 4, b = 3 * x.size() / 4;
  size_t first = 0, last = 0, count = 0;
  for (size_t i = a + 1; i < b; ++i)
    if (x[i - 1] < 0 && x[i] >= 0) {
      if (!count) first = i;
      last = i;
      ++count;
    }
  return count > 1 ? double(count - 1) * rate / double(last - first) : 0;
}

double rms(const std::vector<float>& x, size_t a, size_t b) {
  double s = 0;
  for (size_t i = a; i < b; ++i) s += double(x[i]) * x[i];
  return std::sqrt(s / double(b - a));
}

}  // namespace

TEST_CASE("audio: every libsndfile format reads back", "[audio][io]") {
  mft::TempDir tmp;
  struct Fmt { const char* name; int format; bool lossy; };
  const Fmt fmts[] = {{"a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, false},
                      {"a.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, false},
                      {"a.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_24, false},
                      {"a.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, true},
                      {"a.opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, true},
                      {"a.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, true}};
  for (const Fmt& f : fmts) {
    INFO(f.name);
    const int rate = std::string(f.name) == "a.opus" ? 48000 : 16000;
    if (!write_audio(tmp / f.name, f.format, rate, 1, rate, 440.0)) {
      WARN("libsndfile cannot write " << f.name << " here; reading it is not tested");
      continue;
    }
    AudioOptions o;
    o.rate = 0;  // the file's own rate
    auto x = read_all((tmp / f.name).string(), o);
    REQUIRE(x.size() >= size_t(rate * 0.95));
    CHECK(std::abs(frequency(x, rate) - 440.0) < 2.0);
    CHECK(std::abs(rms(x, x.size() / 4, 3 * x.size() / 4) - 0.5 / std::sqrt(2.0)) < (f.lossy ? 0.05 : 1e-3));
  }
}

TEST_CASE("audio: resampling 44.1 kHz stereo to 16 kHz mono keeps a sine", "[audio][io]") {
  mft::TempDir tmp;
  REQUIRE(write_audio(tmp / "s.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 44100, 2, 2 * 44100, 1000.0, 0.5f, 0.0f));
  AudioOptions o;  // 16 kHz, down-mix
  auto x = read_all((tmp / "s.wav").string(), o);
  CHECK(std::abs(int64_t(x.size()) - 32000) <= 2);
  CHECK(std::abs(frequency(x, 16000) - 1000.0) < 0.5);
  CHECK(std::abs(rms(x, 4000, 28000) - 0.25 / std::sqrt(2.0)) < 2e-3);  // mean of sine and silence
  o.channel = 0;
  auto l = read_all((tmp / "s.wav").string(), o);
  CHECK(std::abs(rms(l, 4000, 28000) - 0.5 / std::sqrt(2.0)) < 2e-3);
  o.channel = 1;
  auto r = read_all((tmp / "s.wav").string(), o);
  CHECK(rms(r, 0, r.size()) < 1e-6);
  // The output does not depend on how the caller reads it.
  o.channel = -1;
  CHECK(read_all((tmp / "s.wav").string(), o, 1) == x);
  CHECK(read_all((tmp / "s.wav").string(), o, 77777) == x);
}

TEST_CASE("audio: raw PCM", "[audio][io]") {
  mft::TempDir tmp;
  std::vector<int16_t> pcm(8000);
  for (size_t i = 0; i < pcm.size(); ++i) pcm[i] = int16_t(16000 * std::sin(2 * kPi * 500 * double(i) / 8000));
  mft::write_file(tmp / "a.raw", std::string(reinterpret_cast<const char*>(pcm.data()), pcm.size() * 2));
  AudioOptions o;
  o.pcm = "s16le";
  o.pcm_rate = 8000;
  auto x = read_all((tmp / "a.raw").string(), o);  // 8 kHz -> 16 kHz
  CHECK(std::abs(int64_t(x.size()) - 16000) <= 2);
  CHECK(std::abs(frequency(x, 16000) - 500.0) < 0.5);
  o.pcm_rate = 0;
  CHECK_THROWS_WITH(read_all((tmp / "a.raw").string(), o), Contains("needs a sample rate"));
  o.pcm = "u8";
  o.pcm_rate = 8000;
  CHECK_THROWS_WITH(read_all((tmp / "a.raw").string(), o), Contains("not s16le or f32le"));
}

TEST_CASE("audio: bad files are clear errors", "[audio][io][errors]") {
  mft::TempDir tmp;
  REQUIRE(write_audio(tmp / "ok.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 16000, 440.0));
  const std::string wav = mft::read_file(tmp / "ok.wav");
  mft::write_file(tmp / "cut.wav", wav.substr(0, wav.size() / 2));
  CHECK_THROWS_WITH(AudioSource((tmp / "cut.wav").string(), {}), Contains("truncated or corrupt"));
  REQUIRE(write_audio(tmp / "empty.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 0, 440.0));
  CHECK_THROWS_WITH(AudioSource((tmp / "empty.wav").string(), {}), Contains("zero length"));
  mft::write_file(tmp / "text.wav", "this is not audio at all, just some text to fill a header\n");
  CHECK_THROWS_WITH(AudioSource((tmp / "text.wav").string(), {}), Contains("cannot read as audio"));
  mft::write_file(tmp / "zero.wav", "");
  CHECK_THROWS_WITH(AudioSource((tmp / "zero.wav").string(), {}), Contains("zero.wav"));
  CHECK_THROWS_WITH(AudioSource((tmp / "missing.wav").string(), {}), Contains("missing.wav"));
  AudioOptions o;
  o.channel = 3;
  CHECK_THROWS_WITH(AudioSource((tmp / "ok.wav").string(), o), Contains("--channel 3 does not exist"));
}

TEST_CASE("mu-law: tokens, round trip and chunking", "[audio][frontend]") {
  const float xs[] = {-1.5f, -1.0f, -0.5f, 0.0f, 1e-4f, 0.5f, 1.0f, 2.0f};
  int32_t t[8];
  mulaw_encode(xs, 8, t);
  CHECK(t[0] == 0);
  CHECK(t[1] == 0);
  CHECK(t[3] == 128);
  CHECK(t[6] == 255);
  CHECK(t[7] == 255);
  for (int i = 1; i < 8; ++i) CHECK(t[i] >= t[i - 1]);
  // Round trip: within half a quantisation step of the companded value.
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> x(10000), y(10000);
  std::vector<int32_t> tok(10000);
  for (auto& v : x) v = u(rng);
  mulaw_encode(x.data(), 10000, tok.data());
  mulaw_decode(tok.data(), 10000, y.data());
  for (size_t i = 0; i < x.size(); ++i) {
    const double f = std::log1p(255.0 * std::abs(x[i])) / std::log1p(255.0);
    const double g = std::log1p(255.0 * std::abs(y[i])) / std::log1p(255.0);
    REQUIRE(std::abs(f * (x[i] < 0 ? -1 : 1) - g * (y[i] < 0 ? -1 : 1)) <= 1.0 / 255.0 + 1e-9);
  }
}

// ---- audio tag events ------------------------------------------------------------------
#include <nlohmann/json.hpp>

#include "io/results.h"
#include "tests/head_model.h"

TEST_CASE("audio tag events: merging and hysteresis", "[audio][heads]") {
  mft::TempDir tmp;
  EventOptions o;
  o.output = (tmp / "e.tsv").string();
  o.labels = {"speech", "music"};
  o.thresholds = {0.5f, 0.5f};
  o.off_thresholds = {0.3f, 0.5f};
  o.rate = 100;  // positions per second
  auto sink = make_event_sink(o);
  RecordInfo r{"x.wav", "x.wav", 0, 0, 0};
  // windows of 100 positions, stride 50: speech 0.6 0.4 0.2 0.9 | music 0.6 0.6 0.4 0.6
  const int64_t start[] = {0, 50, 100, 150}, end[] = {100, 150, 200, 230};
  const float p[] = {0.6f, 0.6f, 0.4f, 0.6f, 0.2f, 0.4f, 0.9f, 0.6f};
  sink->begin_record(r);
  sink->windows(r, WindowValues{start, end, p, 2, 2});
  sink->windows(r, WindowValues{start + 2, end + 2, p + 4, 2, 2});
  sink->end_record(r, RecordEnd::Complete, 230);
  sink->finish();
  CHECK(mft::read_file(tmp / "e.tsv") ==
        "#file\tstart\tend\tlabel\tscore\n"
        "x.wav\t0.000\t1.500\tspeech\t0.6000\n"   // 0.4 >= 0.3 kept it on; 0.2 closes it
        "x.wav\t0.000\t1.500\tmusic\t0.6000\n"    // closed by 0.4 < 0.5
        "x.wav\t1.500\t2.300\tspeech\t0.9000\n"
        "x.wav\t1.500\t2.300\tmusic\t0.6000\n");
}

TEST_CASE("cli tag on audio: events, the same for any chunking", "[audio][cli]") {
  mft::TempDir tmp;
  // Label 0 always on (bias +8), label 1 never (bias -8): one event over the whole file.
  const nlohmann::json task = {{"task", "tag"}, {"tokenizer", "mulaw"}, {"sample_rate", 8000},
                               {"labels", {"sound", "never"}}, {"window", 800}, {"stride", 400}};
  auto fixed = mft::write_random_model(tmp / "fixed", task, 256, {8.0f, -8.0f});
  auto rnd = mft::write_random_model(tmp / "random", task, 256);
  REQUIRE(write_audio(tmp / "a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 2, 16000 * 3 / 2, 300.0));
  auto run = [&](const mft::fs::path& model, const std::string& extra) {
    auto r = mft::run_cli("tag --model " + mft::q(model) + " -q " + extra + " " + mft::q(tmp / "a.wav"));
    INFO(r.out);
    REQUIRE(r.status == 0);
    return r.out;
  };
  CHECK(run(fixed, "") == "#file\tstart\tend\tlabel\tscore\na.wav\t0.000\t1.500\tsound\t0.9997\n");
  auto j = nlohmann::json::parse(mft::split(run(fixed, "--format jsonl"), '\n').at(0));
  CHECK(j["label"] == "sound");
  CHECK(j["end"] == 1.5);
  // A random head crosses its thresholds; the events must not depend on the chunking.
  const std::string ref = run(rnd, "--threshold 0.5");
  CHECK(std::count(ref.begin(), ref.end(), '\n') > 1);
  for (const char* extra : {"--chunk-ms 20", "--chunk 1", "--chunk-ms 333 --threads 1", "--chunk 100000 --batch 1"})
    CHECK(run(rnd, std::string("--threshold 0.5 ") + extra) == ref);
  // Audio flags on a DNA model, and DNA flags on an audio model, are usage errors.
  auto r = mft::run_cli("tag --model " + mft::q(fixed) + " --region chr1 " + mft::q(tmp / "a.wav"));
  CHECK(r.status == 2);
  r = mft::run_cli("embed --model " + mft::q(mft::tiny_model()) + " --chunk-ms 20 -o " + mft::q(tmp / "x") + " " + mft::q(tmp / "a.wav"));
  CHECK(r.status == 2);
  // A truncated file is reported with its name; exit 1.
  const std::string wav = mft::read_file(tmp / "a.wav");
  mft::write_file(tmp / "cut.wav", wav.substr(0, wav.size() / 3));
  r = mft::run_cli("tag --model " + mft::q(fixed) + " -q " + mft::q(tmp / "cut.wav"));
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Contains("cut.wav: truncated or corrupt"));
}

// ---- CTC transcription ------------------------------------------------------------------
#include <regex>

#include "ops/ctc.h"

TEST_CASE("CTC: greedy and prefix beam search on hand-made posteriors", "[audio][ctc]") {
  // labels: 0 blank, 1 'a', 2 'b'; frames' best: a a _ a b b _
  const float p[] = {.1f, .8f, .1f, .1f, .8f, .1f, .8f, .1f, .1f, .1f, .8f, .1f,
                     .1f, .1f, .8f, .1f, .1f, .8f, .8f, .1f, .1f};
  int32_t prev = -1;
  auto g = ctc_greedy(p, 7, 3, 0, prev);
  REQUIRE(g.size() == 3);
  CHECK(g[0].label == 1);
  CHECK(g[0].frame == 0);
  CHECK(g[1].label == 1);
  CHECK(g[1].frame == 3);
  CHECK(g[2].label == 2);
  CHECK(g[2].frame == 4);
  // The same, cut in two: `prev` carries the last frame's label.
  prev = -1;
  auto g1 = ctc_greedy(p, 4, 3, 0, prev);
  auto g2 = ctc_greedy(p + 12, 3, 3, 0, prev);
  CHECK(g1.size() + g2.size() == 3);
  // Where they differ: two frames of P(blank) = 0.6, P(a) = 0.4. Greedy says "", while
  // P("a") = 0.4*0.4 + 0.4*0.6 + 0.6*0.4 = 0.64 > P("") = 0.36, which beam search finds.
  const float q[] = {.6f, .4f, .6f, .4f};
  prev = -1;
  CHECK(ctc_greedy(q, 2, 2, 0, prev).empty());
  auto b = ctc_prefix_beam(q, 2, 2, 0, 4);
  REQUIRE(b.size() == 1);
  CHECK(b[0].label == 1);
  CHECK(b[0].frame == 0);
  // With clear posteriors beam search agrees with greedy.
  auto bb = ctc_prefix_beam(p, 7, 3, 0, 8);
  REQUIRE(bb.size() == 3);
  CHECK(bb[1].frame == 3);
  CHECK(bb[2].label == 2);
}

TEST_CASE("transcripts: segments at pauses, word times, SRT/VTT/JSON", "[audio][ctc]") {
  mft::TempDir tmp;
  // alphabet: blank, space, h, i; 10 frames per second (stride 10 positions at rate 100)
  const std::vector<std::string> labels = {"_", " ", "h", "i"};
  auto frame = [](int best) { std::vector<float> f(4, 0.02f); f[size_t(best)] = 0.94f; return f; };
  // "hi hi" (frames 0-5), then 1 s of blank, then "ih" (frames 16-17), then blanks
  const int seq[] = {2, 3, 1, 2, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 2, 0, 0};
  std::vector<float> probs;
  std::vector<int64_t> start, end;
  for (int i = 0; i < 20; ++i) {
    auto f = frame(seq[i]);
    probs.insert(probs.end(), f.begin(), f.end());
    start.push_back(i * 10);
    end.push_back(i * 10 + 10);
  }
  auto run = [&](TranscriptFormat fmt, const std::string& name, int cut) {
    TranscriptOptions o;
    o.format = fmt;
    o.output = (tmp / name).string();
    o.labels = labels;
    o.rate = 100;
    auto sink = make_transcript_sink(o);
    RecordInfo r{"talk.wav", "talk.wav", 0, 0, 0};
    sink->begin_record(r);
    sink->windows(r, WindowValues{start.data(), end.data(), probs.data(), cut, 4});
    sink->windows(r, WindowValues{start.data() + cut, end.data() + cut, probs.data() + cut * 4, 20 - cut, 4});
    sink->end_record(r, RecordEnd::Complete, 200);
    sink->finish();
    return mft::read_file(tmp / name);
  };
  const std::string txt = run(TranscriptFormat::Txt, "a.txt", 7);
  CHECK(txt == "hi hi\nih\n");
  CHECK(run(TranscriptFormat::Txt, "b.txt", 17) == txt);
  CHECK(run(TranscriptFormat::Srt, "a.srt", 3) ==
        "1\n00:00:00,000 --> 00:00:00,600\nhi hi\n\n2\n00:00:01,600 --> 00:00:01,800\nih\n\n");
  const std::string vtt = run(TranscriptFormat::Vtt, "a.vtt", 3);
  CHECK(vtt.rfind("WEBVTT\n\n00:00:00.000 --> 00:00:00.600\nhi hi\n\n", 0) == 0);
  auto j = nlohmann::json::parse(run(TranscriptFormat::Json, "a.json", 5));
  REQUIRE(j["segments"].size() == 2);
  CHECK(j["segments"][0]["words"][1]["word"] == "hi");
  CHECK(j["segments"][0]["words"][1]["start"] == 0.3);
  CHECK(j["segments"][0]["words"][1]["end"] == 0.6);
  CHECK(j["segments"][1]["start"] == 1.6);

  // One symbol held across a max_segment cut is emitted once, by both decoders.
  std::vector<float> held;
  std::vector<int64_t> hs, he;
  for (int i = 0; i < 30; ++i) {
    auto f = frame(2);
    held.insert(held.end(), f.begin(), f.end());
    hs.push_back(i * 10);
    he.push_back(i * 10 + 10);
  }
  for (int beam : {0, 4}) {
    TranscriptOptions o;
    o.output = (tmp / "h.txt").string();
    o.labels = labels;
    o.rate = 100;
    o.max_segment = 1.0;
    o.beam = beam;
    auto sink = make_transcript_sink(o);
    RecordInfo r{"x.wav", "x.wav", 0, 0, 0};
    sink->begin_record(r);
    sink->windows(r, WindowValues{hs.data(), he.data(), held.data(), 30, 4});
    sink->end_record(r, RecordEnd::Complete, 300);
    sink->finish();
    INFO("beam " << beam);
    CHECK(mft::read_file(tmp / "h.txt") == "h\n");
  }
}

TEST_CASE("cli transcribe: streaming CTC transcripts, the same for any chunking", "[audio][cli]") {
  mft::TempDir tmp;
  const nlohmann::json task = {{"task", "transcribe"}, {"tokenizer", "mulaw"}, {"sample_rate", 8000},
                               {"labels", {"_", " ", "a", "b", "c"}}, {"blank", 0}, {"window", 80}, {"stride", 80}};
  auto fixed = mft::write_random_model(tmp / "fixed", task, 256, {0.0f, 0.0f, 9.0f, 0.0f, 0.0f});
  auto rnd = mft::write_random_model(tmp / "random", task, 256, {}, 11);
  REQUIRE(write_audio(tmp / "a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 16000, 200.0));
  auto run = [&](const mft::fs::path& model, const std::string& extra) {
    auto r = mft::run_cli("transcribe --model " + mft::q(model) + " -q " + extra + " " + mft::q(tmp / "a.wav"));
    INFO(r.out);
    REQUIRE(r.status == 0);
    return r.out;
  };
  CHECK(run(fixed, "") == "a\n");  // 'a' in every frame: one symbol
  CHECK(run(fixed, "--format srt") == "1\n00:00:00,000 --> 00:00:01,000\na\n\n");
  for (const char* dec : {"", "--decoder beam --beam 4 "}) {
    const std::string ref = run(rnd, std::string(dec) + "--format jsonl");
    for (const char* extra : {"--chunk-ms 20", "--chunk 7 --threads 1", "--chunk-ms 1000 --batch 1"})
      CHECK(run(rnd, std::string(dec) + "--format jsonl " + extra) == ref);
  }
  auto r = mft::run_cli("transcribe --model " + mft::q(mft::tiny_model()) + " " + mft::q(tmp / "a.wav"));
  CHECK(r.status == 1);
}

// ---- log-mel front-end -------------------------------------------------------------------
#include "ops/logmel.h"

TEST_CASE("log-mel: equals a direct DFT computation, and any chunking", "[audio][frontend]") {
  LogMelConfig c;  // 16 kHz, n_fft 400, hop 160, 80 mels
  c.n_fft = 512;
  const int64_t n = 16000;
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[size_t(i)] = float(0.5 * std::sin(2 * kPi * 1000.0 * double(i) / 16000) + 0.01 * std::sin(2 * kPi * 3000.3 * double(i) / 16000));
  LogMel whole(c);
  std::vector<float> f;
  whole.push(x.data(), n, f);
  const int64_t frames = (n - c.win_length) / c.hop + 1;
  REQUIRE(int64_t(f.size()) == frames * c.n_mels);
  // Independent: a direct DFT in double of each windowed frame, the HTK mel triangles built
  // here from their definition, then the log.
  const int bins = c.n_fft / 2 + 1;
  auto mel = [](double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); };
  auto hz = [](double m) { return 700.0 * (std::pow(10.0, m / 2595.0) - 1.0); };
  std::vector<double> edges(size_t(c.n_mels + 2));
  for (int i = 0; i < c.n_mels + 2; ++i) edges[size_t(i)] = hz(mel(8000.0) * i / (c.n_mels + 1));
  double worst = 0;
  for (int64_t t : {int64_t(0), int64_t(7), frames - 1}) {
    std::vector<double> power(static_cast<size_t>(bins));
    for (int k = 0; k < bins; ++k) {
      double re = 0, im = 0;
      for (int i = 0; i < c.win_length; ++i) {
        const double w = 0.5 - 0.5 * std::cos(2 * kPi * i / c.win_length);
        const double v = x[size_t(t * c.hop + i)] * w;
        re += v * std::cos(2 * kPi * k * i / c.n_fft);
        im -= v * std::sin(2 * kPi * k * i / c.n_fft);
      }
      power[size_t(k)] = re * re + im * im;
    }
    int best = 0;
    std::vector<double> es;
    for (int m = 0; m < c.n_mels; ++m) {
      double e = 0;
      for (int k = 0; k < bins; ++k) {
        const double fk = double(k) * 16000 / c.n_fft;
        const double tri = std::max(0.0, std::min((fk - edges[size_t(m)]) / (edges[size_t(m + 1)] - edges[size_t(m)]),
                                                  (edges[size_t(m + 2)] - fk) / (edges[size_t(m + 2)] - edges[size_t(m + 1)])));
        e += tri * power[size_t(k)];
      }
      es.push_back(e);
      if (f[size_t(t * c.n_mels + m)] > f[size_t(t * c.n_mels + best)]) best = m;
    }
    // fp32 FFT rounding is ~1e-7 of the frame's peak: log values are compared where the band
    // holds at least 1e-5 of the peak energy, linear values everywhere.
    const double emax = *std::max_element(es.begin(), es.end());
    for (int m = 0; m < c.n_mels; ++m) {
      const double got = f[size_t(t * c.n_mels + m)];
      if (es[size_t(m)] >= 1e-5 * emax) worst = std::max(worst, std::abs(std::log(es[size_t(m)]) - got));
      CHECK(std::abs(std::exp(got) - es[size_t(m)]) <= 1e-6 * emax);
    }
    // The loudest band holds 1 kHz.
    CHECK(edges[size_t(best)] < 1000.0);
    CHECK(edges[size_t(best + 2)] > 1000.0);
  }
  INFO("max abs difference of log-mel values (bands >= 1e-5 of the peak): " << worst);
  CHECK(worst < 1e-3);
  // Streaming: random chunkings give the same frames, bitwise.
  std::mt19937 rng(5);
  for (int trial = 0; trial < 3; ++trial) {
    LogMel s(c);
    std::vector<float> g;
    for (int64_t i = 0; i < n;) {
      const int64_t k = std::min<int64_t>(n - i, trial == 0 ? 1 : 1 + int64_t(rng() % 997));
      s.push(x.data() + i, k, g);
      i += k;
    }
    CHECK(g == f);
  }
  LogMelConfig bad = c;
  bad.win_length = 1024;
  CHECK_THROWS_WITH(LogMel(bad), Contains("larger than n_fft"));
}
