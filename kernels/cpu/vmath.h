// Branch-free float math for the CPU kernels, for scalars and for 16-lane vectors (GCC/Clang
// vector extensions; the compiler lowers them to AVX-512, AVX2 or SSE as the target allows).
// No libm calls in inner loops. Accuracy: vexp within ~2 ulp over [-87.3, 88.7] (clamped
// outside); vlog1p_pos (w in [0, 1]) within a few ulp; softplus uses torch's threshold 20.
#pragma once
#include <bit>
#include <cstdint>
#include <cstring>

namespace mf::kernels::cpu {

// Vector width follows the target (AVX-512: 16 lanes, AVX: 8, else 4). The inline namespace
// keeps translation units built for different targets from sharing a definition.
#if defined(__AVX512F__)
#define MF_VEC_LANES 16
inline namespace w16 {
#elif defined(__AVX__)
#define MF_VEC_LANES 8
inline namespace w8 {
#else
#define MF_VEC_LANES 4
inline namespace w4 {
#endif
constexpr int kVecLanes = MF_VEC_LANES;
using vf = float __attribute__((vector_size(kVecLanes * sizeof(float))));
using vi = int32_t __attribute__((vector_size(kVecLanes * sizeof(int32_t))));

inline vf vload(const float* p) { vf v; std::memcpy(&v, p, sizeof v); return v; }
inline void vstore(float* p, vf v) { std::memcpy(p, &v, sizeof v); }

namespace detail {
inline int32_t to_int(float x) { return int32_t(x); }
inline vi to_int(vf x) { return __builtin_convertvector(x, vi); }
inline float as_float(int32_t i) { return std::bit_cast<float>(i); }
inline vf as_float(vi i) { return std::bit_cast<vf>(i); }
inline float select(bool c, float a, float b) { return c ? a : b; }
inline vf select(vi c, vf a, vf b) { return c ? a : b; }
inline float splat(float, float s) { return s; }
inline vf splat(vf, float s) { return vf{} + s; }
}  // namespace detail

namespace detail {
// e^x for x already clamped to [-87.3, 88.7]: x = n ln2 + r, |r| <= ln2/2 (n rounded with the
// 1.5 * 2^23 trick, exact for |n| < 2^22), e^r by a degree-6 polynomial (Cephes expf
// coefficients). Returns e^r and n.
template <class F>
inline F exp_reduced(F x, F& n) {
  const float shifter = 12582912.0f;
  n = (x * 1.44269504088896341f + shifter) - shifter;
  F r = x - n * 0.693359375f;  // ln2 high part (exact product)
  r = r - n * -2.12194440e-4f;  // ln2 low part
  F p = splat(x, 1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  return p * r * r + r + 1.0f;
}
}  // namespace detail

template <class F>
inline F vexp(F x) {
  using namespace detail;
  const F lo = splat(x, -87.33654f), hi = splat(x, 88.7228391f);
  x = select(x < lo, lo, x);
  x = select(x > hi, hi, x);
  F n;
  const F p = exp_reduced(x, n);
  // Scale by 2^n in two steps so that n = 128 (x near 88.7) does not overflow the exponent.
  auto ni = to_int(n);
  auto n1 = ni >> 1;
  auto n2 = ni - n1;
  return p * as_float((n1 + 127) << 23) * as_float((n2 + 127) << 23);
}

// log(1 + w) for w in [0, 1], accurate also for tiny w.
template <class F>
inline F vlog1p_pos(F w) {
  using namespace detail;
  F u = 1.0f + w;  // in [1, 2]
  // log(u) = k + 2 atanh(s), s = (m-1)/(m+1), with u rescaled to m in [1/sqrt2, sqrt2].
  auto big = u > 1.41421356f;
  F m = select(big, u * 0.5f, u);
  F k = select(big, splat(w, 0.69314718056f), splat(w, 0.0f));
  F s = (m - 1.0f) / (m + 1.0f);
  F s2 = s * s;
  F q = splat(w, 0.1111111111f);
  q = q * s2 + 0.1428571429f;
  q = q * s2 + 0.2f;
  q = q * s2 + 0.3333333333f;
  F lg = k + 2.0f * s * (1.0f + s2 * q);
  return lg + (w - (u - 1.0f)) / u;  // corrects the rounding of 1 + w
}

// softplus with torch's default threshold (x > 20 returns x).
template <class F>
inline F vsoftplus(F x) {
  using namespace detail;
  const F zero = splat(x, 0.0f);
  F ax = select(x < zero, -x, x);
  F sp = select(x > zero, x, zero) + vlog1p_pos(vexp(-ax));
  return select(x > 20.0f, x, sp);
}

template <class F>
inline F vsilu(F x) { return x / (1.0f + vexp(-x)); }

// exp(x) for x <= 0 (the scan's exp(delta * A), A < 0): one scaling step, no upper clamp.
// Same accuracy as vexp; exp(x) for x < -87.3 returns exp(-87.3) ~ 1.2e-38 (not 0).
template <class F>
inline F vexp_nonpos(F x) {
  using namespace detail;
  const F lo = splat(x, -87.33654f);
  x = select(x < lo, lo, x);
  F n;
  const F p = exp_reduced(x, n);
  return p * as_float((to_int(n) + 127) << 23);
}

}  // inline namespace

}  // namespace mf::kernels::cpu
