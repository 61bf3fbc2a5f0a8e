// Elementwise operators: unary math, binary arithmetic and comparisons with numpy
// broadcasting, Where, Clip. Float math runs in float32 like PyTorch's CPU kernels.
#include <cmath>
#include <limits>
#include <map>

#include "op_common.hpp"
#include "xbarmc/model/elementwise.hpp"

namespace xbarmc::model {
namespace detail {
namespace {

/// ONNX op type -> unary operator.
const std::map<std::string, UnaryOp>& unary_ops() {
  static const std::map<std::string, UnaryOp> m = {{"Relu", UnaryOp::relu},
                                                   {"LeakyRelu", UnaryOp::leaky_relu},
                                                   {"Sigmoid", UnaryOp::sigmoid},
                                                   {"Tanh", UnaryOp::tanh_},
                                                   {"Erf", UnaryOp::erf_},
                                                   {"Sqrt", UnaryOp::sqrt_},
                                                   {"Exp", UnaryOp::exp_},
                                                   {"Log", UnaryOp::log_},
                                                   {"Neg", UnaryOp::neg},
                                                   {"Abs", UnaryOp::abs_},
                                                   {"Reciprocal", UnaryOp::reciprocal},
                                                   {"Clip", UnaryOp::clip},
                                                   {"HardSigmoid", UnaryOp::hard_sigmoid},
                                                   {"HardSwish", UnaryOp::hard_swish},
                                                   {"Softplus", UnaryOp::softplus},
                                                   {"Gelu", UnaryOp::gelu},
                                                   {"Elu", UnaryOp::elu},
                                                   {"Floor", UnaryOp::floor_},
                                                   {"Ceil", UnaryOp::ceil_},
                                                   {"Round", UnaryOp::round_},
                                                   {"Not", UnaryOp::not_},
                                                   {"Sign", UnaryOp::sign}};
  return m;
}

}  // namespace
}  // namespace detail

std::optional<UnaryBinding> unary_binding(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  const auto it = detail::unary_ops().find(n.op_type);
  if (it == detail::unary_ops().end()) return std::nullopt;
  UnaryBinding u{it->second, UnaryParams{}};
  UnaryParams& p = u.params;
  switch (u.op) {
    case UnaryOp::leaky_relu:
      p.alpha = n.attr_float("alpha", 0.01f);
      break;
    case UnaryOp::elu:
      p.alpha = n.attr_float("alpha", 1.0f);
      break;
    case UnaryOp::hard_sigmoid:
      p.alpha = n.attr_float("alpha", 0.2f);
      p.beta = n.attr_float("beta", 0.5f);
      break;
    case UnaryOp::gelu:
      if (n.attr_text("approximate", "none") == "tanh") u.op = UnaryOp::gelu_tanh;
      break;
    case UnaryOp::clip:
      if (c.opset < 11) {
        p.lo = n.attr_float("min", p.lo);
        p.hi = n.attr_float("max", p.hi);
      } else {
        if (n.has_input(1)) p.lo = static_cast<float>(detail::constant_input(n, in, c, 1, "minimum").at(0));
        if (n.has_input(2)) p.hi = static_cast<float>(detail::constant_input(n, in, c, 2, "maximum").at(0));
      }
      break;
    default:
      break;
  }
  return u;
}

namespace detail {
namespace {

// ---------------------------------------------------------------------------
// Unary
// ---------------------------------------------------------------------------
inline std::int64_t apply_unary_int(UnaryOp op, std::int64_t x, const UnaryParams& p) {
  switch (op) {
    case UnaryOp::relu:
      return x > 0 ? x : 0;
    case UnaryOp::neg:
      return -x;
    case UnaryOp::abs_:
      return x < 0 ? -x : x;
    case UnaryOp::not_:
      return x == 0;
    case UnaryOp::sign:
      return (x > 0) - (x < 0);
    case UnaryOp::clip: {
      const double v = static_cast<double>(x);
      return static_cast<std::int64_t>(v < p.lo ? p.lo : (v > p.hi ? p.hi : v));
    }
    default:
      return x;  // floor, ceil, round, identity
  }
}

class UnaryKernel : public OpKernel {
 public:
  UnaryKernel(UnaryOp op, UnaryParams p, bool relu_after) : op_(op), p_(p), relu_(relu_after) {}
  void run(const TensorView* in, const TensorView* out, RunContext&) override {
    const std::int64_t n = out[0].size();
    if (in[0].dtype == DType::i64) {
      const std::int64_t* x = in[0].i();
      std::int64_t* y = out[0].i();
      for (std::int64_t k = 0; k < n; ++k) y[k] = apply_unary_int(op_, x[k], p_);
      return;
    }
    const float* x = in[0].f();
    float* y = out[0].f();
    // Separate loops for the hot, vectorizable cases.
    if (op_ == UnaryOp::relu) {
      for (std::int64_t k = 0; k < n; ++k) y[k] = x[k] > 0.0f ? x[k] : 0.0f;
      return;
    }
    if (op_ == UnaryOp::clip) {
      const float lo = p_.lo, hi = p_.hi;
      for (std::int64_t k = 0; k < n; ++k) {
        const float v = x[k] < lo ? lo : x[k];
        y[k] = v > hi ? hi : v;
      }
      return;
    }
    for (std::int64_t k = 0; k < n; ++k) y[k] = apply_unary(op_, x[k], p_);
    if (relu_)
      for (std::int64_t k = 0; k < n; ++k) y[k] = y[k] > 0.0f ? y[k] : 0.0f;
  }

