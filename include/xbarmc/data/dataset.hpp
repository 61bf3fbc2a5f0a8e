#pragma once
/// \file
/// Evaluation and calibration data: images and labels from IDX files (gzip or not;
/// the MNIST / Fashion-MNIST layout) or NumPy .npy files, scaled and normalized the
/// way the network was trained: uint8 pixels / 255 (float data as stored), then
/// (x - mean[c]) / std[c] per channel.

#include <cstdint>
#include <string>
#include <vector>

namespace xbarmc::data {

/// What to load.
struct DataSpec {
  /// An IDX or .npy images file, or a directory in the Fashion-MNIST layout
  /// ({t10k,train}-images-idx3-ubyte[.gz] and the matching labels).
  std::string path;
  std::string labels_path;       ///< "" = inferred from the images file name (none found: no labels)
  std::int64_t limit = 0;        ///< the first N samples (0 = all)
  std::vector<float> mean;       ///< per channel, or one for all; empty = no normalization
  std::vector<float> std;        ///< per channel, or one for all; empty = no normalization
  std::string layout = "auto";   ///< of rank-4 .npy images: NCHW, NHWC, or auto (NHWC when the last dim is 1, 3 or 4)
  std::string split = "test";    ///< which split a directory gives: test (t10k) or train
  bool labels_required = false;  ///< missing labels are an error
};

/// Loaded samples, row-major, one sample_shape block each (channels first).
struct Dataset {
  std::int64_t count = 0;
  std::vector<std::int64_t> sample_shape;  ///< e.g. {28, 28} from IDX, {3, 32, 32} from NCHW .npy
  std::vector<float> samples;              ///< count x numel(sample_shape), normalized
  std::vector<std::int32_t> labels;        ///< count entries, or empty when there are none
  std::string source;                      ///< the images file
  std::string labels_source;               ///< the labels file, or ""
};

/// Loads `spec`. Missing, truncated or malformed files, mismatched image and label
/// counts, and normalization that does not match the channels throw InvalidInput
/// naming the file.
Dataset load_dataset(const DataSpec& spec);

/// The images file `spec` means (resolves a directory to its split's images file).
std::string resolve_images_path(const DataSpec& spec);

/// The labels file that belongs to `images_path` ("images" -> "labels", idx3 -> idx1,
/// x_* -> y_*, with or without .gz), or "" when none exists.
std::string infer_labels_path(const std::string& images_path);

/// Makes the samples' shape `model_shape` when they hold the same values in the same
/// order (e.g. 28x28 images for a 1x28x28 input, or a flat 784 input); otherwise throws
/// InvalidInput naming the data file and both shapes.
void conform_to_model(Dataset& data, const std::vector<std::int64_t>& model_shape, const std::string& model_path);

/// Where calibration samples come from.
struct CalibrationChoice {
  DataSpec spec;                ///< what to load (its limit = the number of images)
  bool training_split = false;  ///< true: the training split next to the evaluation data
  std::string description;      ///< one line for the output, e.g. "256 images of the training split (DIR/...)"
};

/// The calibration data for evaluation data `eval`: `images` samples of the training
/// split when `eval` is an MNIST-layout test file or directory whose train files exist,
/// else the first `images` samples of the evaluation data.
CalibrationChoice calibration_data(const DataSpec& eval, std::int64_t images);

}  // namespace xbarmc::data
