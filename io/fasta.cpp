#include "io/fasta.h"

#include <htslib/bgzf.h>
#include <htslib/hfile.h>
#include <htslib/kstring.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "ops/error.h"

namespace mf {

namespace dna {
namespace {
constexpr std::array<int8_t, 256> make_table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  auto set = [&](char c, int8_t v) {
    t[(unsigned char)c] = v;
    t[(unsigned char)(c - 'A' + 'a')] = v;
  };
  set('A', kA); set('C', kC); set('G', kG); set('T', kT); set('U', kT); set('N', kN);
  for (char c : {'R', 'Y', 'K', 'M', 'S', 'W', 'B', 'D', 'H', 'V'}) set(c, kN);
  return t;
}
constexpr auto kTable = make_table();
}  // namespace
int32_t token(unsigned char c) { return kTable[c]; }
}  // namespace dna

struct SequenceReader::Impl {
  BGZF* fp = nullptr;
  kstring_t line{0, 0, nullptr};
  ~Impl() {
    if (fp) bgzf_close(fp);
    free(line.s);
  }
};

SequenceReader::SequenceReader(const std::string& path) : impl_(new Impl), path_(display_path(path)) {
  impl_->fp = bgzf_open(path.c_str(), "r");
  if (!impl_->fp)
    fail(path == "-" ? std::string("standard input") : path, ": cannot open: ",
         errno ? std::strerror(errno) : "not readable");
  size_ = input_size(path);
}

SequenceReader::SequenceReader(hFILE* file, const std::string& path)
    : impl_(new Impl), path_(display_path(path)) {
  impl_->fp = bgzf_hopen(file, "r");
  if (!impl_->fp) {
    hclose_abruptly(file);
    fail(path_, ": cannot read: not a plain, gzip or bgzip stream");
  }
  size_ = input_size(path);
}

int64_t SequenceReader::bytes_done() const { return int64_t(htell(impl_->fp->fp)); }

SequenceReader::~SequenceReader() = default;

bool SequenceReader::getline() {
  for (;;) {
    int r = bgzf_getline(impl_->fp, '\n', &impl_->line);
    if (r == -1) return false;
    if (r < -1)
      fail(path_, ", line ", line_no_ + 1, ": read error: the file is truncated or corrupt "
           "(a broken gzip stream?)");
    ++line_no_;
    kstring_t& l = impl_->line;
    while (l.l > 0 && (l.s[l.l - 1] == '\r' || l.s[l.l - 1] == ' ' || l.s[l.l - 1] == '\t')) l.s[--l.l] = 0;
    if (l.l > 0) return true;
  }
}

void SequenceReader::bad_char(size_t col) const {
  unsigned char c = (unsigned char)impl_->line.s[col];
  char shown[8];
  if (c >= 0x21 && c < 0x7f) std::snprintf(shown, sizeof shown, "'%c'", c);
  else std::snprintf(shown, sizeof shown, "0x%02x", c);
  fail(path_, ": record '", name_, "', line ", line_no_, ", column ", col + 1, ": invalid character ",
       shown, " in a sequence (expected A, C, G, T, U, N or an IUPAC code, upper or lower case)");
}

bool SequenceReader::next_record() {
  // Skip the rest of the current record.
  while (in_seq_) {
    int32_t sink[4096];
    if (read(sink, 4096) == 0) break;
  }
  if (eof_) return false;
  if (!have_pending_header_) {
    if (!getline()) { eof_ = true; return false; }
    const char c0 = impl_->line.s[0];
    if (record_index_ < 0) fastq_ = c0 == '@';
    if (c0 != (fastq_ ? '@' : '>'))
      fail(path_, ", line ", line_no_, ": expected a ", fastq_ ? "FASTQ '@'" : "FASTA '>'",
           " header line, found text starting with '", std::string(impl_->line.s, std::min<size_t>(impl_->line.l, 20)), "'");
  }
  have_pending_header_ = false;
  const char* h = impl_->line.s + 1;
  size_t n = std::strcspn(h, " \t");
  name_.assign(h, n);
  if (name_.empty()) fail(path_, ", line ", line_no_, ": record header without a name");
  ++record_index_;
  bases_ = 0;
  in_seq_ = true;
  pos_ = impl_->line.l;  // the header line is consumed
  return true;
}

size_t SequenceReader::read(int32_t* tokens, size_t max) {
  size_t out = 0;
  while (in_seq_ && out < max) {
    kstring_t& l = impl_->line;
    if (pos_ >= l.l) {
      if (!getline()) {
        if (fastq_) fail(path_, ": record '", name_, "': the file ends before the FASTQ '+' line");
        in_seq_ = false;
        eof_ = true;
        break;
      }
      const char c0 = l.s[0];
      if (!fastq_ && c0 == '>') {
        in_seq_ = false;
        have_pending_header_ = true;
        break;
      }
      if (fastq_ && c0 == '+') {
        // Quality lines follow until they cover the sequence length.
        int64_t q = 0;
        while (q < bases_) {
          if (!getline()) fail(path_, ": record '", name_, "': FASTQ quality is shorter than the sequence (", q, " < ", bases_, ")");
          q += int64_t(l.l);
        }
        if (q != bases_) fail(path_, ", line ", line_no_, ": record '", name_, "': FASTQ quality length ", q, " differs from sequence length ", bases_);
        in_seq_ = false;
        break;
      }
      pos_ = 0;
    }
    while (pos_ < l.l && out < max) {
      const unsigned char c = (unsigned char)l.s[pos_];
      const int32_t t = dna::token(c);
      if (t >= 0) { tokens[out++] = t; ++bases_; }
      else if (c != ' ' && c != '\t' && c != '\r') bad_char(pos_);
      ++pos_;
    }
  }
  return out;
}

}  // namespace mf
