// Heads (window pooling, linear head) and the DNA pipeline: results against an independent
// computation (the encoder run whole, then pooled), and identical whatever chunk, batch,
// readers and threads.
#include <tbb/global_control.h>

#include <cmath>
#include <random>

#include "io/fasta.h"
#include "io/model_loader.h"
#include "io/results.h"
#include "io/task_config.h"
#include "ops/encoder.h"
#include "ops/error.h"
#include "ops/head.h"
#include "pipeline/dna_pipeline.h"
#include "tests/head_model.h"

using namespace mf;
using Catch::Matchers::Contains;

namespace {

// Windows of a stream of length L as the heads define them.
std::vector<std::pair<int64_t, int64_t>> expected_windows(int64_t L, int64_t window, int64_t stride) {
  std::vector<std::pair<int64_t, int64_t>> w;
  for (int64_t s = 0; s < L; s += stride) {
    w.push_back({s, std::min(s + window, L)});
    if (s + window >= L) break;
  }
  return w;
}

std::vector<double> pool_direct(const std::vector<float>& h, int64_t d, int64_t s, int64_t e, Pooling p) {
  std::vector<double> out(size_t(d), 0.0);
  if (p == Pooling::Last) {
    for (int64_t i = 0; i < d; ++i) out[size_t(i)] = h[size_t((e - 1) * d + i)];
    return out;
  }
  for (int64_t t = s; t < e; ++t)
    for (int64_t i = 0; i < d; ++i) out[size_t(i)] += h[size_t(t * d + i)];
  for (auto& v : out) v /= double(e - s);
  return out;
}

// Records every event; checks the per-record call order.
struct RecordingSink : ResultSink {
  struct Rec {
    RecordInfo info;
    std::vector<int64_t> start, end;
    std::vector<float> values;
    int64_t width = 0, length = -1, positions = 0;
    RecordEnd how = RecordEnd::Complete;
    bool ended = false;
  };
  bool is_ordered = true;
  std::vector<Rec> recs;
  std::vector<std::string> order;  // record names in begin order
  bool finished = false;
  std::atomic<bool>* trigger = nullptr;  // set on the first results (to test a stop)
  bool ordered() const override { return is_ordered; }
  Rec& find(const RecordInfo& r) {
    for (auto& x : recs)
      if (x.info.input_index == r.input_index && x.info.record_index == r.record_index) return x;
    FAIL("event for a record that did not begin: " << r.name);
    throw 0;
  }
  void begin_record(const RecordInfo& r) override {
    recs.push_back({r});
    order.push_back(r.name);
    if (is_ordered && recs.size() > 1) REQUIRE(recs[recs.size() - 2].ended);  // one at a time
  }
  void windows(const RecordInfo& r, const WindowValues& w) override {
    Rec& x = find(r);
    REQUIRE_FALSE(x.ended);
    x.width = w.width;
    x.start.insert(x.start.end(), w.start, w.start + w.n);
    x.end.insert(x.end.end(), w.end, w.end + w.n);
    x.values.insert(x.values.end(), w.values, w.values + w.n * w.width);
  }
  void positions(const RecordInfo& r, const float* rows, int64_t n, int64_t width) override {
    if (trigger) trigger->store(true);
    Rec& x = find(r);
    x.width = width;
    x.values.insert(x.values.end(), rows, rows + n * width);
    x.positions += n;
  }
  void end_record(const RecordInfo& r, RecordEnd how, int64_t length) override {
    Rec& x = find(r);
    x.ended = true;
    x.how = how;
    x.length = length;
  }
  void finish() override { finished = true; }
};

std::string random_dna(std::mt19937& rng, int64_t n) {
  static const char* b = "ACGTacgtN";
  std::string s;
  for (int64_t i = 0; i < n; ++i) s += b[rng() % 9];
  return s;
}

}  // namespace

