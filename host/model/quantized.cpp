#include "xbarmc/model/quantized.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <memory>

#include <cblas.h>
#include <fmt/format.h>
#include <omp.h>

#include "xbarmc/backend.hpp"
#include "xbarmc/errors.hpp"
#include "xbarmc/model/executor.hpp"

namespace xbarmc::model {

namespace {

/// Records the range of every weight layer's inputs while computing exact float products.
class RangeRecorder : public MatmulProvider {
 public:
  explicit RangeRecorder(const Model& m) : model_(m) {
    for (const auto& l : m.weight_layers())
      ranges_.emplace_back(
          l.groups, std::make_pair(std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()));
  }
  void matmul(int layer, int group, const float* X, std::int64_t n, float* Y) override {
    const WeightLayer& l = model_.weight_layers()[layer];
    auto& r = ranges_[layer][group];
    for (std::int64_t k = 0; k < n * l.K; ++k) {
      r.first = std::min(r.first, X[k]);
      r.second = std::max(r.second, X[k]);
    }
    if (n == 0) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(n), static_cast<int>(l.M),
                static_cast<int>(l.K), 1.0f, X, static_cast<int>(l.K),
                l.weights.data() + static_cast<std::int64_t>(group) * l.K * l.M, static_cast<int>(l.M), 0.0f, Y,
                static_cast<int>(l.M));
  }
  InputRanges ranges_;

 private:
  const Model& model_;
};

}  // namespace

InputRanges calibrate_input_ranges(const Model& model, const float* inputs, std::int64_t n, int threads) {
  if (n <= 0) throw InvalidConfig("calibration needs at least one sample");
  std::int64_t per_sample = 1;
  for (auto d : model.input_shape()) per_sample *= d;
  const int t = std::max(1, resolve_threads(threads));
  constexpr std::int64_t kBatch = 32;
  const std::int64_t batches = (n + kBatch - 1) / kBatch;
  std::vector<RangeRecorder> rec;
  for (int k = 0; k < t; ++k) rec.emplace_back(model);
  std::exception_ptr error;  // an exception must not leave an OpenMP region
#pragma omp parallel num_threads(t)
  {
    std::unique_ptr<Executor> ex;
    std::vector<float> logits(kBatch * model.num_classes());
    RangeRecorder& r = rec[omp_get_thread_num()];
#pragma omp for schedule(dynamic)
    for (std::int64_t b = 0; b < batches; ++b) {
      try {
        if (!ex) ex = std::make_unique<Executor>(model, kBatch);
        const std::int64_t s0 = b * kBatch, cs = std::min(kBatch, n - s0);
        ex->run(inputs + s0 * per_sample, cs, logits.data(), &r);
      } catch (...) {
#pragma omp critical(xbarmc_calibrate_error)
        if (!error) error = std::current_exception();
      }
    }
  }
  if (error) std::rethrow_exception(error);
  InputRanges out = rec[0].ranges_;
  for (int k = 1; k < t; ++k)
    for (std::size_t l = 0; l < out.size(); ++l)
      for (std::size_t g = 0; g < out[l].size(); ++g) {
        out[l][g].first = std::min(out[l][g].first, rec[k].ranges_[l][g].first);
        out[l][g].second = std::max(out[l][g].second, rec[k].ranges_[l][g].second);
      }
  for (auto& layer : out)
    for (auto& r : layer)
      if (r.first > r.second) r = {0.0f, 0.0f};  // a layer the samples never reached
  return out;
}

