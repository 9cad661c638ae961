// NumPy .npy files (format 1.0) of float32 rows, written as a stream: the row count is only
// known at the end, so the writer fills a fixed-size header last. Output goes to a temporary
// file that is renamed into place by commit(); an uncommitted writer removes it, so an
// interrupted or failed run never leaves a file that looks complete.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace mf {

class NpyWriter {
 public:
  NpyWriter(std::string path, int64_t cols);
  ~NpyWriter();
  NpyWriter(const NpyWriter&) = delete;
  NpyWriter& operator=(const NpyWriter&) = delete;

  void append(const float* rows, int64_t n);  // n rows of `cols` floats
  void commit();                              // finish the header and rename into place
  int64_t rows() const { return rows_; }
  const std::string& path() const { return path_; }

 private:
  void write_header();
  std::string path_, tmp_;
  int64_t cols_, rows_ = 0;
  std::FILE* f_ = nullptr;
};

// Reads a float32 C-order .npy file (tests and tools). Returns the data, fills `shape`.
std::vector<float> read_npy_f32(const std::string& path, std::vector<int64_t>& shape);

}  // namespace mf
