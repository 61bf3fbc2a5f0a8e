// NumPy .npy images and labels: dtypes, NHWC to NCHW, per-channel normalization,
// the writer's format, and errors for bad files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "xbarmc/data/dataset.hpp"
#include "xbarmc/data/npy.hpp"
#include "xbarmc/errors.hpp"

namespace xbarmc {
namespace {

namespace fs = std::filesystem;

// Files in a directory of this process, with the plain names label inference looks at.
std::string tmp(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("xbarmc_npy_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}

std::string npy(const std::string& descr, const std::string& shape, const std::string& data, bool fortran = false) {
  std::string h =
      "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': (" + shape + "), }";
  h.append((64 - (10 + h.size() + 1) % 64) % 64, ' ');
  h += '\n';
  std::string s("\x93NUMPY\x01\x00", 8);
  s += static_cast<char>(h.size() & 0xff);
  s += static_cast<char>(h.size() >> 8);
  return s + h + data;
}

void remove_dir_if_empty(const std::string& file) {
  std::error_code ec;
  fs::remove(fs::path(file).parent_path(), ec);  // fails (harmlessly) while other files remain
}

void write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

template <typename T>
std::string raw(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

TEST(DataNpy, RoundTripOfTheWriter) {
  const std::vector<float> v = {1.5f, -2, 0, 3.25f, 7, 8};
  const std::string bytes = data::npy_bytes({2, 3}, v.data());
  EXPECT_EQ(bytes.substr(0, 6), "\x93NUMPY");
  const std::size_t header = 10 + (static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8));
  EXPECT_EQ(header % 64, 0u);  // the format asks for 64-byte alignment of the data
  const std::string path = tmp("rt.npy");
  data::write_npy(path, {2, 3}, v.data());
  const auto a = data::read_npy(path);
  EXPECT_EQ(a.shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(a.values, v);
  EXPECT_EQ(a.dtype, "<f4");
  fs::remove(path);
  remove_dir_if_empty(path);
}

TEST(DataNpy, Uint8NhwcImagesWithInt64Labels) {
  // 2 samples, 2x2 pixels, 3 channels (NHWC), value = 100 s + 10 (y*2 + x) + c
  std::vector<std::uint8_t> px;
  for (int s = 0; s < 2; ++s)
    for (int p = 0; p < 4; ++p)
      for (int c = 0; c < 3; ++c) px.push_back(static_cast<std::uint8_t>(100 * s + 10 * p + c));
  const std::string img = tmp("x_test.npy"), lab = tmp("y_test.npy");
  write(img, npy("|u1", "2, 2, 2, 3", raw(px)));
  write(lab, npy("<i8", "2,", raw(std::vector<std::int64_t>{4, 1})));
  data::DataSpec spec;
  spec.path = img;
  spec.mean = {0.1f, 0.2f, 0.3f};
  spec.std = {1.0f, 2.0f, 4.0f};
  const auto ds = data::load_dataset(spec);
  EXPECT_EQ(ds.labels_source, lab);  // x_* -> y_*
  EXPECT_EQ(ds.labels, (std::vector<std::int32_t>{4, 1}));
  EXPECT_EQ(ds.sample_shape, (std::vector<std::int64_t>{3, 2, 2}));
  for (int s = 0; s < 2; ++s)
    for (int c = 0; c < 3; ++c)
      for (int p = 0; p < 4; ++p)
        EXPECT_EQ(ds.samples[(s * 3 + c) * 4 + p], ((100 * s + 10 * p + c) / 255.0f - spec.mean[c]) / spec.std[c]);
  // Two normalization channels for three image channels is an error naming the file.
  spec.mean = {0.1f, 0.2f};
  spec.std = {1, 1};
  try {
    data::load_dataset(spec);
    ADD_FAILURE() << "no error";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find(img), std::string::npos) << e.what();
  }
  fs::remove(img);
  fs::remove(lab);
  remove_dir_if_empty(img);
}

TEST(DataNpy, Float32ImagesKeepTheirScale) {
  const std::string img = tmp("images.npy");
  write(img, npy("<f4", "1, 1, 2, 2", raw(std::vector<float>{0.0f, 0.5f, 1.0f, 0.25f})));
  data::DataSpec spec;
  spec.path = img;
  const auto ds = data::load_dataset(spec);  // no labels.npy: unlabeled
  EXPECT_TRUE(ds.labels.empty());
  EXPECT_EQ(ds.sample_shape, (std::vector<std::int64_t>{1, 2, 2}));  // auto: NCHW (the last dim is not a channel)
  EXPECT_EQ(ds.samples, (std::vector<float>{0.0f, 0.5f, 1.0f, 0.25f}));
  spec.labels_required = true;
  EXPECT_THROW(data::load_dataset(spec), InvalidInput);
  fs::remove(img);
  remove_dir_if_empty(img);
}

TEST(DataNpy, BadFiles) {
  auto error_of = [](const std::string& path) {
    try {
      data::read_npy(path);
    } catch (const InvalidInput& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string p = tmp("bad.npy");
  write(p, npy("<f4", "4,", raw(std::vector<float>{1, 2, 3})));
  EXPECT_NE(error_of(p).find(p + ": truncated"), std::string::npos) << error_of(p);
  write(p, npy("<f4", "2, 2", raw(std::vector<float>{1, 2, 3, 4}), true));
  EXPECT_NE(error_of(p).find("Fortran"), std::string::npos);
  write(p, npy("<c8", "1,", raw(std::vector<float>{1, 2})));
  EXPECT_NE(error_of(p).find("not supported"), std::string::npos);
  write(p, "PK\x03\x04 a zip file");
  EXPECT_NE(error_of(p).find("not a NumPy .npy file"), std::string::npos);
  fs::remove(p);
  remove_dir_if_empty(p);
}

}  // namespace
}  // namespace xbarmc
