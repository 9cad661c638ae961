// The C API (include/mambaflow/mambaflow.h) over ops/ and io/.
#include <mambaflow/mambaflow.h>

#include <tbb/global_control.h>

#include <cstring>
#include <memory>
#include <string>

#include "io/model_loader.h"
#include "ops/encoder.h"
#include "ops/error.h"

struct mf_context {
  std::shared_ptr<const mf::MambaModel> model;
  mf::Device device;
  mf::DType dtype = mf::DType::F32;
  std::string device_name;
  std::unique_ptr<mf::Encoder> encoder;  // shared by the context's streams (one StateBank)
  std::unique_ptr<tbb::global_control> threads;
};

struct mf_stream {
  mf_context* ctx;
  mf::EncoderState state;
};

namespace {
void set_error(char* err, size_t size, const char* msg) {
  if (!err || size == 0) return;
  std::strncpy(err, msg, size - 1);
  err[size - 1] = '\0';
}

template <class F>
auto guarded(char* err, size_t size, F&& f, decltype(f()) on_error) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    set_error(err, size, e.what());
  } catch (...) {
    set_error(err, size, "unknown error");
  }
  return on_error;
}
}  // namespace

extern "C" {

const char* mf_version(void) { return "0.1.0"; }

mf_context_params mf_context_default_params(void) { return {"auto", "f32", 0}; }

mf_context* mf_context_load(const char* model_dir, mf_context_params params, char* err,
                            size_t err_size) {
  return guarded(err, err_size, [&]() -> mf_context* {
    if (!model_dir) mf::fail("mf_context_load: model_dir is NULL");
    auto ctx = std::make_unique<mf_context>();
    if (params.n_threads > 0) {
      ctx->threads = std::make_unique<tbb::global_control>(
          tbb::global_control::max_allowed_parallelism, size_t(params.n_threads));
    }
    ctx->device = mf::Encoder::choose_device(params.device ? params.device : "auto");
    ctx->device_name = ctx->device.str();
    const std::string dt = params.dtype ? params.dtype : "f32";
    if (dt == "bf16") ctx->dtype = mf::DType::BF16;
    else if (dt == "f16") ctx->dtype = mf::DType::F16;
    else if (dt != "f32") mf::fail("dtype '", dt, "': expected f32, bf16 or f16");
    ctx->model = mf::load_model(model_dir);
    ctx->encoder = std::make_unique<mf::Encoder>(ctx->model, ctx->device, ctx->dtype);
    return ctx.release();
  }, nullptr);
}

void mf_context_free(mf_context* ctx) { delete ctx; }

int64_t mf_d_model(const mf_context* ctx) { return ctx->model->config.d_model; }
int64_t mf_vocab_size(const mf_context* ctx) { return ctx->model->config.vocab_size; }
const char* mf_device(const mf_context* ctx) { return ctx->device_name.c_str(); }

mf_stream* mf_stream_open(mf_context* ctx, char* err, size_t err_size) {
  return guarded(err, err_size, [&]() -> mf_stream* {
    if (!ctx) mf::fail("mf_stream_open: ctx is NULL");
    return new mf_stream{ctx, ctx->encoder->new_state()};
  }, nullptr);
}

void mf_stream_close(mf_stream* s) { delete s; }

int mf_stream_forward(mf_stream* s, const int32_t* tokens, int64_t n, float* out, char* err,
                      size_t err_size) {
  return guarded(err, err_size, [&]() -> int {
    if (!s) mf::fail("mf_stream_forward: stream is NULL");
    if (n < 0) mf::fail("mf_stream_forward: negative token count");
    if (n > 0 && (!tokens || !out)) mf::fail("mf_stream_forward: tokens or out is NULL");
    s->ctx->encoder->forward(tokens, n, s->state, out);
    return 0;
  }, -1);
}

int64_t mf_stream_position(const mf_stream* s) { return s->state.position; }

}  // extern "C"