TEST_CASE("window pooling equals direct pooling for any chunking", "[heads]") {
  const int64_t d = 5;
  std::mt19937 rng(3);
  std::normal_distribution<float> nd;
  for (auto [window, stride] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {4, 4}, {6, 4}, {10, 3}, {7, 7}, {12, 5}}) {
    for (Pooling pool : {Pooling::Mean, Pooling::Last}) {
      for (int64_t L : {0, 1, 5, 6, 7, 23, 40}) {
        std::vector<float> h(size_t(L * d));
        for (auto& v : h) v = nd(rng);
        const auto want = expected_windows(L, window, stride);
        for (int trial = 0; trial < 4; ++trial) {
          WindowPooler p(d, window, stride, pool);
          PooledWindows out;
          for (int64_t t = 0; t < L;) {
            const int64_t n = trial == 0 ? L : std::min<int64_t>(L - t, 1 + int64_t(rng() % 6));
            p.push(h.data() + t * d, n, out);
            t += n;
          }
          p.finish(out);
          INFO("window " << window << " stride " << stride << " L " << L << " pooling " << pooling_name(pool));
          REQUIRE(out.size() == int64_t(want.size()));
          for (size_t k = 0; k < want.size(); ++k) {
            REQUIRE(out.start[k] == want[k].first);
            REQUIRE(out.end[k] == want[k].second);
            const auto ref = pool_direct(h, d, want[k].first, want[k].second, pool);
            for (int64_t i = 0; i < d; ++i) REQUIRE(std::abs(out.rows[k * d + size_t(i)] - ref[size_t(i)]) < 1e-6);
          }
        }
      }
    }
  }
}

TEST_CASE("window pooling is bitwise the same for any chunking", "[heads]") {
  const int64_t d = 3, L = 1000;
  std::mt19937 rng(9);
  std::normal_distribution<float> nd;
  std::vector<float> h(size_t(L * d));
  for (auto& v : h) v = nd(rng) * 100.0f;
  auto run = [&](int64_t piece) {
    WindowPooler p(d, 100, 30, Pooling::Mean);
    PooledWindows out;
    for (int64_t t = 0; t < L; t += piece) p.push(h.data() + t * d, std::min(piece, L - t), out);
    p.finish(out);
    return out.rows;
  };
  const auto whole = run(L);
  for (int64_t piece : {1, 7, 99, 100, 333}) CHECK(run(piece) == whole);
}

TEST_CASE("linear head: softmax and sigmoids", "[heads]") {
  Tensor w = Tensor::empty({3, 2}, DType::F32), b = Tensor::empty({3}, DType::F32);
  const float wv[] = {1, 0, 0, 1, -1, -1}, bv[] = {0, 0.5f, 0};
  std::copy(wv, wv + 6, w.data<float>());
  std::copy(bv, bv + 3, b.data<float>());
  const float x[] = {2, 1, 0, 0};
  float p[6];
  LinearHead(w, b, Task::Classify).apply(x, 2, p);
  // logits row 0: 2, 1.5, -3
  const double z = std::exp(2.0) + std::exp(1.5) + std::exp(-3.0);
  CHECK(p[0] == Approx(std::exp(2.0) / z));
  CHECK(p[1] == Approx(std::exp(1.5) / z));
  CHECK(p[0] + p[1] + p[2] == Approx(1.0));
  CHECK(p[3] == Approx(p[5]));  // row 1: logits 0, 0.5, 0
  LinearHead(w, b, Task::Tag).apply(x, 2, p);
  CHECK(p[0] == Approx(1.0 / (1.0 + std::exp(-2.0))));
  CHECK(p[4] == Approx(1.0 / (1.0 + std::exp(-0.5))));
}

TEST_CASE("task settings are read and checked", "[heads][config]") {
  mft::TempDir tmp;
  auto dir = mft::make_head_model(tmp / "m", "tag", {"a", "b"}, 50, 25, "last");
  auto model = load_model(dir.string());
  TaskSpec t = read_task_spec(*model);
  CHECK(t.task == Task::Tag);
  CHECK(t.labels == std::vector<std::string>{"a", "b"});
  CHECK(t.thresholds == std::vector<float>{0.5f, 0.5f});
  CHECK(t.window == 50);
  CHECK(t.stride == 25);
  CHECK(t.pooling == Pooling::Last);
  CHECK(make_linear_head(*model, t)->labels() == 2);
  t.labels.push_back("c");
  CHECK_THROWS_WITH(make_linear_head(*model, t), Contains("head.weight has shape [2, 64]; expected [3, 64]"));
  TaskSpec bad;
  bad.window = 10;
  bad.stride = 20;
  CHECK_THROWS_WITH(bad.validate("x"), Contains("larger than the window"));
  bad = TaskSpec{};
  bad.task = Task::Classify;
  CHECK_THROWS_WITH(bad.validate("x"), Contains("needs a window"));
}

