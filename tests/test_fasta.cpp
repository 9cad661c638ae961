// FASTA/FASTQ through htslib: plain, gzip, bgzip, CRLF, blank lines, bad characters.
#include <htslib/bgzf.h>

#include <cstdlib>

#include "io/fasta.h"
#include "ops/error.h"
#include "tests/util.h"

using namespace mf;
using Catch::Matchers::Contains;

namespace {
struct Rec {
  std::string name;
  std::vector<int32_t> tokens;
};
std::vector<Rec> read_all(const std::string& path, size_t piece = 5) {
  SequenceReader r(path);
  std::vector<Rec> out;
  std::vector<int32_t> buf(piece);
  while (r.next_record()) {
    out.push_back({r.name(), {}});
    while (size_t n = r.read(buf.data(), buf.size())) out.back().tokens.insert(out.back().tokens.end(), buf.begin(), buf.begin() + long(n));
  }
  return out;
}
const std::string kFasta = ">chr1 first record\nACGTN\nacgtn\n\n>chr2\nRYKMSWBDHVU\n>empty\n>chr3\nGG\n";
}  // namespace

TEST_CASE("FASTA records become DNA tokens", "[io][fasta]") {
  mft::TempDir tmp;
  mft::write_file(tmp / "a.fa", kFasta);
  for (size_t piece : {size_t(1), size_t(3), size_t(1000)}) {
    auto recs = read_all((tmp / "a.fa").string(), piece);
    REQUIRE(recs.size() == 4);
    CHECK(recs[0].name == "chr1");
    CHECK(recs[0].tokens == std::vector<int32_t>{7, 8, 9, 10, 11, 7, 8, 9, 10, 11});
    CHECK(recs[1].tokens == std::vector<int32_t>{11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 10});
    CHECK(recs[2].name == "empty");
    CHECK(recs[2].tokens.empty());
    CHECK(recs[3].tokens == std::vector<int32_t>{9, 9});
  }
}

TEST_CASE("CRLF line ends and skipping unread records", "[io][fasta]") {
  mft::TempDir tmp;
  mft::write_file(tmp / "crlf.fa", ">a\r\nAC\r\nGT\r\n\r\n>b\r\nTT\r\n");
  auto recs = read_all((tmp / "crlf.fa").string());
  REQUIRE(recs.size() == 2);
  CHECK(recs[0].tokens == std::vector<int32_t>{7, 8, 9, 10});
  SequenceReader r((tmp / "crlf.fa").string());
  REQUIRE(r.next_record());
  REQUIRE(r.next_record());  // without reading 'a'
  CHECK(r.name() == "b");
  CHECK_FALSE(r.next_record());
}

TEST_CASE("gzip and bgzip inputs read the same", "[io][fasta]") {
  mft::TempDir tmp;
  mft::write_file(tmp / "a.fa", kFasta);
  REQUIRE(std::system(("gzip -c " + mft::q(tmp / "a.fa") + " > " + mft::q(tmp / "a.fa.gz")).c_str()) == 0);
  {
    BGZF* w = bgzf_open((tmp / "a.fa.bgz").c_str(), "w");
    REQUIRE(w);
    REQUIRE(bgzf_write(w, kFasta.data(), kFasta.size()) == ssize_t(kFasta.size()));
    REQUIRE(bgzf_close(w) == 0);
  }
  auto plain = read_all((tmp / "a.fa").string());
  auto gz = read_all((tmp / "a.fa.gz").string());
  auto bgz = read_all((tmp / "a.fa.bgz").string());
  REQUIRE(gz.size() == plain.size());
  REQUIRE(bgz.size() == plain.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    CHECK(gz[i].tokens == plain[i].tokens);
    CHECK(bgz[i].tokens == plain[i].tokens);
  }
}

TEST_CASE("FASTQ records", "[io][fasta]") {
  mft::TempDir tmp;
  mft::write_file(tmp / "r.fq", "@read1 x\nACGT\n+\n@@@@\n@read2\nGG\n+read2\nII\n");
  auto recs = read_all((tmp / "r.fq").string());
  REQUIRE(recs.size() == 2);
  CHECK(recs[0].name == "read1");
  CHECK(recs[0].tokens == std::vector<int32_t>{7, 8, 9, 10});
  CHECK(recs[1].tokens == std::vector<int32_t>{9, 9});
  mft::write_file(tmp / "bad.fq", "@r\nACGT\n+\nII\n");
  CHECK_THROWS_WITH(read_all((tmp / "bad.fq").string()), Contains("quality"));
}

TEST_CASE("bad sequence input is a clear error", "[io][fasta][errors]") {
  mft::TempDir tmp;
  mft::write_file(tmp / "bad.fa", ">ok\nACGT\n>chrX\nACGT\nACXT\n");
  CHECK_THROWS_WITH(read_all((tmp / "bad.fa").string()),
                    Contains("record 'chrX', line 5, column 3: invalid character 'X'"));
  mft::write_file(tmp / "notfa.txt", "hello world\n");
  CHECK_THROWS_WITH(read_all((tmp / "notfa.txt").string()), Contains("line 1: expected a FASTA '>' header"));
  mft::write_file(tmp / "empty.fa", "");
  CHECK(read_all((tmp / "empty.fa").string()).empty());
  CHECK_THROWS_WITH(SequenceReader((tmp / "nope.fa").string()), Contains("cannot open"));

  // A gzip stream cut short: an error, not a silently shorter sequence.
  std::string big = ">big\n";
  for (int i = 0; i < 20000; ++i) big += "ACGTTGCAAGGCTTAACCGGTTACGATCGATCGGATCGATGCTAGCTAGCTAGCATCGA\n";
  mft::write_file(tmp / "big.fa", big);
  REQUIRE(std::system(("gzip -c " + mft::q(tmp / "big.fa") + " > " + mft::q(tmp / "big.fa.gz")).c_str()) == 0);
  std::string gz = mft::read_file(tmp / "big.fa.gz");
  mft::write_file(tmp / "cut.fa.gz", gz.substr(0, gz.size() / 2));
  CHECK_THROWS_WITH(read_all((tmp / "cut.fa.gz").string(), 4096), Contains("truncated or corrupt"));
}
