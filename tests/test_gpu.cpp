// GPU tests (run by mambaflow_gpu_tests on a machine with a CUDA GPU; skipped elsewhere).
#include <random>

#include "kernels/cast.h"
#include "ops/device.h"
#include "ops/tensor.h"
#include "tests/catch.h"

using namespace mf;

TEST_CASE("device memory round trip", "[gpu]") {
  REQUIRE(cuda_device_count() > 0);
  Device g = parse_device("cuda:0");
  INFO(device_description(g));
  Tensor h = Tensor::empty({1000, 3}, DType::F32);
  for (int64_t i = 0; i < h.numel(); ++i) h.data<float>()[i] = float(i) * 0.25f;
  Tensor d = h.to(g);
  CHECK(d.device() == g);
  Tensor d2 = d.clone();
  Tensor back = d2.to(Device::cpu());
  for (int64_t i = 0; i < h.numel(); ++i) REQUIRE(back.data<float>()[i] == h.data<float>()[i]);
  Tensor z = Tensor::zeros({17}, DType::BF16, g).to(Device::cpu());
  for (int64_t i = 0; i < 17; ++i) REQUIRE(z.data<uint16_t>()[i] == 0);
}

TEST_CASE("cast kernel: GPU equals CPU bitwise", "[gpu][kernels]") {
  Device g = Device::cuda(0);
  Stream stream(g);
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0, 100);
  const int64_t n = 100003;  // odd size
  Tensor src = Tensor::empty({n}, DType::F32);
  for (int64_t i = 0; i < n; ++i) src.data<float>()[i] = nd(rng);
  for (auto [dt, ct] : {std::pair{DType::BF16, kernels::CastType::BF16}, std::pair{DType::F16, kernels::CastType::F16}}) {
    Tensor cpu = Tensor::empty({n}, dt);
    kernels::cast_cpu({src.data<float>(), kernels::CastType::F32, cpu.raw(), ct, n});
    Tensor dsrc = src.to(g), ddst = Tensor::empty({n}, dt, g);
    kernels::launch_cast({dsrc.raw(), kernels::CastType::F32, ddst.raw(), ct, n}, stream.native());
    stream.synchronize();
    Tensor got = ddst.to(Device::cpu());
    for (int64_t i = 0; i < n; ++i) REQUIRE(got.data<uint16_t>()[i] == cpu.data<uint16_t>()[i]);
  }
  kernels::launch_cast({nullptr, kernels::CastType::F32, nullptr, kernels::CastType::BF16, 0}, stream.native());
}

// ---------------------------------------------------------------------------------------
// CUDA ops against their CPU twins, and the GPU encoder against the CPU encoder.
#include <cmath>
#include <memory>

#include "io/model_loader.h"
#include "io/safetensors.h"
#include "kernels/conv1d.h"
#include "kernels/scan.h"
#include "ops/cuda_encoder.h"
#include "ops/encoder.h"
#include "tests/util.h"

namespace {
// Named tolerances (max abs error / output scale).
constexpr double kTolF32 = 1e-4;   // GPU fp32 vs CPU fp32 / transformers
constexpr double kTolChunk = 2e-5; // GPU chunked vs whole (scan order differs per chunking)
constexpr double kTolBF16 = 6e-2;  // GPU bf16 vs fp32 reference

double scale_of(const std::vector<float>& v) {
  double s = 1e-30;
  for (float x : v) s = std::max(s, double(std::abs(x)));
  return s;
}
double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::abs(a[i] - b[i])));
  return m;
}
std::vector<float> randn(size_t n, std::mt19937& rng, float sd = 1, float mean = 0) {
  std::normal_distribution<float> d(mean, sd);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}
Tensor upload(const std::vector<float>& v) {
  Tensor t = Tensor::empty({int64_t(v.size())}, DType::F32);
  std::copy(v.begin(), v.end(), t.data<float>());
  return t.to(Device::cuda(0));
}
template <class T>
Tensor upload_raw(const std::vector<T>& v, DType dt) {
  Tensor t = Tensor::empty({int64_t(v.size())}, dt);
  std::memcpy(t.raw(), v.data(), v.size() * sizeof(T));
  return t.to(Device::cuda(0));
}
std::vector<float> download(const Tensor& t) {
  Tensor h = t.to(Device::cpu());
  return std::vector<float>(h.data<float>(), h.data<float>() + h.numel());
}
// token-major [n, C] (row stride C) -> channel-major [C, ld]
std::vector<float> to_cm(const std::vector<float>& tm, int64_t n, int64_t C, int64_t ld) {
  std::vector<float> cm(size_t(C * ld), 0.0f);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t c = 0; c < C; ++c) cm[size_t(c * ld + t)] = tm[size_t(t * C + c)];
  return cm;
}

