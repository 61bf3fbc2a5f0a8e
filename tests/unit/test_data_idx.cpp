// IDX datasets (plain and gzip), label inference, directories, calibration choice,
// and the errors for truncated files and mismatched counts.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <zlib.h>

#include "../common/error_message.hpp"
#include "xbarmc/data/dataset.hpp"
#include "xbarmc/data/idx.hpp"
#include "xbarmc/errors.hpp"

namespace xbarmc {
namespace {

using xbarmc::testing::thrown_message;

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("xbarmc_idx_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string str() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

std::string idx_bytes(const std::vector<int>& dims, const std::vector<unsigned char>& data) {
  std::string s = {0, 0, 8, static_cast<char>(dims.size())};
  for (int d : dims) {
    s += static_cast<char>((d >> 24) & 0xff);
    s += static_cast<char>((d >> 16) & 0xff);
    s += static_cast<char>((d >> 8) & 0xff);
    s += static_cast<char>(d & 0xff);
  }
  s.append(data.begin(), data.end());
  return s;
}

void write_plain(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void write_gz(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

const std::vector<unsigned char> kPixels = {0, 51, 102, 255, 255, 0, 0, 0, 10, 20, 30, 40};  // 3 images of 2x2

TEST(DataIdx, PlainAndGzipNormalizedWithLabels) {
  TempDir d;
  for (bool gz : {false, true}) {
    const std::string img = d.file(std::string("t10k-images-idx3-ubyte") + (gz ? ".gz" : ""));
    const std::string lab = d.file(std::string("t10k-labels-idx1-ubyte") + (gz ? ".gz" : ""));
    (gz ? write_gz : write_plain)(img, idx_bytes({3, 2, 2}, kPixels));
    (gz ? write_gz : write_plain)(lab, idx_bytes({3}, {7, 0, 9}));
    data::DataSpec spec;
    spec.path = img;
    spec.mean = {0.5f};
    spec.std = {0.25f};
    const auto ds = data::load_dataset(spec);
    EXPECT_EQ(ds.count, 3);
    EXPECT_EQ(ds.sample_shape, (std::vector<std::int64_t>{2, 2}));
    EXPECT_EQ(ds.labels_source, lab);
    EXPECT_EQ(ds.labels, (std::vector<std::int32_t>{7, 0, 9}));
    ASSERT_EQ(ds.samples.size(), 12u);
    for (std::size_t k = 0; k < 12; ++k) EXPECT_EQ(ds.samples[k], (kPixels[k] / 255.0f - 0.5f) / 0.25f) << k;
    fs::remove(img);
    fs::remove(lab);
  }
}

TEST(DataIdx, LimitDirectoryAndCalibrationChoice) {
  TempDir d;
  write_gz(d.file("t10k-images-idx3-ubyte.gz"), idx_bytes({3, 2, 2}, kPixels));
  write_gz(d.file("t10k-labels-idx1-ubyte.gz"), idx_bytes({3}, {1, 2, 3}));
  data::DataSpec spec;
  spec.path = d.str();
  spec.limit = 2;
  auto ds = data::load_dataset(spec);
  EXPECT_EQ(ds.count, 2);
  EXPECT_EQ(ds.labels, (std::vector<std::int32_t>{1, 2}));
  EXPECT_EQ(ds.samples[1], 51.0f / 255.0f);  // no normalization given
  // No training split yet: calibrate on the first evaluation images.
  auto c = data::calibration_data(spec, 2);
  EXPECT_FALSE(c.training_split);
  EXPECT_EQ(c.spec.path, d.str());
  EXPECT_NE(c.description.find("first 2 images of the evaluation data"), std::string::npos);
  // With the training split next to it (for the directory and for the test file).
  write_plain(d.file("train-images-idx3-ubyte"), idx_bytes({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}));
  c = data::calibration_data(spec, 2);
  EXPECT_TRUE(c.training_split);
  EXPECT_EQ(data::load_dataset(c.spec).samples[0], 1.0f / 255.0f);
  spec.path = d.file("t10k-images-idx3-ubyte.gz");
  c = data::calibration_data(spec, 5);
  EXPECT_TRUE(c.training_split);
  EXPECT_EQ(c.spec.path, d.file("train-images-idx3-ubyte"));
  EXPECT_EQ(data::load_dataset(c.spec).count, 2);  // fewer than asked: all there are
}

TEST(DataIdx, TruncatedFilesAndMismatchedCounts) {
  TempDir d;
  std::string img = idx_bytes({3, 2, 2}, kPixels);
  write_plain(d.file("cut-images-idx3-ubyte"), img.substr(0, img.size() - 3));
  std::string msg = thrown_message<InvalidInput>([&] {
    data::DataSpec s;
    s.path = d.file("cut-images-idx3-ubyte");
    data::load_dataset(s);
  });
  EXPECT_NE(msg.find(d.file("cut-images-idx3-ubyte") + ": truncated"), std::string::npos) << msg;

  write_gz(d.file("big-images-idx3-ubyte.gz"), idx_bytes({300, 20, 20}, std::vector<unsigned char>(120000, 7)));
  std::ifstream in(d.file("big-images-idx3-ubyte.gz"), std::ios::binary);
  std::string gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  write_plain(d.file("cutgz-images-idx3-ubyte.gz"), gz.substr(0, gz.size() / 2));
  msg = thrown_message<InvalidInput>([&] { data::read_idx(d.file("cutgz-images-idx3-ubyte.gz")); });
  EXPECT_NE(msg.find("cutgz-images-idx3-ubyte.gz"), std::string::npos) << msg;
  EXPECT_NE(msg.find("gzip"), std::string::npos) << msg;

  write_plain(d.file("a-images-idx3-ubyte"), img);
  write_plain(d.file("a-labels-idx1-ubyte"), idx_bytes({2}, {1, 2}));
  msg = thrown_message<InvalidInput>([&] {
    data::DataSpec s;
    s.path = d.file("a-images-idx3-ubyte");
    data::load_dataset(s);
  });
  EXPECT_NE(msg.find(d.file("a-labels-idx1-ubyte") + ": 2 labels for 3 images"), std::string::npos) << msg;

  write_plain(d.file("junk"), "hello, not idx");
  EXPECT_NE(thrown_message<InvalidInput>([&] { data::read_idx(d.file("junk")); }).find("not an IDX file"),
            std::string::npos);
  EXPECT_NE(thrown_message<InvalidInput>([&] {
              data::DataSpec s;
              s.path = d.file("missing.idx");
              data::load_dataset(s);
            }).find("missing.idx: no such file"),
            std::string::npos);
}

TEST(DataIdx, ConformToModelShape) {
  data::Dataset ds;
  ds.source = "imgs.idx";
  ds.sample_shape = {28, 28};
  data::conform_to_model(ds, {1, 28, 28}, "m.onnx");
  EXPECT_EQ(ds.sample_shape, (std::vector<std::int64_t>{1, 28, 28}));
  data::conform_to_model(ds, {784}, "mlp.onnx");  // a flat input takes the same values
  const std::string msg = thrown_message<InvalidInput>([&] { data::conform_to_model(ds, {3, 32, 32}, "cifar.onnx"); });
  EXPECT_NE(msg.find("imgs.idx: the samples are 784 but the model cifar.onnx takes 3x32x32"), std::string::npos) << msg;
}

TEST(DataIdx, FashionMnistFromDebianPackage) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  ASSERT_TRUE(fs::exists(dir)) << "dataset-fashion-mnist is not installed: run scripts/setup.sh";
  data::DataSpec spec;
  spec.path = dir;
  const auto ds = data::load_dataset(spec);
  EXPECT_EQ(ds.count, 10000);
  EXPECT_EQ(ds.sample_shape, (std::vector<std::int64_t>{28, 28}));
  ASSERT_EQ(ds.labels.size(), 10000u);
  EXPECT_EQ(ds.labels[0], 9);  // the first test image is an ankle boot
  EXPECT_EQ(ds.labels[1], 2);
}

}  // namespace
}  // namespace xbarmc
