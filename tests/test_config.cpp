// config.json in transformers' and mamba_ssm's namings.
#include "io/model_config.h"
#include "ops/error.h"
#include "tests/catch.h"

using namespace mf;
using Catch::Matchers::Contains;

TEST_CASE("transformers MambaConfig fields", "[io][config]") {
  auto c = parse_model_config(R"({"model_type":"mamba","hidden_size":768,"num_hidden_layers":24,
    "state_size":16,"expand":2,"conv_kernel":4,"time_step_rank":"auto","vocab_size":50280,
    "layer_norm_epsilon":1e-5,"residual_in_fp32":true,"use_bias":false,"use_conv_bias":true})", "c");
  CHECK(c.d_model == 768);
  CHECK(c.n_layer == 24);
  CHECK(c.d_inner == 1536);
  CHECK(c.dt_rank == 48);  // ceil(768 / 16)
  CHECK(c.vocab_size == 50280);
  CHECK(c.source_format == "transformers");
  CHECK(c.mambaflow_json.empty());

  auto d = parse_model_config(R"({"hidden_size":24,"num_hidden_layers":3,"state_size":7,"expand":3,
    "intermediate_size":80,"conv_kernel":3,"time_step_rank":5,"vocab_size":37,"use_bias":true,
    "use_conv_bias":false,"layer_norm_epsilon":1e-6,"mambaflow":{"task":"embed"}})", "d");
  CHECK(d.d_inner == 80);  // intermediate_size wins over expand
  CHECK(d.dt_rank == 5);
  CHECK(d.use_bias);
  CHECK_FALSE(d.use_conv_bias);
  CHECK(d.eps == 1e-6);
  CHECK_THAT(d.mambaflow_json, Contains("embed"));
  // dt_rank "auto" rounds up
  auto e = parse_model_config(R"({"hidden_size":17,"num_hidden_layers":1,"vocab_size":12})", "e");
  CHECK(e.dt_rank == 2);
  CHECK(e.d_inner == 34);
  CHECK(e.d_state == 16);
}

TEST_CASE("mamba_ssm config names", "[io][config]") {
  auto c = parse_model_config(R"({"d_model":32,"n_layer":2,"vocab_size":12,
    "ssm_cfg":{"d_state":8,"d_conv":3,"expand":2},"rms_norm":true,"residual_in_fp32":true,
    "fused_add_norm":true,"pad_vocab_size_multiple":8})", "c");
  CHECK(c.source_format == "mamba_ssm");
  CHECK(c.vocab_size == 16);  // padded to a multiple of 8
  CHECK(c.d_state == 8);
  CHECK(c.d_conv == 3);
  CHECK(c.d_inner == 64);
  CHECK(c.dt_rank == 2);
  CHECK(c.use_conv_bias);
  CHECK_FALSE(c.use_bias);
}

TEST_CASE("bad config.json is a clear error", "[io][config][errors]") {
  CHECK_THROWS_WITH(parse_model_config("{\"hidden_size\": 32,", "cfg.json"), Contains("cfg.json: malformed JSON"));
  CHECK_THROWS_WITH(parse_model_config("[1,2]", "cfg.json"), Contains("expected a JSON object"));
  CHECK_THROWS_WITH(parse_model_config(R"({"model_type":"mamba2","hidden_size":32})", "cfg.json"),
                    Contains("mamba2"));
  CHECK_THROWS_WITH(parse_model_config(R"({"hidden_size":"big","num_hidden_layers":1,"vocab_size":4})", "cfg.json"),
                    Contains("\"hidden_size\" must be an integer"));
  CHECK_THROWS_WITH(parse_model_config(R"({"hidden_size":32,"vocab_size":4})", "cfg.json"),
                    Contains("missing \"num_hidden_layers\""));
  CHECK_THROWS_WITH(parse_model_config(R"({"foo":1})", "cfg.json"), Contains("not a Mamba config"));
  CHECK_THROWS_WITH(parse_model_config(R"({"hidden_size":32,"num_hidden_layers":1,"vocab_size":4,"state_size":0})", "cfg.json"),
                    Contains("d_state"));
  CHECK_THROWS_WITH(parse_model_config(R"({"d_model":32,"n_layer":1,"vocab_size":4,"ssm_cfg":{"layer":"Mamba2"}})", "cfg.json"),
                    Contains("Mamba2"));
}
