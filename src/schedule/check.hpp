#pragma once
// Validation shared by the schedule constructors and the factory: every message names the schedule, the
// option, the bad value and the accepted range, in the format of descent/core/options.hpp.
#include <sstream>
#include <string>
#include <string_view>

#include "descent/core/error.hpp"

namespace descent::schedule::detail {

template <class Value>
void require(bool ok, std::string_view schedule, std::string_view option, const Value& value,
             std::string_view expected) {
  if (ok) return;
  std::ostringstream shown;
  shown.precision(17);
  shown << value;
  throw Error(descent::detail::concat(schedule, ": ", option, " = ", shown.str(), ": expected ", expected));
}

}  // namespace descent::schedule::detail
