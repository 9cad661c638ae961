#include "bench/gpu_bench.h"

#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <vector>

#include "bench/encoder_bench.h"
#include "io/model_loader.h"
#include "io/safetensors.h"
#include "ops/cuda_encoder.h"
#include "ops/cuda_runtime.h"
#include "ops/error.h"

namespace mf::bench {

namespace {
using clock = std::chrono::steady_clock;
double since(clock::time_point t) { return std::chrono::duration<double>(clock::now() - t).count(); }

DType parse_dtype(const std::string& s) {
  if (s == "bf16") return DType::BF16;
  if (s == "f16") return DType::F16;
  if (s == "f32") return DType::F32;
  fail("--dtype must be bf16, f16 or f32");
}

std::vector<int32_t> random_tokens(int64_t n, int64_t vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (auto& t : v) t = int32_t(rng() % uint32_t(vocab));
  return v;
}

// Runs `streams` streams of tokens/streams each, `chunk / streams` tokens per stream per
// launch. Returns seconds. out_host: download the outputs to host memory too.
double run_streams(CudaEncoder& enc, int64_t streams, int64_t tokens, int64_t chunk, bool out_host,
                   const std::vector<int32_t>& ids) {
  const int64_t per_stream = tokens / streams, step = std::max<int64_t>(1, chunk / streams);
  std::vector<int32_t> slots;
  for (int64_t s = 0; s < streams; ++s) slots.push_back(enc.states().open());
  std::vector<float> out(out_host ? size_t(step * enc.config().d_model * streams) : 0);
  auto t0 = clock::now();
  for (int64_t pos = 0; pos < per_stream; pos += step) {
    std::vector<ChunkRef> chunks;
    const int64_t n = std::min(step, per_stream - pos);
    for (int64_t s = 0; s < streams; ++s)
      chunks.push_back({slots[size_t(s)], ids.data() + (pos % (int64_t(ids.size()) - step)), n,
                        out_host ? out.data() + s * step * enc.config().d_model : nullptr});
    enc.forward(chunks);
  }
  const double secs = since(t0);
  for (int32_t s : slots) enc.states().close(s);
  return secs;
}
}  // namespace

void run_gpu_bench(const GpuBenchOptions& o) {
  const Device dev = parse_device(o.device);
  if (!dev.is_cuda()) fail("bench --device must name a CUDA GPU here");
  const DType dt = parse_dtype(o.dtype);
  std::printf("device %s (%s), dtype %s\n", dev.str().c_str(), device_description(dev).c_str(), o.dtype.c_str());

  // --- 130m shape: throughput, GEMM share, scan bandwidth --------------------------------
  const MambaConfig c = bench_shape("130m");
  auto model = std::make_shared<MambaModel>(make_random_model(c, 1234));
  CudaEncoderOptions eo;
  eo.dtype = dt;
  eo.max_tokens = o.chunk;
  eo.max_streams = 16;
  eo.profile = true;
  CudaEncoder enc(model, dev, eo);
  const auto ids = random_tokens(std::max<int64_t>(o.chunk * 2, 1 << 20), c.vocab_size, 7);
  run_streams(enc, 1, o.chunk, o.chunk, false, ids);  // warm-up
  enc.reset_op_times();

  const double t1 = run_streams(enc, 1, o.tokens, o.chunk, false, ids);
  const GpuOpTimes ops1 = enc.op_times();
  const double t1h = run_streams(enc, 1, o.tokens, o.chunk, true, ids);
  const double t8 = run_streams(enc, 8, o.tokens, o.chunk, false, ids);
  std::printf("\n130m shape (d_model 768, 24 layers, d_state 16, expand 2), %lld tokens, %lld per launch\n",
              (long long)o.tokens, (long long)o.chunk);
  std::printf("  1 stream,  output kept on the GPU : %10.0f tokens/s  (target >= 1.5M)\n", double(o.tokens) / t1);
  std::printf("  1 stream,  output copied to host  : %10.0f tokens/s\n", double(o.tokens) / t1h);
  std::printf("  8 streams, output kept on the GPU : %10.0f tokens/s  (target >= 2M)\n", double(o.tokens) / t8);
  std::printf("  GPU time by op (1 stream): GEMMs %.3f s, scan %.3f s, conv %.3f s, norm %.3f s, other %.3f s\n",
              ops1.gemm, ops1.scan, ops1.conv, ops1.norm, ops1.other);
  std::printf("  encoder GPU time / its GEMMs' time: %.2fx  (target <= 2x)\n", ops1.total() / ops1.gemm);
  const double esz = double(dtype_size(dt));
  const double scan_bytes = double(o.tokens) * double(c.n_layer) * (4.0 * double(c.d_inner) + 2.0 * double(c.d_state)) * esz;
  const double copy_bw = cuda::copy_bandwidth(size_t(1) << 30, dev.index);
  const double scan_bw = scan_bytes / ops1.scan;
  std::printf("  scan: %.0f GB/s moved (u, dt, z in, y out, B, C) vs device copy %.0f GB/s: %.0f%%  (target >= 60%%)\n",
              scan_bw / 1e9, copy_bw / 1e9, 100.0 * scan_bw / copy_bw);

  // --- memory constant in stream length ---------------------------------------------------
  if (o.long_tokens > 0) {
    run_streams(enc, 1, 1 << 20, o.chunk, false, ids);
    const size_t m1 = cuda::memory_in_use(dev.index);
    auto t0 = clock::now();
    run_streams(enc, 1, o.long_tokens, o.chunk, false, ids);
    const double tl = since(t0);
    const size_t m16 = cuda::memory_in_use(dev.index);
    std::printf("  device memory in use: after a 1M-token stream %.1f MiB, after a %lldM-token stream %.1f MiB "
                "(%.0f tokens/s); encoder allocation %.1f MiB\n",
                double(m1) / 1048576.0, (long long)(o.long_tokens >> 20), double(m16) / 1048576.0,
                double(o.long_tokens) / tl, double(enc.device_bytes()) / 1048576.0);
  }

  // --- per-chunk latency: 4 layers, d_model 256, 320-token chunks -------------------------
  {
    MambaConfig s;
    s.d_model = 256; s.n_layer = 4; s.d_state = 16; s.d_inner = 512; s.d_conv = 4; s.dt_rank = 16;
    s.vocab_size = 256;
    auto small = std::make_shared<MambaModel>(make_random_model(s, 5));
    CudaEncoderOptions so;
    so.dtype = dt;
    so.max_tokens = 320;
    so.max_streams = 1;
    CudaEncoder lat(small, dev, so);
    const auto tok = random_tokens(320, s.vocab_size, 3);
    std::vector<float> out(320 * 256);
    const int32_t slot = lat.states().open();
    std::vector<double> ms;
    for (int i = 0; i < o.latency_chunks + 20; ++i) {
      auto t0 = clock::now();
      lat.forward({{slot, tok.data(), 320, out.data()}});
      if (i >= 20) ms.push_back(since(t0) * 1e3);
    }
    std::sort(ms.begin(), ms.end());
    std::printf("\n4 layers, d_model 256: one 320-token chunk, tokens in and outputs out through host memory:\n"
                "  median %.3f ms, p99 %.3f ms over %d chunks  (target <= 0.5 ms)\n",
                ms[ms.size() / 2], ms[ms.size() * 99 / 100], o.latency_chunks);
  }
}

bool run_gpu_long_stream(const GpuBenchOptions& o, int64_t tokens) {
  const Device dev = parse_device(o.device);
  MambaConfig c;
  c.d_model = 16; c.n_layer = 1; c.d_state = 16; c.d_inner = 32; c.d_conv = 4; c.dt_rank = 1; c.vocab_size = 12;
  auto model = std::make_shared<MambaModel>(make_random_model(c, 21));
  const int64_t chunk = 1 << 20, period = 7;
  CudaEncoderOptions eo;
  eo.dtype = DType::F32;
  eo.max_tokens = chunk;
  eo.max_streams = 1;
  CudaEncoder enc(model, dev, eo);
  const int32_t slot = enc.states().open();
  std::vector<int32_t> ids(static_cast<size_t>(chunk + period));
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = int32_t(7 + (i % period) * 3 % 5);  // period 7
  std::vector<float> first(size_t(chunk * c.d_model)), last(size_t(chunk * c.d_model));
  auto t0 = clock::now();
  int64_t pos = 0;
  int64_t last_n = 0, last_phase = 0;
  while (pos < tokens) {
    const int64_t n = std::min(chunk, tokens - pos);
    const int64_t phase = pos % period;  // ids[phase + i] has the phase of stream position pos + i
    const bool is_first = pos == 0, is_last = pos + n >= tokens;
    enc.forward({{slot, ids.data() + phase, n, is_first ? first.data() : (is_last ? last.data() : nullptr)}});
    if (is_last) { last_n = n; last_phase = phase; }
    pos += n;
  }
  const double secs = since(t0);
  // Compare the last chunk's final rows with rows of the same phase near the end of the first chunk.
  double diff = 0, scale = 0;
  for (int64_t k = 1; k <= 64; ++k) {
    const int64_t lr = last_n - k;                               // row in the last chunk
    const int64_t phase = (last_phase + lr) % period;
    int64_t fr = chunk - k;                                      // a first-chunk row with that phase
    while ((fr % period) != phase) --fr;
    for (int64_t j = 0; j < c.d_model; ++j) {
      const float a = first[size_t(fr * c.d_model + j)], b = last[size_t(lr * c.d_model + j)];
      diff = std::max(diff, double(std::abs(a - b)));
      scale = std::max(scale, double(std::abs(a)));
    }
  }
  const bool ok = diff <= 1e-4 * std::max(1.0, scale);
  std::printf("long stream: %lld tokens (2^31 = %lld) in %.1f s (%.0f tokens/s) on one stream; outputs at the "
              "same phase, first vs last chunk: max abs diff %.3g (scale %.3g): %s\n",
              (long long)tokens, (long long)(int64_t(1) << 31), secs, double(tokens) / secs, diff, scale,
              ok ? "OK" : "MISMATCH");
  return ok;
}

void run_gpu_compare(const std::string& model_dir, const GpuBenchOptions& o) {
  const Device dev = parse_device(o.device);
  auto model = load_model(model_dir);
  SafetensorsFile ref(model_dir + "/reference.safetensors");
  Tensor ids64 = ref.tensor("input_ids");
  Tensor want = ref.tensor("last_hidden_state").to(DType::F32);
  const int64_t L = ids64.dim(0), D = model->config.d_model;
  std::vector<int32_t> ids(static_cast<size_t>(L));
  for (int64_t i = 0; i < L; ++i) ids[size_t(i)] = int32_t(ids64.data<int64_t>()[i]);
  double scale = 0;
  for (int64_t i = 0; i < want.numel(); ++i) scale = std::max(scale, double(std::abs(want.data<float>()[i])));
  for (const char* name : {"f32", "bf16"}) {
    CudaEncoderOptions eo;
    eo.dtype = parse_dtype(name);
    eo.max_tokens = L;
    eo.max_streams = 1;
    CudaEncoder enc(model, dev, eo);
    std::vector<float> out(size_t(L * D));
    double best = 1e300;
    for (int rep = 0; rep < 4; ++rep) {
      const int32_t slot = enc.states().open();
      auto t0 = clock::now();
      enc.forward({{slot, ids.data(), L, out.data()}});
      if (rep > 0) best = std::min(best, since(t0));  // rep 0: warm-up
      enc.states().close(slot);
    }
    double diff = 0;
    for (int64_t i = 0; i < L * D; ++i) diff = std::max(diff, double(std::abs(out[size_t(i)] - want.data<float>()[i])));
    std::printf("mambaflow %-4s: %lld tokens in %.4f s = %.0f tokens/s (outputs to host), max abs diff vs "
                "transformers fp32 %.3g (output scale %.3g)\n",
                name, (long long)L, best, double(L) / best, diff, scale);
  }
}

}  // namespace mf::bench
