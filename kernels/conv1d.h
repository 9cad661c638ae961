// Causal depthwise conv1d over one chunk, with the stream's conv tail:
//   y[t, c] = act(bias[c] + sum_k weight[c, k] * xin[t - (W-1) + k, c])
// where xin is the chunk preceded by the tail (the last W-1 inputs of earlier chunks, zeros
// at stream start). The tail is updated to the last W-1 inputs of tail ++ chunk, so running
// a stream in chunks of any sizes gives the same y as running it whole (bitwise on the CPU).
#pragma once
#include <cstdint>

namespace mf::kernels {

struct Conv1dParams {
  const float* x; int64_t x_stride;  // [n, channels], row stride x_stride
  float* y; int64_t y_stride;        // [n, channels]
  float* tail;                       // [channels, width-1], read and updated
  const float* weight;               // [channels, width]
  const float* bias;                 // [channels] or nullptr
  int64_t n, channels;
  int width;
  bool silu;                         // apply SiLU to the output
};

void conv1d_cpu(const Conv1dParams& p);

}  // namespace mf::kernels
