#pragma once
/// \file
/// A Monte Carlo study prepared for running: the network, the evaluation images,
/// the input quantizers calibrated on the float network, and for each arm its
/// hardware and the weight matrices mapped onto tiles by its strategy. Everything
/// here is fixed for the whole run; trials (chip instances) only add random draws.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "xbarmc/config/settings.hpp"
#include "xbarmc/data/dataset.hpp"
#include "xbarmc/hardware.hpp"
#include "xbarmc/mapping/mapped_matrix.hpp"
#include "xbarmc/model/model.hpp"
#include "xbarmc/montecarlo/arms.hpp"
#include "xbarmc/quant.hpp"

namespace xbarmc::montecarlo {

/// One arm ready to run.
struct Arm {
  std::string name;
  ArmSpec spec;
  config::Settings settings;
  HardwareConfig hw{};
  std::string strategy{};
  std::vector<std::vector<MappedMatrix>> matrices{};         ///< [layer][group]
  std::vector<std::vector<quant::Quantizer>> input_quant{};  ///< [layer][group]
};

/// Accuracy of a network on the study's images.
struct Accuracy {
  double top1 = 0;
  double top5 = 0;
};

/// The prepared study.
class Study {
 public:
  /// Loads, selects, calibrates, maps and measures the float and digitally quantized
  /// baselines. `threads` CPU threads for the preparation. Messages go to stderr when
  /// `verbose`.
  Study(const config::Settings& base, const std::vector<ArmSpec>& arms, int threads, bool verbose);

  const model::Model& model() const { return *model_; }
  /// Evaluation images, normalized, row-major (count x sample size).
  const std::vector<float>& images() const { return images_; }
  const std::vector<std::int32_t>& labels() const { return labels_; }
  /// Index in the dataset file of each evaluation image.
  const std::vector<std::int64_t>& image_indices() const { return image_indices_; }
  std::int64_t image_count() const { return static_cast<std::int64_t>(labels_.size()); }
  std::int64_t sample_size() const { return sample_size_; }
  std::int64_t classes() const { return model_->num_classes(); }
  std::uint64_t seed() const { return seed_; }
  const std::vector<Arm>& arms() const { return arms_; }
  /// Crossbar-matrix id (the RNG layer coordinate) of a weight layer's group.
  std::uint32_t matrix_id(int layer, int group) const {
    return matrix_base_[layer] + static_cast<std::uint32_t>(group);
  }
  /// Number of crossbar matrices (weight layers x groups).
  std::uint32_t matrix_count() const { return matrix_base_.back(); }
  /// Product rows (input vectors) one sample feeds to a weight layer's group: the
  /// executor may hand them over in several calls, always in sample order.
  std::int64_t rows_per_sample(int layer, int group) const { return rows_per_sample_[matrix_id(layer, group)]; }
  /// Weight-layer names (per-layer errors are per layer, summed over groups).
  const std::vector<std::string>& layer_names() const { return layer_names_; }
  const Accuracy& float_accuracy() const { return float_accuracy_; }
  const Accuracy& quantized_accuracy() const { return quantized_accuracy_; }
  /// Where the evaluation and calibration data came from.
  const std::string& data_description() const { return data_description_; }
  const std::string& calibration_description() const { return calibration_description_; }
  /// Cells of one chip instance per arm (all tiles of all matrices).
  std::int64_t cells(int arm) const;
  /// Tiles of one chip instance per arm.
  std::int64_t tiles(int arm) const;

 private:
  std::unique_ptr<model::Model> model_;
  std::vector<float> images_;
  std::vector<std::int32_t> labels_;
  std::vector<std::int64_t> image_indices_;
  std::int64_t sample_size_ = 0;
  std::uint64_t seed_ = 0;
  std::vector<Arm> arms_;
  std::vector<std::uint32_t> matrix_base_;
  std::vector<std::int64_t> rows_per_sample_;
  std::vector<std::string> layer_names_;
  Accuracy float_accuracy_, quantized_accuracy_;
  std::string data_description_, calibration_description_;
};

/// Top-1 and top-5 hits of logits (n x classes) against labels.
void count_hits(const float* logits, std::int64_t n, std::int64_t classes, const std::int32_t* labels,
                std::int64_t& top1, std::int64_t& top5);

}  // namespace xbarmc::montecarlo
