#include "xbarmc/montecarlo/study.hpp"

#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <numeric>

#include <fmt/format.h>

#include "xbarmc/backend.hpp"
#include "xbarmc/errors.hpp"
#include "xbarmc/mapping/strategy.hpp"
#include "xbarmc/model/executor.hpp"
#include "xbarmc/model/quantized.hpp"
#include "xbarmc/rng/counter.hpp"

namespace xbarmc::montecarlo {

namespace {

// Exact float products that also keep a sample of each weight layer's input rows
// (the calibration inputs of calibrated ADC ranges).
class RecordingProvider final : public model::MatmulProvider {
 public:
  RecordingProvider(const model::Model& m, std::int64_t cap) : model_(m), cap_(cap) {
    for (const auto& l : m.weight_layers()) rows_.emplace_back(l.groups);
  }
  void matmul(int layer, int group, const float* X, std::int64_t n, float* Y) override {
    const auto& l = model_.weight_layers()[layer];
    const float* W = l.weights.data() + static_cast<std::int64_t>(group) * l.K * l.M;
    std::fill(Y, Y + n * l.M, 0.0f);
    for (std::int64_t i = 0; i < n; ++i) {
      const float* x = X + i * l.K;
      float* y = Y + i * l.M;
      for (std::int64_t k = 0; k < l.K; ++k) {
        const float xv = x[k];
        if (xv == 0.0f) continue;
        const float* w = W + k * l.M;
        for (std::int64_t m = 0; m < l.M; ++m) y[m] += xv * w[m];
      }
    }
    auto& store = rows_[layer][group];
    // Keep an evenly spread subset of at most cap_ rows per call.
    const std::int64_t stride = std::max<std::int64_t>(1, n / std::max<std::int64_t>(1, cap_ / 8));
    for (std::int64_t i = 0; i < n && static_cast<std::int64_t>(store.size()) < cap_ * l.K; i += stride) {
      store.insert(store.end(), X + i * l.K, X + (i + 1) * l.K);
    }
  }
  const std::vector<float>& rows(int layer, int group) const { return rows_[layer][group]; }

 private:
  const model::Model& model_;
  std::int64_t cap_;
  std::vector<std::vector<std::vector<float>>> rows_;
};

// Exact float products that count the rows each weight layer's group receives.
class CountingProvider final : public model::MatmulProvider {
 public:
  explicit CountingProvider(const model::Model& m) : model_(m) {
    for (const auto& l : m.weight_layers()) rows_.emplace_back(l.groups, 0);
  }
  void matmul(int layer, int group, const float* X, std::int64_t n, float* Y) override {
    model::float_product(model_.weight_layers()[layer], group, X, n, Y);
    rows_[layer][group] += n;
  }
  std::int64_t rows(int layer, int group) const { return rows_[layer][group]; }

