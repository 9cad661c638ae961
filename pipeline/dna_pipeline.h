// The DNA pipeline: sequence files in, per-record results out (io/results.h), with bounded
// memory whatever the input size.
//
//   reader threads ──(token pool: `in_flight` chunk buffers)──► device thread ──► flow graph:
//   (blocking I/O,        a reader blocks when all are in use)     (Encoder,          head ─► writer
//    one input each,                                                batches chunks      (pool,   (order,
//    records in bounded                                             of up to `batch`    linear,  sink)
//    chunks)                                                        streams)            softmax)
//
// Each record is a stream with its own encoder state (a StateBank slot on a GPU) and head
// state (window accumulators). A batch holds at most one chunk per stream, so a stream's
// chunks run in order. Readers and the device run on their own threads (blocking file and
// GPU work stays off the TBB workers); head and writer are serial nodes of a TBB flow graph,
// the head parallel over the chunks of a batch inside. Hidden states pass through a small pool
// of host buffers, so host memory is bounded by chunk, batch and in_flight, not by the input.
//
// A bad input (unreadable file, invalid character) is reported with file, record and line in
// the result and the other inputs go on. `stop` (e.g. set on Ctrl-C) ends reading at once and
// drops chunks not yet encoded; every record still ends cleanly (cut short: Interrupted).
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "io/results.h"
#include "io/sequence_source.h"
#include "ops/device.h"
#include "ops/dtype.h"
#include "ops/head.h"
#include "ops/mamba_model.h"

namespace mf {

struct PipelineOptions {
  Device device = Device::cpu();
  DType dtype = DType::F32;
  int64_t chunk = 65536;   // tokens per chunk
  int64_t batch = 8;       // streams per encoder step
  int64_t readers = 0;     // inputs read at once (0: min(inputs, batch, 4))
  int64_t in_flight = 0;   // chunk buffers in flight (0: 2 * batch + 2 * readers)
  SourceOptions source;
  // Opens an input as a source of token records; empty: open_sequence_source(path, source)
  // (DNA). Audio uses open_mulaw_source (io/audio_source.h).
  std::function<std::unique_ptr<SequenceSource>(const std::string& path)> open_source;
  TaskSpec task;
};

struct InputFailure {
  std::string input, message;
};

struct PipelineStats {
  int64_t inputs = 0, records = 0, bases = 0;
  std::vector<InputFailure> failures;
  std::vector<std::string> incomplete;  // records cut short by a stop ("input: record")
  bool interrupted = false;
  double seconds = 0;
};

struct ProgressSnapshot {
  int64_t bases = 0;                       // through the encoder
  int64_t bytes_done = 0, bytes_total = 0; // of the inputs (0 total: unknown, e.g. a pipe)
  int64_t inputs_done = 0, inputs_total = 0;
  std::string current;                     // the input being read (one of them)
};

class DnaPipeline {
 public:
  DnaPipeline(std::shared_ptr<const MambaModel> model, PipelineOptions options);
  ~DnaPipeline();
  DnaPipeline(const DnaPipeline&) = delete;
  DnaPipeline& operator=(const DnaPipeline&) = delete;

  // Runs every input through to `sink` (finish() is called at the end). Errors of single
  // inputs are collected in the result; an error of the device or the sink is thrown.
  PipelineStats run(const std::vector<std::string>& inputs, ResultSink& sink,
                    const std::atomic<bool>* stop = nullptr);
  // Safe to call from another thread while run() works.
  ProgressSnapshot progress() const;
  // Host memory of the chunk and hidden-state buffers, allocated at construction and reused by
  // every run: 3 x max(chunk, 65536) x d_model x 4 + in_flight x chunk x 4 bytes.
  int64_t host_buffer_bytes() const;
  // What runs where, e.g. "cuda:0 (NVIDIA H100), bf16".
  std::string describe() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mf
