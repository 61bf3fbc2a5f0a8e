#include "xbarmc/data/dataset.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "xbarmc/data/idx.hpp"
#include "xbarmc/data/npy.hpp"
#include "xbarmc/errors.hpp"

namespace xbarmc::data {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_npy(const std::string& path) { return ends_with(path, ".npy") || ends_with(path, ".npy.gz"); }

std::string shape_text(const std::vector<std::int64_t>& s) {
  std::string t;
  for (auto d : s) t += (t.empty() ? "" : "x") + std::to_string(d);
  return t.empty() ? "scalar" : t;
}

/// The existing one of `base` and `base`.gz (or "" when neither exists).
std::string existing_with_or_without_gz(const std::string& base) {
  std::error_code ec;
  if (fs::is_regular_file(base, ec)) return base;
  if (ends_with(base, ".gz")) {
    const std::string plain = base.substr(0, base.size() - 3);
    if (fs::is_regular_file(plain, ec)) return plain;
  } else if (fs::is_regular_file(base + ".gz", ec)) {
    return base + ".gz";
  }
  return "";
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
  return s;
}

struct Loaded {
  std::vector<std::int64_t> dims;  // including the sample axis
  std::vector<float> values;
  bool is_uint8 = false;
  bool is_integer = false;
};

Loaded load_array(const std::string& path) {
  Loaded l;
  if (is_npy(path)) {
    NpyArray a = read_npy(path);
    l.dims = std::move(a.shape);
    l.values = std::move(a.values);
    l.is_uint8 = a.is_uint8;
    l.is_integer = a.is_integer;
  } else {
    IdxArray a = read_idx(path);
    l.dims = std::move(a.dims);
    l.values = std::move(a.values);
    l.is_uint8 = a.is_uint8;
    l.is_integer = a.is_uint8;
  }
  return l;
}

}  // namespace

std::string resolve_images_path(const DataSpec& spec) {
  std::error_code ec;
  if (spec.path.empty()) throw InvalidConfig("data: no data file or directory given");
  if (fs::is_directory(spec.path, ec)) {
    const std::string prefix = spec.split == "train" ? "train" : "t10k";
    const std::string f =
        existing_with_or_without_gz((fs::path(spec.path) / (prefix + "-images-idx3-ubyte.gz")).string());
    if (f.empty())
      throw InvalidInput(spec.path, fmt::format("the directory has no {}-images-idx3-ubyte[.gz] (the MNIST / "
                                                "Fashion-MNIST layout); give the images file itself",
                                                prefix));
    return f;
  }
  if (!fs::exists(spec.path, ec)) throw InvalidInput(spec.path, "no such file or directory");
  return spec.path;
}

std::string infer_labels_path(const std::string& images_path) {
  const fs::path p(images_path);
  const std::string name = p.filename().string();
  std::vector<std::string> candidates;
  if (name.find("images") != std::string::npos)
    candidates.push_back(replace_all(replace_all(name, "images", "labels"), "idx3", "idx1"));
  if (!name.empty() && (name[0] == 'x' || name[0] == 'X'))
    candidates.push_back((name[0] == 'x' ? "y" : "Y") + name.substr(1));
  for (const auto& c : candidates) {
    const std::string f = existing_with_or_without_gz((p.parent_path() / c).string());
    if (!f.empty() && f != images_path) return f;
  }
  return "";
}

