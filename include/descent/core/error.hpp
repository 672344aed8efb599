#pragma once
// Errors raised for user mistakes. Messages name the thing, the value and what was expected.
#include <sstream>
#include <stdexcept>
#include <string>

namespace descent {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

namespace detail {
template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

// Throws descent::Error with the streamed parts when the condition fails:
//   DESCENT_CHECK(a.dim() == 2, "matmul: expected a 2-D tensor, got shape ", a.shape());
#define DESCENT_CHECK(cond, ...)                                          \
  do {                                                                    \
    if (!(cond)) [[unlikely]] {                                           \
      throw ::descent::Error(::descent::detail::concat(__VA_ARGS__));     \
    }                                                                     \
  } while (0)

}  // namespace descent
