// mf::Error — the one exception type of mambaflow. Its message is meant for a user:
// which file, which record/line/key, what was expected, what was found.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace mf {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Builds the message from its parts: fail("file ", path, ": expected ", n, " bytes").
template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  throw Error(os.str());
}

}  // namespace mf
