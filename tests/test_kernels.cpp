// CPU kernels against straightforward double-precision references, and chunked == whole.
#include <cmath>
#include <random>
#include <vector>

#include "kernels/cast.h"
#include "kernels/conv1d.h"
#include "kernels/cpu/vmath.h"
#include "kernels/gemm.h"
#include "kernels/rmsnorm.h"
#include "kernels/scan.h"
#include "tests/catch.h"

using namespace mf::kernels;

namespace {
std::vector<float> randn(size_t n, std::mt19937& rng, float scale = 1.0f, float mean = 0.0f) {
  std::normal_distribution<float> d(mean, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// Random chunk boundaries over [0, n), including chunks of length 0 and 1.
std::vector<int64_t> random_cuts(int64_t n, std::mt19937& rng) {
  std::vector<int64_t> cuts{0};
  while (cuts.back() < n) {
    int64_t step = int64_t(rng() % 4 == 0 ? rng() % 2 : 1 + rng() % 23);
    cuts.push_back(std::min(n, cuts.back() + step));
  }
  return cuts;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(double(a[i]) - double(b[i])));
  return m;
}
}  // namespace

TEST_CASE("vexp, softplus and silu match libm", "[kernels][math]") {
  double worst_exp = 0, worst_sp = 0, worst_silu = 0;
  for (float x = -90.0f; x <= 89.0f; x += 0.0137f) {
    double ref = std::exp(double(x));
    if (ref > 1e-37 && ref < 3e38) worst_exp = std::max(worst_exp, std::abs(mf::kernels::cpu::vexp(x) - ref) / ref);
  }
  for (float x = -40.0f; x <= 40.0f; x += 0.0031f) {
    double sp = x > 20 ? double(x) : std::log1p(std::exp(double(x)));
    worst_sp = std::max(worst_sp, std::abs(mf::kernels::cpu::vsoftplus(x) - sp) / std::max(sp, 1e-30));
    double si = double(x) / (1.0 + std::exp(-double(x)));
    worst_silu = std::max(worst_silu, std::abs(mf::kernels::cpu::vsilu(x) - si) / std::max(std::abs(si), 1e-3));
  }
  CHECK(worst_exp < 4e-7);
  CHECK(worst_sp < 1e-6);
  CHECK(worst_silu < 1e-6);
}

TEST_CASE("gemm with bias matches a naive product", "[kernels][gemm]") {
  std::mt19937 rng(1);
  const int64_t m = 37, n = 19, k = 23, lda = 29;
  auto a = randn(size_t(m * lda), rng), b = randn(size_t(n * k), rng), bias = randn(size_t(n), rng);
  std::vector<float> c(size_t(m * n));
  gemm_cpu({a.data(), lda, b.data(), k, c.data(), n, bias.data(), m, n, k});
  double worst = 0;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double ref = bias[size_t(j)];
      for (int64_t p = 0; p < k; ++p) ref += double(a[size_t(i * lda + p)]) * b[size_t(j * k + p)];
      worst = std::max(worst, std::abs(ref - c[size_t(i * n + j)]));
    }
  CHECK(worst < 1e-4);
}

TEST_CASE("rmsnorm fused with the residual add", "[kernels][rmsnorm]") {
  std::mt19937 rng(2);
  const int64_t rows = 9, cols = 70;
  auto x = randn(size_t(rows * cols), rng), res0 = randn(size_t(rows * cols), rng), w = randn(size_t(cols), rng);
  for (bool init : {true, false}) {
    auto res = res0;
    std::vector<float> y(size_t(rows * cols));
    rmsnorm_cpu({x.data(), cols, res.data(), cols, y.data(), cols, w.data(), rows, cols, 1e-5f, init});
    for (int64_t i = 0; i < rows; ++i) {
      double ss = 0;
      std::vector<double> r(static_cast<size_t>(cols));
      for (int64_t j = 0; j < cols; ++j) {
        r[size_t(j)] = (init ? 0.0 : double(res0[size_t(i * cols + j)])) + x[size_t(i * cols + j)];
        ss += r[size_t(j)] * r[size_t(j)];
      }
      double inv = 1.0 / std::sqrt(ss / double(cols) + 1e-5);
      for (int64_t j = 0; j < cols; ++j) {
        REQUIRE(std::abs(res[size_t(i * cols + j)] - r[size_t(j)]) < 1e-6);
        REQUIRE(std::abs(y[size_t(i * cols + j)] - w[size_t(j)] * r[size_t(j)] * inv) < 1e-5);
      }
    }
  }
}

