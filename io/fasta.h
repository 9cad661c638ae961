// FASTA / FASTQ sequence records through htslib's BGZF reader (plain, gzip or bgzip; "-" is
// standard input), read in bounded pieces: a record of any length is never held whole.
// Bases become DNA tokens (DESIGN.md): A=7 C=8 G=9 T=10 N=11, lower case (soft-masked) the
// same token, U read as T, IUPAC ambiguity codes (R Y K M S W B D H V) as N. Blank lines,
// CR line ends and spaces inside sequence lines are skipped. Anything else is an mf::Error
// naming the file, record, line and column.
//
//   SequenceReader r("genome.fa.gz");
//   while (r.next_record()) { while (size_t n = r.read(buf, cap)) use(r.name(), buf, n); }
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "io/sequence_source.h"

struct hFILE;

namespace mf {

namespace dna {
constexpr int32_t kA = 7, kC = 8, kG = 9, kT = 10, kN = 11;
constexpr int64_t kVocab = 12;
// Token of a base character, or -1 if the character is not a nucleotide code.
int32_t token(unsigned char c);
}  // namespace dna

class SequenceReader final : public SequenceSource {
 public:
  explicit SequenceReader(const std::string& path);
  // Reads an already opened stream (takes ownership); `path` names it in messages.
  SequenceReader(hFILE* file, const std::string& path);
  ~SequenceReader();
  SequenceReader(const SequenceReader&) = delete;
  SequenceReader& operator=(const SequenceReader&) = delete;

  // Advances to the next record (skipping what is left of the current one); false at the end.
  bool next_record() override;
  // Reads up to `max` tokens of the current record; 0 once the record is done.
  size_t read(int32_t* tokens, size_t max) override;

  const std::string& name() const override { return name_; }  // up to the first white space
  const std::string& path() const override { return path_; }
  int64_t bytes_done() const override;
  int64_t bytes_total() const override { return size_; }
  int64_t record_index() const { return record_index_; }   // 0-based
  int64_t bases_read() const { return bases_; }            // in the current record

 private:
  struct Impl;
  bool getline();  // next non-blank line into the line buffer; false at EOF
  [[noreturn]] void bad_char(size_t col) const;
  std::unique_ptr<Impl> impl_;
  std::string path_, name_;
  int64_t record_index_ = -1, bases_ = 0, line_no_ = 0, size_ = 0;
  bool fastq_ = false, in_seq_ = false, have_pending_header_ = false, eof_ = false;
  size_t pos_ = 0;  // position in the current sequence line
};

}  // namespace mf
