// The streaming invariant on the CPU encoder: any chunking gives the whole-sequence output.
#include <cmath>
#include <memory>
#include <random>

#include "ops/encoder.h"
#include "ops/error.h"
#include "tests/catch.h"

using namespace mf;
using Catch::Matchers::Contains;

namespace {
MambaConfig small_config(bool bias) {
  MambaConfig c;
  c.d_model = 24; c.n_layer = 3; c.d_state = 7; c.d_inner = 56; c.d_conv = 3; c.dt_rank = 5;
  c.vocab_size = 12; c.use_bias = bias; c.use_conv_bias = !bias;
  return c;
}
}  // namespace

TEST_CASE("encoder: random chunkings equal the whole sequence bitwise", "[encoder][streaming]") {
  for (bool bias : {false, true}) {
    auto model = std::make_shared<MambaModel>(make_random_model(small_config(bias), 42));
    Encoder enc(model, Device::cpu());
    const int64_t L = 2 * Encoder::kMaxPiece + 77;  // crosses the encoder's internal pieces
    const int64_t D = model->config.d_model;
    std::mt19937 rng(5);
    std::vector<int32_t> ids(static_cast<size_t>(L));
    for (auto& t : ids) t = int32_t(rng() % 12);

    std::vector<float> whole(size_t(L * D));
    EncoderState st = enc.new_state();
    enc.forward(ids.data(), L, st, whole.data());
    CHECK(st.position == L);
    double scale = 0;
    for (float v : whole) scale = std::max(scale, double(std::abs(v)));
    REQUIRE(scale > 0.1);

    for (int rep = 0; rep < 4; ++rep) {
      std::vector<float> chunked(size_t(L * D));
      EncoderState s2 = enc.new_state();
      int64_t pos = 0;
      while (pos < L) {
        int64_t len = rep == 0 ? 1 : int64_t(rng() % 5 == 0 ? rng() % 3 : 1 + rng() % 300);
        len = std::min(len, L - pos);
        enc.forward(ids.data() + pos, len, s2, chunked.data() + pos * D);
        pos += len;
      }
      double worst = 0;
      for (size_t i = 0; i < whole.size(); ++i) worst = std::max(worst, double(std::abs(whole[i] - chunked[i])));
      INFO("chunking " << rep << ": max abs difference " << worst << " (output scale " << scale << ")");
      CHECK(worst == 0.0);  // bitwise: GEMM tiles have fixed shapes, every op runs in t order
    }
  }
}

TEST_CASE("encoder: a state continues a stream exactly after a copy", "[encoder][streaming]") {
  auto model = std::make_shared<MambaModel>(make_random_model(small_config(false), 7));
  Encoder enc(model, Device::cpu());
  std::vector<int32_t> a(100, 7), b(50);
  for (size_t i = 0; i < b.size(); ++i) b[i] = int32_t(7 + i % 5);
  std::vector<float> out1(50 * 24), out2(50 * 24), scratch(100 * 24);
  EncoderState s = enc.new_state();
  enc.forward(a.data(), 100, s, scratch.data());
  EncoderState copy;
  for (auto& t : s.conv) copy.conv.push_back(t.clone());
  for (auto& t : s.ssm) copy.ssm.push_back(t.clone());
  copy.position = s.position;
  enc.forward(b.data(), 50, s, out1.data());
  enc.forward(b.data(), 50, copy, out2.data());
  CHECK(out1 == out2);
}

TEST_CASE("encoder: token ids outside the vocabulary are errors", "[encoder][errors]") {
  auto model = std::make_shared<MambaModel>(make_random_model(small_config(false), 1));
  Encoder enc(model, Device::cpu());
  EncoderState s = enc.new_state();
  std::vector<int32_t> ids = {7, 8, 12};
  std::vector<float> out(3 * 24);
  CHECK_THROWS_WITH(enc.forward(ids.data(), 3, s, out.data()), Contains("token id 12 at stream position 2"));
  enc.forward(ids.data(), 0, s, out.data());  // empty chunk is fine
  CHECK(s.position == 0);
}
