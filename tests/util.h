// Shared helpers for the tests: paths, scratch directories, running the CLI.
#pragma once
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/catch.h"

namespace mft {

namespace fs = std::filesystem;

// The source tree (test data) and the CLI binary: compiled-in paths, overridable with the
// environment variables MAMBAFLOW_SOURCE_DIR and MAMBAFLOW_CLI (tests run on another machine).
inline fs::path source_dir() {
  const char* e = std::getenv("MAMBAFLOW_SOURCE_DIR");
  return fs::path(e && *e ? e : MAMBAFLOW_SOURCE_DIR);
}
inline std::string cli_path() {
  const char* e = std::getenv("MAMBAFLOW_CLI");
  return e && *e ? e : MAMBAFLOW_CLI;
}
inline fs::path parity_dir() { return source_dir() / "tests" / "data" / "parity"; }
inline fs::path tiny_model() { return source_dir() / "models" / "tiny-random-dna"; }

// A fresh directory under the build tree's temp area, removed at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::mt19937_64 rng(std::random_device{}());
    path = fs::temp_directory_path() / ("mambaflow-test-" + std::to_string(rng()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path operator/(const std::string& s) const { return path / s; }
};

inline void write_file(const fs::path& p, const std::string& content) {
  std::ofstream os(p, std::ios::binary);
  os << content;
}

inline std::string read_file(const fs::path& p) {
  std::ifstream is(p, std::ios::binary);
  std::stringstream ss;
  ss << is.rdbuf();
  return ss.str();
}

// Copies a model directory so a test can damage the copy.
inline void copy_dir(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  for (auto& e : fs::directory_iterator(from)) fs::copy_file(e.path(), to / e.path().filename());
}

struct CliResult {
  int status = -1;
  std::string out;  // stdout and stderr together
};

// Runs the mambaflow binary with `args` (a shell-quoted string).
inline CliResult run_cli(const std::string& args) {
  TempDir tmp;
  const std::string cmd = "'" + cli_path() + "' " + args + " > '" +
                          (tmp / "log").string() + "' 2>&1";
  int rc = std::system(cmd.c_str());
  CliResult r;
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
  r.out = read_file(tmp / "log");
  return r;
}

// s cut at every `sep` (a trailing separator gives a last, empty piece).
inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == sep) out.emplace_back();
    else out.back() += c;
  }
  return out;
}

inline std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

}  // namespace mft
