// Sequence sources for the DNA pipeline, all through htslib. A source yields records one
// after another, each read in bounded pieces of DNA tokens (io/fasta.h has the token map):
//   - FASTA / FASTQ, plain, gzip or bgzip, "-" for standard input (SequenceReader);
//   - regions of an indexed FASTA (samtools-style "chr", "chr:start", "chr:start-end",
//     1-based inclusive); the .fai (and .gzi for bgzip) index is created next to the file
//     when missing; each region is one record whose coordinates start at the region's start;
//   - SAM / BAM / CRAM: one record per read (secondary and supplementary alignments skipped,
//     reverse-strand reads turned back to their sequenced orientation, as `samtools fasta`
//     does), or one record per read group (reads of the group concatenated in file order,
//     the file read once per group).
// The kind is found from the content (htslib's format detection), not the file name.
//
//   auto src = open_sequence_source("reads.bam", {});
//   while (src->next_record()) { while (size_t n = src->read(buf, cap)) use(src->name(), buf, n); }
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mf {

class SequenceSource {
 public:
  virtual ~SequenceSource() = default;
  // Advances to the next record (skipping what is left of the current one); false at the end.
  virtual bool next_record() = 0;
  // Reads up to `max` tokens of the current record; 0 once the record is done. Errors
  // (invalid characters, truncated files) are mf::Errors naming file, record and line.
  virtual size_t read(int32_t* tokens, size_t max) = 0;
  virtual const std::string& name() const = 0;  // the record (or read group, or chromosome)
  virtual const std::string& path() const = 0;  // as given ("<stdin>" for "-")
  // Coordinate of the record's first base in its sequence (regions: the region start).
  virtual int64_t offset() const { return 0; }
  // Progress: input bytes consumed so far and the input's size (0 when unknown, e.g. a pipe).
  virtual int64_t bytes_done() const = 0;
  virtual int64_t bytes_total() const = 0;
};

struct SourceOptions {
  std::vector<std::string> regions;  // indexed FASTA only: the records to read, in order
  bool by_read_group = false;        // SAM/BAM/CRAM: one record per read group
};

// How messages name an input: "<stdin>" for "-", otherwise the path as given.
std::string display_path(const std::string& path);

// Size in bytes of the input at `path` when it is a regular file; 0 for "-", pipes, devices.
int64_t input_size(const std::string& path);

// Opens `path` ("-": standard input) as the right kind of source; mf::Error when it cannot be
// opened, is of a kind that holds no sequences, or an option does not apply to it.
std::unique_ptr<SequenceSource> open_sequence_source(const std::string& path, const SourceOptions& options);

}  // namespace mf
