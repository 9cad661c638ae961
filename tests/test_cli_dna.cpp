// mambaflow classify / tag end to end: TSV and BED against an independent computation (the
// encoder run whole, then pooled), identical files for any --chunk/--batch/--threads/--readers,
// every output format, and a bad input among good ones.
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "io/fasta.h"
#include "io/model_loader.h"
#include "io/task_config.h"
#include "ops/encoder.h"
#include "tests/head_model.h"

using namespace mf;
using Catch::Matchers::Contains;

namespace {

struct Window {
  std::string record;
  int64_t start, end;
  std::vector<double> probs;
};

// The encoder over each whole record, windows pooled by a plain loop, the head in double.
std::vector<Window> independent(const mft::fs::path& model_dir,
                                const std::vector<std::pair<std::string, std::string>>& recs) {
  auto model = load_model(model_dir.string());
  const TaskSpec t = read_task_spec(*model);
  const Tensor& W = model->head.at("head.weight");
  const Tensor& B = model->head.at("head.bias");
  const int64_t D = model->config.d_model, K = W.dim(0);
  Encoder enc(model, Device::cpu());
  std::vector<Window> out;
  for (auto& [name, seq] : recs) {
    std::vector<int32_t> tok;
    for (char c : seq) tok.push_back(dna::token((unsigned char)c));
    std::vector<float> h(seq.size() * size_t(D));
    EncoderState st = enc.new_state();
    enc.forward(tok.data(), int64_t(tok.size()), st, h.data());
    const int64_t L = int64_t(seq.size());
    for (int64_t s = 0; s < L; s += t.stride) {
      const int64_t e = std::min(s + t.window, L);
      std::vector<double> logit(static_cast<size_t>(K));
      for (int64_t k = 0; k < K; ++k) {
        double acc = 0;
        for (int64_t i = 0; i < D; ++i) {
          double m = 0;
          for (int64_t r = s; r < e; ++r) m += h[size_t(r * D + i)];
          acc += W.data<float>()[k * D + i] * (m / double(e - s));
        }
        logit[size_t(k)] = acc + B.data<float>()[k];
      }
      double mx = *std::max_element(logit.begin(), logit.end()), z = 0;
      for (auto& v : logit) z += std::exp(v - mx);
      Window w{name, s, e, {}};
      for (auto v : logit) w.probs.push_back(std::exp(v - mx) / z);
      out.push_back(w);
      if (s + t.window >= L) break;
    }
  }
  return out;
}

std::string fasta(const std::vector<std::pair<std::string, std::string>>& recs) {
  std::string s;
  for (auto& [n, q] : recs) {
    s += ">" + n + "\n";
    for (size_t i = 0; i < q.size(); i += 70) s += q.substr(i, 70) + "\n";
  }
  return s;
}

}  // namespace

