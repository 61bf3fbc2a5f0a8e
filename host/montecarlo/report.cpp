#include "xbarmc/montecarlo/report.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>

#include "xbarmc/errors.hpp"
#include "xbarmc/version.hpp"

namespace xbarmc::montecarlo {

namespace {

std::string csv_name(const std::string& s) {
  std::string out;
  for (char c : s) out.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  return out;
}

nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

const stats::QuantileEstimate* quantile(const stats::Summary& s, double p) {
  for (const auto& q : s.quantiles)
    if (std::fabs(q.p - p) < 1e-12) return &q;
  return nullptr;
}

}  // namespace

std::vector<ArmStats> compute_stats(const Study& study, const std::vector<TrialRecord>& records) {
  const int arms = static_cast<int>(study.arms().size());
  const std::size_t layers = study.layer_names().size();
  std::vector<const TrialRecord*> sorted;
  for (const auto& r : records) sorted.push_back(&r);
  std::sort(sorted.begin(), sorted.end(), [](const TrialRecord* a, const TrialRecord* b) {
    return a->trial != b->trial ? a->trial < b->trial : a->arm < b->arm;
  });
  std::vector<ArmStats> out(arms);
  const stats::Interval unbounded{0.0, std::numeric_limits<double>::infinity()};
  for (int a = 0; a < arms; ++a) {
    ArmStats& s = out[a];
    s.name = study.arms()[a].name;
    std::vector<double> stuck;
    s.layer_error_mean.assign(layers, 0.0);
    for (const TrialRecord* r : sorted) {
      if (r->arm != a) continue;
      s.top1.push_back(static_cast<double>(r->top1) / r->images);
      s.top5.push_back(static_cast<double>(r->top5) / r->images);
      stuck.push_back(static_cast<double>(r->stuck_off + r->stuck_on));
      for (std::size_t l = 0; l < layers; ++l) s.layer_error_mean[l] += r->layer_rel_rms[l];
    }
    for (auto& e : s.layer_error_mean) e /= static_cast<double>(s.top1.size());
    s.accuracy = stats::summarize(s.top1);
    s.accuracy_top5 = stats::summarize(s.top5);
    s.stuck_cells = stats::summarize(stuck, unbounded);
  }
  for (int a = 1; a < arms; ++a) {
    out[a].has_paired = true;
    out[a].paired_top1 = stats::paired_difference(out[0].top1, out[a].top1, study.seed());
  }
  return out;
}

std::vector<RequirementResult> evaluate_requirements(const std::vector<stats::Requirement>& reqs,
                                                     const std::vector<ArmStats>& arms, double float_accuracy,
                                                     double confidence) {
  std::vector<RequirementResult> out;
  for (const auto& r : reqs) {
    bool matched = false;
    for (const auto& a : arms) {
      if (!r.arm.empty() && r.arm != a.name) continue;
      matched = true;
      out.push_back(RequirementResult{r, a.name, stats::evaluate(r, a.top1, float_accuracy, confidence)});
    }
    if (!matched) {
      std::string names;
      for (const auto& a : arms) names += (names.empty() ? "" : ", ") + a.name;
      throw InvalidConfig(fmt::format("require: '{}' names arm '{}', but the arms are: {}", r.text, r.arm, names));
    }
  }
  return out;
}

std::string trials_csv(const Study& study, std::vector<TrialRecord> records) {
  std::sort(records.begin(), records.end(), [](const TrialRecord& a, const TrialRecord& b) {
    return a.trial != b.trial ? a.trial < b.trial : a.arm < b.arm;
  });
  std::ostringstream os;
  os << "trial,arm,images,top1_correct,top1,top5_correct,top5,stuck_off,stuck_on";
  for (const auto& n : study.layer_names()) os << ",err_" << csv_name(n);
  os << "\n";
  for (const auto& r : records) {
    os << fmt::format("{},{},{},{},{:.6f},{},{:.6f},{},{}", r.trial, study.arms()[r.arm].name, r.images, r.top1,
                      static_cast<double>(r.top1) / r.images, r.top5, static_cast<double>(r.top5) / r.images,
                      r.stuck_off, r.stuck_on);
    for (double e : r.layer_rel_rms) os << fmt::format(",{:.6e}", e);
    os << "\n";
  }
  return os.str();
}

nlohmann::json summary_json(const Study& study, const std::vector<ArmStats>& arms,
                            const std::vector<RequirementResult>& requirements, stats::Verdict verdict,
                            const Provenance& p) {
  nlohmann::json j;
  j["trials"] = arms.empty() ? 0 : arms[0].accuracy.n;
  j["trial_range"] = {p.trial_first, p.trial_last};
  j["images"] = study.image_count();
  j["seed"] = study.seed();
  j["model"] = study.model().path();
  j["data"] = study.data_description();
  j["calibration"] = study.calibration_description();
  j["float_accuracy"] = study.float_accuracy().top1;
  j["float_accuracy_top5"] = study.float_accuracy().top5;
  j["quantized_accuracy"] = study.quantized_accuracy().top1;
  j["quantized_accuracy_top5"] = study.quantized_accuracy().top5;
  j["layers"] = study.layer_names();
  j["arms"] = nlohmann::json::array();
  for (std::size_t a = 0; a < arms.size(); ++a) {
    const ArmStats& s = arms[a];
    const Arm& arm = study.arms()[a];
    nlohmann::json ja;
    ja["name"] = s.name;
    ja["overrides"] = nlohmann::json::object();
    for (const auto& [k, v] : arm.spec.overrides) ja["overrides"][k] = v;
    ja["strategy"] = arm.strategy;
    ja["tiles"] = study.tiles(static_cast<int>(a));
    ja["cells"] = study.cells(static_cast<int>(a));
    ja["accuracy"] = stats::to_json(s.accuracy);
    ja["accuracy_drop"] = stats::to_json_drop(s.accuracy, study.float_accuracy().top1);
    ja["accuracy_top5"] = stats::to_json(s.accuracy_top5);
    ja["stuck_cells"] = stats::to_json(s.stuck_cells);
    ja["layer_rel_rms_error_mean"] = nlohmann::json::object();
    for (std::size_t l = 0; l < s.layer_error_mean.size(); ++l) {
      ja["layer_rel_rms_error_mean"][study.layer_names()[l]] = number(s.layer_error_mean[l]);
    }
    if (s.has_paired) {
      ja["paired_difference_to_first_arm"] = stats::to_json(s.paired_top1);
      ja["paired_difference_to_first_arm"]["first_arm"] = arms[0].name;
      ja["paired_difference_to_first_arm"]["statistic"] = "top1 accuracy, this arm minus the first arm";
    }
    j["arms"].push_back(ja);
  }
  j["requirements"] = nlohmann::json::array();
  for (const auto& r : requirements) {
    j["requirements"].push_back({{"text", r.requirement.text},
                                 {"arm", r.arm},
                                 {"verdict", stats::to_string(r.evaluation.verdict)},
                                 {"estimate", number(r.evaluation.estimate)},
                                 {"ci", {number(r.evaluation.ci.lo), number(r.evaluation.ci.hi)}},
                                 {"explanation", r.evaluation.explanation}});
  }
  j["verdict"] = stats::to_string(verdict);
  j["provenance"] = {{"version", build::version()},
                     {"git_commit", build::git_commit()},
                     {"backend", p.backend},
                     {"device", p.device},
                     {"threads", p.threads},
                     {"wall_seconds", p.wall_seconds},
                     {"trial_images_per_second", p.trial_images_per_second},
                     {"peak_rss_bytes", p.peak_rss_bytes},
                     {"started", p.started},
                     {"command_line", p.command_line}};
  return j;
}

std::string summary_table(const Study& study, const std::vector<ArmStats>& arms,
                          const std::vector<RequirementResult>& requirements, stats::Verdict verdict) {
  std::ostringstream os;
  const double f = study.float_accuracy().top1;
  os << fmt::format("{} on {} ({})\n", study.model().path(), study.data_description(),
                    fmt::format("{} trials", arms.empty() ? 0 : arms[0].accuracy.n));
  os << fmt::format("float accuracy {:.2f}%   digital {}-bit quantized {:.2f}%   (top-1)\n", 100 * f,
                    study.arms()[0].hw.weight_bits, 100 * study.quantized_accuracy().top1);
  os << "\ntop-1 accuracy over chips (%; 95% CI in brackets; drop = float - statistic):\n";
  os << fmt::format("{:<16} {:>6} {:>19} {:>6} {:>19} {:>19} {:>7} {:>7} {:>7} {:>9}\n", "arm", "mean", "mean CI",
                    "std", "p01 [CI]", "p05 [CI]", "p50", "min", "drop", "stuck");
  for (const auto& a : arms) {
    const auto& s = a.accuracy;
    const auto* p01 = quantile(s, 0.01);
    const auto* p05 = quantile(s, 0.05);
    const auto* p50 = quantile(s, 0.5);
    auto q = [](const stats::QuantileEstimate* e) {
      return fmt::format("{:.2f} [{:.1f},{:.1f}]", 100 * e->value, 100 * e->ci.lo, 100 * e->ci.hi);
    };
    os << fmt::format("{:<16} {:>6.2f} {:>19} {:>6.2f} {:>19} {:>19} {:>7.2f} {:>7.2f} {:>7.2f} {:>9.0f}\n",
                      a.name.substr(0, 16), 100 * s.mean,
                      fmt::format("[{:.2f},{:.2f}]", 100 * s.mean_ci.lo, 100 * s.mean_ci.hi),
                      std::isfinite(s.std) ? 100 * s.std : 0.0, q(p01), q(p05), 100 * p50->value, 100 * s.min,
                      100 * (f - s.mean), a.stuck_cells.mean);
  }
  bool any_paired = false;
  for (const auto& a : arms) any_paired |= a.has_paired;
  if (any_paired) {
    os << fmt::format("\npaired difference to '{}' (same chips; percentage points, 95% CI):\n", arms[0].name);
    for (const auto& a : arms) {
      if (!a.has_paired) continue;
      os << fmt::format("  {:<16} mean {:+.2f} [{:+.2f},{:+.2f}]\n", a.name.substr(0, 16), 100 * a.paired_top1.mean,
                        100 * a.paired_top1.mean_ci.lo, 100 * a.paired_top1.mean_ci.hi);
    }
  }
  if (!requirements.empty()) {
    os << "\nrequirements:\n";
    for (const auto& r : requirements) {
      os << fmt::format("  [{:<9}] {:<22} arm {:<12} {}\n", stats::to_string(r.evaluation.verdict), r.requirement.text,
                        r.arm, r.evaluation.explanation);
    }
    os << fmt::format("verdict: {}\n", stats::to_string(verdict));
  }
  return os.str();
}

std::int64_t peak_rss_bytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return 0;
}

}  // namespace xbarmc::montecarlo