MambaConfig config_of(int64_t d_model, int64_t layers, int64_t N, int64_t d_inner, int64_t K, int64_t R, bool bias) {
  MambaConfig c;
  c.d_model = d_model; c.n_layer = layers; c.d_state = N; c.d_inner = d_inner; c.d_conv = K;
  c.dt_rank = R; c.vocab_size = 12; c.use_bias = bias; c.use_conv_bias = !bias;
  return c;
}

std::vector<float> run_stream(Encoder& enc, const std::vector<int32_t>& ids, const std::vector<int64_t>& cuts) {
  const int64_t D = enc.config().d_model;
  std::vector<float> out(ids.size() * size_t(D));
  EncoderState st = enc.new_state();
  for (size_t i = 0; i + 1 < cuts.size(); ++i)
    enc.forward(ids.data() + cuts[i], cuts[i + 1] - cuts[i], st, out.data() + cuts[i] * D);
  return out;
}
}  // namespace

TEST_CASE("conv1d: GPU (packed batch, state slots) equals CPU per sequence", "[gpu][kernels]") {
  std::mt19937 rng(11);
  for (int K : {1, 2, 4}) {
    const int64_t C = 37;
    const std::vector<int64_t> lens = {1, 0, 200, 2, 57};
    const int64_t S = int64_t(lens.size());
    std::vector<int64_t> start{0};
    for (auto l : lens) start.push_back(start.back() + l);
    const int64_t n = start.back(), ld = (n + 7) / 8 * 8;
    auto x = randn(size_t(n * C), rng), w = randn(size_t(C * K), rng), b = randn(size_t(C), rng);
    std::vector<int32_t> slots = {3, 0, 4, 1, 2};
    const int64_t slot_stride = C * (K - 1);
    auto tails = randn(size_t(5 * slot_stride), rng);
    // CPU, each sequence with its slot's tail
    std::vector<float> y_cpu(size_t(n * C)), tails_cpu = tails;
    for (int64_t s = 0; s < S; ++s)
      kernels::conv1d_cpu({x.data() + start[s] * C, C, y_cpu.data() + start[s] * C, C,
                           tails_cpu.data() + slots[size_t(s)] * slot_stride, w.data(), b.data(), lens[size_t(s)], C, K, true});
    // GPU, one launch
    Tensor dx = upload(to_cm(x, n, C, ld)), dy = upload(std::vector<float>(size_t(C * ld), 0.0f));
    Tensor dt = upload(tails), dw = upload(w), db = upload(b);
    Tensor dstart = upload_raw(start, DType::I64), dslot = upload_raw(slots, DType::I32);
    kernels::Conv1dParams p{};
    p.x = dx.raw(); p.y = dy.raw(); p.tail = dt.data<float>(); p.weight = dw.data<float>(); p.bias = db.data<float>();
    p.n = n; p.channels = C; p.width = K; p.silu = true; p.x_cstride = ld; p.y_cstride = ld;
    p.n_seqs = S; p.seq_start = dstart.data<int64_t>(); p.seq_slot = dslot.data<int32_t>(); p.slot_stride = slot_stride;
    kernels::launch_conv1d(p, nullptr);
    auto y_gpu = download(dy), tails_gpu = download(dt);
    CHECK(max_diff(to_cm(y_cpu, n, C, ld), y_gpu) < 1e-5);
    CHECK(max_diff(tails_cpu, tails_gpu) == 0.0);
  }
}

