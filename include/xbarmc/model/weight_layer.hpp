#pragma once
/// \file
/// Weight layers, the part of a network that runs on crossbars: every Conv, Gemm
/// and MatMul with a constant weight operand, as a K x M matrix per group (K inputs
/// = crossbar rows, M outputs = crossbar columns), and the provider interface that
/// computes their products (exact float, digitally quantized, or a simulated chip).

#include <cstdint>
#include <string>
#include <vector>

namespace xbarmc::model {

/// One Conv / Gemm / MatMul-with-constant-operand node.
struct WeightLayer {
  std::string name;     ///< ONNX node name (or a generated one)
  std::string op_type;  ///< "Conv", "Gemm", "MatMul"
  std::int64_t K = 0;   ///< inputs per group (crossbar rows)
  std::int64_t M = 0;   ///< outputs per group (crossbar columns)
  int groups = 1;
  /// `groups` blocks of K x M, row-major: row = input index k, column = output m.
  /// Conv: k = (c * kernel_h + ky) * kernel_w + kx over the group's input channels c
  /// (ONNX's weight flattening); output channel = group * M + m.
  std::vector<float> weights;
  /// groups * M entries (folded BatchNorm and constant bias adds included), or empty.
  std::vector<float> bias;

  // Conv geometry (2-D; a 1-D conv has kernel_h = 1). Pads are ONNX's explicit pads,
  // or recomputed from auto_pad ("SAME_UPPER", "SAME_LOWER", "VALID") for each input size.
  std::int64_t in_channels = 0;  ///< Conv: all groups together
  std::int64_t kernel_h = 1, kernel_w = 1;
  std::int64_t stride_h = 1, stride_w = 1;
  std::int64_t dilation_h = 1, dilation_w = 1;
  std::int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  std::string auto_pad = "NOTSET";
  int spatial_dims = 2;  ///< Conv: 1 or 2

  /// MatMul whose constant operand is the first one: Y = A * X is computed as
  /// Y^T = X^T * A^T, so `weights` holds A^T and the rows fed to the provider are
  /// the columns of X.
  bool constant_first = false;

  /// Weight of input k, output m, group g.
  float w(int g, std::int64_t k, std::int64_t m) const { return weights[(g * K + k) * M + m]; }
};

/// Y (n x M, row-major) = X (n x K, row-major) * W of group `group`, each output a float
/// sum over k in ascending order (for providers that look at the inputs and need plain
/// products).
inline void float_product(const WeightLayer& l, int group, const float* X, std::int64_t n, float* Y) {
  const float* W = l.weights.data() + static_cast<std::int64_t>(group) * l.K * l.M;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t m = 0; m < l.M; ++m) {
      float acc = 0.0f;
      for (std::int64_t k = 0; k < l.K; ++k) acc += X[i * l.K + k] * W[k * l.M + m];
      Y[i * l.M + m] = acc;
    }
}

/// Computes the products of weight layers. The executor lowers every weight layer to
/// calls of matmul(); everything else stays digital.
class MatmulProvider {
 public:
  virtual ~MatmulProvider() = default;
  /// Y (n x M, row-major) = X (n x K, row-major) * W for weight layer `layer`, group
  /// `group` (no bias). May be called concurrently from several threads.
  virtual void matmul(int layer, int group, const float* X, std::int64_t n, float* Y) = 0;
};

}  // namespace xbarmc::model