TEST_CASE("pipeline: classify equals the encoder run whole then pooled, for any chunk/batch/readers/threads",
          "[pipeline]") {
  mft::TempDir tmp;
  auto dir = mft::make_head_model(tmp / "m", "classify", {"x", "y", "z"}, 40, 15);
  auto model = load_model(dir.string());
  const TaskSpec spec = read_task_spec(*model);
  // Two inputs, several records of varied lengths (one empty, one shorter than a window).
  std::mt19937 rng(11);
  std::vector<std::pair<std::string, std::string>> recs1 = {
      {"chrA", random_dna(rng, 333)}, {"tiny", random_dna(rng, 9)}, {"empty", ""}, {"chrB", random_dna(rng, 120)}};
  std::vector<std::pair<std::string, std::string>> recs2 = {{"other", random_dna(rng, 250)}};
  auto write = [&](const mft::fs::path& p, const std::vector<std::pair<std::string, std::string>>& recs) {
    std::string s;
    for (auto& [n, q] : recs) {
      s += ">" + n + " some description\n";
      for (size_t i = 0; i < q.size(); i += 60) s += q.substr(i, 60) + "\n";
    }
    mft::write_file(p, s);
  };
  write(tmp / "a.fa", recs1);
  write(tmp / "b.fa", recs2);
  const std::vector<std::string> inputs = {(tmp / "a.fa").string(), (tmp / "b.fa").string()};

  // Independent computation: whole records through the encoder, pooled directly, head in double.
  Encoder enc(model, Device::cpu());
  auto head = make_linear_head(*model, spec);
  std::vector<RecordingSink::Rec> want;
  for (const auto* recs : {&recs1, &recs2}) {
    for (auto& [name, seq] : *recs) {
      RecordingSink::Rec r;
      r.info.name = name;
      r.length = int64_t(seq.size());
      std::vector<int32_t> tok;
      for (char c : seq) tok.push_back(dna::token((unsigned char)c));
      std::vector<float> h(seq.size() * size_t(model->config.d_model));
      EncoderState st = enc.new_state();
      enc.forward(tok.data(), int64_t(tok.size()), st, h.data());
      for (auto [s, e] : expected_windows(int64_t(seq.size()), spec.window, spec.stride)) {
        const auto pooled = pool_direct(h, model->config.d_model, s, e, Pooling::Mean);
        std::vector<float> pf(pooled.begin(), pooled.end()), probs(3);
        head->apply(pf.data(), 1, probs.data());
        r.start.push_back(s);
        r.end.push_back(e);
        r.values.insert(r.values.end(), probs.begin(), probs.end());
      }
      want.push_back(r);
    }
  }

  std::vector<float> first_values;
  struct Cfg { int64_t chunk, batch, readers; int threads; };
  for (Cfg cfg : {Cfg{100000, 8, 0, 0}, Cfg{1, 1, 1, 1}, Cfg{7, 3, 2, 2}, Cfg{64, 16, 1, 0}, Cfg{15, 2, 2, 1}}) {
    INFO("chunk " << cfg.chunk << " batch " << cfg.batch << " readers " << cfg.readers << " threads " << cfg.threads);
    std::unique_ptr<tbb::global_control> gc;
    if (cfg.threads) gc = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, size_t(cfg.threads));
    PipelineOptions o;
    o.chunk = cfg.chunk;
    o.batch = cfg.batch;
    o.readers = cfg.readers;
    o.task = spec;
    DnaPipeline p(model, o);
    RecordingSink sink;
    const PipelineStats st = p.run(inputs, sink);
    CHECK(st.failures.empty());
    CHECK(sink.finished);
    CHECK(st.records == 5);
    CHECK(st.bases == 333 + 9 + 120 + 250);
    REQUIRE(sink.order == std::vector<std::string>{"chrA", "tiny", "empty", "chrB", "other"});
    std::vector<float> all;
    for (size_t i = 0; i < want.size(); ++i) {
      const auto& g = sink.recs[i];
      CHECK(g.how == RecordEnd::Complete);
      CHECK(g.length == want[i].length);
      REQUIRE(g.start == want[i].start);
      REQUIRE(g.end == want[i].end);
      REQUIRE(g.values.size() == want[i].values.size());
      for (size_t k = 0; k < g.values.size(); ++k) REQUIRE(std::abs(g.values[k] - want[i].values[k]) < 1e-5f);
      all.insert(all.end(), g.values.begin(), g.values.end());
    }
    if (first_values.empty()) first_values = all;
    else CHECK(all == first_values);  // bitwise on the CPU
  }
}

