#include "descent/core/dtype.hpp"

namespace descent {

DType parse_dtype(const std::string& name) {
  if (name == "float32" || name == "float") return DType::Float32;
  if (name == "float64" || name == "double") return DType::Float64;
  if (name == "int64" || name == "long") return DType::Int64;
  if (name == "bfloat16" || name == "bf16") return DType::BFloat16;
  if (name == "float16" || name == "half" || name == "fp16") return DType::Float16;
  throw Error("unknown dtype '" + name + "' (expected float32, float64, int64, bfloat16 or float16)");
}

}  // namespace descent
