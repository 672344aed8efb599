#pragma once
// Errors raised for user mistakes. Messages name the thing, the value and what was expected.
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace descent {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A value quoted in a message, cut to `limit` bytes with "... (N more bytes)" so that a huge input does not
// become a huge error; control characters (a newline, a NUL) are shown as \xNN so the message stays one line.
inline std::string clip_for_message(std::string_view text, std::size_t limit = 200) {
  std::string out;
  const std::size_t shown = text.size() > limit ? limit : text.size();
  for (std::size_t i = 0; i < shown; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      static const char* digits = "0123456789abcdef";
      out += "\\x";
      out += digits[c >> 4];
      out += digits[c & 15];
    } else {
      out += char(c);
    }
  }
  if (text.size() > limit) out += "... (" + std::to_string(text.size() - limit) + " more bytes)";
  return out;
}

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
