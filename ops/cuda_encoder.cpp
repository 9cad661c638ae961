#include "ops/cuda_encoder.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <utility>

#include "kernels/bias.h"
#include "kernels/conv1d.h"
#include "kernels/embedding.h"
#include "kernels/gemm.h"
#include "kernels/rmsnorm.h"
#include "kernels/scan.h"
#include "ops/cuda_runtime.h"
#include "ops/error.h"

namespace mf {

namespace {
kernels::CastType kernel_type(DType t) {
  switch (t) {
    case DType::F32: return kernels::CastType::F32;
    case DType::F16: return kernels::CastType::F16;
    case DType::BF16: return kernels::CastType::BF16;
    default: fail("the CUDA encoder computes in f32, f16 or bf16, not ", dtype_name(t));
  }
}

// Pinned host buffer (RAII).
struct PinnedBuffer {
  void* p = nullptr;
  explicit PinnedBuffer(size_t bytes) : p(cuda::malloc_host_pinned(bytes)) {}
  ~PinnedBuffer() { cuda::free_host_pinned(p); }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  template <class T> T* as() const { return static_cast<T*>(p); }
};

struct GpuLayer {
  Tensor norm, in_w, in_b, conv_w, conv_b, x_w, dt_w, dt_b, A, D, out_w, out_b;
};

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
}  // namespace

struct CudaEncoder::Impl {
  Device dev;
  kernels::CastType act;
  DType act_dtype;
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  Tensor blas_workspace;
  Tensor embedding, norm_f;
  std::vector<GpuLayer> layers;
  // activations for max_tokens packed tokens
  Tensor hidden, residual, normed, xz, u, dbc, dt, y, out;
  Tensor tokens, seq_start, seq_slot;
  std::unique_ptr<PinnedBuffer> h_tokens, h_out, h_seq_start, h_seq_slot;
  size_t bytes = 0;
  // profiling: events between ops, the kind of op each interval belongs to
  bool profile = false;
  // captured device steps, by (sequences, packed tokens)
  static constexpr size_t kMaxGraphs = 64;
  std::map<std::pair<int64_t, int64_t>, cudaGraphExec_t> graphs;
  void clear_graphs() {
    for (auto& [k, g] : graphs) cudaGraphExecDestroy(g);
    graphs.clear();
  }
  std::vector<cudaEvent_t> events;
  std::vector<int> kinds;
  GpuOpTimes times;
  enum Kind { kGemm, kScan, kConv, kNorm, kOther };

  void mark(int kind) {  // closes the interval of `kind` that began at the previous mark
    if (!profile) return;
    if (events.size() <= kinds.size() + 1) {
      cudaEvent_t e;
      cudaEventCreate(&e);
      events.push_back(e);
    }
    cudaEventRecord(events[kinds.size() + 1], stream);
    kinds.push_back(kind);
  }
  void begin() {
    if (!profile) return;
    if (events.empty()) {
      cudaEvent_t e;
      cudaEventCreate(&e);
      events.push_back(e);
    }
    kinds.clear();
    cudaEventRecord(events[0], stream);
  }
  void collect() {  // after a stream sync
    for (size_t i = 0; i < kinds.size(); ++i) {
      float ms = 0;
      cudaEventElapsedTime(&ms, events[i], events[i + 1]);
      double s = ms * 1e-3;
      switch (kinds[i]) {
        case kGemm: times.gemm += s; break;
        case kScan: times.scan += s; break;
        case kConv: times.conv += s; break;
        case kNorm: times.norm += s; break;
        default: times.other += s; break;
      }
    }
    kinds.clear();
  }

