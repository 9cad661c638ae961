// 8-bit mu-law tokens (mu = 255), one per sample, as used for raw-waveform models (WaveNet;
// the Mamba paper's audio experiments): x in [-1, 1] -> F(x) = sign(x) ln(1 + mu|x|) / ln(1 + mu)
// -> token round((F(x) + 1) / 2 * 255) in [0, 255]. Samples outside [-1, 1] are clipped.
// Stateless per sample, so any chunking gives the same tokens.
#pragma once
#include <cstdint>

namespace mf {

constexpr int kMulawTokens = 256;

void mulaw_encode(const float* x, int64_t n, int32_t* tokens);
// The centre of each token's interval, back in [-1, 1].
void mulaw_decode(const int32_t* tokens, int64_t n, float* x);

}  // namespace mf