QuantizedMatmul::QuantizedMatmul(const Model& model, const InputRanges& ranges, int weight_bits, int input_bits)
    : model_(model) {
  if (weight_bits < 2 || weight_bits > 16)
    throw InvalidConfig(fmt::format("weight_bits: must be 2..16, got {}", weight_bits));
  if (input_bits < 1 || input_bits > 16)
    throw InvalidConfig(fmt::format("input_bits: must be 1..16, got {}", input_bits));
  const auto& layers = model.weight_layers();
  if (ranges.size() != layers.size()) throw Error("internal: calibration ranges do not match the weight layers");
  for (std::size_t li = 0; li < layers.size(); ++li) {
    const WeightLayer& l = layers[li];
    std::vector<Group> gs(l.groups);
    for (int g = 0; g < l.groups; ++g) {
      Group& G = gs[g];
      G.in = quant::activation_quantizer(ranges[li][g].first, ranges[li][g].second, input_bits);
      G.w.resize(l.M);
      G.w_scale.resize(l.M);
      G.codes_f.resize(l.K * l.M);
      int wmax = 0;
      for (std::int64_t m = 0; m < l.M; ++m) {
        float max_abs = 0.0f;
        for (std::int64_t k = 0; k < l.K; ++k) max_abs = std::max(max_abs, std::fabs(l.w(g, k, m)));
        G.w[m] = quant::weight_quantizer(max_abs, weight_bits);
        G.w_scale[m] = G.in.scale * G.w[m].scale;
        wmax = std::max(wmax, G.w[m].hi);
        for (std::int64_t k = 0; k < l.K; ++k)
          G.codes_f[k * l.M + m] = static_cast<float>(G.w[m].quantize(l.w(g, k, m)));
      }
      // Integer sums are exact in float while |partial sum| < 2^24: products of codes
      // summed over at most k_block rows. Below 16 rows per block, use double (< 2^53).
      const double in_max = std::max(std::abs(G.in.lo), std::abs(G.in.hi));
      const double per_row = std::max(1.0, in_max * wmax);
      G.k_block = static_cast<std::int64_t>(std::floor((16777216.0 - 1.0) / per_row));
      if (G.k_block < 16) {
        G.k_block = 0;
        G.codes_d.assign(G.codes_f.begin(), G.codes_f.end());
      }
    }
    groups_.push_back(std::move(gs));
  }
}

namespace {

/// Input codes as floats, equal to quant::Quantizer::quantize (clamp, then round half
/// to even) but vectorizable: the codes are below 2^22 in magnitude, where adding and
/// subtracting 1.5 * 2^23 rounds to the nearest integer, ties to even, like rintf.
void quantize_codes(const quant::Quantizer& q, const float* x, std::int64_t n, float* out) {
  const float scale = q.scale, lo = static_cast<float>(q.lo), hi = static_cast<float>(q.hi);
  constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23
  for (std::int64_t k = 0; k < n; ++k) {
    float v = x[k] / scale;
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    out[k] = (v + kMagic) - kMagic;
  }
}

}  // namespace

void QuantizedMatmul::matmul(int layer, int group, const float* X, std::int64_t n, float* Y) {
  const WeightLayer& l = model_.weight_layers()[layer];
  const Group& G = groups_[layer][group];
  const std::int64_t K = l.K, M = l.M;
  if (n == 0) return;
  // Scratch per thread, grown on demand (no allocation once warm).
  thread_local std::vector<float> xf, yf;
  thread_local std::vector<double> xd, yd;
  if (xf.size() < static_cast<std::size_t>(n * K)) xf.resize(n * K);
  quantize_codes(G.in, X, n * K, xf.data());
  if (G.k_block >= K) {  // one exact float product
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(n), static_cast<int>(M),
                static_cast<int>(K), 1.0f, xf.data(), static_cast<int>(K), G.codes_f.data(), static_cast<int>(M), 0.0f,
                Y, static_cast<int>(M));
    for (std::int64_t r = 0; r < n; ++r)
      for (std::int64_t m = 0; m < M; ++m) Y[r * M + m] *= G.w_scale[m];
    return;
  }
  if (yd.size() < static_cast<std::size_t>(n * M)) yd.resize(n * M);
  if (G.k_block > 0) {  // exact float products over blocks of rows, summed in double
    if (yf.size() < static_cast<std::size_t>(n * M)) yf.resize(n * M);
    std::fill(yd.begin(), yd.begin() + n * M, 0.0);
    for (std::int64_t k0 = 0; k0 < K; k0 += G.k_block) {
      const std::int64_t kb = std::min(G.k_block, K - k0);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(n), static_cast<int>(M),
                  static_cast<int>(kb), 1.0f, xf.data() + k0, static_cast<int>(K), G.codes_f.data() + k0 * M,
                  static_cast<int>(M), 0.0f, yf.data(), static_cast<int>(M));
      for (std::int64_t k = 0; k < n * M; ++k) yd[k] += yf[k];
    }
  } else {  // wide codes: double products (exact below 2^53)
    if (xd.size() < static_cast<std::size_t>(n * K)) xd.resize(n * K);
    for (std::int64_t k = 0; k < n * K; ++k) xd[k] = xf[k];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(n), static_cast<int>(M),
                static_cast<int>(K), 1.0, xd.data(), static_cast<int>(K), G.codes_d.data(), static_cast<int>(M), 0.0,
                yd.data(), static_cast<int>(M));
  }
  for (std::int64_t r = 0; r < n; ++r)
    for (std::int64_t m = 0; m < M; ++m) Y[r * M + m] = static_cast<float>(yd[r * M + m]) * G.w_scale[m];
}

}  // namespace xbarmc::model
