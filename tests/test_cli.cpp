// The CLI end to end: outputs equal the library's, and bad input gives
// "mambaflow: error: ..." with exit 1 (usage: 2) and no output file left behind.
#include <memory>

#include "io/fasta.h"
#include "io/model_loader.h"
#include "io/npy.h"
#include "ops/encoder.h"
#include "tests/util.h"

using namespace mf;
using Catch::Matchers::Contains;

namespace {
const std::string kTwo = ">r1 desc\nACGTACGTTTGACN\nacgta\n>weird/name|x\nGGGATC\n";

std::vector<float> embed_direct(const std::string& seq) {
  auto model = load_model(mft::tiny_model().string());
  Encoder enc(model, Device::cpu());
  std::vector<int32_t> ids;
  for (char c : seq) ids.push_back(dna::token((unsigned char)c));
  std::vector<float> out(ids.size() * size_t(model->config.d_model));
  EncoderState st = enc.new_state();
  enc.forward(ids.data(), int64_t(ids.size()), st, out.data());
  return out;
}

bool no_files_in(const mft::fs::path& dir) {
  return !mft::fs::exists(dir) || mft::fs::is_empty(dir);
}
}  // namespace

TEST_CASE("cli: info describes the model", "[cli]") {
  auto r = mft::run_cli("info --model " + mft::q(mft::tiny_model()));
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Contains("d_model           64"));
  CHECK_THAT(r.out, Contains("parameters"));
  CHECK_THAT(r.out, Contains("F32"));
}

TEST_CASE("cli: embed writes what the encoder computes", "[cli]") {
  mft::TempDir tmp;
  mft::write_file(tmp / "one.fa", ">only\nACGTACGTTTGACNacgta\n");
  auto r = mft::run_cli("embed --model " + mft::q(mft::tiny_model()) + " --device cpu --chunk 3 -o " +
                        mft::q(tmp / "one.npy") + " " + mft::q(tmp / "one.fa"));
  INFO(r.out);
  REQUIRE(r.status == 0);
  std::vector<int64_t> shape;
  auto got = read_npy_f32((tmp / "one.npy").string(), shape);
  CHECK(shape == std::vector<int64_t>{19, 64});
  auto want = embed_direct("ACGTACGTTTGACNacgta");
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) REQUIRE(std::abs(got[i] - want[i]) <= 1e-5f * (1 + std::abs(want[i])));

  // Several records: -o is a directory, one file per record; stdin works.
  mft::write_file(tmp / "two.fa", kTwo);
  r = mft::run_cli("embed --model " + mft::q(mft::tiny_model()) + " -o " + mft::q(tmp / "out") + " - < " +
                   mft::q(tmp / "two.fa"));
  INFO(r.out);
  REQUIRE(r.status == 0);
  CHECK(mft::fs::exists(tmp / "out" / "r1.npy"));
  CHECK(mft::fs::exists(tmp / "out" / "weird_name_x.npy"));
  auto g2 = read_npy_f32((tmp / "out" / "weird_name_x.npy").string(), shape);
  CHECK(shape == std::vector<int64_t>{6, 64});
  auto w2 = embed_direct("GGGATC");
  for (size_t i = 0; i < g2.size(); ++i) REQUIRE(std::abs(g2[i] - w2[i]) <= 1e-5f * (1 + std::abs(w2[i])));
}

TEST_CASE("cli: bad input gives a clear error, exit 1, no output", "[cli][errors]") {
  mft::TempDir tmp;
  const auto out = tmp / "out.npy";
  const auto model = tmp / "model";
  mft::write_file(tmp / "ok.fa", ">a\nACGT\n");
  auto embed = [&](const mft::fs::path& m, const mft::fs::path& in) {
    return mft::run_cli("embed --model " + mft::q(m) + " --device cpu --chunk 100 -o " + mft::q(out) + " " + mft::q(in));
  };
  auto expect_error = [&](const mft::CliResult& r, const std::string& needle) {
    INFO(r.out);
    CHECK(r.status == 1);
    CHECK_THAT(r.out, Contains("mambaflow: error:"));
    CHECK_THAT(r.out, Contains(needle));
    CHECK_FALSE(mft::fs::exists(out));
    CHECK_FALSE(mft::fs::exists(out.string() + ".partial"));
  };

  SECTION("missing model directory") { expect_error(embed(tmp / "nope", tmp / "ok.fa"), "does not exist"); }
  SECTION("missing weights file") {
    mft::copy_dir(mft::tiny_model(), model);
    mft::fs::remove(model / "model.safetensors");
    expect_error(embed(model, tmp / "ok.fa"), "no model.safetensors");
  }
  SECTION("truncated safetensors") {
    mft::copy_dir(mft::tiny_model(), model);
    std::string w = mft::read_file(model / "model.safetensors");
    mft::write_file(model / "model.safetensors", w.substr(0, 5000));
    expect_error(embed(model, tmp / "ok.fa"), "model.safetensors");
  }
  SECTION("header length larger than the file") {
    mft::copy_dir(mft::tiny_model(), model);
    std::string w = mft::read_file(model / "model.safetensors");
    w[6] = '\x7f';
    mft::write_file(model / "model.safetensors", w);
    expect_error(embed(model, tmp / "ok.fa"), "larger than the file");
  }
  SECTION("malformed config.json") {
    mft::copy_dir(mft::tiny_model(), model);
    mft::write_file(model / "config.json", "{ oops");
    expect_error(embed(model, tmp / "ok.fa"), "config.json: malformed JSON");
  }
  SECTION("invalid FASTA character names the line") {
    mft::write_file(tmp / "bad.fa", ">a\nACGT\nAC-T\n");
    expect_error(embed(mft::tiny_model(), tmp / "bad.fa"), "line 3, column 3: invalid character '-'");
  }
  SECTION("an error after thousands of bases leaves no output") {
    mft::write_file(tmp / "bad2.fa", std::string(">a\n") + std::string(5000, 'A') + "\nAC!T\n");
    expect_error(embed(mft::tiny_model(), tmp / "bad2.fa"), "invalid character '!'");
  }
  SECTION("empty input") {
    mft::write_file(tmp / "empty.fa", "");
    expect_error(embed(mft::tiny_model(), tmp / "empty.fa"), "empty input");
  }
  SECTION("several records into one .npy") {
    mft::write_file(tmp / "two.fa", kTwo);
    expect_error(embed(mft::tiny_model(), tmp / "two.fa"), "more than one record");
  }
  SECTION("missing input file") { expect_error(embed(mft::tiny_model(), tmp / "none.fa"), "cannot open"); }
}

TEST_CASE("cli: usage errors exit 2", "[cli][errors]") {
  auto r = mft::run_cli("embed -o x.npy in.fa");
  INFO(r.out);
  CHECK(r.status == 2);
  CHECK_THAT(r.out, Contains("mambaflow: error:"));
  CHECK_THAT(r.out, Contains("--model"));
  r = mft::run_cli("frobnicate");
  CHECK(r.status == 2);
  r = mft::run_cli("embed --model m --device tpu -o x.npy in.fa");
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Contains("bad device 'tpu'"));
}