TEST_CASE("conv1d with tail: reference values and chunked == whole bitwise", "[kernels][conv1d]") {
  std::mt19937 rng(3);
  for (int width : {1, 2, 4, 5}) {
    for (bool bias_on : {true, false}) {
      const int64_t n = 150, C = 70, xs = 2 * C;  // x is the first half of a wider row, as in xz
      auto x = randn(size_t(n * xs), rng), w = randn(size_t(C * width), rng), b = randn(size_t(C), rng);
      std::vector<float> whole(size_t(n * C)), tail(size_t(C * (width - 1)), 0.0f);
      conv1d_cpu({x.data(), xs, whole.data(), C, tail.data(), w.data(), bias_on ? b.data() : nullptr, n, C, width, true});
      // Naive reference (zero history before the stream).
      double worst = 0;
      for (int64_t t = 0; t < n; ++t)
        for (int64_t c = 0; c < C; ++c) {
          double acc = bias_on ? b[size_t(c)] : 0.0;
          for (int k = 0; k < width; ++k) {
            int64_t pos = t - (width - 1) + k;
            if (pos >= 0) acc += double(w[size_t(c * width + k)]) * x[size_t(pos * xs + c)];
          }
          double ref = acc / (1.0 + std::exp(-acc));
          worst = std::max(worst, std::abs(ref - whole[size_t(t * C + c)]));
        }
      CHECK(worst < 1e-5);
      // Final tail = last width-1 inputs.
      for (int64_t c = 0; c < C; ++c)
        for (int j = 0; j < width - 1; ++j)
          REQUIRE(tail[size_t(c * (width - 1) + j)] == x[size_t((n - (width - 1) + j) * xs + c)]);
      // Random chunkings (lengths 0 and 1 included) give bitwise the same output.
      for (int rep = 0; rep < 3; ++rep) {
        std::vector<float> chunked(size_t(n * C)), t2(size_t(C * (width - 1)), 0.0f);
        auto cuts = random_cuts(n, rng);
        for (size_t i = 0; i + 1 < cuts.size(); ++i)
          conv1d_cpu({x.data() + cuts[i] * xs, xs, chunked.data() + cuts[i] * C, C, t2.data(), w.data(),
                      bias_on ? b.data() : nullptr, cuts[i + 1] - cuts[i], C, width, true});
        REQUIRE(chunked == whole);
        REQUIRE(t2 == tail);
      }
    }
  }
}

namespace {
// Double-precision selective scan, as transformers' MambaMixer writes it.
void scan_reference(const ScanParams& p, std::vector<double>& state, std::vector<double>& y) {
  const int N = p.d_state;
  auto at = [](const void* base, int64_t i) { return double(static_cast<const float*>(base)[i]); };
  for (int64_t t = 0; t < p.n; ++t)
    for (int64_t d = 0; d < p.d_inner; ++d) {
      double x = at(p.dt, t * p.dt_stride + d) + (p.dt_bias ? p.dt_bias[d] : 0.0);
      double delta = x > 20 ? x : std::log1p(std::exp(x));
      double u = at(p.u, t * p.u_stride + d), acc = 0;
      for (int n = 0; n < N; ++n) {
        double& h = state[size_t(d * N + n)];
        h = std::exp(delta * p.A[d * N + n]) * h + delta * at(p.B, t * p.B_stride + n) * u;
        acc += h * at(p.C, t * p.C_stride + n);
      }
      double out = acc + (p.D ? p.D[d] * u : 0.0);
      if (p.z) { double z = at(p.z, t * p.z_stride + d); out *= z / (1.0 + std::exp(-z)); }
      y[size_t(t * p.d_inner + d)] = out;
    }
}
}  // namespace

