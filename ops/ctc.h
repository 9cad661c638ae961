// CTC decoding over per-frame label probabilities (a softmax per frame; `blank` is the CTC
// blank). Both decoders report, for every symbol they emit, the frame where it starts, so
// characters and words get timestamps.
//   - greedy: the most probable label per frame, repeats merged, blanks dropped;
//   - prefix beam search (Hannun et al. 2014, "First-Pass Large Vocabulary Continuous Speech
//     Recognition using Bi-Directional Recurrent DNNs", without a language model): keeps the
//     `beam` most probable label prefixes, summing blank- and non-blank-ending paths.
#pragma once
#include <cstdint>
#include <vector>

namespace mf {

struct CtcSymbol {
  int32_t label;
  int64_t frame;  // first frame of the symbol
};

// probs: [frames, labels] row-major. `prev` carries the previous frame's best label across
// calls (greedy decoding can run chunk by chunk; start with -1).
std::vector<CtcSymbol> ctc_greedy(const float* probs, int64_t frames, int64_t labels, int32_t blank,
                                  int32_t& prev);
std::vector<CtcSymbol> ctc_prefix_beam(const float* probs, int64_t frames, int64_t labels, int32_t blank,
                                       int beam);

}  // namespace mf
