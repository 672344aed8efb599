// The 16-bit GEMMs: oneDNN's bfloat16 matmul (AVX512-BF16) or widening to float32 for sgemm.
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "descent/core/blas.hpp"
#include "descent/core/convert.hpp"
#include "descent/core/error.hpp"
#include "descent/core/parallel.hpp"

extern "C" void omp_set_num_threads(int);  // oneDNN's OpenMP runtime (libgomp)

namespace descent::blas {

namespace {

// op(X) of shape rows x cols stored with leading dimension ld, widened into a dense row-major buffer.
template <class S>
void widen(bool trans, std::int64_t rows, std::int64_t cols, const S* x, std::int64_t ld, std::vector<float>& out) {
  out.resize(std::size_t(rows * cols));
  if (!trans) {
    for (std::int64_t r = 0; r < rows; ++r) convert(x + r * ld, out.data() + r * cols, cols);
    return;
  }
  // x holds op(X)^T: cols rows of length ld.
  std::vector<float> row(static_cast<std::size_t>(rows));
  for (std::int64_t c = 0; c < cols; ++c) {
    convert(x + c * ld, row.data(), rows);
    for (std::int64_t r = 0; r < rows; ++r) out[std::size_t(r * cols + c)] = row[std::size_t(r)];
  }
}

template <class S>
void widen_gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const S* a,
                std::int64_t lda, const S* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  thread_local std::vector<float> wa, wb;
  widen(trans_a, m, k, a, lda, wa);
  widen(trans_b, k, n, b, ldb, wb);
  gemm(false, false, m, n, k, alpha, wa.data(), std::max<std::int64_t>(k, 1), wb.data(),
       std::max<std::int64_t>(n, 1), beta, c, ldc);
}

std::atomic<int> chosen{-1};

Bf16Kernel initial_kernel() {
  const char* env = std::getenv("DESCENT_BF16_GEMM");
  const std::string v = env ? env : "";
  if (v == "widen") return Bf16Kernel::Widen;
  if (v == "onednn") {
    DESCENT_CHECK(cpu_has_bf16(), "DESCENT_BF16_GEMM=onednn: this processor lacks AVX512-BF16");
    return Bf16Kernel::OneDnn;
  }
  DESCENT_CHECK(v.empty(), "DESCENT_BF16_GEMM = ", v, ": expected onednn or widen");
  return cpu_has_bf16() ? Bf16Kernel::OneDnn : Bf16Kernel::Widen;
}

// oneDNN matmul primitives, one per problem (shape, layout, alpha, beta), made on first use.
struct Problem {
  bool trans_a, trans_b;
  std::int64_t m, n, k, lda, ldb, ldc;
  float alpha, beta;
  std::int64_t batch = 1, stride_a = 0, stride_b = 0, stride_c = 0;  // batch > 1: 3-D descriptors
  auto tie() const {
    return std::tie(trans_a, trans_b, m, n, k, lda, ldb, ldc, alpha, beta, batch, stride_a, stride_b, stride_c);
  }
  bool operator<(const Problem& o) const { return tie() < o.tie(); }
};

struct Primitive {
  dnnl::matmul matmul;
  dnnl::memory::desc a, b, c, scratchpad;
};

// Each thread's scratchpad for oneDNN's packing buffers, grown to the largest a primitive asked for and
// kept: left to oneDNN, every call would map fresh pages and the kernel would clear them each time.
void* scratchpad(std::size_t bytes) {
  thread_local std::vector<std::byte> buffer;
  if (buffer.size() < bytes) buffer.resize(bytes);
  return buffer.data();
}

struct OneDnn {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  std::mutex mutex;
  std::map<Problem, Primitive> primitives;


