#include "io/sequence_source.h"

#include <htslib/bgzf.h>
#include <htslib/cram.h>
#include <htslib/faidx.h>
#include <htslib/hfile.h>
#include <htslib/hts.h>
#include <htslib/sam.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "io/fasta.h"
#include "ops/error.h"

namespace mf {

namespace {

struct FaiDeleter { void operator()(faidx_t* p) const { fai_destroy(p); } };
struct HtsDeleter { void operator()(htsFile* p) const { hts_close(p); } };
struct HdrDeleter { void operator()(sam_hdr_t* p) const { sam_hdr_destroy(p); } };
struct BamDeleter { void operator()(bam1_t* p) const { bam_destroy1(p); } };
struct FreeDeleter { void operator()(void* p) const { std::free(p); } };



int32_t complement(int32_t t) {
  switch (t) {
    case dna::kA: return dna::kT;
    case dna::kT: return dna::kA;
    case dna::kC: return dna::kG;
    case dna::kG: return dna::kC;
    default: return t;
  }
}

// ---------------------------------------------------------------------------------------
// Regions of an indexed FASTA, each fetched in bounded pieces through faidx.
class FaidxSource final : public SequenceSource {
 public:
  FaidxSource(const std::string& path, const std::vector<std::string>& regions) : path_(path) {
    if (path == "-") fail("--region needs an indexed FASTA file, not standard input");
    errno = 0;
    fai_.reset(fai_load3(path.c_str(), nullptr, nullptr, FAI_CREATE));
    if (!fai_)
      fail(path, ": cannot open or index for --region (", errno ? std::strerror(errno) : "not a FASTA file?",
           "). The .fai index is created next to the file when missing, so the directory must be "
           "writable; a compressed FASTA must be bgzip-compressed (bgzip, not gzip)");
    for (const auto& r : regions) {
      int tid = -1;
      hts_pos_t beg = 0, end = 0;
      if (!fai_parse_region(fai_.get(), r.c_str(), &tid, &beg, &end, 0) || tid < 0) {
        std::string names;
        for (int i = 0; i < std::min(faidx_nseq(fai_.get()), 5); ++i)
          names += std::string(i ? ", " : "") + faidx_iseq(fai_.get(), i);
        if (faidx_nseq(fai_.get()) > 5) names += ", ...";
        fail(path, ": region '", r, "': no such sequence or bad coordinates (expected chr, chr:start or "
             "chr:start-end, 1-based inclusive; sequences here: ", names, ")");
      }
      Region g;
      g.name = faidx_iseq(fai_.get(), tid);
      const int64_t len = seq_length(path, g.name);
      g.beg = beg;
      g.end = std::min<int64_t>(end, len);
      if (g.beg >= g.end)
        fail(path, ": region '", r, "' is empty (", g.name, " has ", len, " bases)");
      total_ += g.end - g.beg;
      regions_.push_back(std::move(g));
    }
  }

  // faidx_seq_len is 32-bit in htslib 1.16; longer sequences are looked up in the .fai itself.
  int64_t seq_length(const std::string& path, const std::string& name) const {
    const int n = faidx_seq_len(fai_.get(), name.c_str());
    if (n >= 0) return n;
    std::ifstream fai(path + ".fai");
    std::string line;
    while (std::getline(fai, line)) {
      const size_t tab = line.find('\t');
      if (tab != std::string::npos && line.compare(0, tab, name) == 0) return std::stoll(line.substr(tab + 1));
    }
    fail(path, ": cannot find the length of '", name, "' in ", path, ".fai");
  }

  bool next_record() override {
    if (index_ >= 0 && size_t(index_) < regions_.size()) done_ += regions_[size_t(index_)].end - pos_;
    if (size_t(++index_) >= regions_.size()) return false;
    pos_ = regions_[size_t(index_)].beg;
    return true;
  }

  size_t read(int32_t* tokens, size_t max) override {
    if (index_ < 0 || size_t(index_) >= regions_.size()) return 0;
    const Region& g = regions_[size_t(index_)];
    const int64_t n = std::min<int64_t>({int64_t(max), g.end - pos_, int64_t(1) << 20});
    if (n <= 0) return 0;
    hts_pos_t got = 0;
    std::unique_ptr<char, FreeDeleter> s(faidx_fetch_seq64(fai_.get(), g.name.c_str(), pos_, pos_ + n - 1, &got));
    if (!s || got != n)
      fail(path_, ": record '", g.name, "': cannot read bases ", pos_ + 1, "-", pos_ + n,
           " (truncated or corrupt file, or a stale .fai index?)");
    for (int64_t i = 0; i < n; ++i) {
      const int32_t t = dna::token((unsigned char)s.get()[i]);
      if (t < 0) {
        const unsigned char c = (unsigned char)s.get()[i];
        fail(path_, ": record '", g.name, "', position ", pos_ + i + 1, ": invalid character ",
             (c >= 0x21 && c < 0x7f) ? std::string("'") + char(c) + "'" : "code " + std::to_string(int(c)),
             " in a sequence (expected A, C, G, T, U, N or an IUPAC code)");
      }
      tokens[i] = t;
    }
    pos_ += n;
    done_ += n;
    return size_t(n);
  }

