#include "xbarmc/model/tensor.hpp"

namespace xbarmc::model {

std::int64_t numel(const Shape& shape) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::string shape_str(const Shape& shape) {
  if (shape.empty()) return "scalar";
  std::string s;
  for (std::size_t k = 0; k < shape.size(); ++k) s += (k ? "x" : "") + std::to_string(shape[k]);
  return s;
}

const char* dtype_name(DType t) { return t == DType::f32 ? "float32" : "int64"; }

Tensor::Tensor(DType t, Shape s) : dtype(t), shape(std::move(s)) {
  if (dtype == DType::f32)
    f.assign(numel(shape), 0.0f);
  else
    i.assign(numel(shape), 0);
}

Tensor Tensor::from_floats(Shape s, std::vector<float> v) {
  Tensor t;
  t.dtype = DType::f32;
  t.shape = std::move(s);
  t.f = std::move(v);
  return t;
}

Tensor Tensor::from_ints(Shape s, std::vector<std::int64_t> v) {
  Tensor t;
  t.dtype = DType::i64;
  t.shape = std::move(s);
  t.i = std::move(v);
  return t;
}

std::vector<std::int64_t> Tensor::as_ints() const {
  if (dtype == DType::i64) return i;
  std::vector<std::int64_t> out(f.size());
  for (std::size_t k = 0; k < f.size(); ++k) out[k] = static_cast<std::int64_t>(f[k]);
  return out;
}

std::vector<float> Tensor::as_floats() const {
  if (dtype == DType::f32) return f;
  std::vector<float> out(i.size());
  for (std::size_t k = 0; k < i.size(); ++k) out[k] = static_cast<float>(i[k]);
  return out;
}

TensorView view_of(const Tensor& t) { return TensorView{t.dtype, t.shape, const_cast<void*>(t.data())}; }

}  // namespace xbarmc::model