Dataset load_dataset(const DataSpec& spec) {
  if (spec.limit < 0) throw InvalidConfig("images: must be >= 0");
  Dataset ds;
  ds.source = resolve_images_path(spec);
  Loaded img = load_array(ds.source);
  if (img.dims.empty() || img.dims[0] == 0) throw InvalidInput(ds.source, "the file holds no samples");
  const std::int64_t total = img.dims[0];
  std::vector<std::int64_t> shape(img.dims.begin() + 1, img.dims.end());
  std::int64_t per = 1;
  for (auto d : shape) per *= d;
  ds.count = spec.limit > 0 ? std::min(spec.limit, total) : total;
  img.values.resize(static_cast<std::size_t>(ds.count * per));

  // Channels first: rank-4 .npy images may be NHWC.
  if (shape.size() == 3) {
    bool nhwc = spec.layout == "NHWC";
    if (spec.layout == "auto") {
      const auto small = [](std::int64_t d) { return d == 1 || d == 3 || d == 4; };
      nhwc = small(shape[2]) && !small(shape[0]);
    } else if (spec.layout != "NCHW" && spec.layout != "NHWC") {
      throw InvalidConfig(fmt::format("layout: '{}' is not allowed (auto, NCHW, NHWC)", spec.layout));
    }
    if (nhwc) {
      const std::int64_t H = shape[0], W = shape[1], C = shape[2];
      std::vector<float> t(img.values.size());
      for (std::int64_t s = 0; s < ds.count; ++s)
        for (std::int64_t y = 0; y < H; ++y)
          for (std::int64_t x = 0; x < W; ++x)
            for (std::int64_t c = 0; c < C; ++c)
              t[((s * C + c) * H + y) * W + x] = img.values[((s * H + y) * W + x) * C + c];
      img.values.swap(t);
      shape = {C, H, W};
    }
  }
  ds.sample_shape = shape;
  ds.samples = std::move(img.values);

  // Scale and normalize with the same float operations as the training pipeline
  // (pixels / 255, then (x - mean) / std), so inputs match PyTorch's bit for bit.
  if (spec.mean.size() != spec.std.size())
    throw InvalidConfig(
        fmt::format("normalization: {} mean values but {} std values", spec.mean.size(), spec.std.size()));
  const std::int64_t channels = shape.size() >= 3 ? shape[0] : 1;
  if (spec.mean.size() > 1 && static_cast<std::int64_t>(spec.mean.size()) != channels)
    throw InvalidInput(ds.source, fmt::format("the normalization has {} channels but the samples ({}) have {}",
                                              spec.mean.size(), shape_text(shape), channels));
  for (float s : spec.std)
    if (!(s > 0.0f)) throw InvalidConfig("normalization: every std must be > 0");
  const std::int64_t plane = channels > 0 ? per / channels : per;
  const bool norm = !spec.mean.empty();
  for (std::int64_t s = 0; s < ds.count; ++s)
    for (std::int64_t c = 0; c < channels; ++c) {
      float* x = ds.samples.data() + s * per + c * plane;
      const float mean = norm ? spec.mean[spec.mean.size() == 1 ? 0 : c] : 0.0f;
      const float sd = norm ? spec.std[spec.std.size() == 1 ? 0 : c] : 1.0f;
      for (std::int64_t k = 0; k < plane; ++k) {
        const float v = img.is_uint8 ? x[k] / 255.0f : x[k];
        x[k] = norm ? (v - mean) / sd : v;
      }
    }

  // Labels.
  ds.labels_source = spec.labels_path.empty() ? infer_labels_path(ds.source) : spec.labels_path;
  if (ds.labels_source.empty()) {
    if (spec.labels_required) throw InvalidInput(ds.source, "no labels file found next to it; give one with --labels");
    return ds;
  }
  Loaded lab = load_array(ds.labels_source);
  std::int64_t lab_count = lab.dims.empty() ? 0 : lab.dims[0];
  for (std::size_t d = 1; d < lab.dims.size(); ++d)
    if (lab.dims[d] != 1)
      throw InvalidInput(ds.labels_source, fmt::format("labels must be one integer per sample; the file holds a {} "
                                                       "array",
                                                       shape_text(lab.dims)));
  if (lab_count != total)
    throw InvalidInput(ds.labels_source, fmt::format("{} labels for {} images in {}", lab_count, total, ds.source));
  ds.labels.resize(ds.count);
  for (std::int64_t s = 0; s < ds.count; ++s) {
    const float v = lab.values[s];
    if (v != std::floor(v) || v < 0 || v > 2147483647.0f)
      throw InvalidInput(ds.labels_source, fmt::format("label {} of sample {} is not a class index", v, s));
    ds.labels[s] = static_cast<std::int32_t>(v);
  }
  return ds;
}

void conform_to_model(Dataset& data, const std::vector<std::int64_t>& model_shape, const std::string& model_path) {
  if (data.sample_shape == model_shape) return;
  auto squeeze = [](const std::vector<std::int64_t>& s) {
    std::vector<std::int64_t> out;
    for (auto d : s)
      if (d != 1) out.push_back(d);
    return out;
  };
  std::int64_t a = 1, b = 1;
  for (auto d : data.sample_shape) a *= d;
  for (auto d : model_shape) b *= d;
  if (a == b && (squeeze(data.sample_shape) == squeeze(model_shape) || model_shape.size() == 1)) {
    data.sample_shape = model_shape;
    return;
  }
  throw InvalidInput(data.source, fmt::format("the samples are {} but the model {} takes {} per sample",
                                              shape_text(data.sample_shape), model_path, shape_text(model_shape)));
}

CalibrationChoice calibration_data(const DataSpec& eval, std::int64_t images) {
  CalibrationChoice c;
  c.spec = eval;
  c.spec.limit = images;
  c.spec.labels_path.clear();
  c.spec.labels_required = false;
  std::error_code ec;
  std::string train;
  if (fs::is_directory(eval.path, ec)) {
    if (eval.split != "train")
      train = existing_with_or_without_gz((fs::path(eval.path) / "train-images-idx3-ubyte.gz").string());
  } else {
    const fs::path p(eval.path);
    const std::string name = p.filename().string();
    if (name.rfind("t10k-", 0) == 0)
      train = existing_with_or_without_gz((p.parent_path() / ("train-" + name.substr(5))).string());
  }
  if (!train.empty()) {
    c.spec.path = train;
    c.spec.split = "train";
    c.training_split = true;
    c.description = fmt::format("{} images of the training split ({})", images, train);
  } else {
    c.description = fmt::format("the first {} images of the evaluation data (no training split found next to {})",
                                images, eval.path);
  }
  return c;
}

}  // namespace xbarmc::data