  const std::string& name() const override { return regions_[size_t(index_)].name; }
  const std::string& path() const override { return path_; }
  int64_t offset() const override { return regions_[size_t(index_)].beg; }
  int64_t bytes_done() const override { return done_; }   // bases of the regions, as units
  int64_t bytes_total() const override { return total_; }

 private:
  struct Region {
    std::string name;
    int64_t beg = 0, end = 0;
  };
  std::unique_ptr<faidx_t, FaiDeleter> fai_;
  std::string path_;
  std::vector<Region> regions_;
  int64_t index_ = -1, pos_ = 0, done_ = 0, total_ = 0;
};

// ---------------------------------------------------------------------------------------
// SAM/BAM/CRAM reads: one record per read, or one per read group (one pass per group).
class HtsReadSource final : public SequenceSource {
 public:
  HtsReadSource(htsFile* fp, const std::string& path, bool by_group)
      : path_(display_path(path)), open_path_(path), by_group_(by_group), size_(input_size(path)) {
    attach(fp);
    if (by_group_) {
      if (path == "-") fail("--by-read-group needs a SAM/BAM/CRAM file, not standard input (it reads the file once per group)");
      const int n = sam_hdr_count_lines(hdr_.get(), "RG");
      for (int i = 0; i < n; ++i) {
        const char* id = sam_hdr_line_name(hdr_.get(), "RG", i);
        if (id) groups_.push_back(id);
      }
      known_.insert(groups_.begin(), groups_.end());
      // Reads without a (declared) read group form one more record, named below.
      groups_.push_back(kUnassigned);
    }
  }

  bool next_record() override {
    if (!by_group_) {
      for (;;) {
        if (!next_read()) return false;
        const uint16_t flag = b_->core.flag;
        if (flag & (BAM_FSECONDARY | BAM_FSUPPLEMENTARY)) continue;
        name_ = bam_get_qname(b_.get());
        decode(b_.get(), /*append=*/false);
        return true;
      }
    }
    if (group_ == 0)
      while (fill_group()) {}  // the first pass also counts the reads of no declared group
    for (;;) {
      if (size_t(++group_) >= groups_.size()) return false;
      if (group_ > 0) {  // a new pass over the file
        if (groups_[size_t(group_)] == kUnassigned && unassigned_reads_ == 0) continue;
        htsFile* fp = hts_open(open_path_.c_str(), "r");
        if (!fp) fail(path_, ": cannot reopen for the next read group: ", std::strerror(errno));
        attach(fp);
      }
      name_ = groups_[size_t(group_)];
      buf_.clear();
      pos_ = 0;
      group_done_ = false;
      return true;
    }
  }

  size_t read(int32_t* tokens, size_t max) override {
    size_t out = 0;
    while (out < max) {
      if (pos_ == buf_.size()) {
        if (!by_group_ || !fill_group()) break;
      }
      const size_t n = std::min(max - out, buf_.size() - pos_);
      std::copy_n(buf_.data() + pos_, n, tokens + out);
      pos_ += n;
      out += n;
    }
    return out;
  }

  const std::string& name() const override { return name_; }
  const std::string& path() const override { return path_; }
  int64_t bytes_done() const override {
    const int64_t pass = int64_t(std::max<int64_t>(group_, 0)) * size_;
    htsFile* f = fp_.get();
    hFILE* h = f->is_bgzf ? f->fp.bgzf->fp : f->is_cram ? cram_fd_get_fp(f->fp.cram) : f->fp.hfile;
    return pass + (h ? int64_t(htell(h)) : 0);
  }
  int64_t bytes_total() const override {
    return by_group_ ? size_ * int64_t(groups_.size()) : size_;  // at most one pass per group
  }

 private:
  static constexpr const char* kUnassigned = "unassigned";

  void attach(htsFile* fp) {
    fp_.reset(fp);
    hdr_.reset(sam_hdr_read(fp));
    if (!hdr_) fail(path_, ": cannot read the SAM/BAM/CRAM header (truncated or corrupt file?)");
    if (!b_) b_.reset(bam_init1());
    read_index_ = 0;
  }

