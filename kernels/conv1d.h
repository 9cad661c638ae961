// Causal depthwise conv1d over one chunk, with the stream's conv tail:
//   y[t, c] = act(bias[c] + sum_k weight[c, k] * xin[t - (W-1) + k, c])
// where xin is the chunk preceded by the tail (the last W-1 inputs of earlier chunks, zeros
// at stream start). The tail is updated to the last W-1 inputs of tail ++ chunk, so running
// a stream in chunks of any sizes gives the same y as running it whole (bitwise on the CPU).
#pragma once
#include <cstdint>

#include "kernels/cast.h"

namespace mf::kernels {

struct Conv1dParams {
  const void* x; int64_t x_stride;   // [n, channels], row stride x_stride
  void* y; int64_t y_stride;         // [n, channels]
  float* tail;                       // [channels, width-1], read and updated
  const float* weight;               // [channels, width]
  const float* bias;                 // [channels] or nullptr
  int64_t n, channels;
  int width;
  bool silu;                         // apply SiLU to the output

  // GPU layout: channel-major activations (element (t, c) at c * cstride + t, time
  // contiguous), x/y of x_type/y_type, and a batch of n_seqs sequences packed in time:
  // sequence s is [seq_start[s], seq_start[s+1]) and owns tail slot seq_slot[s]
  // (tail + seq_slot[s] * slot_stride). Device pointers. The CPU kernel uses the fields above.
  int64_t x_cstride = 0, y_cstride = 0;
  CastType x_type = CastType::F32, y_type = CastType::F32;
  int64_t n_seqs = 1;
  const int64_t* seq_start = nullptr;
  const int32_t* seq_slot = nullptr;
  int64_t slot_stride = 0;
};

void conv1d_cpu(const Conv1dParams& p);
// Two launches on `stream`: the conv, then the tail update (after every read of the tails).
void launch_conv1d(const Conv1dParams& p, void* stream);

}  // namespace mf::kernels
