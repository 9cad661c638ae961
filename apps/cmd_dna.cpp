// mambaflow classify | tag | embed: the DNA pipeline (pipeline/dna_pipeline.h) from the
// command line.
#include <unistd.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include "apps/cli.h"
#include "io/audio_source.h"
#include "io/fasta.h"
#include "io/model_loader.h"
#include "io/results.h"
#include "io/task_config.h"
#include "ops/encoder.h"
#include "ops/error.h"
#include "ops/mulaw.h"
#include "pipeline/dna_pipeline.h"

namespace po = boost::program_options;

namespace mf::cli {

namespace {

std::string human(double v, const char* unit) {
  const char* pre[] = {"", "k", "M", "G", "T"};
  int i = 0;
  while (v >= 1000 && i < 4) { v /= 1000; ++i; }
  char b[48];
  std::snprintf(b, sizeof b, i ? "%.1f %s%s" : "%.0f %s%s", v, pre[i], unit);
  return b;
}

std::string clock_str(double s) {
  if (!(s >= 0) || s > 1e7) return "--:--";
  const long t = long(s + 0.5);
  char b[32];
  if (t >= 3600) std::snprintf(b, sizeof b, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else std::snprintf(b, sizeof b, "%ld:%02ld", t / 60, t % 60);
  return b;
}

// Prints the pipeline's progress on stderr (a terminal) every 250 ms until stopped.
class ProgressLine {
 public:
  // rate > 0: the tokens are audio samples at `rate` per second (progress in audio seconds).
  ProgressLine(const DnaPipeline& p, bool on, double rate) : p_(p), on_(on), rate_(rate) {
    if (on_) thread_ = std::thread([this] { loop(); });
  }
  ~ProgressLine() { stop(); }
  void stop() {
    if (!thread_.joinable()) return;
    done_ = true;
    thread_.join();
    std::fprintf(stderr, "\r\033[K");
  }

 private:
  void loop() {
    const auto t0 = std::chrono::steady_clock::now();
    while (!done_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const ProgressSnapshot q = p_.progress();
      std::string line;
      if (rate_ > 0) {
        char b[96];
        const double audio = double(q.bases) / rate_;
        std::snprintf(b, sizeof b, "  %s of audio, real-time factor %.4f", clock_str(audio).c_str(), s / std::max(audio, 1e-9));
        line = b;
      } else {
        line = "  " + human(double(q.bases), "bases") + ", " + human(double(q.bases) / std::max(s, 1e-3), "bases/s");
      }
      if (q.bytes_total > 0 && q.bytes_done > 0) {
        const double f = std::min(1.0, double(q.bytes_done) / double(q.bytes_total));
        char b[64];
        std::snprintf(b, sizeof b, ", %.0f%%, ETA %s", 100 * f, clock_str(s * (1 - f) / std::max(f, 1e-9)).c_str());
        line += b;
      }
      line += ", file " + std::to_string(std::min(q.inputs_done + 1, q.inputs_total)) + "/" + std::to_string(q.inputs_total);
      if (!q.current.empty()) line += " " + q.current;
      if (line.size() > 150) line = line.substr(0, 147) + "...";
      std::fprintf(stderr, "\r\033[K%s", line.c_str());
    }
  }
  const DnaPipeline& p_;
  bool on_;
  double rate_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

std::vector<std::string> read_input_list(const std::string& path) {
  std::ifstream f(path);
  if (!f) fail(path, ": cannot open the input list");
  std::vector<std::string> out;
  std::string line;
  while (std::getline(f, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    out.push_back(line);
  }
  return out;
}

const char* kExamples[] = {
    // classify
    "examples:\n"
    "  mambaflow classify --model models/dna-species genome.fa.gz > windows.tsv\n"
    "  mambaflow classify --model DIR --format bed -o calls.bed --window 4096 --stride 2048 a.fa b.fa\n"
    "  mambaflow classify --model DIR --region chr1:1-5000000 --region chr2 genome.fa.gz\n"
    "  samtools view -b reads.bam | mambaflow classify --model DIR --format jsonl -\n",
    // tag
    "examples:\n"
    "  mambaflow tag --model DIR --format bed -o tags.bed genome.fa\n"
    "  mambaflow tag --model DIR --format bedgraph --track repeat -o tracks/genome genome.fa\n"
    "  mambaflow tag --model DIR --by-read-group --format jsonl reads.bam\n",
    // embed
    "examples:\n"
    "  mambaflow embed --model models/tiny-random-dna -o chr.npy chr.fa\n"
    "  mambaflow embed --model DIR --window 1000 -o emb/ genome.fa      (mean per window)\n"
    "  zcat reads.fq.gz | mambaflow embed --model DIR --batch 64 -o emb/ -\n",
    // transcribe
    "examples:\n"
    "  mambaflow transcribe --model DIR talk.flac\n"
    "  mambaflow transcribe --model DIR --decoder beam --beam 16 --format srt -o talk.srt talk.wav\n"
    "  arecord -t raw -f S16_LE -r 16000 | mambaflow transcribe --model DIR --pcm s16le --rate 16000 -\n"};

int run_task(Task command, const Args& args) {
  const int which = command == Task::Classify ? 0 : command == Task::Tag ? 1 : command == Task::Embed ? 2 : 3;
  std::string model_dir, out, device = "auto", dtype_arg = "f32", format, pooling, input_list;
  std::vector<std::string> inputs, regions, tracks;
  int64_t chunk = 65536, batch = 8, window = -1, stride = -1, readers = 0;
  int threads = 0;
  float threshold = -1;
  bool by_rg = false, quiet = false;
  std::string pcm;
  int pcm_rate = 0, pcm_channels = 1, channel = -1;
  double chunk_ms = 0;
  std::string head;
  if (command == Task::Classify)
    head = "mambaflow classify: species/class calls over windows of DNA sequences, with per-class\n"
           "probabilities (softmax of a linear head on pooled encoder states).\n\n"
           "usage: mambaflow classify --model DIR [options] INPUT...\n";
  else if (command == Task::Tag)
    head = "mambaflow tag: multi-label tags over windows of DNA sequences (a sigmoid per label,\n"
           "called at or above the label's threshold).\n\n"
           "usage: mambaflow tag --model DIR [options] INPUT...\n";
  else if (command == Task::Transcribe)
    head = "mambaflow transcribe: speech to text with a CTC head over audio frames (greedy or prefix\n"
           "beam search), with segment and word times; segments are written as they finish.\n\n"
           "usage: mambaflow transcribe --model DIR [options] [-o OUT] AUDIO...\n";
  else
    head = "mambaflow embed: final-norm hidden states of each sequence record as float32 .npy:\n"
           "[L, d_model] per position, or [windows, d_model] pooled with --window.\n\n"
           "usage: mambaflow embed --model DIR -o OUT INPUT...\n";
  head += "\nINPUT for DNA models: FASTA or FASTQ (plain, gzip or bgzip), SAM, BAM or CRAM ('-': standard\n"
          "input); each record (or read, or read group) is a stream; coordinates are 0-based, end exclusive.\n"
          "INPUT for audio models (tokenizer mulaw): WAV, FLAC, OGG, Opus, MP3, ... or raw PCM (--pcm);\n"
          "each file is a stream, resampled to the model's rate; tag writes events (start/end seconds).\n";
  if (command == Task::Embed)
    head += "-o ending in .npy takes one record; otherwise -o is a directory and record NAME goes to\n"
            "OUT/NAME.npy. Files appear only once complete.\n";
  head += std::string("\n") + kExamples[which] + "\noptions";
  po::options_description opts(head);
  opts.add_options()("help,h", "show this help")(
      "model,m", po::value(&model_dir)->required(), "model directory")(
      "output,o", po::value(&out), command == Task::Embed ? "output .npy file or directory (required)"
                                                          : "output file ('-': standard output; bedgraph: a file prefix)")(
      "device", po::value(&device)->default_value("auto"), "auto, cpu, cuda or cuda:N")(
      "dtype", po::value(&dtype_arg)->default_value("f32"), "compute type: f32, or bf16/f16 on a GPU")(
      "window", po::value(&window), "window length in bases (default: the model's)")(
      "stride", po::value(&stride), "window step in bases (default: the model's, or the window)")(
      "pooling", po::value(&pooling), "mean or last (default: the model's)")(
      "chunk", po::value(&chunk)->default_value(65536), "bases per chunk (state carries across chunks)")(
      "batch", po::value(&batch)->default_value(8), "streams run together per encoder step")(
      "threads", po::value(&threads)->default_value(0), "CPU threads (0: all cores)")(
      "readers", po::value(&readers)->default_value(0), "inputs read at once (0: min(inputs, batch, 4))")(
      "input-list", po::value(&input_list), "file with one input path per line")(
      "region", po::value(&regions), "chr, chr:start or chr:start-end (1-based, inclusive) of an indexed "
                                     "FASTA; repeatable; the .fai is created when missing")(
      "by-read-group", po::bool_switch(&by_rg), "SAM/BAM/CRAM: one stream per read group instead of per read")(
      "quiet,q", po::bool_switch(&quiet), "no progress line");
  po::options_description audio_opts("audio models (tokenizer mulaw)");
  audio_opts.add_options()("chunk-ms", po::value(&chunk_ms), "audio per chunk in milliseconds (instead of --chunk)")(
      "channel", po::value(&channel)->default_value(-1), "keep one channel (0-based; default: mean of all)")(
      "pcm", po::value(&pcm), "raw PCM input: s16le or f32le (with --rate, --channels)")(
      "rate", po::value(&pcm_rate)->default_value(0), "raw PCM sample rate")(
      "channels", po::value(&pcm_channels)->default_value(1), "raw PCM channels");
  opts.add(audio_opts);
  std::string decoder = "greedy";
  int beam = 8;
  if (command == Task::Transcribe)
    opts.add_options()("format", po::value(&format)->default_value("txt"), "txt, srt, vtt, json or jsonl")(
        "decoder", po::value(&decoder)->default_value("greedy"), "greedy or beam (CTC prefix beam search)")(
        "beam", po::value(&beam)->default_value(8), "beam width for --decoder beam");
  else if (command != Task::Embed)
    opts.add_options()("format", po::value(&format)->default_value("tsv"), "tsv, jsonl, bed or bedgraph")(
        "track", po::value(&tracks), "bedgraph: a label to write (repeatable; default: all)");
  if (command == Task::Tag)
    opts.add_options()("threshold", po::value(&threshold), "one threshold for every label (default: the model's)");
  po::options_description positional;
  positional.add_options()("input", po::value(&inputs), "input files");
  po::options_description all;
  all.add(opts).add(positional);
  po::positional_options_description pos;
  pos.add("input", -1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
  if (vm.count("help")) { std::cout << opts << "\n"; return 0; }
  po::notify(vm);
  if (!input_list.empty())
    for (auto& p : read_input_list(input_list)) inputs.push_back(p);
  if (inputs.empty()) throw po::error("no input (give files, '-' for standard input, or --input-list)");
  if (command == Task::Embed && out.empty()) throw po::error("embed needs -o (a .npy file or a directory)");
  if (out.empty()) out = "-";
  if (chunk < 1) throw po::error("--chunk must be >= 1");
  if (batch < 1) throw po::error("--batch must be >= 1");
  if (readers < 0) throw po::error("--readers must be >= 0");
  set_threads(threads);

  PipelineOptions po_;
  po_.device = Encoder::choose_device(device);
  if (dtype_arg == "bf16") po_.dtype = DType::BF16;
  else if (dtype_arg == "f16") po_.dtype = DType::F16;
  else if (dtype_arg != "f32") throw po::error("--dtype must be f32, bf16 or f16");
  if (po_.device.is_cpu() && po_.dtype != DType::F32) throw po::error("--dtype " + dtype_arg + " needs a GPU (--device cuda)");
  po_.chunk = chunk;
  po_.batch = batch;
  po_.readers = readers;
  po_.source.regions = regions;
  po_.source.by_read_group = by_rg;
  const bool audio_flags = vm.count("chunk-ms") || !pcm.empty() || channel >= 0 || !vm["rate"].defaulted() ||
                           !vm["channels"].defaulted();

  auto model = load_model(model_dir);
  TaskSpec spec = read_task_spec(*model);
  const int64_t vocab_needed = spec.tokenizer == "mulaw" ? kMulawTokens : dna::kVocab;
  if (model->config.vocab_size < vocab_needed)
    fail(model_dir, ": vocab_size ", model->config.vocab_size, " is smaller than the ", spec.tokenizer,
         " vocabulary (", vocab_needed, " tokens)");
  if (command != Task::Embed && spec.task != command)
    fail(model_dir, ": this is a '", task_name(spec.task), "' model (config.json \"mambaflow\".task); ",
         spec.task == Task::Embed ? std::string("it has no head to ") + task_name(command) + " with: use mambaflow embed"
                                  : std::string("use mambaflow ") + task_name(spec.task));
  const bool audio = spec.tokenizer == "mulaw";
  if (audio) {
    if (!regions.empty() || by_rg) throw po::error("--region and --by-read-group apply to DNA models; this model reads audio");
    if (command == Task::Classify) fail(model_dir, ": an audio model: use mambaflow tag (events), transcribe or embed");
    AudioOptions ao;
    ao.rate = spec.sample_rate;
    ao.channel = channel;
    ao.pcm = pcm;
    ao.pcm_rate = pcm_rate;
    ao.pcm_channels = pcm_channels;
    po_.open_source = [ao](const std::string& path) { return open_mulaw_source(path, ao); };
    if (chunk_ms > 0 && !vm["chunk"].defaulted()) throw po::error("give --chunk or --chunk-ms, not both");
    if (chunk_ms > 0) po_.chunk = std::max<int64_t>(1, int64_t(chunk_ms * spec.sample_rate / 1000.0));
  } else if (audio_flags) {
    throw po::error("--chunk-ms, --pcm, --rate, --channels and --channel apply to audio models; this model reads DNA");
  }
  if (command == Task::Embed) {
    spec.task = Task::Embed;
    if (!vm.count("window")) spec.window = 0, spec.stride = 0;  // embed: per position unless asked
  }
  if (vm.count("window")) { spec.window = window; if (!vm.count("stride")) spec.stride = 0; }
  if (vm.count("stride")) spec.stride = stride;
  if (spec.stride == 0) spec.stride = spec.window;
  if (!pooling.empty()) {
    if (pooling == "mean") spec.pooling = Pooling::Mean;
    else if (pooling == "last") spec.pooling = Pooling::Last;
    else throw po::error("--pooling must be mean or last");
  }
  if (threshold >= 0) {
    spec.thresholds.assign(spec.labels.size(), threshold);
    spec.off_thresholds.clear();  // the same level turns a label off
  }
  spec.validate("options");
  po_.task = spec;

  DnaPipeline pipeline(model, po_);
  std::unique_ptr<ResultSink> sink;
  if (command == Task::Embed) {
    sink = make_npy_sink(out, model->config.d_model, inputs);
  } else if (command == Task::Transcribe) {
    if (!audio) fail(model_dir, ": transcribe needs an audio model (tokenizer mulaw)");
    if (decoder != "greedy" && decoder != "beam") throw po::error("--decoder must be greedy or beam");
    if (beam < 1) throw po::error("--beam must be >= 1");
    TranscriptOptions t;
    t.format = parse_transcript_format(format);
    t.output = out;
    t.labels = spec.labels;
    t.blank = spec.blank;
    t.beam = decoder == "beam" ? beam : 0;
    t.rate = spec.sample_rate;
    sink = make_transcript_sink(t);
  } else {
    TableOptions t;
    t.format = parse_table_format(format);
    t.output = out;
    t.task = spec.task;
    t.labels = spec.labels;
    t.thresholds = spec.thresholds;
    t.stride = spec.stride;
    t.tracks = tracks;
    if (!tracks.empty() && t.format != TableFormat::BedGraph) throw po::error("--track applies to --format bedgraph");
    if (audio) {
      EventOptions e;
      e.format = t.format;
      e.output = out;
      e.labels = spec.labels;
      e.thresholds = spec.thresholds;
      e.off_thresholds = spec.off_thresholds;
      e.rate = spec.sample_rate;
      sink = make_event_sink(e);
    } else {
      sink = make_table_sink(t);
    }
  }
  if (!quiet)
    std::fprintf(stderr, "mambaflow: %s on %s, host buffers %.0f MiB; %s%s\n", task_name(command), pipeline.describe().c_str(),
                 double(pipeline.host_buffer_bytes()) / (1 << 20),
                 spec.window > 0 ? ("window " + std::to_string(spec.window) + ", stride " + std::to_string(spec.stride) +
                                    ", " + pooling_name(spec.pooling) + " pooling").c_str()
                                 : "one row per position",
                 command == Task::Embed ? "" : (", labels: " + std::to_string(spec.labels.size())).c_str());

  install_signal_handlers();
  PipelineStats st;
  {
    ProgressLine progress(pipeline, !quiet && isatty(2), audio ? double(spec.sample_rate) : 0.0);
    st = pipeline.run(inputs, *sink, interrupted_flag());
  }
  for (const auto& f : st.failures) std::fprintf(stderr, "mambaflow: error: %s\n", f.message.c_str());
  for (const auto& r : st.incomplete) std::fprintf(stderr, "mambaflow: incomplete: %s\n", r.c_str());
  if (!quiet || !st.failures.empty() || st.interrupted) {
    const std::string failed = st.failures.empty() ? "" : "; " + std::to_string(st.failures.size()) + " input(s) failed";
    const char* stopped = st.interrupted ? "; interrupted" : "";
    if (audio) {
      const double secs = double(st.bases) / spec.sample_rate;
      std::fprintf(stderr, "mambaflow: %lld file(s), %.1f s of audio in %.2f s (real-time factor %.5f, peak memory %.0f MiB)%s%s\n",
                   (long long)st.records, secs, st.seconds, st.seconds / std::max(secs, 1e-9), host_peak_rss_mib(),
                   failed.c_str(), stopped);
    } else {
      std::fprintf(stderr, "mambaflow: %lld record(s), %s from %lld input(s) in %.2f s (%s, peak memory %.0f MiB)%s%s\n",
                   (long long)st.records, human(double(st.bases), "bases").c_str(), (long long)st.inputs, st.seconds,
                   human(double(st.bases) / std::max(st.seconds, 1e-9), "bases/s").c_str(), host_peak_rss_mib(),
                   failed.c_str(), stopped);
    }
  }
  return st.failures.empty() && !st.interrupted ? 0 : 1;
}

}  // namespace

int cmd_classify(const Args& args) { return run_task(Task::Classify, args); }
int cmd_tag(const Args& args) { return run_task(Task::Tag, args); }
int cmd_embed(const Args& args) { return run_task(Task::Embed, args); }
int cmd_transcribe(const Args& args) { return run_task(Task::Transcribe, args); }

}  // namespace mf::cli
