#pragma once
/// \file
/// Tensors of the model graph: float32 activations and weights, int64 shapes and
/// indices. ONNX's other numeric types are converted on import (integers and bools
/// to int64, float16/double to float32), which is all an inference graph needs.

#include <cstdint>
#include <string>
#include <vector>

namespace xbarmc::model {

/// Element type of a tensor.
enum class DType { f32, i64 };

/// Dimensions, outermost first.
using Shape = std::vector<std::int64_t>;

/// Number of elements of a shape (1 for a scalar).
std::int64_t numel(const Shape& shape);
/// "1x28x28" (or "scalar").
std::string shape_str(const Shape& shape);
/// Name of a dtype ("float32", "int64").
const char* dtype_name(DType t);
/// Bytes per element.
inline std::size_t dtype_size(DType t) { return t == DType::f32 ? 4 : 8; }

/// An owning tensor.
struct Tensor {
  DType dtype = DType::f32;
  Shape shape;
  std::vector<float> f;         ///< data when dtype == f32
  std::vector<std::int64_t> i;  ///< data when dtype == i64

  Tensor() = default;
  /// A zero-filled tensor.
  Tensor(DType t, Shape s);
  static Tensor from_floats(Shape s, std::vector<float> v);
  static Tensor from_ints(Shape s, std::vector<std::int64_t> v);

  std::int64_t size() const { return numel(shape); }
  void* data() { return dtype == DType::f32 ? static_cast<void*>(f.data()) : static_cast<void*>(i.data()); }
  const void* data() const {
    return dtype == DType::f32 ? static_cast<const void*>(f.data()) : static_cast<const void*>(i.data());
  }
  /// Element k as a double (either dtype).
  double at(std::int64_t k) const { return dtype == DType::f32 ? f[k] : static_cast<double>(i[k]); }
  /// All elements as int64 (floats truncated); for shape-like inputs.
  std::vector<std::int64_t> as_ints() const;
  /// All elements as floats.
  std::vector<float> as_floats() const;
};

/// A non-owning view: what kernels read and write.
struct TensorView {
  DType dtype = DType::f32;
  Shape shape;
  void* data = nullptr;

  std::int64_t size() const { return numel(shape); }
  float* f() const { return static_cast<float*>(data); }
  std::int64_t* i() const { return static_cast<std::int64_t*>(data); }
};

/// A view of `t` (const_cast: kernels never write their inputs).
TensorView view_of(const Tensor& t);

}  // namespace xbarmc::model
