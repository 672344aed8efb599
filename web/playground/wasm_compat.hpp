// Force-included (-include) into every source of the WebAssembly build. src/core/allocator.cpp's spin
// lock calls the x86 pause hint while it waits; the WebAssembly module is single-threaded, so the lock is
// never contended there and the hint becomes a no-op.
#pragma once
#if !defined(__x86_64__) && !defined(__i386__)
#define __builtin_ia32_pause() ((void)0)
#endif
