// Branch-free float math that the compiler vectorizes (no libm calls in the inner loops).
// Accuracy: vexp within ~2 ulp over [-87.3, 88.7]; vlog1p_pos (x in [0, 1]) within a few ulp.
#pragma once
#include <bit>
#include <cstdint>

namespace mf::kernels::cpu {

inline float vexp(float x) {
  x = x < -87.33654f ? -87.33654f : (x > 88.7228391f ? 88.7228391f : x);
  // x = n*ln2 + r, |r| <= ln2/2; n rounded with the 1.5*2^23 trick (exact for |n| < 2^22).
  const float shifter = 12582912.0f;
  float t = x * 1.44269504088896341f + shifter;
  float n = t - shifter;
  float r = x - n * 0.693359375f;         // ln2 high part (exact product)
  r = r - n * -2.12194440e-4f;            // ln2 low part
  // e^r on [-ln2/2, ln2/2]: degree-6 polynomial (Cephes expf coefficients).
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // Scale by 2^n in two steps so that n = 128 (x near 88.4) does not overflow the exponent.
  int32_t ni = int32_t(n);
  int32_t n1 = ni >> 1, n2 = ni - n1;
  float s1 = std::bit_cast<float>((n1 + 127) << 23);
  float s2 = std::bit_cast<float>((n2 + 127) << 23);
  return p * s1 * s2;
}

// log(1 + w) for w in [0, 1], accurate also for tiny w.
inline float vlog1p_pos(float w) {
  float u = 1.0f + w;                       // in [1, 2]
  // log(u) = 2 atanh(s), s = (u-1)/(u+1) in [0, 1/3]; rescale u from [1, 2] to [1/sqrt2, sqrt2].
  bool big = u > 1.41421356f;
  float m = big ? u * 0.5f : u;
  float k = big ? 0.69314718056f : 0.0f;
  float s = (m - 1.0f) / (m + 1.0f);
  float s2 = s * s;
  float q = 0.1111111111f;
  q = q * s2 + 0.1428571429f;
  q = q * s2 + 0.2f;
  q = q * s2 + 0.3333333333f;
  float lg = k + 2.0f * s * (1.0f + s2 * q);
  // Correct for the rounding of 1 + w (matters when w is tiny).
  float c = (w - (u - 1.0f)) / u;
  return lg + c;
}

// softplus with torch's default threshold (x > 20 returns x).
inline float vsoftplus(float x) {
  float ax = x < 0 ? -x : x;
  float l = vlog1p_pos(vexp(-ax));
  float sp = (x > 0 ? x : 0.0f) + l;
  return x > 20.0f ? x : sp;
}

inline float vsilu(float x) { return x / (1.0f + vexp(-x)); }

}  // namespace mf::kernels::cpu
