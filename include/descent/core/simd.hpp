#pragma once
// Runtime dispatch for hot loops. The default build targets the x86-64 baseline; a function marked
// DESCENT_MULTIVERSION is compiled also for the x86-64-v3 (AVX2, FMA) and x86-64-v4 (AVX-512) levels and
// the loader picks the best clone for the machine it runs on (GCC function multi-versioning). Levels,
// not CPU names: a clone named `arch=haswell` is chosen only on Intel CPUs of that family, never on AMD.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(DESCENT_NO_MULTIVERSION)
#define DESCENT_MULTIVERSION __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#else
#define DESCENT_MULTIVERSION
#endif

#define DESCENT_RESTRICT __restrict__