TEST_CASE("scan: GPU (packed batch, state slots) equals CPU per sequence", "[gpu][kernels]") {
  std::mt19937 rng(12);
  for (int N : {16, 7, 32, 40}) {
    const int64_t DI = 19;
    const std::vector<int64_t> lens = {3000, 1, 0, 1025, 64};  // several tiles; a tile edge
    const int64_t S = int64_t(lens.size());
    std::vector<int64_t> start{0};
    for (auto l : lens) start.push_back(start.back() + l);
    const int64_t n = start.back(), ld = (n + 7) / 8 * 8;
    auto u = randn(size_t(n * DI), rng), dt = randn(size_t(n * DI), rng, 1, -2), z = randn(size_t(n * DI), rng);
    auto B = randn(size_t(n * N), rng), Cm = randn(size_t(n * N), rng);
    auto bias = randn(size_t(DI), rng, 0.5f), D = randn(size_t(DI), rng, 0.5f, 1);
    std::vector<float> A(size_t(DI * N));
    std::uniform_real_distribution<float> ua(0.5f, 16.0f);
    for (auto& a : A) a = -ua(rng);
    std::vector<int32_t> slots = {2, 4, 0, 1, 3};
    const int64_t slot_stride = DI * N;
    auto states = randn(size_t(5 * slot_stride), rng, 0.3f);
    std::vector<float> y_cpu(size_t(n * DI)), states_cpu = states;
    for (int64_t s = 0; s < S; ++s) {
      kernels::ScanParams p{};
      const int64_t t0 = start[s];
      p.u = u.data() + t0 * DI; p.u_stride = DI; p.dt = dt.data() + t0 * DI; p.dt_stride = DI;
      p.dt_bias = bias.data(); p.A = A.data(); p.B = B.data() + t0 * N; p.B_stride = N;
      p.C = Cm.data() + t0 * N; p.C_stride = N; p.D = D.data(); p.z = z.data() + t0 * DI; p.z_stride = DI;
      p.y = y_cpu.data() + t0 * DI; p.y_stride = DI; p.state = states_cpu.data() + slots[size_t(s)] * slot_stride;
      p.n = lens[size_t(s)]; p.d_inner = DI; p.d_state = N;
      kernels::scan_cpu(p);
    }
    Tensor du = upload(to_cm(u, n, DI, ld)), ddt = upload(to_cm(dt, n, DI, ld)), dz = upload(to_cm(z, n, DI, ld));
    Tensor dB = upload(to_cm(B, n, N, ld)), dC = upload(to_cm(Cm, n, N, ld)), dy = upload(std::vector<float>(size_t(DI * ld)));
    Tensor dbias = upload(bias), dD = upload(D), dA = upload(A), dst = upload(states);
    Tensor dstart = upload_raw(start, DType::I64), dslot = upload_raw(slots, DType::I32);
    kernels::ScanParams p{};
    p.u = du.raw(); p.dt = ddt.raw(); p.z = dz.raw(); p.y = dy.raw(); p.B = dB.raw(); p.C = dC.raw();
    p.dt_bias = dbias.data<float>(); p.A = dA.data<float>(); p.D = dD.data<float>(); p.state = dst.data<float>();
    p.n = n; p.d_inner = DI; p.d_state = N;
    p.u_cstride = p.dt_cstride = p.z_cstride = p.y_cstride = p.bc_cstride = ld;
    p.n_seqs = S; p.seq_start = dstart.data<int64_t>(); p.seq_slot = dslot.data<int32_t>(); p.slot_stride = slot_stride;
    kernels::launch_scan(p, nullptr);
    auto y_gpu = download(dy), st_gpu = download(dst);
    const auto y_ref = to_cm(y_cpu, n, DI, ld);
    INFO("d_state " << N << ": max |y diff| " << max_diff(y_ref, y_gpu) << ", scale " << scale_of(y_ref));
    CHECK(max_diff(y_ref, y_gpu) <= 1e-5 * scale_of(y_ref));
    CHECK(max_diff(states_cpu, st_gpu) <= 1e-5 * scale_of(states_cpu));
  }
}

TEST_CASE("GPU encoder (fp32) equals the CPU encoder on random models", "[gpu][encoder]") {
  for (auto cfg : {config_of(24, 3, 7, 56, 3, 5, true), config_of(64, 2, 16, 128, 4, 4, false),
                   config_of(48, 1, 32, 80, 2, 3, false)}) {
    auto model = std::make_shared<MambaModel>(make_random_model(cfg, 99));
    Encoder cpu(model, Device::cpu()), gpu(model, Device::cuda(0));
    std::mt19937 rng(3);
    std::vector<int32_t> ids(3000);
    for (auto& t : ids) t = int32_t(rng() % 12);
    auto ref = run_stream(cpu, ids, {0, 3000});
    auto got = run_stream(gpu, ids, {0, 3000});
    INFO("d_state " << cfg.d_state << ": max diff " << max_diff(ref, got) << ", scale " << scale_of(ref));
    CHECK(max_diff(ref, got) <= kTolF32 * scale_of(ref));
  }
}