  bool next_read() {
    const int r = sam_read1(fp_.get(), hdr_.get(), b_.get());
    if (r == -1) return false;
    if (r < -1)
      fail(path_, ": read ", read_index_ + 1, " (after '", name_, "'): cannot decode: the file is "
           "truncated or corrupt (htslib error ", r, ")");
    ++read_index_;
    return true;
  }

  // The read's bases as tokens (appended to buf_ or replacing it), in sequenced orientation.
  void decode(const bam1_t* b, bool append) {
    if (!append) { buf_.clear(); pos_ = 0; }
    const size_t start = buf_.size();
    const uint8_t* s = bam_get_seq(b);
    for (int32_t i = 0; i < b->core.l_qseq; ++i) {
      const char c = seq_nt16_str[bam_seqi(s, i)];
      buf_.push_back(c == '=' ? dna::kN : dna::token((unsigned char)c));
    }
    if (b->core.flag & BAM_FREVERSE) {
      std::reverse(buf_.begin() + std::ptrdiff_t(start), buf_.end());
      for (size_t i = start; i < buf_.size(); ++i) buf_[i] = complement(buf_[i]);
    }
  }

  // Loads the next read of the current group into buf_; false at the end of the pass.
  bool fill_group() {
    if (group_done_) return false;
    buf_.clear();
    pos_ = 0;
    const std::string& want = groups_[size_t(group_)];
    while (buf_.empty()) {
      if (!next_read()) { group_done_ = true; return false; }
      if (b_->core.flag & (BAM_FSECONDARY | BAM_FSUPPLEMENTARY)) continue;
      const uint8_t* rg = bam_aux_get(b_.get(), "RG");
      const char* id = rg ? bam_aux2Z(rg) : nullptr;
      const bool assigned = id && known_.count(id);
      if (group_ == 0 && !assigned) ++unassigned_reads_;
      if (assigned ? want == id : want == kUnassigned) decode(b_.get(), /*append=*/true);
    }
    return true;
  }

  std::unique_ptr<htsFile, HtsDeleter> fp_;
  std::unique_ptr<sam_hdr_t, HdrDeleter> hdr_;
  std::unique_ptr<bam1_t, BamDeleter> b_;
  std::string path_, open_path_, name_;
  bool by_group_;
  int64_t size_;
  std::vector<std::string> groups_;
  std::set<std::string> known_;
  int64_t group_ = -1, unassigned_reads_ = 0, read_index_ = 0;
  bool group_done_ = false;
  std::vector<int32_t> buf_;
  size_t pos_ = 0;
};

}  // namespace

std::string display_path(const std::string& path) { return path == "-" ? "<stdin>" : path; }

int64_t input_size(const std::string& path) {
  std::error_code ec;
  if (path == "-" || !std::filesystem::is_regular_file(path, ec)) return 0;
  const auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : int64_t(n);
}

std::unique_ptr<SequenceSource> open_sequence_source(const std::string& path, const SourceOptions& options) {
  if (!options.regions.empty()) {
    if (options.by_read_group) fail("--region and --by-read-group do not go together");
    return std::make_unique<FaidxSource>(path, options.regions);
  }
  errno = 0;
  hFILE* f = hopen(path.c_str(), "r");
  if (!f) fail(display_path(path), ": cannot open: ", errno ? std::strerror(errno) : "not readable");
  htsFormat fmt{};
  if (hts_detect_format2(f, path.c_str(), &fmt) < 0) {
    hclose_abruptly(f);
    fail(display_path(path), ": read error while detecting the file format");
  }
  if (fmt.format == sam || fmt.format == bam || fmt.format == cram) {
    htsFile* fp = hts_hopen(f, path.c_str(), "r");
    if (!fp) {
      hclose_abruptly(f);
      fail(display_path(path), ": cannot open as SAM/BAM/CRAM");
    }
    return std::make_unique<HtsReadSource>(fp, path, options.by_read_group);
  }
  if (fmt.category != sequence_data && fmt.category != unknown_category) {
    std::unique_ptr<char, FreeDeleter> what(hts_format_description(&fmt));
    hclose_abruptly(f);
    fail(display_path(path), ": is ", what ? what.get() : "a file of another kind",
         ", not FASTA, FASTQ, SAM, BAM or CRAM");
  }
  if (options.by_read_group) {
    hclose_abruptly(f);
    fail(display_path(path), ": --by-read-group applies to SAM/BAM/CRAM input only");
  }
  return std::make_unique<SequenceReader>(f, path);
}

}  // namespace mf