 private:
  const model::Model& model_;
  std::vector<std::vector<std::int64_t>> rows_;
};

// Accuracy of `provider` (nullptr: float) on the samples, parallel over chunks.
Accuracy evaluate_accuracy(const model::Model& m, const std::vector<float>& samples,
                           const std::vector<std::int32_t>& labels, std::int64_t sample_size, int threads,
                           model::MatmulProvider* provider) {
  const std::int64_t n = static_cast<std::int64_t>(labels.size());
  const std::int64_t chunk = 64;
  const std::int64_t chunks = (n + chunk - 1) / chunk;
  std::vector<std::int64_t> hits1(chunks), hits5(chunks);
  std::mutex error_mutex;
  std::exception_ptr error;
#pragma omp parallel num_threads(threads)
  {
    model::Executor ex(m, chunk);
    std::vector<float> logits(chunk * m.num_classes());
#pragma omp for schedule(dynamic)
    for (std::int64_t c = 0; c < chunks; ++c) {
      try {
        const std::int64_t i0 = c * chunk, cnt = std::min(chunk, n - i0);
        ex.run(samples.data() + i0 * sample_size, cnt, logits.data(), provider);
        count_hits(logits.data(), cnt, m.num_classes(), labels.data() + i0, hits1[c], hits5[c]);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    }
  }
  if (error) std::rethrow_exception(error);
  Accuracy a;
  a.top1 = static_cast<double>(std::accumulate(hits1.begin(), hits1.end(), std::int64_t{0})) / n;
  a.top5 = static_cast<double>(std::accumulate(hits5.begin(), hits5.end(), std::int64_t{0})) / n;
  return a;
}

data::Dataset load_conformed(const data::DataSpec& spec, const model::Model& m) {
  data::Dataset d = data::load_dataset(spec);
  data::conform_to_model(d, m.input_shape(), m.path());
  return d;
}

}  // namespace

void count_hits(const float* logits, std::int64_t n, std::int64_t classes, const std::int32_t* labels,
                std::int64_t& top1, std::int64_t& top5) {
  top1 = top5 = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const float* z = logits + i * classes;
    const std::int32_t y = labels[i];
    const float zy = z[y];
    // Rank of the label: classes with a larger logit, or an equal one at a lower index
    // (argmax takes the first maximum).
    std::int64_t better = 0;
    for (std::int64_t c = 0; c < classes; ++c) better += (z[c] > zy) || (z[c] == zy && c < y);
    top1 += better == 0;
    top5 += better < 5;
  }
}

Study::Study(const config::Settings& base, const std::vector<ArmSpec>& arm_specs, int threads, bool verbose) {
  threads = resolve_threads(threads);
  auto say = [&](const std::string& s) {
    if (verbose) std::fprintf(stderr, "%s\n", s.c_str());
  };
  seed_ = static_cast<std::uint64_t>(base.get_int("seed"));
  model_ = std::make_unique<model::Model>(model::Model::load(base.get_text("model")));
  const auto& layers = model_->weight_layers();
  if (layers.empty()) {
    throw InvalidInput(model_->path(),
                       "the network has no weight layer (Conv, Gemm or MatMul with a constant "
                       "operand), so nothing would run on crossbars");
  }

  data::DataSpec spec;
  spec.path = base.get_text("data");
  if (base.has("labels")) spec.labels_path = base.get_text("labels");
  spec.mean = model_->normalization().mean;
  spec.std = model_->normalization().std;
  spec.labels_required = true;
  data::Dataset all = load_conformed(spec, *model_);
  sample_size_ = all.count > 0 ? static_cast<std::int64_t>(all.samples.size()) / all.count : 0;
  if (all.count == 0) throw InvalidInput(all.source, "the data holds no images");
  for (std::int32_t y : all.labels) {
    if (y < 0 || y >= model_->num_classes()) {
      throw InvalidInput(all.labels_source,
                         fmt::format("label {} is outside the model's {} classes", y, model_->num_classes()));
    }
  }

  // Image selection: the first N, or N drawn without replacement by sorting the
  // indices on a Philox key (Purpose::image_subset), then kept in file order.
  const std::int64_t want = base.get_int("images") == 0 ? all.count : std::min(base.get_int("images"), all.count);
  if (base.get_int("images") > all.count) {
    say(fmt::format("note: --images {} but {} holds {} images; using all of them", base.get_int("images"), all.source,
                    all.count));
  }
  image_indices_.resize(all.count);
  std::iota(image_indices_.begin(), image_indices_.end(), 0);
  if (base.get_text("image_sample") == "random" && want < all.count) {
    std::vector<std::pair<std::uint64_t, std::int64_t>> keyed(all.count);
    for (std::int64_t i = 0; i < all.count; ++i) {
      const rng::Block b = rng::draw_block(seed_, rng::Purpose::image_subset, 0, 0, 0, static_cast<std::uint32_t>(i));
      keyed[i] = {(static_cast<std::uint64_t>(b.v[0]) << 32) | b.v[1], i};
    }
    std::sort(keyed.begin(), keyed.end());
    for (std::int64_t i = 0; i < want; ++i) image_indices_[i] = keyed[i].second;
    image_indices_.resize(want);
    std::sort(image_indices_.begin(), image_indices_.end());
  } else {
    image_indices_.resize(want);
  }
  images_.resize(want * sample_size_);
  labels_.resize(want);
  for (std::int64_t i = 0; i < want; ++i) {
    const std::int64_t j = image_indices_[i];
    std::copy(all.samples.begin() + j * sample_size_, all.samples.begin() + (j + 1) * sample_size_,
              images_.begin() + i * sample_size_);
    labels_[i] = all.labels[j];
  }
  data_description_ = fmt::format("{} {} images of {}", want,
                                  base.get_text("image_sample") == "random" ? "random" : "first", all.source);
  all = data::Dataset{};

  // Calibration of the input quantizers on the float network.
  const data::CalibrationChoice calib = data::calibration_data(spec, base.get_int("calib_images"));
  data::Dataset cal = load_conformed(calib.spec, *model_);
  calibration_description_ = calib.description;
  say(fmt::format("calibrating on {}", calib.description));
  const model::InputRanges ranges = model::calibrate_input_ranges(*model_, cal.samples.data(), cal.count, threads);

  // Baselines on the evaluation images.
  say(fmt::format("baselines on {}", data_description_));
  float_accuracy_ = evaluate_accuracy(*model_, images_, labels_, sample_size_, threads, nullptr);
  {
    const HardwareConfig hw0 = hardware_from_settings(base);
    model::QuantizedMatmul q(*model_, ranges, hw0.weight_bits, hw0.input_bits);
    quantized_accuracy_ = evaluate_accuracy(*model_, images_, labels_, sample_size_, threads, &q);
  }

  // Crossbar-matrix ids (the RNG layer coordinate) and layer names.
  matrix_base_.push_back(0);
  for (const auto& l : layers) {
    matrix_base_.push_back(matrix_base_.back() + static_cast<std::uint32_t>(l.groups));
    layer_names_.push_back(l.name);
  }
  rng::check_coordinates(matrix_base_.back() - 1, 1);
  {
    // Rows per sample of each matrix, from one sample run through the network.
    CountingProvider counter(*model_);
    model::Executor ex(*model_, 1);
    std::vector<float> logits(model_->num_classes());
    ex.run(images_.data(), 1, logits.data(), &counter);
    for (std::size_t li = 0; li < layers.size(); ++li)
      for (int g = 0; g < layers[li].groups; ++g) rows_per_sample_.push_back(counter.rows(static_cast<int>(li), g));
  }

  // Inputs recorded once for calibrated ADC ranges (only when some arm needs them).
  std::unique_ptr<RecordingProvider> recorded;

  for (const ArmSpec& spec_arm : arm_specs) {
    Arm arm{spec_arm.name, spec_arm, apply_arm(base, spec_arm)};
    arm.hw = hardware_from_settings(arm.settings);
    arm.strategy = arm.settings.get_text("strategy");
    const auto strategy = make_strategy(arm.strategy);
    if (arm.hw.adc_range == AdcRange::calibrated && !recorded) {
      recorded = std::make_unique<RecordingProvider>(*model_, 8192);
      const std::int64_t n = std::min<std::int64_t>(cal.count, 64);
      model::Executor ex(*model_, n);
      std::vector<float> logits(n * model_->num_classes());
      ex.run(cal.samples.data(), n, logits.data(), recorded.get());
    }
    arm.matrices.resize(layers.size());
    arm.input_quant.resize(layers.size());
    for (std::size_t li = 0; li < layers.size(); ++li) {
      const auto& l = layers[li];
      for (int g = 0; g < l.groups; ++g) {
        const float* W = l.weights.data() + static_cast<std::int64_t>(g) * l.K * l.M;
        MappedMatrix mm = strategy->map(W, l.K, l.M, arm.hw);
        const auto [lo, hi] = ranges[li][g];
        const quant::Quantizer xq = quant::activation_quantizer(lo, hi, arm.hw.input_bits);
        if (arm.hw.adc_range == AdcRange::calibrated) {
          const auto& rows = recorded->rows(static_cast<int>(li), g);
          calibrate_adc(mm, rows.data(), static_cast<std::int64_t>(rows.size()) / l.K, xq);
        }
        arm.matrices[li].push_back(std::move(mm));
        arm.input_quant[li].push_back(xq);
      }
    }
    arms_.push_back(std::move(arm));
  }
}

std::int64_t Study::cells(int arm) const {
  std::int64_t c = 0;
  for (const auto& layer : arms_[arm].matrices)
    for (const auto& m : layer) c += static_cast<std::int64_t>(m.tiles.size()) * m.hw.rows * m.hw.cols;
  return c;
}

std::int64_t Study::tiles(int arm) const {
  std::int64_t c = 0;
  for (const auto& layer : arms_[arm].matrices)
    for (const auto& m : layer) c += static_cast<std::int64_t>(m.tiles.size());
  return c;
}

}  // namespace xbarmc::montecarlo
