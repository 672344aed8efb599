#pragma once
// Runtime dispatch for hot loops. The default build targets the x86-64 baseline; a function marked
// DESCENT_MULTIVERSION is compiled also for AVX2+FMA and AVX-512 and the loader picks the best clone
// for the machine it runs on (GCC function multi-versioning).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(DESCENT_NO_MULTIVERSION)
#define DESCENT_MULTIVERSION __attribute__((target_clones("default", "arch=haswell", "arch=skylake-avx512")))
#else
#define DESCENT_MULTIVERSION
#endif

#define DESCENT_RESTRICT __restrict__
