// Where pipeline results go. The pipeline calls a ResultSink from one thread at a time, for
// each record: begin_record, then windows/positions in stream order, then end_record. If
// the sink is ordered(), records arrive one after another in input order (file by file,
// record by record), whatever the batching; otherwise records may interleave.
//
// Writers for the DNA commands (all coordinates 0-based, end exclusive, as in BED; record
// names as in the input; a region's coordinates are those of its chromosome):
//   TSV       record, start, end, label, score, one probability column per label
//   JSONL     {"record", "start", "end", "label" | "labels", "score", "probs": {label: p}}
//   BED6      record, start, end, label, score 0-1000, '.'; tag: one line per label called
//   bedGraph  one file per chosen label (PREFIX.LABEL.bedGraph), the label's probability over
//             non-overlapping steps [start, start + stride)
//   .npy      embeddings: per record (one row per position, or per window when pooled)
// Text is written in whole lines only; an output file appears under its name when the run
// ends (written under a temporary name, then renamed), also after a stop or a failed input,
// holding complete lines for what was processed. A .npy file appears only for a complete record.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ops/head.h"

namespace mf {

struct RecordInfo {
  std::string input;        // the input as given ("-": standard input)
  std::string name;         // record name (region: its chromosome; BAM by read group: the group)
  int64_t offset = 0;       // coordinate of the record's first base
  int64_t input_index = 0;  // position of the input in the command line
  int64_t record_index = 0; // position of the record in its input
};

enum class RecordEnd { Complete, Failed, Interrupted };

// Windows of one record: [start, end) in stream positions (add RecordInfo::offset for
// coordinates) and `width` values each (probabilities, or a pooled embedding).
struct WindowValues {
  const int64_t* start;
  const int64_t* end;
  const float* values;
  int64_t n, width;
};

class ResultSink {
 public:
  virtual ~ResultSink() = default;
  virtual bool ordered() const { return true; }
  virtual void begin_record(const RecordInfo&) {}
  virtual void windows(const RecordInfo&, const WindowValues&) {}
  // Per-position rows [n, width] (embeddings without windows).
  virtual void positions(const RecordInfo&, const float* rows, int64_t n, int64_t width) {}
  // length: bases of the record that were processed.
  virtual void end_record(const RecordInfo&, RecordEnd, int64_t length) {}
  // Everything is done (or stopped): flush and put complete files in place.
  virtual void finish() {}
};

enum class TableFormat { Tsv, Jsonl, Bed, BedGraph };
TableFormat parse_table_format(const std::string& name);  // tsv, jsonl, bed, bedgraph

struct TableOptions {
  TableFormat format = TableFormat::Tsv;
  std::string output = "-";          // a file, "-" for standard output; bedGraph: a prefix
  Task task = Task::Classify;
  std::vector<std::string> labels;
  std::vector<float> thresholds;     // tag
  int64_t stride = 0;                // bedGraph steps
  std::vector<std::string> tracks;   // bedGraph: labels to write (empty: all)
};

// TSV / JSONL / BED / bedGraph for classify and tag.
std::unique_ptr<ResultSink> make_table_sink(const TableOptions& options);

// Audio tag events: consecutive windows in which a label is called merge into one event
// (start of its first window, end of its last; score = the highest probability). A label turns
// on at its threshold and stays on while >= its off-threshold (hysteresis). An event is written
// as soon as it closes, so results stream; times in seconds from the file's start.
//   TSV:   file, start, end, label, score      JSONL: {"file", "start", "end", "label", "score"}
struct EventOptions {
  TableFormat format = TableFormat::Tsv;  // Tsv or Jsonl
  std::string output = "-";
  std::vector<std::string> labels;
  std::vector<float> thresholds, off_thresholds;  // off: default = thresholds
  double rate = 16000;                            // positions per second
};
std::unique_ptr<ResultSink> make_event_sink(const EventOptions& options);

// Transcripts from per-frame CTC label probabilities (windows = frames). Frames are cut into
// segments at pauses (`pause` seconds of frames whose best label is the blank) or at
// `max_segment` seconds; each segment is decoded (greedy, or prefix beam search with `beam`
// > 0; ops/ctc.h) and written at once, so results stream. Words split at the label " ".
//   txt    one line per segment
//   srt    numbered cues "HH:MM:SS,mmm --> HH:MM:SS,mmm" (one input per file)
//   vtt    WEBVTT cues "HH:MM:SS.mmm --> HH:MM:SS.mmm" (one input per file)
//   jsonl  one segment per line: {"file", "start", "end", "text", "words": [{"word", "start", "end"}]}
//   json   one document at the end: {"segments": [...]} (segments as in jsonl)
enum class TranscriptFormat { Txt, Srt, Vtt, Json, Jsonl };
TranscriptFormat parse_transcript_format(const std::string& name);

struct TranscriptOptions {
  TranscriptFormat format = TranscriptFormat::Txt;
  std::string output = "-";
  std::vector<std::string> labels;  // the alphabet
  int32_t blank = 0;
  int beam = 0;                     // 0: greedy
  double rate = 16000;              // positions per second
  double pause = 0.5, max_segment = 20.0;  // seconds
};
std::unique_ptr<ResultSink> make_transcript_sink(const TranscriptOptions& options);

// .npy embeddings: `output` ending in .npy takes exactly one record; otherwise it is a
// directory (created) and record NAME goes to NAME.npy (names made file-safe and unique),
// under one subdirectory per input (named after it) when there are several `inputs`.
std::unique_ptr<ResultSink> make_npy_sink(const std::string& output, int64_t width,
                                          const std::vector<std::string>& inputs);

}  // namespace mf
