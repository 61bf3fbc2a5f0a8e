// `xbarmc run`: the Monte Carlo study. Parse and check everything first (options,
// arms, requirements, the output directory), then prepare the study, run the
// trials on the chosen backend, and write the run directory as a whole.
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "xbarmc/app/cli.hpp"
#include "xbarmc/app/keys.hpp"
#include "xbarmc/backend.hpp"
#include "xbarmc/errors.hpp"
#include "xbarmc/io/atomic_file.hpp"
#include "xbarmc/montecarlo/arms.hpp"
#include "xbarmc/montecarlo/profile.hpp"
#include "xbarmc/montecarlo/progress.hpp"
#include "xbarmc/montecarlo/report.hpp"
#include "xbarmc/montecarlo/run_directory.hpp"
#include "xbarmc/montecarlo/run_keys.hpp"
#include "xbarmc/montecarlo/study.hpp"
#include "xbarmc/montecarlo/trials.hpp"
#include "xbarmc/stats/requirement.hpp"
#include "xbarmc/version.hpp"

namespace xbarmc::app {

namespace {

using namespace montecarlo;

struct TrialRange {
  std::uint32_t first = 0, last = 0;  // [first, last)
};

TrialRange parse_trial_range(const config::Settings& s) {
  const auto trials = static_cast<std::uint32_t>(s.get_int("trials"));
  if (!s.has("trial_range")) return {0, trials};
  const std::string text = s.get_text("trial_range");
  unsigned long long a = 0, b = 0;
  char colon = 0;
  std::istringstream in(text);
  if (!(in >> a >> colon >> b) || colon != ':' || !in.eof() || a >= b || b > trials) {
    throw InvalidConfig(
        fmt::format("trial_range: expected A:B with 0 <= A < B <= trials ({}), got '{}'", trials, text));
  }
  return {static_cast<std::uint32_t>(a), static_cast<std::uint32_t>(b)};
}

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

int run_run(const config::ParsedCommand& cmd) {
  const auto t_start = std::chrono::steady_clock::now();
  const config::Settings& s = cmd.settings;
  s.get_text("model");  // required: fail now, with the key's name, not after loading
  s.get_text("data");
  if (!s.has("out")) throw InvalidConfig("out: a run directory is required (--out DIR)");

  // Everything a user can get wrong is checked before any work.
  const std::vector<ArmSpec> arm_specs = parse_arms(s.get_list("arm"), cmd.sections, arm_schema(), cmd.config_file);
  for (const auto& a : arm_specs) hardware_from_settings(apply_arm(s, a));  // validates each arm's hardware
  std::vector<stats::Requirement> requirements;
  for (const auto& text : s.get_list("require")) {
    requirements.push_back(stats::parse_requirement(text));
    stats::check_requirement(requirements.back());
  }
  const TrialRange range = parse_trial_range(s);
  const bool until_decided = s.get_bool("until_decided");
  if (until_decided && requirements.empty()) {
    throw InvalidConfig("until_decided: needs at least one --require to decide");
  }
  if (until_decided && s.has("trial_range") && s.source("trial_range") != "default") {
    throw InvalidConfig("until_decided: cannot be combined with --trial-range (it decides how many trials to run)");
  }
  const auto max_trials = static_cast<std::uint32_t>(s.get_int("max_trials"));
  if (until_decided && max_trials < range.last) {
    throw InvalidConfig(fmt::format("max_trials ({}) must be at least trials ({})", max_trials, range.last));
  }
  auto backend = make_backend(backend_options(s));
  RunDirectory out(s.get_text("out"), s.get_bool("overwrite"));

  const bool verbose = s.get_text("progress") != "off";
  Study study(s, arm_specs, static_cast<int>(s.get_int("threads")), verbose);
  const std::int64_t arms = static_cast<std::int64_t>(study.arms().size());
  if (verbose) {
    std::cerr << fmt::format("{}: {} weight layers, {} tiles and {} cells per chip ({} arm{}); backend {} ({})\n",
                             study.model().path(), study.layer_names().size(), study.tiles(0), study.cells(0), arms,
                             arms == 1 ? "" : "s", backend->name(), backend->device());
  }

  // Until decided: equal batches, each look at confidence 1 - 0.05 / (possible looks),
  // so the chance of any wrong verdict over all looks stays <= 5% per side (Bonferroni).
  const std::uint32_t batch = range.last - range.first;
  const std::uint32_t looks = until_decided ? 1 + (max_trials - range.last + batch - 1) / batch : 1;
  const double confidence = 1.0 - 0.05 / looks;

  RunControl control;
  control.threads = static_cast<int>(s.get_int("threads"));
  control.image_batch = s.get_int("image_batch");
  control.trial_batch = s.get_int("trial_batch");
  Progress progress(static_cast<std::int64_t>(batch) * arms, study.image_count(), verbose);
  control.progress = &progress;
  StageProfile profile;
  if (s.get_bool("profile")) control.profile = &profile;

  std::vector<TrialRecord> records;
  std::uint32_t done_to = range.first;
  std::vector<ArmStats> arm_stats;
  std::vector<RequirementResult> results;
  stats::Verdict verdict = stats::Verdict::pass;
  const auto t_trials = std::chrono::steady_clock::now();
  for (;;) {
    const std::uint32_t end = std::min(until_decided ? max_trials : range.last, done_to + batch);
    backend->run_trials(study, done_to, end - done_to, control, records);
    done_to = end;
    arm_stats = compute_stats(study, records);
    results = evaluate_requirements(requirements, arm_stats, study.float_accuracy().top1, confidence);
    std::vector<stats::Verdict> v;
    for (const auto& r : results) v.push_back(r.evaluation.verdict);
    verdict = stats::combine(v);
    if (!until_decided || verdict != stats::Verdict::undecided || done_to >= max_trials) break;
    progress.extend(static_cast<std::int64_t>(std::min(batch, max_trials - done_to)) * arms);
  }
  progress.finish();
  const double trial_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_trials).count();