TEST_CASE("pipeline: a bad input is reported and the others go on", "[pipeline][errors]") {
  mft::TempDir tmp;
  auto dir = mft::make_head_model(tmp / "m", "classify", {"x", "y"}, 10, 10);
  auto model = load_model(dir.string());
  mft::write_file(tmp / "good.fa", ">g1\nACGTACGTACGTACGTACGT\n");
  mft::write_file(tmp / "bad.fa", ">b1\nACGTACGTAC\n>b2\nACGT\nAC!T\n");
  mft::write_file(tmp / "empty.fa", "");
  PipelineOptions o;
  o.task = read_task_spec(*model);
  o.chunk = 3;
  DnaPipeline p(model, o);
  RecordingSink sink;
  auto st = p.run({(tmp / "bad.fa").string(), (tmp / "missing.fa").string(), (tmp / "empty.fa").string(),
                   (tmp / "good.fa").string()}, sink);
  REQUIRE(st.failures.size() == 3);
  CHECK_THAT(st.failures[0].message + st.failures[1].message + st.failures[2].message,
             Contains("record 'b2', line 5, column 3: invalid character '!'"));
  CHECK_THAT(st.failures[0].message + st.failures[1].message + st.failures[2].message, Contains("cannot open"));
  CHECK_THAT(st.failures[0].message + st.failures[1].message + st.failures[2].message, Contains("empty input"));
  REQUIRE(sink.order == std::vector<std::string>{"b1", "b2", "g1"});
  CHECK(sink.recs[0].how == RecordEnd::Complete);
  CHECK(sink.recs[0].start.size() == 1);
  CHECK(sink.recs[1].how == RecordEnd::Failed);
  CHECK(sink.recs[2].how == RecordEnd::Complete);
  CHECK(sink.recs[2].start.size() == 2);

  // An error in a record's very first read: nothing of the previous record may leak into it.
  o.chunk = 1000;
  DnaPipeline p2(model, o);
  RecordingSink sink2;
  st = p2.run({(tmp / "bad.fa").string()}, sink2);
  REQUIRE(st.failures.size() == 1);
  REQUIRE(sink2.recs.size() == 2);
  CHECK(sink2.recs[1].how == RecordEnd::Failed);
  CHECK(sink2.recs[1].length == 0);
  CHECK(sink2.recs[1].start.empty());
}

TEST_CASE("pipeline: a stop ends every record cleanly", "[pipeline]") {
  mft::TempDir tmp;
  auto model = load_model(mft::tiny_model().string());
  std::mt19937 rng(2);
  mft::write_file(tmp / "a.fa", ">long\n" + random_dna(rng, 20000) + "\n>next\nACGT\n");
  PipelineOptions o;
  o.chunk = 100;
  o.batch = 1;
  std::atomic<bool> stop{false};
  DnaPipeline p(model, o);
  RecordingSink sink;
  sink.is_ordered = false;
  sink.trigger = &stop;
  auto st = p.run({(tmp / "a.fa").string()}, sink, &stop);
  CHECK(st.interrupted);
  CHECK(st.failures.empty());
  REQUIRE(sink.recs.size() == 1);
  CHECK(sink.recs[0].ended);
  CHECK(sink.recs[0].how == RecordEnd::Interrupted);
  CHECK(sink.recs[0].length > 0);
  CHECK(sink.recs[0].length < 20000);
  CHECK(sink.recs[0].positions == sink.recs[0].length);
  REQUIRE(st.incomplete.size() == 1);
  CHECK_THAT(st.incomplete[0], Contains("long (stopped after"));
  CHECK(sink.finished);
}

TEST_CASE("pipeline: embeddings per position equal the encoder's", "[pipeline]") {
  mft::TempDir tmp;
  auto model = load_model(mft::tiny_model().string());
  mft::write_file(tmp / "a.fa", ">r1\nACGTTGCANNACGT\n>r2\nGATTACA\n");
  PipelineOptions o;
  o.chunk = 4;
  o.batch = 2;
  DnaPipeline p(model, o);
  RecordingSink sink;
  sink.is_ordered = false;
  auto st = p.run({(tmp / "a.fa").string()}, sink);
  REQUIRE(st.failures.empty());
  REQUIRE(sink.recs.size() == 2);
  Encoder enc(model, Device::cpu());
  for (auto& r : sink.recs) {
    const std::string seq = r.info.name == "r1" ? "ACGTTGCANNACGT" : "GATTACA";
    std::vector<int32_t> tok;
    for (char c : seq) tok.push_back(dna::token((unsigned char)c));
    std::vector<float> h(seq.size() * 64);
    EncoderState s = enc.new_state();
    enc.forward(tok.data(), int64_t(tok.size()), s, h.data());
    CHECK(r.positions == int64_t(seq.size()));
    REQUIRE(r.values.size() == h.size());
    for (size_t i = 0; i < h.size(); ++i) REQUIRE(std::abs(r.values[i] - h[i]) <= 1e-6f * (1 + std::abs(h[i])));
  }
}
