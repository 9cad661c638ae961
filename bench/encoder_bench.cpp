#include "bench/encoder_bench.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <random>
#include <vector>

#include "kernels/gemm.h"
#include "ops/encoder.h"
#include "ops/error.h"

namespace mf::bench {

MambaConfig bench_shape(const std::string& name) {
  MambaConfig c;
  if (name == "130m") {
    c.d_model = 768; c.n_layer = 24; c.vocab_size = 50280;
  } else if (name == "dna") {
    c.d_model = 128; c.n_layer = 4; c.vocab_size = 12;
  } else {
    fail("unknown benchmark shape '", name, "' (expected 130m or dna)");
  }
  c.d_state = 16;
  c.d_inner = 2 * c.d_model;
  c.d_conv = 4;
  c.dt_rank = (c.d_model + 15) / 16;
  c.source_format = "random";
  return c;
}

namespace {
using clock = std::chrono::steady_clock;
double since(clock::time_point t) { return std::chrono::duration<double>(clock::now() - t).count(); }
}  // namespace

EncoderBenchResult run_encoder_bench(const std::string& shape, int64_t tokens, int64_t chunk, int rounds) {
  const MambaConfig c = bench_shape(shape);
  auto model = std::make_shared<MambaModel>(make_random_model(c, 1234));
  Encoder enc(model, Device::cpu());
  std::mt19937 rng(7);
  std::vector<int32_t> ids(static_cast<size_t>(chunk));
  for (auto& t : ids) t = int32_t(rng() % uint32_t(c.vocab_size));
  std::vector<float> out(size_t(chunk * c.d_model));

  EncoderBenchResult r;
  r.shape = shape;
  r.tokens = tokens;
  r.chunk = chunk;
  r.rounds = rounds;

  auto run_encoder = [&] {
    EncoderState st = enc.new_state();
    auto t0 = clock::now();
    for (int64_t done = 0; done < tokens; done += chunk)
      enc.forward(ids.data(), std::min(chunk, tokens - done), st, out.data());
    return since(t0);
  };
  // The encoder's four GEMMs per layer, same shapes and piece size, on the same weights.
  const int64_t m = std::min(chunk, Encoder::kMaxPiece);
  const int64_t D = c.d_model, DI = c.d_inner, XW = c.dt_rank + 2 * c.d_state;
  std::vector<float> a(size_t(m * std::max(D, DI)), 0.5f), xz(size_t(m * 2 * DI)),
      dbc(size_t(m * XW), 0.1f), dt(size_t(m * DI)), h(size_t(m * D));
  auto run_gemms = [&] {
    auto t0 = clock::now();
    for (int64_t done = 0; done < tokens; done += m) {
      const int64_t rows = std::min(m, tokens - done);
      for (const auto& L : model->layers) {
        kernels::gemm_cpu({a.data(), D, L.in_proj_w.data<float>(), D, xz.data(), 2 * DI, nullptr, rows, 2 * DI, D});
        kernels::gemm_cpu({a.data(), DI, L.x_proj_w.data<float>(), DI, dbc.data(), XW, nullptr, rows, XW, DI});
        kernels::gemm_cpu({dbc.data(), XW, L.dt_proj_w.data<float>(), c.dt_rank, dt.data(), DI, nullptr, rows, DI, c.dt_rank});
        kernels::gemm_cpu({a.data(), DI, L.out_proj_w.data<float>(), DI, h.data(), D, nullptr, rows, D, DI});
      }
    }
    return since(t0);
  };
  {  // warm-up: scratch allocation, thread pools, page faults
    EncoderState st = enc.new_state();
    enc.forward(ids.data(), chunk, st, out.data());
  }
  // Interleaved rounds, best of each: a shared machine's noise hits both sides alike.
  r.seconds_encoder = r.seconds_gemm = 1e300;
  for (int i = 0; i < rounds; ++i) {
    r.seconds_encoder = std::min(r.seconds_encoder, run_encoder());
    r.seconds_gemm = std::min(r.seconds_gemm, run_gemms());
  }
  r.encoder_tokens_per_s = double(tokens) / r.seconds_encoder;
  r.gemm_tokens_per_s = double(tokens) / r.seconds_gemm;
  return r;
}

}  // namespace mf::bench
