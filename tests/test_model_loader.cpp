// Model directories: both namings, shards, and every way a checkpoint can be wrong.
#include "io/model_loader.h"
#include "io/safetensors.h"
#include "ops/error.h"
#include "tests/util.h"

using namespace mf;
using Catch::Matchers::Contains;

namespace {
// Rewrites dir/model.safetensors without `drop` (and with `replace` swapped in).
void rewrite_weights(const mft::fs::path& dir, const std::string& drop, const std::string& reshape_name = "",
                     Shape new_shape = {}) {
  std::map<std::string, Tensor> tensors;
  {
    SafetensorsFile f((dir / "model.safetensors").string());
    for (auto& e : f.entries()) {
      if (e.name == drop) continue;
      Tensor t = f.tensor(e.name).clone();
      if (e.name == reshape_name) t = Tensor::zeros(new_shape, t.dtype());
      tensors[e.name] = t;
    }
  }
  write_safetensors((dir / "model.safetensors").string(), tensors);
}
}  // namespace

TEST_CASE("the bundled tiny model loads", "[io][loader]") {
  auto m = load_model(mft::tiny_model().string());
  CHECK(m->config.d_model == 64);
  CHECK(m->config.n_layer == 2);
  CHECK(m->layers.size() == 2);
  CHECK(m->stored_dtype == "F32");
  CHECK(m->parameter_count > 0);
  CHECK_THAT(m->config.mambaflow_json, Contains("dna"));
  // A = -exp(A_log) < 0 everywhere
  for (int64_t i = 0; i < m->layers[0].A.numel(); ++i) REQUIRE(m->layers[0].A.data<float>()[i] < 0);
}

TEST_CASE("sharded checkpoints and mamba_ssm naming load", "[io][loader]") {
  auto s = load_model((mft::parity_dir() / "sharded").string());
  CHECK(s->config.n_layer == 2);
  auto m = load_model((mft::parity_dir() / "ssm-naming").string());
  CHECK(m->config.source_format == "mamba_ssm");
  CHECK(m->config.vocab_size == 16);
  auto o = load_model((mft::parity_dir() / "odd-shapes").string());  // MambaModel: no "backbone."
  CHECK(o->layers[0].in_proj_b.defined());
  CHECK_FALSE(o->layers[0].conv_b.defined());
}

TEST_CASE("bad model directories are clear errors", "[io][loader][errors]") {
  mft::TempDir tmp;
  const auto dir = tmp / "model";
  auto expect = [&](const std::string& needle) {
    CHECK_THROWS_WITH(load_model(dir.string()), Contains(needle));
  };
  SECTION("missing directory") { expect("does not exist"); }
  SECTION("no config.json") {
    mft::fs::create_directories(dir);
    expect("config.json: missing");
  }
  SECTION("no weights") {
    mft::fs::create_directories(dir);
    mft::fs::copy_file(mft::tiny_model() / "config.json", dir / "config.json");
    expect("no model.safetensors");
  }
  SECTION("malformed config.json") {
    mft::copy_dir(mft::tiny_model(), dir);
    mft::write_file(dir / "config.json", "{\"hidden_size\": 64,,}");
    expect("malformed JSON");
  }
  SECTION("missing tensor is named") {
    mft::copy_dir(mft::tiny_model(), dir);
    rewrite_weights(dir, "backbone.layers.1.mixer.D");
    expect("missing tensor 'backbone.layers.1.mixer.D'");
  }
  SECTION("shape disagrees with config.json") {
    mft::copy_dir(mft::tiny_model(), dir);
    rewrite_weights(dir, "", "backbone.layers.0.mixer.x_proj.weight", {7, 128});
    expect("x_proj.weight' has shape [7, 128] but config.json");
  }
  SECTION("config.json disagrees with the weights") {
    mft::copy_dir(mft::tiny_model(), dir);
    std::string cfg = mft::read_file(dir / "config.json");
    auto pos = cfg.find("\"hidden_size\": 64");
    REQUIRE(pos != std::string::npos);
    cfg.replace(pos, 17, "\"hidden_size\": 48");
    mft::write_file(dir / "config.json", cfg);
    expect("but config.json");
  }
  SECTION("a shard named by the index is missing") {
    mft::copy_dir(mft::parity_dir() / "sharded", dir);
    mft::fs::remove(dir / "model-00002-of-00006.safetensors");
    expect("model-00002-of-00006.safetensors', which is missing");
  }
  SECTION("truncated weights") {
    mft::copy_dir(mft::tiny_model(), dir);
    std::string w = mft::read_file(dir / "model.safetensors");
    mft::write_file(dir / "model.safetensors", w.substr(0, w.size() - 100));
    expect("truncated");
  }
}
