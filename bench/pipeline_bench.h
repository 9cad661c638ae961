// The DNA pipeline end to end against the encoder alone, same model, device, chunk and batch,
// in one run: `mambaflow bench --pipeline FILE`. The pipeline runs twice on one object (cold,
// then warm). The model has random weights of a named
// shape ("dna": d_model 128, 4 layers) with a random 5-label classify head (window 4096,
// stride 2048); the speed does not depend on the weights.
#pragma once
#include <cstdint>
#include <string>

namespace mf::bench {

struct PipelineBenchOptions {
  std::string input;          // FASTA/FASTQ/BAM
  std::string shape = "dna";
  std::string device = "auto";
  std::string dtype = "f32";  // bf16/f16 on a GPU
  int64_t chunk = 65536, batch = 8;
  int64_t encoder_tokens = 16 << 20;  // encoder-only measurement length (at most the input's)
};

// Prints the figures; returns false if the pipeline reported a failure.
bool run_pipeline_bench(const PipelineBenchOptions& o);

}  // namespace mf::bench
