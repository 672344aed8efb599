#include "descent/core/dtype.hpp"

namespace descent {

DType parse_dtype(const std::string& name) {
  if (name == "float32" || name == "float") return DType::Float32;
  if (name == "float64" || name == "double") return DType::Float64;
  if (name == "int64" || name == "long") return DType::Int64;
  throw Error("unknown dtype '" + name + "' (expected float32, float64 or int64)");
}

}  // namespace descent