  ~Impl() {
    clear_graphs();
    for (auto e : events) cudaEventDestroy(e);
    if (blas) cublasDestroy(blas);
    cuda::stream_destroy(stream);
  }
};

CudaEncoder::CudaEncoder(std::shared_ptr<const MambaModel> model, Device device, CudaEncoderOptions o)
    : model_(std::move(model)), device_(device), opts_(o), impl_(new Impl) {
  if (!device.is_cuda()) fail("CudaEncoder needs a CUDA device");
  const MambaConfig& c = model_->config;
  c.validate("model");
  if (2 * c.d_inner > 65535)  // grid.y of the conv and bias launches
    fail("the CUDA encoder supports d_inner up to 32767 (this model: ", c.d_inner, ")");
  if (o.max_tokens < 1 || o.max_streams < 1 || o.max_streams > 65535)
    fail("CudaEncoder: max_tokens must be >= 1 and max_streams in [1, 65535]");
  Impl& m = *impl_;
  m.dev = device;
  m.act = kernel_type(o.dtype);
  m.act_dtype = o.dtype;
  bank_ = std::make_shared<StateBank>(c, device, o.max_streams);

  m.profile = o.profile;
  m.stream = static_cast<cudaStream_t>(cuda::stream_create(device.index));
  if (cublasCreate(&m.blas) != CUBLAS_STATUS_SUCCESS) fail("cuBLAS: cannot create a handle on ", device.str());
  cublasSetStream(m.blas, m.stream);
  m.blas_workspace = Tensor::empty({32 << 20}, DType::U8, device);  // fixed, so cuBLAS never allocates
  cublasSetWorkspace(m.blas, m.blas_workspace.raw(), m.blas_workspace.nbytes());

  auto act_w = [&](const Tensor& t) { return t.to(o.dtype).to(device); };  // GEMM weights, embedding
  auto f32 = [&](const Tensor& t) { return t.defined() ? t.to(device) : Tensor(); };
  m.embedding = act_w(model_->embedding);
  m.norm_f = f32(model_->norm_f);
  for (const MambaLayer& L : model_->layers) {
    GpuLayer g;
    g.norm = f32(L.norm);
    g.in_w = act_w(L.in_proj_w);
    g.in_b = f32(L.in_proj_b);
    g.conv_w = f32(L.conv_w);
    g.conv_b = f32(L.conv_b);
    g.x_w = act_w(L.x_proj_w);
    g.dt_w = act_w(L.dt_proj_w);
    g.dt_b = f32(L.dt_proj_b);
    g.A = f32(L.A);
    g.D = f32(L.D);
    g.out_w = act_w(L.out_proj_w);
    g.out_b = f32(L.out_proj_b);
    m.layers.push_back(std::move(g));
  }
  const int64_t T = round_up(o.max_tokens, 8);
  const int64_t XW = c.dt_rank + 2 * c.d_state;
  m.hidden = Tensor::empty({T, c.d_model}, o.dtype, device);
  m.residual = Tensor::empty({T, c.d_model}, DType::F32, device);
  m.normed = Tensor::empty({T, c.d_model}, o.dtype, device);
  m.xz = Tensor::empty({2 * c.d_inner, T}, o.dtype, device);
  m.u = Tensor::empty({c.d_inner, T}, o.dtype, device);
  m.dbc = Tensor::empty({XW, T}, o.dtype, device);
  m.dt = Tensor::empty({c.d_inner, T}, o.dtype, device);
  m.y = Tensor::empty({c.d_inner, T}, o.dtype, device);
  m.out = Tensor::empty({T, c.d_model}, DType::F32, device);
  m.tokens = Tensor::empty({T}, DType::I32, device);
  m.seq_start = Tensor::empty({o.max_streams + 1}, DType::I64, device);
  m.seq_slot = Tensor::empty({o.max_streams}, DType::I32, device);
  m.h_tokens = std::make_unique<PinnedBuffer>(size_t(T) * 4);
  m.h_out = std::make_unique<PinnedBuffer>(size_t(T * c.d_model) * 4);
  m.h_seq_start = std::make_unique<PinnedBuffer>(size_t(o.max_streams + 1) * 8);
  m.h_seq_slot = std::make_unique<PinnedBuffer>(size_t(o.max_streams) * 4);
  for (const Tensor* t : {&m.blas_workspace, &m.embedding, &m.norm_f, &m.hidden, &m.residual, &m.normed, &m.xz,
                          &m.u, &m.dbc, &m.dt, &m.y, &m.out, &m.tokens, &m.seq_start, &m.seq_slot})
    m.bytes += t->nbytes();
  for (const GpuLayer& g : m.layers)
    for (const Tensor* t : {&g.norm, &g.in_w, &g.in_b, &g.conv_w, &g.conv_b, &g.x_w, &g.dt_w, &g.dt_b, &g.A, &g.D, &g.out_w, &g.out_b})
      if (t->defined()) m.bytes += t->nbytes();
  m.bytes += size_t(c.n_layer * o.max_streams * (bank_->conv_stride() + bank_->ssm_stride())) * 4;
}

GpuOpTimes CudaEncoder::op_times() const { return impl_->times; }
void CudaEncoder::reset_op_times() { impl_->times = {}; }
size_t CudaEncoder::device_bytes() const { return impl_->bytes; }

CudaEncoder::~CudaEncoder() = default;

void CudaEncoder::forward(const std::vector<ChunkRef>& chunks) {
  const MambaConfig& c = model_->config;
  Impl& m = *impl_;
  if (int64_t(chunks.size()) > opts_.max_streams)
    fail("a batch of ", chunks.size(), " chunks exceeds max_streams (", opts_.max_streams, ")");
  std::vector<bool> seen(size_t(opts_.max_streams), false);
  for (const ChunkRef& ch : chunks) {
    if (!bank_->is_open(ch.slot)) fail("CudaEncoder::forward: state slot ", ch.slot, " is not open");
    if (seen[size_t(ch.slot)]) fail("CudaEncoder::forward: two chunks of one batch use state slot ", ch.slot);
    seen[size_t(ch.slot)] = true;
  }
  for (const ChunkRef& ch : chunks)
    for (int64_t i = 0; i < ch.n; ++i)
      if (ch.tokens[i] < 0 || ch.tokens[i] >= c.vocab_size)
        fail("token id ", ch.tokens[i], " at chunk position ", i, " is outside the model's vocabulary [0, ",
             c.vocab_size, ")");
  std::vector<int64_t> done(chunks.size(), 0);
  const int64_t D = c.d_model, DI = c.d_inner, N = c.d_state, R = c.dt_rank, XW = R + 2 * N;

  for (;;) {
    // Pack the next piece: from each unfinished chunk, as many tokens as the budget allows.
    int64_t total = 0;
    std::vector<size_t> which;
    std::vector<int64_t> take;
    int64_t* h_start = m.h_seq_start->as<int64_t>();
    int32_t* h_slot = m.h_seq_slot->as<int32_t>();
    int32_t* h_tok = m.h_tokens->as<int32_t>();
    for (size_t i = 0; i < chunks.size() && total < opts_.max_tokens; ++i) {
      const int64_t left = chunks[i].n - done[i];
      if (left <= 0) continue;
      const int64_t k = std::min(left, opts_.max_tokens - total);
      h_start[which.size()] = total;
      h_slot[which.size()] = chunks[i].slot;
      std::memcpy(h_tok + total, chunks[i].tokens + done[i], size_t(k) * 4);
      which.push_back(i);
      take.push_back(k);
      total += k;
    }
    if (total == 0) break;
    const int64_t S = int64_t(which.size());
    h_start[S] = total;
    const int64_t ld = round_up(total, 8);  // channel-major leading dimension (16-byte aligned rows)
    cudaStream_t st = m.stream;
    cuda::memcpy(m.tokens.raw(), h_tok, size_t(total) * 4, cuda::CopyKind::HostToDevice, st);
    cuda::memcpy(m.seq_start.raw(), h_start, size_t(S + 1) * 8, cuda::CopyKind::HostToDevice, st);
    cuda::memcpy(m.seq_slot.raw(), h_slot, size_t(S) * 4, cuda::CopyKind::HostToDevice, st);

    // The device work of this piece: replayed from a CUDA graph when one was captured for
    // this (sequences, tokens) shape, so a small chunk does not pay dozens of launches.
    auto device_work = [&] {
      m.begin();
      kernels::launch_embedding({m.tokens.data<int32_t>(), total, m.embedding.raw(), D, m.hidden.raw(), D, m.act}, st);
      m.mark(Impl::kOther);
      auto gemm = [&](bool ta, bool tb, int64_t mm, int64_t nn, int64_t kk, const void* a, int64_t lda,
                      const void* b, int64_t ldb, void* cc, int64_t ldc) {
        kernels::launch_gemm({ta, tb, mm, nn, kk, a, lda, b, ldb, cc, ldc, m.act}, m.blas);
      };
      const size_t esz = dtype_size(m.act_dtype);
      auto at = [&](const Tensor& t, int64_t row, int64_t row_len) {  // row `row` of a [rows, row_len] buffer
        return static_cast<void*>(static_cast<char*>(t.raw()) + size_t(row * row_len) * esz);
      };
      for (int64_t l = 0; l < c.n_layer; ++l) {
        const GpuLayer& L = m.layers[size_t(l)];
        kernels::RmsNormParams np{m.hidden.raw(), D, m.residual.data<float>(), D, m.normed.raw(), D,
                                  L.norm.data<float>(), total, D, float(c.eps), l == 0, m.act, m.act};
        kernels::launch_rmsnorm(np, st);
        m.mark(Impl::kNorm);
        // xz[2DI, ld] = W_in . normed^T
        gemm(true, false, total, 2 * DI, D, m.normed.raw(), D, L.in_w.raw(), D, m.xz.raw(), ld);
        m.mark(Impl::kGemm);
        if (L.in_b.defined()) {
          kernels::launch_add_bias({m.xz.raw(), m.act, L.in_b.data<float>(), 2 * DI, total, ld, 1}, st);
          m.mark(Impl::kOther);
        }
        kernels::Conv1dParams cp{};
        cp.x = m.xz.raw(); cp.y = m.u.raw();
        cp.tail = bank_->conv(l); cp.weight = L.conv_w.data<float>(); cp.bias = L.conv_b.defined() ? L.conv_b.data<float>() : nullptr;
        cp.n = total; cp.channels = DI; cp.width = int(c.d_conv); cp.silu = true;
        cp.x_cstride = ld; cp.y_cstride = ld; cp.x_type = m.act; cp.y_type = m.act;
        cp.n_seqs = S; cp.seq_start = m.seq_start.data<int64_t>(); cp.seq_slot = m.seq_slot.data<int32_t>();
        cp.slot_stride = bank_->conv_stride();
        kernels::launch_conv1d(cp, st);
        m.mark(Impl::kConv);
        // dbc[XW, ld] = W_x . u ; dt[DI, ld] = W_dt . dbc[0:R]
        gemm(false, false, total, XW, DI, m.u.raw(), ld, L.x_w.raw(), DI, m.dbc.raw(), ld);
        gemm(false, false, total, DI, R, m.dbc.raw(), ld, L.dt_w.raw(), R, m.dt.raw(), ld);
        m.mark(Impl::kGemm);
        kernels::ScanParams sp{};
        sp.u = m.u.raw(); sp.dt = m.dt.raw(); sp.z = at(m.xz, DI, ld); sp.y = m.y.raw();
        sp.B = at(m.dbc, R, ld);
        sp.C = at(m.dbc, R + N, ld);
        sp.dt_bias = L.dt_b.data<float>(); sp.A = L.A.data<float>(); sp.D = L.D.data<float>();
        sp.state = bank_->ssm(l);
        sp.n = total; sp.d_inner = DI; sp.d_state = int(N);
        sp.u_cstride = sp.dt_cstride = sp.z_cstride = sp.y_cstride = sp.bc_cstride = ld;
        sp.act_type = m.act;
        sp.n_seqs = S; sp.seq_start = m.seq_start.data<int64_t>(); sp.seq_slot = m.seq_slot.data<int32_t>();
        sp.slot_stride = bank_->ssm_stride();
        kernels::launch_scan(sp, st);
        m.mark(Impl::kScan);
        // hidden[total, D] = y^T . W_out^T
        gemm(true, true, D, total, DI, L.out_w.raw(), DI, m.y.raw(), ld, m.hidden.raw(), D);
        m.mark(Impl::kGemm);
        if (L.out_b.defined()) {
          kernels::launch_add_bias({m.hidden.raw(), m.act, L.out_b.data<float>(), D, total, 1, D}, st);
          m.mark(Impl::kOther);
        }
      }
      kernels::RmsNormParams fp{m.hidden.raw(), D, m.residual.data<float>(), D, m.out.raw(), D,
                                m.norm_f.data<float>(), total, D, float(c.eps), false, m.act,
                                kernels::CastType::F32};
      kernels::launch_rmsnorm(fp, st);
      m.mark(Impl::kNorm);
    };
    const bool use_graph = opts_.cuda_graphs && !m.profile && !cuda::sync_checks();
    if (use_graph) {
      auto key = std::make_pair(S, total);
      auto it = m.graphs.find(key);
      if (it == m.graphs.end()) {
        if (m.graphs.size() >= Impl::kMaxGraphs) m.clear_graphs();
        cudaGraph_t graph = nullptr;
        cudaGraphExec_t exec = nullptr;
        if (cudaStreamBeginCapture(st, cudaStreamCaptureModeThreadLocal) != cudaSuccess)
          fail("CUDA: cannot begin graph capture");
        device_work();
        if (cudaStreamEndCapture(st, &graph) != cudaSuccess || cudaGraphInstantiate(&exec, graph, 0) != cudaSuccess) {
          if (graph) cudaGraphDestroy(graph);
          fail("CUDA: graph capture of the encoder step failed");
        }
        cudaGraphDestroy(graph);
        it = m.graphs.emplace(key, exec).first;
      }
      if (cudaGraphLaunch(it->second, st) != cudaSuccess) fail("CUDA: graph launch failed");
    } else {
      device_work();
    }
    bool download = false;
    for (int64_t s = 0; s < S; ++s) download |= chunks[which[size_t(s)]].out != nullptr;
    if (download) cuda::memcpy(m.h_out->p, m.out.raw(), size_t(total * D) * 4, cuda::CopyKind::DeviceToHost, st);
    cuda::stream_synchronize(st);
    m.collect();
    const float* ho = m.h_out->as<float>();
    for (int64_t s = 0; s < S; ++s) {
      const ChunkRef& ch = chunks[which[size_t(s)]];
      if (ch.out)
        std::memcpy(ch.out + done[which[size_t(s)]] * D, ho + h_start[s] * D, size_t(take[size_t(s)] * D) * 4);
      done[which[size_t(s)]] += take[size_t(s)];
    }
  }
}

}  // namespace mf
