#pragma once
// A persistent thread pool for data-parallel loops. Work splits into one contiguous chunk per thread, a
// function of the range and the thread count only, so results are deterministic for a thread count.
#include <cstdint>
#include <functional>

namespace descent {

// Number of threads parallel_for uses (default: hardware concurrency, or DESCENT_NUM_THREADS).
int num_threads();
void set_num_threads(int n);

// Calls fn(begin, end) over disjoint chunks covering [begin, end). Runs inline when the range is
// smaller than 2 * grain or when called from inside a parallel region.
void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain,
                  const std::function<void(std::int64_t, std::int64_t)>& fn);

}  // namespace descent
