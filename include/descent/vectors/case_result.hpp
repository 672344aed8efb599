#pragma once
// The outcome of running one reference case from tests/data/vectors against the library.
#include <string>

namespace descent::vectors {

struct CaseResult {
  bool passed = false;
  std::string detail;  // on failure: what differed (the first mismatch, with both values); else a summary
};

}  // namespace descent::vectors
