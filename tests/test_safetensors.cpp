// safetensors: round trip, and every kind of corrupt file is a clear mf::Error.
#include <cstring>

#include "io/safetensors.h"
#include "ops/error.h"
#include "tests/util.h"

using namespace mf;
using Catch::Matchers::Contains;

namespace {
// A file with an arbitrary header text and `data_bytes` zero bytes of data.
void write_raw(const mft::fs::path& p, const std::string& header, size_t data_bytes, uint64_t claimed_len = 0) {
  uint64_t n = claimed_len ? claimed_len : header.size();
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[size_t(i)] = char((n >> (8 * i)) & 0xff);
  s += header;
  s.append(data_bytes, '\0');
  mft::write_file(p, s);
}
}  // namespace

TEST_CASE("safetensors round trip", "[io][safetensors]") {
  mft::TempDir tmp;
  Tensor a = Tensor::empty({2, 3}, DType::F32);
  for (int i = 0; i < 6; ++i) a.data<float>()[i] = float(i) * 0.5f;
  Tensor b = Tensor::empty({4}, DType::BF16);
  for (int i = 0; i < 4; ++i) b.data<uint16_t>()[i] = f32_to_bf16(float(i) - 1.0f);
  write_safetensors((tmp / "t.safetensors").string(), {{"a", a}, {"b", b}}, {{"format", "pt"}});
  SafetensorsFile f((tmp / "t.safetensors").string());
  REQUIRE(f.entries().size() == 2);
  CHECK(f.metadata().at("format") == "pt");
  Tensor ra = f.tensor("a");
  CHECK(ra.shape() == Shape{2, 3});
  CHECK(ra.data<float>()[5] == 2.5f);
  Tensor rb = f.tensor("b").to(DType::F32);
  CHECK(rb.data<float>()[3] == 2.0f);
  CHECK_THROWS_WITH(f.tensor("c"), Contains("no tensor named 'c'"));
}

TEST_CASE("corrupt safetensors files are clear errors", "[io][safetensors][errors]") {
  mft::TempDir tmp;
  const auto p = tmp / "bad.safetensors";
  auto expect = [&](const std::string& needle) {
    try {
      SafetensorsFile f(p.string());
      FAIL("no error for a file that should be rejected with: " << needle);
    } catch (const Error& e) {
      std::string msg = e.what();
      CHECK_THAT(msg, Contains(needle));
      CHECK_THAT(msg, Contains(p.string()));
    }
  };
  SECTION("shorter than the length prefix") { mft::write_file(p, "abc"); expect("too short"); }
  SECTION("header length larger than the file") {
    write_raw(p, R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4, 1000);
    expect("larger than the file");
  }
  SECTION("header is not JSON") { write_raw(p, "{not json", 0); expect("not valid JSON"); }
  SECTION("unknown dtype") {
    write_raw(p, R"({"a":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}})", 4);
    expect("dtype 'Q7' is not supported");
  }
  SECTION("F64 is named as unsupported") {
    write_raw(p, R"({"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", 8);
    expect("dtype 'F64' is not supported");
  }
  SECTION("offsets past the end of the data (truncated file)") {
    write_raw(p, R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 10);
    expect("point past the end of the data");
  }
  SECTION("overlapping tensors") {
    write_raw(p, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12);
    expect("overlap");
  }
  SECTION("size disagrees with shape x dtype") {
    write_raw(p, R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8);
    expect("needs 12");
  }
  SECTION("negative dimension") {
    write_raw(p, R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4);
    expect("negative dimension");
  }
  SECTION("reversed offsets") {
    write_raw(p, R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", 8);
    expect("reversed");
  }
  SECTION("a real checkpoint cut short") {
    std::string full = mft::read_file(mft::tiny_model() / "model.safetensors");
    mft::write_file(p, full.substr(0, full.size() / 2));
    expect("past the end of the data");
  }
  SECTION("missing file") { expect("cannot open"); }
}
