#include <tbb/global_control.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>

#include "apps/cli.h"
#include "bench/encoder_bench.h"
#include "bench/pipeline_bench.h"
#include "bench/gpu_bench.h"

namespace po = boost::program_options;

namespace mf::cli {

int cmd_bench(const Args& args) {
  std::string shape = "all", device = "cpu", dtype = "bf16";
  int64_t long_tokens = 16 << 20;
  std::string compare_dir;
  int64_t stream_tokens = 0;
  int64_t tokens = 0, chunk = 1024;
  int threads = 0, rounds = 3;
  std::string pipeline_input;
  int64_t batch = 8;
  po::options_description opts(
      "mambaflow bench: encoder throughput (random weights) against the same GEMMs alone,\n"
      "measured in the same run. With --device cuda: GPU throughput (1 and 8 streams), the\n"
      "encoder's time against its GEMMs', the scan against a device copy, memory over a long\n"
      "stream and small-chunk latency.\n\n"
      "usage: mambaflow bench [--device cpu|cuda[:N]] [--shape 130m|dna|all] [--tokens N] [--chunk N]\n\noptions");
  opts.add_options()("help,h", "show this help")(
      "shape", po::value(&shape)->default_value("all"), "130m, dna or all")(
      "tokens", po::value(&tokens)->default_value(0), "tokens per measurement (0: 8192 for 130m, 65536 for dna)")(
      "chunk", po::value(&chunk)->default_value(1024), "tokens per chunk")(
      "rounds", po::value(&rounds)->default_value(3), "interleaved rounds; the best of each side is kept")(
      "device", po::value(&device)->default_value("cpu"), "cpu, cuda or cuda:N")(
      "dtype", po::value(&dtype)->default_value("bf16"), "GPU compute type: bf16, f16 or f32")(
      "long-tokens", po::value(&long_tokens)->default_value(16 << 20), "GPU: stream length of the memory check (0: skip)")(
      "compare", po::value(&compare_dir), "GPU: model dir with reference.safetensors from bench/transformers_compare.py")(
      "long-stream", po::value(&stream_tokens)->default_value(0), "GPU: run one stream of N tokens through a tiny model and check its state (N > 2^31 checks 64-bit positions)")(
      "threads", po::value(&threads)->default_value(0), "CPU threads (0: all cores)")(
      "pipeline", po::value(&pipeline_input), "DNA pipeline end to end on this FASTA/FASTQ/BAM vs the encoder "
                                              "alone (--shape dna by default; --device, --dtype, --chunk, --batch)")(
      "batch", po::value(&batch)->default_value(8), "--pipeline: streams per encoder step");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(opts).run(), vm);
  if (vm.count("help")) { std::cout << opts << "\n"; return 0; }
  po::notify(vm);
  if (!pipeline_input.empty()) {
    set_threads(threads);
    bench::PipelineBenchOptions p;
    p.input = pipeline_input;
    p.shape = vm["shape"].defaulted() ? "dna" : shape;
    p.device = device;
    p.dtype = vm["dtype"].defaulted() && device == "cpu" ? "f32" : dtype;
    p.chunk = vm["chunk"].defaulted() ? 65536 : chunk;
    p.batch = batch;
    return bench::run_pipeline_bench(p) ? 0 : 1;
  }
  if (device != "cpu") {
    bench::GpuBenchOptions g;
    g.device = device;
    g.dtype = dtype;
    if (tokens > 0) g.tokens = tokens;
    if (vm["chunk"].defaulted()) g.chunk = 65536; else g.chunk = chunk;
    g.long_tokens = long_tokens;
    if (!compare_dir.empty()) bench::run_gpu_compare(compare_dir, g);
    else if (stream_tokens > 0) return bench::run_gpu_long_stream(g, stream_tokens) ? 0 : 1;
    else bench::run_gpu_bench(g);
    return 0;
  }
  if (chunk < 1) throw po::error("--chunk must be >= 1");
  if (rounds < 1) throw po::error("--rounds must be >= 1");
  if (shape != "all" && shape != "130m" && shape != "dna") throw po::error("--shape must be 130m, dna or all");
  set_threads(threads);

  std::printf("device cpu, %d threads\n", int(tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism)));
  std::printf("%-6s %10s %7s %14s %14s %8s\n", "shape", "tokens", "chunk", "encoder tok/s", "GEMMs tok/s", "ratio");
  for (const std::string s : {"130m", "dna"}) {
    if (shape != "all" && shape != s) continue;
    const int64_t n = tokens > 0 ? tokens : (s == "130m" ? 8192 : 65536);
    auto r = bench::run_encoder_bench(s, n, chunk, rounds);
    std::printf("%-6s %10lld %7lld %14.0f %14.0f %7.1f%%\n", s.c_str(), (long long)r.tokens,
                (long long)r.chunk, r.encoder_tokens_per_s, r.gemm_tokens_per_s,
                100.0 * r.encoder_tokens_per_s / r.gemm_tokens_per_s);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace mf::cli
