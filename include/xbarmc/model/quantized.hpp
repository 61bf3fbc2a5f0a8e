#pragma once
/// \file
/// The digitally quantized network: the reference a crossbar chip is measured
/// against. Weights are quantized per output channel to `weight_bits`
/// (quant::weight_quantizer), each weight layer's inputs with a quantizer calibrated
/// on the float network (quant::activation_quantizer over the observed [min, max]),
/// products are exact integer sums, then dequantized. Everything else stays float.

#include <cstdint>
#include <utility>
#include <vector>

#include "xbarmc/model/model.hpp"
#include "xbarmc/quant.hpp"

namespace xbarmc::model {

/// Per weight layer and group, [min, max] of the layer's input activations.
using InputRanges = std::vector<std::vector<std::pair<float, float>>>;

/// The observed [min, max] of each weight layer's (and group's) input activations
/// when the float network runs the n samples at `inputs` (conv zero padding included,
/// as a crossbar sees it). `threads` OpenMP threads (0 = all).
InputRanges calibrate_input_ranges(const Model& model, const float* inputs, std::int64_t n, int threads = 0);

/// Quantized weight-layer products (thread-safe: matmul() may run on several threads at once).
class QuantizedMatmul : public MatmulProvider {
 public:
  QuantizedMatmul(const Model& model, const InputRanges& ranges, int weight_bits, int input_bits);
  void matmul(int layer, int group, const float* X, std::int64_t n, float* Y) override;

  /// The input quantizer of a layer's group.
  const quant::Quantizer& input_quantizer(int layer, int group) const { return groups_[layer][group].in; }
  /// The weight quantizer of output m of a layer's group.
  const quant::Quantizer& weight_quantizer(int layer, int group, std::int64_t m) const {
    return groups_[layer][group].w[m];
  }

 private:
  struct Group {
    quant::Quantizer in;
    std::vector<quant::Quantizer> w;  ///< per output column
    std::vector<float> codes_f;       ///< K x M weight codes (float path)
    std::vector<double> codes_d;      ///< K x M weight codes (double path)
    std::vector<float> w_scale;       ///< per output column: s_x * s_w,m
    std::int64_t k_block = 0;         ///< rows per exact float product (partial sums < 2^24); 0: double path
  };
  const Model& model_;
  std::vector<std::vector<Group>> groups_;
};

}  // namespace xbarmc::model