TEST_CASE("GPU: random chunkings (length 1 included) equal the whole sequence", "[gpu][streaming]") {
  auto model = std::make_shared<MambaModel>(make_random_model(config_of(32, 2, 16, 64, 4, 2, false), 5));
  Encoder gpu(model, Device::cuda(0));
  std::mt19937 rng(8);
  const int64_t L = 2600;
  std::vector<int32_t> ids(static_cast<size_t>(L));
  for (auto& t : ids) t = int32_t(rng() % 12);
  auto whole = run_stream(gpu, ids, {0, L});
  for (int rep = 0; rep < 3; ++rep) {
    std::vector<int64_t> cuts{0};
    while (cuts.back() < L) cuts.push_back(std::min(L, cuts.back() + (rep == 0 ? 1 : int64_t(1 + rng() % 700))));
    auto chunked = run_stream(gpu, ids, cuts);
    INFO("chunking " << rep << ": max diff " << max_diff(whole, chunked));
    CHECK(max_diff(whole, chunked) <= kTolChunk * scale_of(whole));
  }
}

TEST_CASE("GPU: a batch of streams equals each stream alone; pieces; slots", "[gpu][batch]") {
  auto model = std::make_shared<MambaModel>(make_random_model(config_of(32, 2, 16, 64, 4, 2, false), 6));
  CudaEncoderOptions o;
  o.max_tokens = 700;  // forces pieces
  o.max_streams = 8;
  CudaEncoder batched(model, Device::cuda(0), o);
  Encoder single(model, Device::cuda(0));
  const std::vector<int64_t> lens = {1, 17, 1024, 2500, 333};
  std::mt19937 rng(9);
  std::vector<std::vector<int32_t>> ids;
  for (auto l : lens) {
    ids.emplace_back(size_t(2 * l));
    for (auto& t : ids.back()) t = int32_t(rng() % 12);
  }
  std::vector<int32_t> slots;
  std::vector<std::vector<float>> out(lens.size());
  for (size_t i = 0; i < lens.size(); ++i) {
    slots.push_back(batched.states().open());
    out[i].resize(size_t(2 * lens[i] * 32));
  }
  for (int round = 0; round < 2; ++round) {  // two chunks per stream, the state carried
    std::vector<ChunkRef> chunks;
    for (size_t i = 0; i < lens.size(); ++i)
      chunks.push_back({slots[i], ids[i].data() + round * lens[i], lens[i], out[i].data() + round * lens[i] * 32});
    batched.forward(chunks);
  }
  for (size_t i = 0; i < lens.size(); ++i) {
    auto ref = run_stream(single, ids[i], {0, 2 * lens[i]});
    INFO("stream " << i << " (" << lens[i] << " tokens x 2): max diff " << max_diff(ref, out[i]));
    CHECK(max_diff(ref, out[i]) <= kTolChunk * scale_of(ref));
  }
  CHECK(batched.states().in_use() == int64_t(lens.size()));
  batched.states().close(slots[1]);
  CHECK(batched.states().in_use() == int64_t(lens.size()) - 1);
}

TEST_CASE("GPU: a saved state resumes bit-identically; CPU state moves to the GPU", "[gpu][state]") {
  auto model = std::make_shared<MambaModel>(make_random_model(config_of(32, 2, 16, 64, 4, 2, false), 7));
  Encoder gpu(model, Device::cuda(0)), cpu(model, Device::cpu());
  std::vector<int32_t> a(500, 7), b(300);
  for (size_t i = 0; i < b.size(); ++i) b[i] = int32_t(7 + (i * 3) % 5);
  std::vector<float> scratch(500 * 32), out1(300 * 32), out2(300 * 32), out3(300 * 32), out4(300 * 32);
  EncoderState s = gpu.new_state();
  gpu.forward(a.data(), 500, s, scratch.data());
  EncoderState saved = gpu.save(s);
  CHECK(saved.position == 500);
  gpu.forward(b.data(), 300, s, out1.data());
  EncoderState s2 = gpu.new_state();
  gpu.restore(s2, saved);
  gpu.forward(b.data(), 300, s2, out2.data());
  CHECK(out1 == out2);
  // the same stream started on the CPU, resumed on the GPU
  EncoderState c = cpu.new_state();
  cpu.forward(a.data(), 500, c, scratch.data());
  cpu.forward(b.data(), 300, c, out3.data());
  EncoderState c0 = cpu.new_state();
  cpu.forward(a.data(), 500, c0, scratch.data());
  EncoderState g = gpu.new_state();
  gpu.restore(g, cpu.save(c0));
  gpu.forward(b.data(), 300, g, out4.data());
  CHECK(max_diff(out3, out4) <= kTolF32 * scale_of(out3));
}

