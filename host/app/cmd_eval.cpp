// `xbarmc eval`: accuracy of a network on a dataset, in float and digitally
// quantized (the references a simulated crossbar chip is compared with).
#include <chrono>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "xbarmc/app/cli.hpp"
#include "xbarmc/app/keys.hpp"
#include "xbarmc/backend.hpp"
#include "xbarmc/data/dataset.hpp"
#include "xbarmc/data/npy.hpp"
#include "xbarmc/errors.hpp"
#include "xbarmc/model/evaluate.hpp"
#include "xbarmc/model/model.hpp"
#include "xbarmc/model/quantized.hpp"

namespace xbarmc::app {

namespace {

config::Schema eval_keys() {
  using config::KeyDef;
  using config::Kind;
  config::Schema s;
  s.add(KeyDef("model", Kind::path, "", "ONNX model file (its JSON card, if next to it, gives the normalization)",
               "Evaluation"));
  s.add(KeyDef("data", Kind::path, "",
               "images: IDX (gzip or not) or .npy file, or a directory in the MNIST layout (its t10k test split)",
               "Evaluation"));
  s.add(KeyDef("labels", Kind::path, "", "labels file (IDX or .npy); default: inferred from the images file name",
               "Evaluation"));
  s.add(KeyDef("images", Kind::integer, "0", "evaluate the first N images (0 = all)", "Evaluation").at_least(0));
  s.add(KeyDef("mean", Kind::text, "", "normalization mean per channel, comma-separated (default: the model card)",
               "Evaluation"));
  s.add(KeyDef("std", Kind::text, "", "normalization std per channel, comma-separated (default: the model card)",
               "Evaluation"));
  s.add(KeyDef("layout", Kind::choice, "auto",
               "layout of rank-4 .npy images: auto (NHWC when the last dim is 1, 3 "
               "or 4), NCHW or NHWC",
               "Evaluation")
            .one_of({"auto", "NCHW", "NHWC"}));
  // Declared here with the names, defaults and meaning of the hardware keys; the
  // hardware schema will own them once merged.
  s.add(KeyDef("weight_bits", Kind::integer, "8",
               "weight resolution (bits including the sign; symmetric, one scale per output channel)", "Quantization")
            .range(2, 16));
  s.add(KeyDef("input_bits", Kind::integer, "8",
               "input activation resolution (bits; unsigned after ReLU, else signed symmetric)", "Quantization")
            .range(1, 16));
  s.add(KeyDef("quantized", Kind::boolean, "true", "also evaluate the digitally quantized network", "Quantization"));
  s.add(KeyDef("calib_images", Kind::integer, "256",
               "images that calibrate the input quantizers (training split when found, else the first evaluation "
               "images)",
               "Quantization")
            .at_least(1));
  s.add(KeyDef("threads", Kind::integer, "0", "CPU threads (0 = all cores)", "Execution").range(0, 1024));
  s.add(KeyDef("batch", Kind::integer, "32", "images per batch and thread", "Execution").range(1, 4096));
  s.add(KeyDef("dump_logits", Kind::path, "", "write the float logits (images x classes, float32) to this .npy file",
               "Output"));
  s.merge(json_key());
  return s;
}

std::vector<float> parse_floats(const std::string& text, const std::string& key) {
  std::vector<float> v;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      std::size_t used = 0;
      v.push_back(std::stof(item, &used));
      if (item.find_first_not_of(" \t", used) != std::string::npos) throw std::invalid_argument(item);
    } catch (const std::logic_error&) {
      throw InvalidConfig(fmt::format("{}: '{}' is not a comma-separated list of numbers", key, text));
    }
  }
  return v;
}