 private:
  UnaryOp op_;
  UnaryParams p_;
  bool relu_;
};

bool int_capable(UnaryOp op) {
  switch (op) {
    case UnaryOp::relu:
    case UnaryOp::neg:
    case UnaryOp::abs_:
    case UnaryOp::not_:
    case UnaryOp::sign:
    case UnaryOp::clip:
    case UnaryOp::floor_:
    case UnaryOp::ceil_:
    case UnaryOp::round_:
    case UnaryOp::identity:
      return true;
    default:
      return false;
  }
}

BoundOp bind_unary(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  const ValueMeta& x = input(n, in, c, 0);
  const UnaryBinding u = *unary_binding(n, in, c);
  if (x.dtype == DType::i64 && !int_capable(u.op)) fail(n, c, "this operator needs a float input, got int64");
  BoundOp b;
  b.kernel = std::make_unique<UnaryKernel>(u.op, u.params, c.fused_relu);
  b.outputs = {ValueMeta{x.dtype, x.shape, nullptr}};
  b.aliasing = Aliasing::in_place;
  return b;
}

// ---------------------------------------------------------------------------
// Binary (numpy broadcasting)
// ---------------------------------------------------------------------------
// is_comparison, apply_compare and apply_binary: elementwise.hpp (shared with the GPU).

template <typename T, typename R, typename F>
void binary_loop(const BroadcastPlan& plan, const T* a, const T* b, R* y, F f) {
  const std::int64_t n = plan.inner;
  const int sa = plan.inner_stride[0], sb = plan.inner_stride[1];
  plan.for_each([&](const std::int64_t* off, std::int64_t o) {
    const T* pa = a + off[0];
    const T* pb = b + off[1];
    R* py = y + o;
    if (sa && sb) {
      for (std::int64_t k = 0; k < n; ++k) py[k] = f(pa[k], pb[k]);
    } else if (sa) {
      const T vb = *pb;
      for (std::int64_t k = 0; k < n; ++k) py[k] = f(pa[k], vb);
    } else if (sb) {
      const T va = *pa;
      for (std::int64_t k = 0; k < n; ++k) py[k] = f(va, pb[k]);
    } else {
      const R v = f(*pa, *pb);
      for (std::int64_t k = 0; k < n; ++k) py[k] = v;
    }
  });
}

class BinaryKernel : public OpKernel {
 public:
  BinaryKernel(BinaryOp op, BroadcastPlan plan, bool relu_after) : op_(op), plan_(std::move(plan)), relu_(relu_after) {}
  void run(const TensorView* in, const TensorView* out, RunContext&) override {
    if (in[0].dtype == DType::f32) {
      const float* a = in[0].f();
      const float* b = in[1].f();
      if (is_comparison(op_)) {
        binary_loop(plan_, a, b, out[0].i(), [this](float x, float y) { return apply_compare(op_, x, y); });
        return;
      }
      float* y = out[0].f();
      switch (op_) {  // the common ones as separate loops so that they vectorize
        case BinaryOp::add:
          if (relu_)
            binary_loop(plan_, a, b, y, [](float u, float v) {
              const float t = u + v;
              return t > 0.0f ? t : 0.0f;  // not fmax: that is a libm call without -ffast-math
            });
          else
            binary_loop(plan_, a, b, y, [](float u, float v) { return u + v; });
          return;
        case BinaryOp::sub:
          binary_loop(plan_, a, b, y, [](float u, float v) { return u - v; });
          break;
        case BinaryOp::mul:
          binary_loop(plan_, a, b, y, [](float u, float v) { return u * v; });
          break;
        case BinaryOp::div:
          binary_loop(plan_, a, b, y, [](float u, float v) { return u / v; });
          break;
        default:
          binary_loop(plan_, a, b, y, [this](float u, float v) { return apply_binary(op_, u, v); });
          break;
      }
      if (relu_) {
        const std::int64_t n = out[0].size();
        for (std::int64_t k = 0; k < n; ++k) y[k] = y[k] > 0.0f ? y[k] : 0.0f;
      }
      return;
    }
    const std::int64_t* a = in[0].i();
    const std::int64_t* b = in[1].i();
    if (is_comparison(op_))
      binary_loop(plan_, a, b, out[0].i(), [this](std::int64_t x, std::int64_t y) { return apply_compare(op_, x, y); });
    else
      binary_loop(plan_, a, b, out[0].i(), [this](std::int64_t x, std::int64_t y) { return apply_binary(op_, x, y); });
  }