TEST_CASE("cli classify: TSV and BED equal an independent computation; same bytes for any chunking",
          "[cli][pipeline]") {
  mft::TempDir tmp;
  const std::vector<std::string> labels = {"E.coli", "K.pneumoniae", "S.aureus"};
  auto model = mft::make_head_model(tmp / "model", "classify", labels, 60, 25);
  std::mt19937 rng(4);
  auto dna = [&](int n) { std::string s; for (int i = 0; i < n; ++i) s += "ACGTacgtN"[rng() % 9]; return s; };
  const std::vector<std::pair<std::string, std::string>> recs = {{"chr1", dna(400)}, {"plasmid_2", dna(130)}, {"short", dna(20)}};
  mft::write_file(tmp / "g.fa", fasta(recs));
  const auto want = independent(model, recs);

  auto run = [&](const std::string& extra, const std::string& out) {
    auto r = mft::run_cli("classify --model " + mft::q(model) + " -q " + extra + " -o " + mft::q(tmp / out) + " " + mft::q(tmp / "g.fa"));
    INFO(r.out);
    REQUIRE(r.status == 0);
    return mft::read_file(tmp / out);
  };
  const std::string tsv = run("--device cpu", "a.tsv");
  auto lines = mft::split(tsv, '\n');
  REQUIRE(lines.back().empty());
  lines.pop_back();
  REQUIRE(lines.size() == want.size() + 1);
  CHECK(lines[0] == "#record\tstart\tend\tlabel\tscore\tE.coli\tK.pneumoniae\tS.aureus");
  for (size_t i = 0; i < want.size(); ++i) {
    auto f = mft::split(lines[i + 1], '\t');
    REQUIRE(f.size() == 8);
    CHECK(f[0] == want[i].record);
    CHECK(std::stoll(f[1]) == want[i].start);
    CHECK(std::stoll(f[2]) == want[i].end);
    const size_t best = size_t(std::max_element(want[i].probs.begin(), want[i].probs.end()) - want[i].probs.begin());
    CHECK(f[3] == labels[best]);
    for (size_t k = 0; k < 3; ++k) CHECK(std::abs(std::stod(f[5 + k]) - want[i].probs[k]) < 1e-4);
  }
  // BED6: record, start, end, label, score 0-1000, strand.
  const std::string bed = run("--format bed", "a.bed");
  auto bl = mft::split(bed, '\n');
  bl.pop_back();
  REQUIRE(bl.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    auto f = mft::split(bl[i], '\t');
    REQUIRE(f.size() == 6);
    const double p = *std::max_element(want[i].probs.begin(), want[i].probs.end());
    CHECK(std::abs(std::stoi(f[4]) - p * 1000) <= 1.0);
    CHECK(f[5] == ".");
  }
  // The same bytes whatever chunk, batch, threads and readers.
  for (const char* extra : {"--chunk 1 --threads 1", "--chunk 7 --batch 1", "--chunk 33 --batch 3 --threads 2 --readers 2",
                            "--chunk 1000000 --batch 64"})
    CHECK(run(std::string("--device cpu ") + extra, "b.tsv") == tsv);
  // Standard input gives the same rows.
  auto r = mft::run_cli("classify --model " + mft::q(model) + " -q - < " + mft::q(tmp / "g.fa"));
  CHECK(r.status == 0);
  CHECK(r.out == tsv);
}