TEST_CASE("selective scan: reference values and chunked == whole bitwise", "[kernels][scan]") {
  std::mt19937 rng(4);
  for (int N : {1, 7, 16, 32}) {
    const int64_t n = 120, DI = 37;  // odd channel count: exercises the partial lane block
    auto u = randn(size_t(n * DI), rng), dt = randn(size_t(n * DI), rng, 1.0f, -2.0f);
    auto bias = randn(size_t(DI), rng, 0.5f), B = randn(size_t(n * N), rng), C = randn(size_t(n * N), rng);
    auto D = randn(size_t(DI), rng, 0.5f, 1.0f), z = randn(size_t(n * DI), rng);
    std::vector<float> A(size_t(DI * N));
    std::uniform_real_distribution<float> ua(0.5f, 16.0f);
    for (auto& a : A) a = -ua(rng);
    auto init = randn(size_t(DI * N), rng, 0.3f);

    auto params = [&](int64_t t0, int64_t len, float* y, float* state) {
      ScanParams p{};
      p.u = u.data() + t0 * DI; p.u_stride = DI;
      p.dt = dt.data() + t0 * DI; p.dt_stride = DI;
      p.dt_bias = bias.data(); p.A = A.data();
      p.B = B.data() + t0 * N; p.B_stride = N;
      p.C = C.data() + t0 * N; p.C_stride = N;
      p.D = D.data(); p.z = z.data() + t0 * DI; p.z_stride = DI;
      p.y = y + t0 * DI; p.y_stride = DI;
      p.state = state; p.n = len; p.d_inner = DI; p.d_state = N;
      return p;
    };
    std::vector<float> whole(size_t(n * DI)), st = init;
    scan_cpu(params(0, n, whole.data(), st.data()));

    std::vector<double> ref_state(init.begin(), init.end()), ref_y(size_t(n * DI));
    scan_reference(params(0, n, nullptr, nullptr), ref_state, ref_y);
    double worst = 0, worst_state = 0;
    for (size_t i = 0; i < whole.size(); ++i) worst = std::max(worst, std::abs(whole[i] - ref_y[i]) / (1 + std::abs(ref_y[i])));
    for (size_t i = 0; i < st.size(); ++i) worst_state = std::max(worst_state, std::abs(st[i] - ref_state[i]) / (1 + std::abs(ref_state[i])));
    CHECK(worst < 1e-5);
    CHECK(worst_state < 1e-5);

    for (int rep = 0; rep < 3; ++rep) {
      std::vector<float> chunked(size_t(n * DI)), st2 = init;
      auto cuts = random_cuts(n, rng);
      for (size_t i = 0; i + 1 < cuts.size(); ++i)
        scan_cpu(params(cuts[i], cuts[i + 1] - cuts[i], chunked.data(), st2.data()));
      REQUIRE(chunked == whole);
      REQUIRE(st2 == st);
    }
  }
}

TEST_CASE("cast f32 <-> bf16 / f16 rounds to nearest even", "[kernels][cast]") {
  std::vector<float> src = {0.0f, 1.0f, -2.5f, 1.00390625f /* bf16 tie */, 65504.0f, 1e-8f, 3.14159265f};
  for (CastType t : {CastType::BF16, CastType::F16}) {
    std::vector<uint16_t> half(src.size());
    std::vector<float> back(src.size());
    cast_cpu({src.data(), CastType::F32, half.data(), t, int64_t(src.size())});
    cast_cpu({half.data(), t, back.data(), CastType::F32, int64_t(src.size())});
    const double rel = t == CastType::BF16 ? 1.0 / 256 : 1.0 / 2048;
    for (size_t i = 0; i < src.size(); ++i)
      CHECK(std::abs(back[i] - src[i]) <= rel * std::abs(src[i]) + (t == CastType::F16 ? 6e-8 : 0));
  }
  uint16_t tie;
  float one_tie = 1.00390625f;  // exactly between two bf16 values: rounds to even (1.0)
  cast_cpu({&one_tie, CastType::F32, &tie, CastType::BF16, 1});
  CHECK(tie == 0x3f80);
}
