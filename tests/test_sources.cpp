// Sequence sources through htslib: content detection, indexed FASTA regions, SAM/BAM/CRAM
// reads (per read and per read group), stdin, and clear errors.
#include <htslib/bgzf.h>
#include <htslib/hts.h>
#include <htslib/sam.h>

#include "io/fasta.h"
#include "io/sequence_source.h"
#include "ops/error.h"
#include "tests/util.h"

using namespace mf;
using Catch::Matchers::Contains;

namespace {

struct Rec {
  std::string name;
  std::string bases;  // tokens back to letters (ACGTN)
  int64_t offset = 0;
};

std::vector<Rec> read_all(const std::string& path, const SourceOptions& o = {}, size_t piece = 7) {
  auto src = open_sequence_source(path, o);
  std::vector<Rec> out;
  std::vector<int32_t> buf(piece);
  while (src->next_record()) {
    out.push_back({src->name(), "", src->offset()});
    while (size_t n = src->read(buf.data(), buf.size()))
      for (size_t i = 0; i < n; ++i) out.back().bases += "ACGTN"[buf[i] - dna::kA];
  }
  CHECK(src->bytes_done() >= 0);
  return out;
}

const std::string kSam =
    "@HD\tVN:1.6\tSO:unsorted\n"
    "@RG\tID:grpA\tSM:s1\n"
    "@RG\tID:grpB\tSM:s2\n"
    "r1\t4\t*\t0\t0\t*\t*\t0\t0\tACGTTG\tIIIIII\tRG:Z:grpA\n"
    "r2\t20\t*\t0\t0\t*\t*\t0\t0\tAACCGT\tIIIIII\tRG:Z:grpB\n"   // reverse strand (0x10) + unmapped
    "r3\t260\t*\t0\t0\t*\t*\t0\t0\tGGGG\tIIII\tRG:Z:grpA\n"      // secondary: skipped
    "r4\t4\t*\t0\t0\t*\t*\t0\t0\tTTNA\tIIII\tRG:Z:grpA\n"
    "r5\t4\t*\t0\t0\t*\t*\t0\t0\tCCCA\tIIII\n";                  // no read group

// Converts SAM text to BAM or CRAM with htslib.
void convert(const mft::fs::path& sam, const mft::fs::path& out, const char* mode) {
  samFile* in = sam_open(sam.c_str(), "r");
  REQUIRE(in);
  sam_hdr_t* h = sam_hdr_read(in);
  samFile* o = sam_open(out.c_str(), mode);
  REQUIRE(o);
  REQUIRE(sam_hdr_write(o, h) == 0);
  bam1_t* b = bam_init1();
  while (sam_read1(in, h, b) >= 0) REQUIRE(sam_write1(o, h, b) >= 0);
  bam_destroy1(b);
  sam_hdr_destroy(h);
  sam_close(in);
  REQUIRE(sam_close(o) == 0);
}

}  // namespace

TEST_CASE("sources: FASTA and FASTQ found by content, any compression", "[io][sources]") {
  mft::TempDir tmp;
  mft::write_file(tmp / "a.txt", ">x desc\nACGT\nNNac\r\n\n>y\nGG\n");
  mft::write_file(tmp / "b.dat", "@q1\nACGT\n+\nIIII\n@q2\nTT\n+q2\nII\n");
  REQUIRE(std::system(("gzip -c " + mft::q(tmp / "a.txt") + " > " + mft::q(tmp / "a.gz")).c_str()) == 0);
  auto a = read_all((tmp / "a.txt").string());
  REQUIRE(a.size() == 2);
  CHECK(a[0].name == "x");
  CHECK(a[0].bases == "ACGTNNAC");
  CHECK(a[1].bases == "GG");
  auto g = read_all((tmp / "a.gz").string());
  REQUIRE(g.size() == 2);
  CHECK(g[0].bases == "ACGTNNAC");
  auto q = read_all((tmp / "b.dat").string());
  REQUIRE(q.size() == 2);
  CHECK(q[1].name == "q2");
  CHECK(q[1].bases == "TT");
}

