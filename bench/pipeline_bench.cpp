#include "bench/pipeline_bench.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>

#include "bench/encoder_bench.h"
#include "io/results.h"
#include "ops/encoder.h"
#include "ops/error.h"
#include "pipeline/dna_pipeline.h"

namespace mf::bench {

bool run_pipeline_bench(const PipelineBenchOptions& o) {
  MambaConfig c = bench_shape(o.shape);
  auto model = std::make_shared<MambaModel>(make_random_model(c, 17));
  const int64_t K = 5;
  Tensor w = Tensor::empty({K, c.d_model}, DType::F32), b = Tensor::zeros({K}, DType::F32);
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 0.1f);
  for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = nd(rng);
  model->head["head.weight"] = w;
  model->head["head.bias"] = b;

  PipelineOptions po;
  po.device = Encoder::choose_device(o.device);
  po.dtype = o.dtype == "bf16" ? DType::BF16 : o.dtype == "f16" ? DType::F16 : DType::F32;
  po.chunk = o.chunk;
  po.batch = o.batch;
  po.task.task = Task::Classify;
  po.task.labels = {"a", "b", "c", "d", "e"};
  po.task.window = 4096;
  po.task.stride = 2048;

  // 1. The pipeline: file -> tokens -> encoder -> pooling + head -> TSV.
  const auto tmp = std::filesystem::temp_directory_path() / ("mambaflow-bench-" + std::to_string(::getpid()) + ".tsv");
  // Run twice on one pipeline: the first (cold) run includes first-use costs (CUDA graph
  // captures for new step shapes, page faults); the second (warm) run is what a process that
  // classifies many inputs sees, and is compared with the (warmed-up) encoder alone.
  PipelineStats cold, st;
  std::string where;
  {
    DnaPipeline p(model, po);
    where = p.describe();
    TableOptions t;
    t.output = tmp.string();
    t.labels = po.task.labels;
    for (PipelineStats* r : {&cold, &st}) {
      auto sink = make_table_sink(t);
      *r = p.run({o.input}, *sink);
    }
  }
  const double rss = host_peak_rss_mib();
  std::error_code ec;
  const auto out_bytes = std::filesystem::file_size(tmp, ec);
  std::filesystem::remove(tmp, ec);
  for (const auto& f : cold.failures) std::fprintf(stderr, "mambaflow: error: %s\n", f.message.c_str());
  const double pipe_rate = double(st.bases) / st.seconds;

  // 2. The encoder alone: the same model, device and chunk, outputs to host memory, random
  //    tokens (its speed does not depend on them), one stream as a genome's records are.
  const int64_t n = std::max<int64_t>(1, std::min(o.encoder_tokens, st.bases));
  Encoder enc(model, po.device, po.dtype, EncoderLimits{std::max<int64_t>(o.chunk, 65536), 8});
  std::vector<int32_t> tok(size_t(std::min(n, o.chunk)));
  for (auto& t : tok) t = int32_t(7 + rng() % 4);
  std::vector<float> out(tok.size() * size_t(c.d_model));
  EncoderState s = enc.new_state();
  enc.forward(tok.data(), int64_t(tok.size()), s, out.data());  // warm-up
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t done = 0; done < n;) {
    const int64_t m = std::min<int64_t>(int64_t(tok.size()), n - done);
    enc.forward(tok.data(), m, s, out.data());
    done += m;
  }
  const double enc_rate = double(n) / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::printf("pipeline bench: shape %s, %s, chunk %lld, batch %lld, classify window 4096 stride 2048\n",
              o.shape.c_str(), where.c_str(), (long long)o.chunk, (long long)o.batch);
  std::printf("  input %s: %lld records, %lld bases in %.2f s, TSV %llu bytes\n", o.input.c_str(),
              (long long)st.records, (long long)st.bases, st.seconds, (unsigned long long)out_bytes);
  const double cold_rate = double(cold.bases) / cold.seconds;
  std::printf("  pipeline end to end, warm: %.0f bases/s; encoder alone (%lld tokens, warmed up): %.0f tokens/s; ratio %.1f%%  (target >= 80%% on the GPU)\n",
              pipe_rate, (long long)n, enc_rate, 100.0 * pipe_rate / enc_rate);
  std::printf("  pipeline end to end, cold (first run of the process): %.0f bases/s in %.2f s; ratio %.1f%%\n",
              cold_rate, cold.seconds, 100.0 * cold_rate / enc_rate);
  std::printf("  peak resident host memory during the pipeline: %.1f MiB\n", rss);
  return st.failures.empty();
}

}  // namespace mf::bench
