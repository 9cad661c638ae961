// mambaflow embed: final-norm hidden states of each FASTA/FASTQ record as float32 .npy.
#include <unistd.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>

#include "apps/cli.h"
#include "io/fasta.h"
#include "io/model_loader.h"
#include "io/npy.h"
#include "ops/encoder.h"
#include "ops/error.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace mf::cli {

namespace {

// A file name for a record: its name with anything but [A-Za-z0-9._-] replaced by '_'.
std::string file_name_for(const std::string& record, std::set<std::string>& used) {
  std::string base;
  for (unsigned char c : record) base += (std::isalnum(c) || c == '.' || c == '_' || c == '-') ? char(c) : '_';
  if (base.empty() || base[0] == '.') base = "_" + base;
  std::string name = base;
  for (int i = 2; used.count(name); ++i) name = base + "_" + std::to_string(i);
  used.insert(name);
  return name + ".npy";
}

class Progress {
 public:
  explicit Progress(bool on) : on_(on), start_(clock::now()), last_(start_) {}
  void update(const std::string& record, int64_t bases, int64_t total_bases) {
    if (!on_) return;
    auto now = clock::now();
    if (now - last_ < std::chrono::milliseconds(250)) return;
    last_ = now;
    double s = std::chrono::duration<double>(now - start_).count();
    std::fprintf(stderr, "\r\033[K  %s: %lld bases, %.3g bases/s overall", record.c_str(),
                 (long long)bases, double(total_bases) / (s > 0 ? s : 1));
  }
  void done() {
    if (on_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  using clock = std::chrono::steady_clock;
  bool on_;
  clock::time_point start_, last_;
};

}  // namespace

int cmd_embed(const Args& args) {
  std::string model_dir, out, input, device = "auto", dtype_name_arg = "f32";
  int64_t chunk = 65536;
  int threads = 0;
  po::options_description opts(
      "mambaflow embed: final-norm hidden states of each sequence record, float32 .npy of\n"
      "shape [L, d_model] (DNA tokens as in DESIGN.md).\n\n"
      "usage: mambaflow embed --model DIR -o OUT INPUT\n\n"
      "INPUT is FASTA or FASTQ (plain, gzip or bgzip; '-' for standard input). With -o ending\n"
      "in .npy the input must hold one record; otherwise -o is a directory (created if needed)\n"
      "and record NAME goes to OUT/NAME.npy. Files appear only once complete.\n\n"
      "examples:\n"
      "  mambaflow embed --model models/tiny-random-dna -o chr.npy chr.fa\n"
      "  zcat reads.fq.gz | mambaflow embed --model DIR --chunk 4096 -o emb/ -\n\noptions");
  opts.add_options()("help,h", "show this help")(
      "model,m", po::value(&model_dir)->required(), "model directory")(
      "output,o", po::value(&out)->required(), "output .npy file, or a directory")(
      "device", po::value(&device)->default_value("auto"), "auto, cpu, cuda or cuda:N")(
      "dtype", po::value(&dtype_name_arg)->default_value("f32"), "compute type: f32, or bf16/f16 on a GPU")(
      "chunk", po::value(&chunk)->default_value(65536), "tokens per chunk (state carries across chunks)")(
      "threads", po::value(&threads)->default_value(0), "CPU threads (0: all cores)");
  po::options_description positional;
  positional.add_options()("input", po::value(&input)->required(), "input file");
  po::options_description all;
  all.add(opts).add(positional);
  po::positional_options_description pos;
  pos.add("input", 1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
  if (vm.count("help")) { std::cout << opts << "\n"; return 0; }
  po::notify(vm);
  if (chunk < 1) throw po::error("--chunk must be >= 1");
  set_threads(threads);

  const Device dev = Encoder::choose_device(device);
  auto model = load_model(model_dir);
  const int64_t D = model->config.d_model;
  if (model->config.vocab_size < dna::kVocab)
    fail(model_dir, ": vocab_size ", model->config.vocab_size, " is smaller than the DNA vocabulary (",
         dna::kVocab, " tokens)");
  DType dtype = DType::F32;
  if (dtype_name_arg == "bf16") dtype = DType::BF16;
  else if (dtype_name_arg == "f16") dtype = DType::F16;
  else if (dtype_name_arg != "f32") throw po::error("--dtype must be f32, bf16 or f16");
  if (dev.is_cpu() && dtype != DType::F32) throw po::error("--dtype " + dtype_name_arg + " needs a GPU (--device cuda)");
  Encoder enc(model, dev, dtype);
  const std::string where = dev.is_cpu() ? std::string("cpu") : dev.str() + " (" + device_description(dev) + ")";
  std::fprintf(stderr, "mambaflow: embed on %s, %s\n", where.c_str(), dtype_name_arg.c_str());

  const bool single = out.size() > 4 && out.compare(out.size() - 4, 4, ".npy") == 0;
  if (!single) {
    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec || !fs::is_directory(out)) fail(out, ": cannot create output directory");
  }

  install_signal_handlers();
  SequenceReader reader(input);
  std::vector<int32_t> tokens(size_t(std::min<int64_t>(chunk, 1 << 20)));
  std::vector<float> hidden(tokens.size() * size_t(D));
  std::set<std::string> used;
  std::unique_ptr<NpyWriter> pending;  // single-file mode: committed once we know it is the only record
  std::string first_record;
  Progress progress(isatty(2));
  int64_t total = 0, records = 0;

  while (reader.next_record()) {
    if (single && records == 1)
      fail(reader.path(), " holds more than one record ('", first_record, "', '", reader.name(),
           "', ...): give -o a directory to write one .npy per record");
    auto writer = std::make_unique<NpyWriter>(single ? out : (fs::path(out) / file_name_for(reader.name(), used)).string(), D);
    EncoderState state = enc.new_state();
    while (size_t n = reader.read(tokens.data(), tokens.size())) {
      if (interrupted()) fail("interrupted: no output written for record '", reader.name(), "'");
      enc.forward(tokens.data(), int64_t(n), state, hidden.data());
      writer->append(hidden.data(), int64_t(n));
      total += int64_t(n);
      progress.update(reader.name(), state.position, total);
    }
    if (writer->rows() == 0)
      std::fprintf(stderr, "mambaflow: warning: %s: record '%s' is empty (wrote shape [0, %lld])\n",
                   reader.path().c_str(), reader.name().c_str(), (long long)D);
    if (single) { pending = std::move(writer); first_record = reader.name(); }
    else writer->commit();
    ++records;
  }
  progress.done();
  if (records == 0) fail(reader.path(), ": empty input: no FASTA/FASTQ records");
  if (pending) pending->commit();
  std::fprintf(stderr, "mambaflow: embedded %lld record(s), %lld bases -> %s\n", (long long)records,
               (long long)total, out.c_str());
  return 0;
}

}  // namespace mf::cli
