// The four reference networks (experiments/models) on the Fashion-MNIST test set:
//  - xbarmc's float logits of the first 64 test images match PyTorch's (stored in
//    each card) within 1e-4 max abs;
//  - the float top-1 accuracy over all 10,000 images equals the card's (PyTorch's);
//  - the digitally quantized network at 8/8 bits is within 0.5 % (top-1) of float.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "xbarmc/data/dataset.hpp"
#include "xbarmc/model/evaluate.hpp"
#include "xbarmc/model/model.hpp"
#include "xbarmc/model/quantized.hpp"

namespace xbarmc {
namespace {

namespace fs = std::filesystem;

const std::string kModels = std::string(XBARMC_SOURCE_DIR) + "/experiments/models/";
const std::string kData = "/usr/share/datasets/fashion-mnist";

struct Loaded {
  model::Model model;
  data::Dataset test;
  nlohmann::json card;
};

Loaded load(const std::string& name) {
  auto m = model::Model::load(kModels + name + ".onnx");
  data::DataSpec spec;
  spec.path = kData;
  spec.mean = m.normalization().mean;
  spec.std = m.normalization().std;
  spec.labels_required = true;
  auto ds = data::load_dataset(spec);
  data::conform_to_model(ds, m.input_shape(), m.path());
  nlohmann::json card = m.card();
  return Loaded{std::move(m), std::move(ds), std::move(card)};
}

class ReferenceModel : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kData)) << "dataset-fashion-mnist is not installed (" << kData << "): run scripts/setup.sh";
    ASSERT_TRUE(fs::exists(kModels + GetParam() + ".onnx")) << "run scripts/train_models.py";
  }
};

TEST_P(ReferenceModel, FloatLogitsMatchPyTorch) {
  const Loaded l = load(GetParam());
  const auto& ref = l.card.at("logits");
  const std::int64_t n = static_cast<std::int64_t>(ref.size()), c = l.model.num_classes();
  ASSERT_EQ(n, 64);
  const auto logits = model::run_batched(l.model, l.test.samples.data(), n, nullptr, 0, 16);
  double worst = 0;
  for (std::int64_t s = 0; s < n; ++s)
    for (std::int64_t k = 0; k < c; ++k)
      worst = std::max(worst, std::fabs(logits[s * c + k] - ref[s][k].get<double>()));
  EXPECT_LE(worst, 1e-4) << GetParam() << ": max abs difference to PyTorch's logits";
  RecordProperty("max_abs_logit_difference", std::to_string(worst));
}

TEST_P(ReferenceModel, FullTestSetAccuracyMatchesCardAndQuantizedIsClose) {
  const Loaded l = load(GetParam());
  const std::int64_t n = l.test.count, c = l.model.num_classes();
  ASSERT_EQ(n, l.card.at("test_images").get<std::int64_t>());
  const auto logits = model::run_batched(l.model, l.test.samples.data(), n, nullptr);
  const auto fa = model::accuracy(logits.data(), n, c, l.test.labels.data());
  EXPECT_EQ(fa.top1, l.card.at("float_test_correct").get<std::int64_t>()) << GetParam();

  // Calibration on 256 training images, as xbarmc eval does.
  data::DataSpec spec;
  spec.path = kData;
  spec.mean = l.model.normalization().mean;
  spec.std = l.model.normalization().std;
  const auto choice = data::calibration_data(spec, 256);
  ASSERT_TRUE(choice.training_split);
  auto calib = data::load_dataset(choice.spec);
  data::conform_to_model(calib, l.model.input_shape(), l.model.path());
  const auto ranges = model::calibrate_input_ranges(l.model, calib.samples.data(), calib.count);
  model::QuantizedMatmul q(l.model, ranges, 8, 8);
  const auto qlogits = model::run_batched(l.model, l.test.samples.data(), n, &q);
  const auto qa = model::accuracy(qlogits.data(), n, c, l.test.labels.data());
  EXPECT_LE(std::abs(qa.top1 - fa.top1), n / 200)
      << GetParam() << ": quantized " << qa.top1 << " vs float " << fa.top1 << " correct of " << n;
}

INSTANTIATE_TEST_SUITE_P(FashionMnist, ReferenceModel, ::testing::Values("lenet5", "vgg", "resnet20", "vit"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace xbarmc