TEST_CASE("GPU: parity with transformers fixtures in fp32 and bf16", "[gpu][parity]") {
  for (auto& entry : mft::fs::directory_iterator(mft::parity_dir())) {
    if (!entry.is_directory()) continue;
    SafetensorsFile ref((entry.path() / "reference.safetensors").string());
    Tensor ids64 = ref.tensor("input_ids");
    Tensor expected = ref.tensor("last_hidden_state").to(DType::F32);
    std::vector<int32_t> ids(size_t(ids64.dim(0)));
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = int32_t(ids64.data<int64_t>()[i]);
    std::vector<float> want(expected.data<float>(), expected.data<float>() + expected.numel());
    auto model = load_model(entry.path().string());
    for (DType dt : {DType::F32, DType::BF16}) {
      Encoder gpu(model, Device::cuda(0), dt);
      auto got = run_stream(gpu, ids, {0, int64_t(ids.size())});
      const double tol = dt == DType::F32 ? kTolF32 : kTolBF16;
      INFO(entry.path().filename().string() << " " << dtype_name(dt) << ": max diff " << max_diff(want, got)
           << ", scale " << scale_of(want));
      CHECK(max_diff(want, got) <= tol * std::max(1.0, scale_of(want)));
    }
  }
}

// ---- the DNA pipeline on the GPU --------------------------------------------------------
#include "io/fasta.h"
#include "io/results.h"
#include "pipeline/dna_pipeline.h"

namespace {
struct CollectSink : ResultSink {
  std::map<std::string, std::vector<float>> rows;
  std::map<std::string, RecordEnd> ends;
  bool ordered() const override { return false; }
  void positions(const RecordInfo& r, const float* h, int64_t n, int64_t w) override {
    rows[r.name].insert(rows[r.name].end(), h, h + n * w);
  }
  void end_record(const RecordInfo& r, RecordEnd how, int64_t) override { ends[r.name] = how; }
};
}  // namespace

TEST_CASE("GPU pipeline: many records batched across streams equal the CPU encoder", "[gpu][pipeline]") {
  mft::TempDir tmp;
  auto model = load_model(mft::tiny_model().string());
  std::mt19937 rng(8);
  std::vector<std::pair<std::string, std::string>> recs;
  std::string fa;
  for (int i = 0; i < 40; ++i) {
    std::string s;
    const int n = i == 3 ? 0 : 1 + int(rng() % 300);
    for (int j = 0; j < n; ++j) s += "ACGTN"[rng() % 5];
    recs.push_back({"r" + std::to_string(i), s});
    fa += ">r" + std::to_string(i) + "\n" + s + "\n";
  }
  mft::write_file(tmp / "a.fa", fa);
  for (auto [chunk, batch] : std::vector<std::pair<int64_t, int64_t>>{{7, 5}, {64, 16}, {100000, 8}}) {
    PipelineOptions o;
    o.device = Device::cuda(0);
    o.chunk = chunk;
    o.batch = batch;
    DnaPipeline p(model, o);
    CollectSink sink;
    auto st = p.run({(tmp / "a.fa").string()}, sink);
    REQUIRE(st.failures.empty());
    CHECK(st.records == 40);
    Encoder cpu(model, Device::cpu());
    for (auto& [name, seq] : recs) {
      std::vector<int32_t> tok;
      for (char c : seq) tok.push_back(dna::token((unsigned char)c));
      std::vector<float> ref(tok.size() * 64);
      EncoderState s = cpu.new_state();
      cpu.forward(tok.data(), int64_t(tok.size()), s, ref.data());
      CHECK(sink.ends[name] == RecordEnd::Complete);
      REQUIRE(sink.rows[name].size() == ref.size());
      if (!ref.empty()) CHECK(max_diff(ref, sink.rows[name]) <= kTolF32 * scale_of(ref));
    }
  }
}