/// The value of an optional text key, or "".
std::string optional_text(const config::Settings& s, const char* key) { return s.has(key) ? s.get_text(key) : ""; }

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run_eval(const config::ParsedCommand& cmd) {
  const auto& s = cmd.settings;
  const bool json = s.get_bool("json");
  const int threads = resolve_threads(static_cast<int>(s.get_int("threads")));
  const std::int64_t batch = s.get_int("batch");
  const int wbits = static_cast<int>(s.get_int("weight_bits")), ibits = static_cast<int>(s.get_int("input_bits"));

  const model::Model m = model::Model::load(s.get_text("model"));

  data::DataSpec spec;
  spec.path = s.get_text("data");
  spec.labels_path = optional_text(s, "labels");
  spec.limit = s.get_int("images");
  spec.layout = s.get_text("layout");
  std::string norm_source = "model card";
  spec.mean = m.normalization().mean;
  spec.std = m.normalization().std;
  if (!optional_text(s, "mean").empty() || !optional_text(s, "std").empty()) {
    if (optional_text(s, "mean").empty() || optional_text(s, "std").empty())
      throw InvalidConfig("mean, std: give both or neither");
    spec.mean = parse_floats(optional_text(s, "mean"), "mean");
    spec.std = parse_floats(optional_text(s, "std"), "std");
    norm_source = "flags";
  } else if (spec.mean.empty()) {
    norm_source = "none (no model card; give --mean and --std)";
  }
  data::Dataset ds = data::load_dataset(spec);
  data::conform_to_model(ds, m.input_shape(), m.path());
  const std::int64_t n = ds.count, classes = m.num_classes();
  const bool labeled = !ds.labels.empty();

  // Float network.
  auto t0 = std::chrono::steady_clock::now();
  const std::vector<float> logits = model::run_batched(m, ds.samples.data(), n, nullptr, threads, batch);
  const double float_s = seconds_since(t0);
  model::Accuracy fa;
  if (labeled) fa = model::accuracy(logits.data(), n, classes, ds.labels.data());

  // Quantized network: calibrate the input quantizers, then run.
  const bool quantized = s.get_bool("quantized");
  data::CalibrationChoice calib;
  data::Dataset cds;
  double calib_s = 0, quant_s = 0;
  model::Accuracy qa;
  std::int64_t agree = 0;
  std::vector<float> qlogits;
  if (quantized) {
    calib = data::calibration_data(spec, s.get_int("calib_images"));
    cds = data::load_dataset(calib.spec);
    data::conform_to_model(cds, m.input_shape(), m.path());
    t0 = std::chrono::steady_clock::now();
    const model::InputRanges ranges = model::calibrate_input_ranges(m, cds.samples.data(), cds.count, threads);
    model::QuantizedMatmul qmm(m, ranges, wbits, ibits);
    calib_s = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    qlogits = model::run_batched(m, ds.samples.data(), n, &qmm, threads, batch);
    quant_s = seconds_since(t0);
    if (labeled) qa = model::accuracy(qlogits.data(), n, classes, ds.labels.data());
    for (std::int64_t k = 0; k < n; ++k)
      agree += model::argmax(&logits[k * classes], classes) == model::argmax(&qlogits[k * classes], classes);
  }

  const std::string dump = optional_text(s, "dump_logits");
  if (!dump.empty()) data::write_npy(dump, {n, classes}, logits.data());

  std::string shape;
  for (auto d : m.input_shape()) shape += (shape.empty() ? "" : "x") + std::to_string(d);
  if (json) {
    nlohmann::json j;
    j["model"] = m.path();
    j["weight_layers"] = m.weight_layers().size();
    j["weights"] = m.weight_count();
    j["input_shape"] = m.input_shape();
    j["classes"] = classes;
    j["data"] = ds.source;
    j["labels"] = labeled ? nlohmann::json(ds.labels_source) : nlohmann::json(nullptr);
    j["images"] = n;
    j["threads"] = threads;
    j["normalization"] = {{"mean", spec.mean}, {"std", spec.std}, {"source", norm_source}};
    j["calibration"] = {
        {"images", cds.count}, {"training_split", calib.training_split}, {"data", cds.source}, {"seconds", calib_s}};
    auto acc = [&](const model::Accuracy& a) {
      if (!labeled) return nlohmann::json(nullptr);
      return nlohmann::json{
          {"top1", a.top1_rate()}, {"top5", a.top5_rate()}, {"top1_correct", a.top1}, {"top5_correct", a.top5}};
    };
    j["float"] = {{"accuracy", acc(fa)}, {"seconds", float_s}, {"images_per_s", n / float_s}};
    j["quantized"] = {
        {"weight_bits", wbits},        {"input_bits", ibits},
        {"accuracy", acc(qa)},         {"seconds", quant_s},
        {"images_per_s", n / quant_s}, {"agreement_with_float", static_cast<double>(agree) / static_cast<double>(n)}};
    j["logits_file"] = dump.empty() ? nlohmann::json(nullptr) : nlohmann::json(dump);
    std::cout << j.dump(2) << "\n";
    return exit_ok;
  }
  std::cout << fmt::format("model          {}: {} weight layers, {:.3f} M weights, input {}, {} classes\n", m.path(),
                           m.weight_layers().size(), m.weight_count() / 1e6, shape, classes);
  std::cout << fmt::format("data           {}: {} images{}\n", ds.source, n,
                           labeled ? fmt::format(", labels {}", ds.labels_source) : ", no labels");
  std::string mean_txt, std_txt;
  for (float v : spec.mean) mean_txt += fmt::format("{}{:.4f}", mean_txt.empty() ? "" : ",", v);
  for (float v : spec.std) std_txt += fmt::format("{}{:.4f}", std_txt.empty() ? "" : ",", v);
  std::cout << fmt::format(
      "normalization  {}\n",
      spec.mean.empty() ? norm_source : fmt::format("mean {}, std {} ({})", mean_txt, std_txt, norm_source));
  if (quantized) std::cout << fmt::format("calibration    {} ({:.2f} s)\n", calib.description, calib_s);
  auto line = [&](const char* what, const model::Accuracy& a, double secs) {
    const std::string rate = fmt::format("{:.0f} images/s on {} thread{}", n / secs, threads, threads == 1 ? "" : "s");
    if (!labeled) return fmt::format("{:<14} no labels: accuracy not computed ({})\n", what, rate);
    return fmt::format("{:<14} top-1 {:6.2f} %  top-5 {:6.2f} %  ({} / {} correct; {})\n", what, 100.0 * a.top1_rate(),
                       100.0 * a.top5_rate(), a.top1, a.count, rate);
  };
  std::cout << line("float", fa, float_s);
  if (quantized) {
    std::cout << line(fmt::format("quantized w{}/a{}", wbits, ibits).c_str(), qa, quant_s);
    std::cout << fmt::format(
        "               quantized agrees with float on {:.2f} % of the images{}\n",
        100.0 * agree / static_cast<double>(n),
        labeled ? fmt::format("; top-1 difference {:+.2f} %", 100.0 * (qa.top1_rate() - fa.top1_rate())) : "");
  }
  if (!dump.empty()) std::cout << fmt::format("logits         {} ({} x {} float32)\n", dump, n, classes);
  return exit_ok;
}

}  // namespace

Command make_eval_command() {
  Command c;
  c.spec.name = "eval";
  c.spec.summary = "accuracy of a network on a dataset, float and digitally quantized";
  c.spec.usage = "xbarmc eval --model M.onnx --data D [--images N] [--dump-logits FILE.npy] [options]";
  c.spec.details =
      "Prints top-1 and top-5 accuracy of the float network and of the digitally quantized one\n"
      "(weights per output channel to --weight-bits, weight-layer inputs to --input-bits with\n"
      "quantizers calibrated on --calib-images images), and images/s. See docs/models.md and\n"
      "docs/data.md.\n";
  c.spec.schema = eval_keys();
  c.run = run_eval;
  return c;
}

}  // namespace xbarmc::app
