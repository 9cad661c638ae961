// Parity with transformers: fixtures made by tools/make_reference.py (tests/data/parity/README.md).
#include <cmath>
#include <memory>

#include "io/model_loader.h"
#include "io/safetensors.h"
#include "ops/encoder.h"
#include "tests/util.h"

using namespace mf;

namespace {
// fp32 tolerance: max abs error <= kTol x max(1, output scale).
constexpr double kTol = 1e-4;
}

TEST_CASE("parity with transformers' MambaModel on every fixture", "[parity]") {
  int fixtures = 0;
  for (auto& entry : mft::fs::directory_iterator(mft::parity_dir())) {
    if (!entry.is_directory()) continue;
    const std::string name = entry.path().filename().string();
    ++fixtures;
    SafetensorsFile ref((entry.path() / "reference.safetensors").string());
    Tensor ids64 = ref.tensor("input_ids");
    Tensor expected = ref.tensor("last_hidden_state").to(DType::F32);
    const int64_t L = ids64.dim(0);
    std::vector<int32_t> ids(static_cast<size_t>(L));
    for (int64_t i = 0; i < L; ++i) ids[size_t(i)] = int32_t(ids64.data<int64_t>()[i]);

    auto model = load_model(entry.path().string());
    Encoder enc(model, Device::cpu());
    const int64_t D = model->config.d_model;
    REQUIRE(expected.shape() == Shape{L, D});
    double scale = 1;
    for (int64_t i = 0; i < L * D; ++i) scale = std::max(scale, double(std::abs(expected.data<float>()[i])));

    for (int64_t chunk : {L, int64_t(1), int64_t(7), int64_t(64)}) {
      std::vector<float> out(size_t(L * D));
      EncoderState st = enc.new_state();
      for (int64_t p = 0; p < L; p += chunk)
        enc.forward(ids.data() + p, std::min(chunk, L - p), st, out.data() + p * D);
      double worst = 0;
      for (int64_t i = 0; i < L * D; ++i)
        worst = std::max(worst, double(std::abs(out[size_t(i)] - expected.data<float>()[i])));
      INFO(name << " (L=" << L << ", chunk " << chunk << "): max abs error " << worst << ", scale " << scale);
      CHECK(worst <= kTol * scale);
    }
  }
  CHECK(fixtures >= 5);
}
