#include "io/npy.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include "ops/error.h"

namespace mf {

namespace {
constexpr size_t kHeaderBytes = 128;  // magic(6) + version(2) + len(2) + dict, 64-aligned
}

NpyWriter::NpyWriter(std::string path, int64_t cols) : path_(std::move(path)), cols_(cols) {
  tmp_ = path_ + ".partial";
  f_ = std::fopen(tmp_.c_str(), "wb");
  if (!f_) fail(tmp_, ": cannot create: ", std::strerror(errno));
  std::setvbuf(f_, nullptr, _IOFBF, 1 << 20);
  write_header();
}

NpyWriter::~NpyWriter() {
  if (f_) {
    std::fclose(f_);
    std::remove(tmp_.c_str());
  }
}

void NpyWriter::write_header() {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows_) +
                     ", " + std::to_string(cols_) + "), }";
  const size_t len = kHeaderBytes - 10;
  dict.resize(len - 1, ' ');
  dict += '\n';
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(len & 0xff),
                           (unsigned char)(len >> 8)};
  if (std::fwrite(pre, 1, 10, f_) != 10 || std::fwrite(dict.data(), 1, len, f_) != len)
    fail(tmp_, ": write failed: ", std::strerror(errno));
}

void NpyWriter::append(const float* rows, int64_t n) {
  const size_t count = size_t(n * cols_);
  if (count && std::fwrite(rows, sizeof(float), count, f_) != count)
    fail(tmp_, ": write failed: ", std::strerror(errno));
  rows_ += n;
}

void NpyWriter::commit() {
  if (!f_) fail(path_, ": already committed");
  if (std::fseek(f_, 0, SEEK_SET) != 0) fail(tmp_, ": seek failed");
  write_header();
  const bool ok = std::fflush(f_) == 0;
  std::fclose(f_);
  f_ = nullptr;
  if (!ok || std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    std::remove(tmp_.c_str());
    fail(path_, ": cannot write: ", std::strerror(errno));
  }
}

std::vector<float> read_npy_f32(const std::string& path, std::vector<int64_t>& shape) {
  std::ifstream is(path, std::ios::binary);
  if (!is) fail(path, ": cannot open");
  char pre[10];
  if (!is.read(pre, 10) || std::memcmp(pre, "\x93NUMPY", 6) != 0) fail(path, ": not a .npy file");
  size_t len = size_t((unsigned char)pre[8]) | size_t((unsigned char)pre[9]) << 8;
  std::string dict(len, '\0');
  if (!is.read(dict.data(), std::streamsize(len))) fail(path, ": truncated header");
  if (dict.find("'<f4'") == std::string::npos || dict.find("'fortran_order': False") == std::string::npos)
    fail(path, ": expected a little-endian float32 C-order array");
  std::smatch m;
  if (!std::regex_search(dict, m, std::regex("'shape': \\(([^)]*)\\)"))) fail(path, ": no shape");
  shape.clear();
  std::stringstream ss(m[1].str());
  std::string tok;
  int64_t n = 1;
  while (std::getline(ss, tok, ','))
    if (tok.find_first_not_of(' ') != std::string::npos) { shape.push_back(std::stoll(tok)); n *= shape.back(); }
  std::vector<float> data(static_cast<size_t>(n));
  if (!is.read(reinterpret_cast<char*>(data.data()), std::streamsize(n * 4))) fail(path, ": truncated data");
  return data;
}

}  // namespace mf