  Provenance p;
  p.backend = backend->name();
  p.device = backend->device();
  p.threads = resolve_threads(control.threads);
  p.command_line = invoked_command_line();
  p.started = now_utc();
  p.trial_first = range.first;
  p.trial_last = done_to;
  p.trial_images_per_second =
      trial_seconds > 0 ? static_cast<double>(records.size()) * study.image_count() / trial_seconds : 0.0;
  p.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  p.peak_rss_bytes = peak_rss_bytes();

  // The resolved, rerunnable configuration: every key, the arms as sections, and
  // the trials actually run.
  config::Settings resolved = s;
  for (const char* key : {"model", "data", "labels"}) {
    if (resolved.has(key)) resolved.set(key, std::filesystem::absolute(s.get_text(key)).string(), s.source(key));
  }
  if (until_decided) {
    resolved.set("trials", std::to_string(done_to), "until_decided");
    resolved.set("until_decided", "false", "until_decided");
  }
  const std::string ini =
      resolved.to_ini(fmt::format("xbarmc run configuration, resolved ({}).\nRerun: xbarmc run --config config.ini "
                                  "--out NEW_DIR",
                                  build::version_line())) +
      arms_to_ini(arm_specs);
  io::write_file_atomic(out.file("config.ini"), ini);
  io::write_file_atomic(out.file("trials.csv"), trials_csv(study, records));
  io::write_file_atomic(out.file("summary.json"), summary_json(study, arm_stats, results, verdict, p).dump(2) + "\n");
  if (control.profile) io::write_file_atomic(out.file("profile.csv"), profile.csv());
  out.commit();

  std::cout << summary_table(study, arm_stats, results, verdict);
  std::cout << fmt::format("\n{} trial-images in {} ({:.0f} trial-images/s, {} on {}, peak memory {:.0f} MiB)\n",
                           records.size() * study.image_count(), format_duration(trial_seconds),
                           p.trial_images_per_second, p.backend, p.device, p.peak_rss_bytes / 1048576.0);
  if (control.profile) std::cout << '\n' << profile.table() << '\n';
  std::cout << fmt::format("results: {}/config.ini, trials.csv, summary.json{}\n", out.target(),
                           control.profile ? ", profile.csv" : "");
  if (requirements.empty() || verdict == stats::Verdict::pass) return exit_ok;
  return verdict == stats::Verdict::fail ? exit_margin_failed : exit_margin_undecided;
}

}  // namespace

Command make_run_command() {
  Command c;
  c.spec.name = "run";
  c.spec.summary = "Monte Carlo study: the accuracy distribution of many simulated chips running a network";
  c.spec.usage = "xbarmc run --model M.onnx --data D --out DIR [options]";
  c.spec.details =
      "One trial is one chip instance (programming variation and stuck cells of every tile), evaluated on the same\n"
      "images; arms differ in hardware or strategy keys and see the same chips. The hardware model, its units and\n"
      "defaults: docs/physics.md. Statistics and the margin gate: docs/statistics.md. Outputs: docs/run.md.\n"
      "Exit codes: 0 ok (or every requirement passed), 1 runtime error, 2 usage error, 3 a requirement failed,\n"
      "4 a requirement is undecided.";
  c.spec.schema = run_schema();
  c.spec.section_kinds = {"arm"};
  c.run = run_run;
  return c;
}

}  // namespace xbarmc::app
