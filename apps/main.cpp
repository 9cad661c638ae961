// mambaflow — command-line entry point.
#include <tbb/global_control.h>

#include <atomic>
#include <boost/program_options/errors.hpp>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>

#include "apps/cli.h"
#include "ops/error.h"

namespace mf::cli {

namespace {
std::atomic<bool> g_interrupted{false};
std::unique_ptr<tbb::global_control> g_threads;

extern "C" void on_signal(int) { g_interrupted.store(true); }

const char* kUsage =
    "usage: mambaflow <command> [options]\n"
    "\n"
    "Runs Mamba (selective state-space) encoders over very long sequences, chunk by chunk,\n"
    "with each stream's state carried between chunks.\n"
    "\n"
    "commands:\n"
    "  classify --model DIR [-o OUT] INPUT...    class calls + probabilities over windows of\n"
    "                                            FASTA/FASTQ/SAM/BAM/CRAM records (TSV, JSONL,\n"
    "                                            BED, bedGraph)\n"
    "  tag      --model DIR [-o OUT] INPUT...    multi-label tags over windows (same outputs);\n"
    "                                            audio models: tag events with start/end times\n"
    "  transcribe --model DIR [-o OUT] AUDIO...  speech to text (CTC; TXT, SRT, VTT, JSON)\n"
    "  embed    --model DIR -o OUT INPUT...      hidden states per position or pooled per\n"
    "                                            window, as float32 .npy per record\n"
    "  info     --model DIR                      describe a model (sizes, parameters, task)\n"
    "  bench    [--shape 130m|dna|all]           encoder throughput vs its GEMMs alone\n"
    "\n"
    "'mambaflow <command> --help' shows a command's options.\n";
}  // namespace

bool interrupted() { return g_interrupted.load(); }
const std::atomic<bool>* interrupted_flag() { return &g_interrupted; }

void install_signal_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

void set_threads(int n) {
  if (n < 0) throw ::boost::program_options::error("--threads must be >= 0");
  if (n == 0) return;
  g_threads = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                    size_t(n));
}

}  // namespace mf::cli

int main(int argc, char** argv) {
  using namespace mf::cli;
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::puts("mambaflow 0.1.0");
    return 0;
  }
  const std::string cmd = argv[1];
  Args args(argv + 2, argv + argc);
  try {
    if (cmd == "info") return cmd_info(args);
    if (cmd == "embed") return cmd_embed(args);
    if (cmd == "classify") return cmd_classify(args);
    if (cmd == "tag") return cmd_tag(args);
    if (cmd == "transcribe") return cmd_transcribe(args);
    if (cmd == "bench") return cmd_bench(args);
    std::fprintf(stderr, "mambaflow: error: unknown command '%s'\n\n%s", cmd.c_str(), kUsage);
    return 2;
  } catch (const boost::program_options::error& e) {
    std::fprintf(stderr, "mambaflow: error: %s\nTry 'mambaflow %s --help'.\n", e.what(), cmd.c_str());
    return 2;
  } catch (const mf::Error& e) {
    std::fprintf(stderr, "mambaflow: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "mambaflow: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mambaflow: error: %s\n", e.what());
    return 1;
  }
}