  Primitive primitive(const Problem& p) {
    std::lock_guard lock(mutex);
    if (auto it = primitives.find(p); it != primitives.end()) return it->second;
    using dnnl::memory;
    const auto desc = [&](memory::dims shape, memory::dims strides, std::int64_t batch_stride, memory::data_type t) {
      if (p.batch == 1) return memory::desc(shape, t, strides);
      return memory::desc({p.batch, shape[0], shape[1]}, t, {batch_stride, strides[0], strides[1]});
    };
    const memory::desc a = desc({p.m, p.k}, p.trans_a ? memory::dims{1, p.lda} : memory::dims{p.lda, 1}, p.stride_a,
                                memory::data_type::bf16);
    const memory::desc b = desc({p.k, p.n}, p.trans_b ? memory::dims{1, p.ldb} : memory::dims{p.ldb, 1}, p.stride_b,
                                memory::data_type::bf16);
    const memory::desc c = desc({p.m, p.n}, memory::dims{p.ldc, 1}, p.stride_c, memory::data_type::f32);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (p.alpha != 1.0f) attr.set_output_scales(0, {p.alpha});
    if (p.beta != 0.0f) {
      dnnl::post_ops ops;
      ops.append_sum(p.beta);
      attr.set_post_ops(ops);
    }
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), attr, engine);
    Primitive made{dnnl::matmul(pd), a, b, c, pd.scratchpad_desc()};
    if (primitives.size() > 4096) primitives.clear();
    primitives.emplace(p, made);
    return made;
  }

  // One primitive on the calling thread alone: oneDNN's OpenMP team is kept at one thread, so its
  // spinning workers never compete with descent's thread pool for the cores.
  void run_single(const Problem& p, const BFloat16* a, const BFloat16* b, float* c) {
    const Primitive prim = primitive(p);
    dnnl::memory am(prim.a, engine, const_cast<BFloat16*>(a));
    dnnl::memory bm(prim.b, engine, const_cast<BFloat16*>(b));
    dnnl::memory cm(prim.c, engine, c);
    thread_local bool single = false;
    if (!single) {
      omp_set_num_threads(1);
      single = true;
    }
    dnnl::stream stream(engine);
    dnnl::memory sm(prim.scratchpad, engine, scratchpad(prim.scratchpad.get_size()));
    prim.matmul.execute(stream, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm},
                                 {DNNL_ARG_SCRATCHPAD, sm}});
    stream.wait();
  }

  // The product split into panels of C's rows or columns (whichever is longer), one per thread of
  // descent's pool; panels are multiples of 64 wide so that every thread's kernel runs full blocks.
  void run(const Problem& p, const BFloat16* a, const BFloat16* b, float* c) {
    const int threads = num_threads();
    if (threads <= 1 || p.batch * p.m * p.n * p.k < (std::int64_t(1) << 21)) {
      run_single(p, a, b, c);
      return;
    }
    if (p.batch > 1) {  // whole products per thread
      const std::int64_t share = (p.batch + threads - 1) / threads;
      parallel_for(0, threads, 1, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t t = lo; t < hi; ++t) {
          const std::int64_t first = t * share, count = std::min(share, p.batch - first);
          if (count <= 0) continue;
          Problem q = p;
          q.batch = count;
          run_single(q, a + first * p.stride_a, b + first * p.stride_b, c + first * p.stride_c);
        }
      });
      return;
    }
    const bool by_columns = p.n >= p.m;
    const std::int64_t length = by_columns ? p.n : p.m;
    const std::int64_t panel = std::max<std::int64_t>(64, (length / threads + 63) / 64 * 64);
    const std::int64_t panels = (length + panel - 1) / panel;
    parallel_for(0, panels, 1, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t i = lo; i < hi; ++i) {
        const std::int64_t first = i * panel, size = std::min(panel, length - first);
        Problem q = p;
        if (by_columns) {  // columns [first, first + size) of op(B) and of C
          q.n = size;
          run_single(q, a, b + (p.trans_b ? first * p.ldb : first), c + first);
        } else {  // rows of op(A) and of C
          q.m = size;
          run_single(q, a + (p.trans_a ? first : first * p.lda), b, c + first * p.ldc);
        }
      }
    });
  }
};

OneDnn& onednn() {
  static OneDnn instance;
  return instance;
}

}  // namespace

bool cpu_has_bf16() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool yes = __builtin_cpu_supports("avx512bf16");
  return yes;
#else
  return false;
#endif
}

Bf16Kernel bf16_kernel() {
  int k = chosen.load();
  if (k < 0) {
    const int initial = int(initial_kernel());
    chosen.compare_exchange_strong(k, initial);
    k = chosen.load();
  }
  return Bf16Kernel(k);
}

const char* bf16_kernel_name(Bf16Kernel kernel) { return kernel == Bf16Kernel::OneDnn ? "onednn" : "widen"; }

void set_bf16_kernel(Bf16Kernel kernel) {
  DESCENT_CHECK(kernel == Bf16Kernel::Widen || cpu_has_bf16(),
                "set_bf16_kernel: oneDNN's bfloat16 kernels need AVX512-BF16, which this processor lacks");
  chosen.store(int(kernel));
}

void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
          const BFloat16* a, std::int64_t lda, const BFloat16* b, std::int64_t ldb, float beta, float* c,
          std::int64_t ldc) {
  if (m == 0 || n == 0) return;
  // Products too small to amortise a primitive launch, and the degenerate shapes the float32 GEMM
  // special-cases, widen.
  if (bf16_kernel() == Bf16Kernel::Widen || k <= 1 || m == 1 || n == 1 || m * n * k < 32 * 32 * 32) {
    widen_gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  onednn().run({trans_a, trans_b, m, n, k, lda, ldb, ldc, alpha, beta}, a, b, c);
}

void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
          const Float16* a, std::int64_t lda, const Float16* b, std::int64_t ldb, float beta, float* c,
          std::int64_t ldc) {
  if (m == 0 || n == 0) return;
  widen_gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm_batched(bool trans_a, bool trans_b, std::int64_t batch, std::int64_t m, std::int64_t n, std::int64_t k,
                  float alpha, const BFloat16* a, std::int64_t stride_a, std::int64_t lda, const BFloat16* b,
                  std::int64_t stride_b, std::int64_t ldb, float beta, float* c, std::int64_t stride_c,
                  std::int64_t ldc) {
  if (batch == 0 || m == 0 || n == 0) return;
  if (bf16_kernel() == Bf16Kernel::Widen || batch == 1 || k <= 1) {
    for (std::int64_t i = 0; i < batch; ++i)
      gemm(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta, c + i * stride_c, ldc);
    return;
  }
  Problem p{trans_a, trans_b, m, n, k, lda, ldb, ldc, alpha, beta};
  p.batch = batch;
  p.stride_a = stride_a;
  p.stride_b = stride_b;
  p.stride_c = stride_c;
  onednn().run(p, a, b, c);
}

void gemm_batched(bool trans_a, bool trans_b, std::int64_t batch, std::int64_t m, std::int64_t n, std::int64_t k,
                  float alpha, const Float16* a, std::int64_t stride_a, std::int64_t lda, const Float16* b,
                  std::int64_t stride_b, std::int64_t ldb, float beta, float* c, std::int64_t stride_c,
                  std::int64_t ldc) {
  for (std::int64_t i = 0; i < batch; ++i)
    gemm(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta, c + i * stride_c, ldc);
}

}  // namespace descent::blas
