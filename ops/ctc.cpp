#include "ops/ctc.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "ops/error.h"

namespace mf {

std::vector<CtcSymbol> ctc_greedy(const float* probs, int64_t frames, int64_t labels, int32_t blank,
                                  int32_t& prev) {
  std::vector<CtcSymbol> out;
  for (int64_t t = 0; t < frames; ++t) {
    const float* p = probs + t * labels;
    const int32_t best = int32_t(std::max_element(p, p + labels) - p);
    if (best != blank && best != prev) out.push_back({best, t});
    prev = best;
  }
  return out;
}

namespace {
constexpr double kNegInf = -std::numeric_limits<double>::infinity();
double log_add(double a, double b) {
  if (a == kNegInf) return b;
  if (b == kNegInf) return a;
  const double m = std::max(a, b);
  return m + std::log1p(std::exp(-std::abs(a - b)));
}
struct Beam {
  double blank = kNegInf, non_blank = kNegInf;  // log P(prefix, path ends in blank / in its last label)
  std::vector<int64_t> frames;                  // start frame of each label of the prefix
  double best = kNegInf;                        // the largest single contribution this step
  double total() const { return log_add(blank, non_blank); }
};
// Timestamps follow the most probable contribution to a prefix (ties: the earlier frames).
void offer(Beam& n, double contrib, const std::vector<int64_t>& frames) {
  if (contrib > n.best + 1e-12 || (contrib >= n.best - 1e-12 && frames < n.frames)) {
    n.frames = frames;
    n.best = std::max(n.best, contrib);
  }
}
}  // namespace

std::vector<CtcSymbol> ctc_prefix_beam(const float* probs, int64_t frames, int64_t labels, int32_t blank,
                                       int beam) {
  if (beam < 1) fail("CTC beam width must be >= 1");
  std::map<std::vector<int32_t>, Beam> beams;
  beams[{}].blank = 0.0;
  for (int64_t t = 0; t < frames; ++t) {
    const float* p = probs + t * labels;
    std::map<std::vector<int32_t>, Beam> next;
    for (const auto& [prefix, b] : beams) {
      const double tot = b.total();
      for (int32_t c = 0; c < labels; ++c) {
        const double lp = std::log(std::max(double(p[c]), 1e-30));
        if (c == blank) {
          Beam& n = next[prefix];
          n.blank = log_add(n.blank, tot + lp);
          offer(n, tot + lp, b.frames);
          continue;
        }
        const bool repeat = !prefix.empty() && prefix.back() == c;
        std::vector<int32_t> extended = prefix;
        extended.push_back(c);
        Beam& e = next[extended];
        // A repeated label needs a blank in between to count twice.
        const double ext = (repeat ? b.blank : tot) + lp;
        e.non_blank = log_add(e.non_blank, ext);
        std::vector<int64_t> f = b.frames;
        f.push_back(t);
        offer(e, ext, f);
        if (repeat) {  // staying on the same label keeps the prefix
          Beam& st = next[prefix];
          st.non_blank = log_add(st.non_blank, b.non_blank + lp);
          offer(st, b.non_blank + lp, b.frames);
        }
      }
    }
    std::vector<std::pair<double, const std::vector<int32_t>*>> order;
    for (const auto& [k, v] : next) order.push_back({v.total(), &k});
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : *a.second < *b.second;  // ties: deterministic
    });
    std::map<std::vector<int32_t>, Beam> kept;
    for (size_t i = 0; i < order.size() && i < size_t(beam); ++i) kept[*order[i].second] = next[*order[i].second];
    beams = std::move(kept);
  }
  const std::vector<int32_t>* best = nullptr;
  double best_score = kNegInf;
  for (const auto& [k, v] : beams)
    if (!best || v.total() > best_score) { best = &k; best_score = v.total(); }
  std::vector<CtcSymbol> out;
  if (best)
    for (size_t i = 0; i < best->size(); ++i) out.push_back({(*best)[i], beams[*best].frames[i]});
  return out;
}

}  // namespace mf
