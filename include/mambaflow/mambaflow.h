/* mambaflow — C API.
 *
 * Run a Mamba-1 encoder over long token streams, chunk by chunk, with each stream's state
 * carried between chunks (chunked output == whole-sequence output).
 *
 *   struct mf_context_params p = mf_context_default_params();
 *   p.device = "cpu";
 *   char err[512];
 *   struct mf_context* ctx = mf_context_load("models/tiny-random-dna", p, err, sizeof err);
 *   if (!ctx) { fprintf(stderr, "%s\n", err); return 1; }
 *   struct mf_stream* s = mf_stream_open(ctx, err, sizeof err);
 *   float* out = malloc(n * mf_d_model(ctx) * sizeof(float));
 *   if (mf_stream_forward(s, tokens, n, out, err, sizeof err) != 0) { ...error in err... }
 *   mf_stream_forward(s, more_tokens, m, out2, err, sizeof err);   // continues the stream
 *   mf_stream_close(s);
 *   mf_context_free(ctx);
 *
 * Errors: functions that can fail take (err, err_size) and write a NUL-terminated message a
 * user can act on (which file, which tensor, what was expected). err may be NULL.
 * Threads: a context and its streams share one encoder (scratch memory, GPU state bank): use
 * them from one thread at a time (one context per thread for parallel work). No CUDA, TBB,
 * htslib or sndfile types appear here.
 */
#ifndef MAMBAFLOW_H
#define MAMBAFLOW_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mf_context;  /* a loaded model on one device */
struct mf_stream;   /* one open stream: its encoder state */

struct mf_context_params {
  const char* device; /* "auto" (first GPU, else CPU), "cpu", "cuda", "cuda:N"; default "auto" */
  const char* dtype;  /* compute type: "f32" (default), or "bf16"/"f16" on a GPU (fp32 state) */
  int n_threads;      /* CPU threads for this process (0: all cores); default 0 */
};

/* The version string, e.g. "0.1.0". */
const char* mf_version(void);

struct mf_context_params mf_context_default_params(void);

/* Loads a model directory (config.json + model.safetensors). Returns NULL on error.
 * The caller owns the result: free it with mf_context_free. */
struct mf_context* mf_context_load(const char* model_dir, struct mf_context_params params,
                                   char* err, size_t err_size);
void mf_context_free(struct mf_context* ctx);

int64_t mf_d_model(const struct mf_context* ctx);    /* width of each output row */
int64_t mf_vocab_size(const struct mf_context* ctx); /* token ids must be in [0, vocab) */
/* The device the context runs on, e.g. "cpu". Owned by ctx. */
const char* mf_device(const struct mf_context* ctx);

/* Opens a stream with a fresh (zero) state. NULL on error. Free with mf_stream_close.
 * The context must outlive its streams. On a GPU a context holds up to 64 open streams. */
struct mf_stream* mf_stream_open(struct mf_context* ctx, char* err, size_t err_size);
void mf_stream_close(struct mf_stream* s);

/* Runs tokens[0, n) through the encoder from the stream's state and updates the state.
 * Writes n * mf_d_model() floats (final-norm hidden states, row-major) to out.
 * Returns 0 on success, -1 on error (the state is then unspecified: close the stream). */
int mf_stream_forward(struct mf_stream* s, const int32_t* tokens, int64_t n, float* out,
                      char* err, size_t err_size);

/* Tokens consumed by the stream so far. */
int64_t mf_stream_position(const struct mf_stream* s);

#ifdef __cplusplus
}
#endif

#endif /* MAMBAFLOW_H */