TEST_CASE("sources: regions of an indexed FASTA (index made when missing)", "[io][sources]") {
  mft::TempDir tmp;
  std::string chr1, chr2;
  for (int i = 0; i < 50; ++i) chr1 += "ACGTTGCA";  // 400 bases
  for (int i = 0; i < 30; ++i) chr2 += "GATTACA";   // 210 bases
  std::string fa = ">chr1\n";
  for (size_t i = 0; i < chr1.size(); i += 60) fa += chr1.substr(i, 60) + "\n";
  fa += ">chr2 second\n";
  for (size_t i = 0; i < chr2.size(); i += 50) fa += chr2.substr(i, 50) + "\n";
  mft::write_file(tmp / "g.fa", fa);
  {  // and a bgzip copy
    BGZF* w = bgzf_open((tmp / "g.fa.gz").c_str(), "w");
    REQUIRE(bgzf_write(w, fa.data(), fa.size()) == ssize_t(fa.size()));
    REQUIRE(bgzf_close(w) == 0);
  }
  SourceOptions o;
  o.regions = {"chr1:11-70", "chr2", "chr1:395-1000", "chr2:200"};
  for (const char* f : {"g.fa", "g.fa.gz"}) {
    auto r = read_all((tmp / f).string(), o, 13);
    REQUIRE(r.size() == 4);
    CHECK(r[0].name == "chr1");
    CHECK(r[0].offset == 10);
    CHECK(r[0].bases == chr1.substr(10, 60));
    CHECK(r[1].name == "chr2");
    CHECK(r[1].offset == 0);
    CHECK(r[1].bases == chr2);
    CHECK(r[2].offset == 394);
    CHECK(r[2].bases == chr1.substr(394));  // clipped to the sequence end
    CHECK(r[3].offset == 199);
    CHECK(r[3].bases == chr2.substr(199));
  }
  CHECK(mft::fs::exists(tmp / "g.fa.fai"));
  CHECK(mft::fs::exists(tmp / "g.fa.gz.gzi"));
  o.regions = {"chrX:1-10"};
  CHECK_THROWS_WITH(read_all((tmp / "g.fa").string(), o), Contains("region 'chrX:1-10': no such sequence"));
  o.regions = {"chr1:500-600"};
  CHECK_THROWS_WITH(read_all((tmp / "g.fa").string(), o), Contains("is empty"));
  o.regions = {"chr1"};
  CHECK_THROWS_WITH(read_all("-", o), Contains("not standard input"));
  // A plain-gzip FASTA cannot be indexed: the message says what to do.
  REQUIRE(std::system(("gzip -c " + mft::q(tmp / "g.fa") + " > " + mft::q(tmp / "p.fa.gz")).c_str()) == 0);
  CHECK_THROWS_WITH(read_all((tmp / "p.fa.gz").string(), o), Contains("bgzip"));
}

TEST_CASE("sources: SAM, BAM and CRAM reads, per read and per read group", "[io][sources]") {
  mft::TempDir tmp;
  mft::write_file(tmp / "r.sam", kSam);
  convert(tmp / "r.sam", tmp / "r.bam", "wb");
  convert(tmp / "r.sam", tmp / "r.cram", "wc");
  for (const char* f : {"r.sam", "r.bam", "r.cram"}) {
    INFO(f);
    auto r = read_all((tmp / f).string(), {}, 4);
    REQUIRE(r.size() == 4);  // the secondary alignment is skipped
    CHECK(r[0].name == "r1");
    CHECK(r[0].bases == "ACGTTG");
    CHECK(r[1].name == "r2");
    CHECK(r[1].bases == "ACGGTT");  // reverse strand: back to the sequenced orientation
    CHECK(r[2].bases == "TTNA");
    CHECK(r[3].name == "r5");
    SourceOptions o;
    o.by_read_group = true;
    auto g = read_all((tmp / f).string(), o, 3);
    REQUIRE(g.size() == 3);
    CHECK(g[0].name == "grpA");
    CHECK(g[0].bases == "ACGTTGTTNA");
    CHECK(g[1].name == "grpB");
    CHECK(g[1].bases == "ACGGTT");
    CHECK(g[2].name == "unassigned");
    CHECK(g[2].bases == "CCCA");
  }
  SourceOptions o;
  o.by_read_group = true;
  CHECK_THROWS_WITH(read_all((tmp / "r.sam").string() + ".missing", o), Contains("cannot open"));
  mft::write_file(tmp / "x.fa", ">a\nAC\n");
  CHECK_THROWS_WITH(read_all((tmp / "x.fa").string(), o), Contains("SAM/BAM/CRAM input only"));
  // A BAM cut short is an error.
  const std::string bam = mft::read_file(tmp / "r.bam");
  mft::write_file(tmp / "cut.bam", bam.substr(0, bam.size() / 2));
  CHECK_THROWS_WITH(read_all((tmp / "cut.bam").string()), Contains("cut.bam"));
}

TEST_CASE("sources: other kinds of files are refused by name", "[io][sources]") {
  mft::TempDir tmp;
  mft::write_file(tmp / "v.vcf", "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n");
  CHECK_THROWS_WITH(read_all((tmp / "v.vcf").string()), Contains("not FASTA, FASTQ, SAM, BAM or CRAM"));
}