 private:
  BinaryOp op_;
  BroadcastPlan plan_;
  bool relu_;
};

Binder binary(BinaryOp op) {
  return [op](const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
    // Max, Min and Sum are variadic in ONNX; one operand is a copy, two are supported.
    if ((op == BinaryOp::max_ || op == BinaryOp::min_ || op == BinaryOp::add) && n.input_count() == 1) {
      const ValueMeta& x = input(n, in, c, 0);
      BoundOp b;
      b.kernel = std::make_unique<UnaryKernel>(UnaryOp::identity, UnaryParams{}, c.fused_relu);
      b.outputs = {ValueMeta{x.dtype, x.shape, nullptr}};
      b.aliasing = Aliasing::in_place;
      return b;
    }
    if (n.input_count() != 2) unsupported(n, fmt::format("{} inputs; 2 are supported", n.input_count()));
    const ValueMeta& a = input(n, in, c, 0);
    const ValueMeta& bm = input(n, in, c, 1);
    if (a.dtype != bm.dtype && op != BinaryOp::pow_)
      fail(n, c, fmt::format("inputs of different types ({} and {})", dtype_name(a.dtype), dtype_name(bm.dtype)));
    if (a.dtype != bm.dtype) unsupported(n, "Pow with an exponent of another type than the base");
    const bool logical = op == BinaryOp::and_ || op == BinaryOp::or_ || op == BinaryOp::xor_;
    if (logical && a.dtype != DType::i64) fail(n, c, "logical operators need boolean inputs");
    // PRelu: the slope broadcasts unidirectionally onto x (opset 9+ semantics).
    const Shape out = broadcast_shapes(n, c, a.shape, bm.shape);
    if (op == BinaryOp::prelu && out != a.shape) fail(n, c, "the slope does not broadcast to the input's shape");
    BoundOp b;
    b.kernel = std::make_unique<BinaryKernel>(op, BroadcastPlan(out, {a.shape, bm.shape}), c.fused_relu);
    b.outputs = {ValueMeta{is_comparison(op) ? DType::i64 : a.dtype, out, nullptr}};
    b.aliasing = is_comparison(op) ? Aliasing::none : Aliasing::in_place;
    return b;
  };
}

// ---------------------------------------------------------------------------
// Where(condition, x, y)
// ---------------------------------------------------------------------------
class WhereKernel : public OpKernel {
 public:
  explicit WhereKernel(BroadcastPlan plan) : plan_(std::move(plan)) {}
  void run(const TensorView* in, const TensorView* out, RunContext&) override {
    if (in[1].dtype == DType::f32)
      go(in[0].i(), in[1].f(), in[2].f(), out[0].f());
    else
      go(in[0].i(), in[1].i(), in[2].i(), out[0].i());
  }

 private:
  template <typename T>
  void go(const std::int64_t* cond, const T* x, const T* y, T* z) {
    const std::int64_t n = plan_.inner;
    const int s0 = plan_.inner_stride[0], s1 = plan_.inner_stride[1], s2 = plan_.inner_stride[2];
    plan_.for_each([&](const std::int64_t* off, std::int64_t o) {
      for (std::int64_t k = 0; k < n; ++k) z[o + k] = cond[off[0] + k * s0] ? x[off[1] + k * s1] : y[off[2] + k * s2];
    });
  }
  BroadcastPlan plan_;
};

BoundOp bind_where(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  const ValueMeta& cond = input(n, in, c, 0);
  const ValueMeta& x = input(n, in, c, 1);
  const ValueMeta& y = input(n, in, c, 2);
  if (cond.dtype != DType::i64) fail(n, c, "the condition must be boolean");
  if (x.dtype != y.dtype) fail(n, c, "x and y must have the same type");
  const Shape out = broadcast_shapes(n, c, broadcast_shapes(n, c, cond.shape, x.shape), y.shape);
  BoundOp b;
  b.kernel = std::make_unique<WhereKernel>(BroadcastPlan(out, {cond.shape, x.shape, y.shape}));
  b.outputs = {ValueMeta{x.dtype, out, nullptr}};
  return b;
}

}  // namespace

void register_elementwise_ops(Registry& r) {
  for (const auto& [name, op] : unary_ops()) r[name] = bind_unary;
  r["Add"] = binary(BinaryOp::add);
  r["Sum"] = binary(BinaryOp::add);
  r["Sub"] = binary(BinaryOp::sub);
  r["Mul"] = binary(BinaryOp::mul);
  r["Div"] = binary(BinaryOp::div);
  r["Pow"] = binary(BinaryOp::pow_);
  r["Max"] = binary(BinaryOp::max_);
  r["Min"] = binary(BinaryOp::min_);
  r["Mod"] = binary(BinaryOp::mod);
  r["PRelu"] = binary(BinaryOp::prelu);
  r["Equal"] = binary(BinaryOp::equal);
  r["Less"] = binary(BinaryOp::less);
  r["Greater"] = binary(BinaryOp::greater);
  r["LessOrEqual"] = binary(BinaryOp::less_eq);
  r["GreaterOrEqual"] = binary(BinaryOp::greater_eq);
  r["And"] = binary(BinaryOp::and_);
  r["Or"] = binary(BinaryOp::or_);
  r["Xor"] = binary(BinaryOp::xor_);
  r["Where"] = bind_where;
}

}  // namespace detail
}  // namespace xbarmc::model
