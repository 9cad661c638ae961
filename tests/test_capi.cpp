// The C API: load, stream in chunks, errors in the caller's buffer.
#include <mambaflow/mambaflow.h>

#include <cstring>
#include <vector>

#include "tests/util.h"

using Catch::Matchers::Contains;

TEST_CASE("C API: chunked stream equals one call", "[capi]") {
  char err[512] = {0};
  mf_context_params p = mf_context_default_params();
  p.device = "cpu";
  mf_context* ctx = mf_context_load(mft::tiny_model().c_str(), p, err, sizeof err);
  INFO(err);
  REQUIRE(ctx);
  CHECK(std::string(mf_device(ctx)) == "cpu");
  const int64_t D = mf_d_model(ctx);
  CHECK(D == 64);
  std::vector<int32_t> ids(300);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = int32_t(7 + (i * 7 + i / 3) % 5);
  std::vector<float> whole(ids.size() * size_t(D)), parts(ids.size() * size_t(D));
  mf_stream* s = mf_stream_open(ctx, err, sizeof err);
  REQUIRE(s);
  REQUIRE(mf_stream_forward(s, ids.data(), int64_t(ids.size()), whole.data(), err, sizeof err) == 0);
  mf_stream_close(s);
  s = mf_stream_open(ctx, err, sizeof err);
  REQUIRE(mf_stream_forward(s, ids.data(), 100, parts.data(), err, sizeof err) == 0);
  REQUIRE(mf_stream_forward(s, ids.data() + 100, 200, parts.data() + 100 * D, err, sizeof err) == 0);
  CHECK(mf_stream_position(s) == 300);
  for (size_t i = 0; i < whole.size(); ++i) REQUIRE(std::abs(whole[i] - parts[i]) <= 1e-5f * (1 + std::abs(whole[i])));
  int32_t bad = 99;
  CHECK(mf_stream_forward(s, &bad, 1, parts.data(), err, sizeof err) == -1);
  CHECK_THAT(std::string(err), Contains("outside the model's vocabulary"));
  mf_stream_close(s);
  mf_context_free(ctx);
}

TEST_CASE("C API: load errors are reported in the buffer", "[capi][errors]") {
  char err[256] = {0};
  mf_context_params p = mf_context_default_params();
  p.device = "cpu";
  CHECK(mf_context_load("/no/such/model", p, err, sizeof err) == nullptr);
  CHECK_THAT(std::string(err), Contains("does not exist"));
  p.device = "tpu";
  CHECK(mf_context_load(mft::tiny_model().c_str(), p, err, sizeof err) == nullptr);
  CHECK_THAT(std::string(err), Contains("bad device 'tpu'"));
  CHECK(mf_context_load(nullptr, p, nullptr, 0) == nullptr);  // NULL err buffer is allowed
}