TEST_CASE("cli classify/tag: JSON Lines, bedGraph tracks, thresholds", "[cli][pipeline]") {
  mft::TempDir tmp;
  auto cmodel = mft::make_head_model(tmp / "c", "classify", {"a", "b"}, 50, 50);
  auto tmodel = mft::make_head_model(tmp / "t", "tag", {"rep", "cds", "tRNA"}, 30, 10, "last");
  mft::write_file(tmp / "g.fa", ">s1\n" + std::string(120, 'A') + "C\n>s\"2\nACGTACGT\n");
  auto r = mft::run_cli("classify --model " + mft::q(cmodel) + " -q --format jsonl -o " + mft::q(tmp / "o.jsonl") + " " + mft::q(tmp / "g.fa"));
  REQUIRE(r.status == 0);
  auto lines = mft::split(mft::read_file(tmp / "o.jsonl"), '\n');
  lines.pop_back();
  REQUIRE(lines.size() == 4);  // s1: [0,50) [50,100) [100,121); s"2: [0,8)
  auto j = nlohmann::json::parse(lines[3]);
  CHECK(j["record"] == "s\"2");
  CHECK(j["start"] == 0);
  CHECK(j["end"] == 8);
  CHECK(std::abs(j["probs"]["a"].get<double>() + j["probs"]["b"].get<double>() - 1.0) < 2e-4);
  CHECK(nlohmann::json::parse(lines[2])["end"] == 121);

  // tag: every label at or above its threshold is called; --threshold 0 calls all of them.
  r = mft::run_cli("tag --model " + mft::q(tmodel) + " -q --threshold 0 --format bed -o " + mft::q(tmp / "t.bed") + " " + mft::q(tmp / "g.fa"));
  REQUIRE(r.status == 0);
  auto bl = mft::split(mft::read_file(tmp / "t.bed"), '\n');
  bl.pop_back();
  // s1 (121 bases, window 30, stride 10): starts 0..100 (the last clipped to 121) -> 11
  // windows; s"2: 1 window; 3 labels each
  CHECK(bl.size() == (11 + 1) * 3);
  r = mft::run_cli("tag --model " + mft::q(tmodel) + " -q --threshold 1 -o " + mft::q(tmp / "t.tsv") + " " + mft::q(tmp / "g.fa"));
  REQUIRE(r.status == 0);
  auto tl = mft::split(mft::read_file(tmp / "t.tsv"), '\n');
  CHECK(mft::split(tl[1], '\t')[3] == ".");  // nothing reaches 1.0

  r = mft::run_cli("tag --model " + mft::q(tmodel) + " -q --format bedgraph --track cds --track tRNA -o " +
                   mft::q(tmp / "tr") + " " + mft::q(tmp / "g.fa"));
  REQUIRE(r.status == 0);
  CHECK_FALSE(mft::fs::exists(tmp / "tr.rep.bedGraph"));
  auto g = mft::split(mft::read_file(tmp / "tr.cds.bedGraph"), '\n');
  CHECK_THAT(g[0], Contains("track type=bedGraph name=\"cds\""));
  CHECK(g[1].rfind("s1\t0\t10\t", 0) == 0);   // steps of the stride, not overlapping windows
  CHECK(g[2].rfind("s1\t10\t20\t", 0) == 0);
  CHECK(g[11].rfind("s1\t100\t121\t", 0) == 0);  // the last window covers to the record's end
  CHECK(g[12].rfind("s\"2\t0\t8\t", 0) == 0);

  // A model's task must match the command.
  r = mft::run_cli("classify --model " + mft::q(tmodel) + " " + mft::q(tmp / "g.fa"));
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Contains("is a 'tag' model"));
  r = mft::run_cli("classify --model " + mft::q(mft::tiny_model()) + " " + mft::q(tmp / "g.fa"));
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Contains("use mambaflow embed"));
}

TEST_CASE("cli classify: a bad input is reported, the others are written, exit 1", "[cli][pipeline][errors]") {
  mft::TempDir tmp;
  auto model = mft::make_head_model(tmp / "m", "classify", {"a", "b"}, 10, 10);
  mft::write_file(tmp / "good1.fa", ">g1\nACGTACGTACGTACGTACGT\n");
  mft::write_file(tmp / "bad.fa", ">b1\nACGTACGTAC\n>b2\nAC@T\n");
  mft::write_file(tmp / "good2.fa", ">g2\nTTTTTTTTTTTT\n");
  mft::write_file(tmp / "list.txt", (tmp / "good1.fa").string() + "\n# a comment\n" + (tmp / "bad.fa").string() + "\n" +
                                        (tmp / "missing.fa").string() + "\n" + (tmp / "good2.fa").string() + "\n");
  auto r = mft::run_cli("classify --model " + mft::q(model) + " --input-list " + mft::q(tmp / "list.txt") + " -o " + mft::q(tmp / "o.tsv"));
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Contains("record 'b2', line 4, column 3: invalid character '@'"));
  CHECK_THAT(r.out, Contains("missing.fa: cannot open"));
  CHECK_THAT(r.out, Contains("2 input(s) failed"));
  const std::string out = mft::read_file(tmp / "o.tsv");
  CHECK_THAT(out, Contains("g1\t0\t10\t"));
  CHECK_THAT(out, Contains("g1\t10\t20\t"));
  CHECK_THAT(out, Contains("b1\t0\t10\t"));
  CHECK_THAT(out, Contains("g2\t0\t10\t"));
  CHECK(out.back() == '\n');
  // usage errors: exit 2
  r = mft::run_cli("classify --model " + mft::q(model));
  CHECK(r.status == 2);
  CHECK_THAT(r.out, Contains("no input"));
  r = mft::run_cli("classify --model " + mft::q(model) + " --format xml " + mft::q(tmp / "good1.fa"));
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Contains("format 'xml'"));
}
