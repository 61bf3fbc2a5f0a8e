// The CPU trial runner: chip instances drawn tile by tile, the network run image
// batch by image batch through simulated crossbars, every stage parallel over
// independent work items so that the records depend on nothing but (seed, trial, arm).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <memory>
#include <mutex>

#include <fmt/format.h>

#include "xbarmc/backend.hpp"
#include "xbarmc/errors.hpp"
#include "xbarmc/model/executor.hpp"
#include "xbarmc/montecarlo/profile.hpp"
#include "xbarmc/montecarlo/progress.hpp"
#include "xbarmc/montecarlo/study.hpp"
#include "xbarmc/montecarlo/trials.hpp"
#include "xbarmc/physics/crossbar.hpp"

namespace xbarmc::montecarlo {

namespace {

using Chips = std::vector<std::vector<ChipMatrix>>;  // [layer][group]

// Routes every weight-layer product of one (trial, arm) through its chip instance and
// measures each layer's output error against the exact float product of the same input.
class CrossbarProvider final : public model::MatmulProvider {
 public:
  explicit CrossbarProvider(const Study& study) : study_(study) {}

  // err/ref: n_images x layers, zeroed by the caller.
  void bind(int arm, std::uint32_t trial, const Chips* chips, std::int64_t first_image, std::int64_t n_images,
            double* err, double* ref) {
    arm_ = arm;
    trial_ = trial;
    chips_ = chips;
    first_image_ = first_image;
    n_images_ = n_images;
    err_ = err;
    ref_ = ref;
    rows_done_.assign(study_.matrix_count(), 0);
  }

  void matmul(int layer, int group, const float* X, std::int64_t n, float* Y) override {
    const Arm& a = study_.arms()[arm_];
    const MappedMatrix& mm = a.matrices[layer][group];
    // The executor hands a layer's rows over in sample order, possibly in several calls.
    const std::uint32_t id = study_.matrix_id(layer, group);
    const std::int64_t per_image = study_.rows_per_sample(layer, group);
    const std::int64_t row0 = rows_done_[id];
    rows_done_[id] += n;
    if (rows_done_[id] > n_images_ * per_image) {
      throw Error(fmt::format("internal: layer {} received {} rows for {} images of {} rows each", layer,
                              rows_done_[id], n_images_, per_image));
    }
    crossbar_matmul(mm, (*chips_)[layer][group], a.input_quant[layer][group], X, n, Y, ws_, study_.seed(), trial_, id,
                    first_image_ * per_image + row0);
    // Exact float product, row by row in a fixed order (independent of the batch).
    const auto& l = study_.model().weight_layers()[layer];
    const float* W = l.weights.data() + static_cast<std::int64_t>(group) * l.K * l.M;
    const std::size_t layers = study_.layer_names().size();
    exact_.resize(l.M);
    for (std::int64_t i = 0; i < n; ++i) {
      std::fill(exact_.begin(), exact_.end(), 0.0f);
      const float* x = X + i * l.K;
      for (std::int64_t k = 0; k < l.K; ++k) {
        const float xv = x[k];
        if (xv == 0.0f) continue;
        const float* w = W + k * l.M;
        for (std::int64_t m = 0; m < l.M; ++m) exact_[m] += xv * w[m];
      }
      double e = 0.0, r = 0.0;
      const float* y = Y + i * l.M;
      for (std::int64_t m = 0; m < l.M; ++m) {
        const double d = static_cast<double>(y[m]) - exact_[m];
        e += d * d;
        r += static_cast<double>(exact_[m]) * exact_[m];
      }
      const std::int64_t img = (row0 + i) / per_image;
      err_[img * layers + layer] += e;
      ref_[img * layers + layer] += r;
    }
  }

 private:
  const Study& study_;
  int arm_ = 0;
  std::uint32_t trial_ = 0;
  const Chips* chips_ = nullptr;
  std::int64_t first_image_ = 0, n_images_ = 1;
  double* err_ = nullptr;
  double* ref_ = nullptr;
  CrossbarWorkspace ws_;
  std::vector<float> exact_;
  std::vector<std::int64_t> rows_done_;  // per matrix id: rows received in this executor run
};

}  // namespace

void run_trials_cpu(const Study& study, std::uint32_t first, std::uint32_t count, const RunControl& control,
                    std::vector<TrialRecord>& out) {
  const int threads = resolve_threads(control.threads);
  const int arms = static_cast<int>(study.arms().size());
  const std::int64_t images = study.image_count();
  const std::int64_t batch = std::max<std::int64_t>(1, control.image_batch);
  const std::int64_t chunks = (images + batch - 1) / batch;
  const std::size_t layers = study.layer_names().size();
  const std::int64_t classes = study.classes();
  const std::uint32_t in_flight =
      static_cast<std::uint32_t>(control.trial_batch > 0 ? control.trial_batch : std::max(1, threads));

  std::mutex error_mutex;
  std::exception_ptr error;
  auto guard = [&](auto&& f) {
    try {
      f();
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  };

  struct Pair {
    std::uint32_t trial;
    int arm;
    Chips chips;
    std::vector<double> err, ref;          // images x layers
    std::vector<std::int64_t> top1, top5;  // per chunk
  };
  std::vector<Pair> pairs;

  if (control.profile) {  // the stages in pipeline order, whichever thread reports first
    control.profile->set_clock(fmt::format("CPU thread-seconds, summed over {} threads", threads));
    for (std::size_t l = 0; l < layers; ++l)
      control.profile->add("chips " + study.layer_names()[l], StageKind::chips, 0.0, 0);
    const model::Model& m = study.model();
    for (std::size_t k = 0; k < m.graph().nodes.size(); ++k) {
      const int node = static_cast<int>(k);
      control.profile->add(node_stage_name(m, node), node_stage_kind(m, node), 0.0, 0);
    }
  }

#pragma omp parallel num_threads(threads)
  {
    model::Executor executor(study.model(), batch);
    CrossbarProvider provider(study);
    std::vector<float> logits(batch * classes);
    // --profile: this thread's seconds per graph node and per layer's chip instances.
    const bool profiling = control.profile != nullptr;
    std::vector<double> node_seconds(profiling ? study.model().graph().nodes.size() : 0, 0.0);
    std::vector<double> chip_seconds(layers, 0.0);
    std::vector<std::int64_t> chip_calls(layers, 0);
    std::int64_t runs = 0;

    for (std::uint32_t t0 = first; t0 < first + count; t0 += in_flight) {
      const std::uint32_t t1 = std::min(first + count, t0 + in_flight);
#pragma omp single
      {
        pairs.clear();
        for (std::uint32_t t = t0; t < t1; ++t)
          for (int a = 0; a < arms; ++a) {
            Pair p;
            p.trial = t;
            p.arm = a;
            p.chips.resize(layers);
            for (std::size_t l = 0; l < layers; ++l) p.chips[l].resize(study.arms()[a].matrices[l].size());
            p.err.assign(images * layers, 0.0);
            p.ref.assign(images * layers, 0.0);
            p.top1.assign(chunks, 0);
            p.top5.assign(chunks, 0);
            pairs.push_back(std::move(p));
          }
      }
      // Chip instances: one work item per (pair, layer, group).
      const std::int64_t n_pairs = static_cast<std::int64_t>(pairs.size());
#pragma omp for schedule(dynamic) collapse(2)
      for (std::int64_t pi = 0; pi < n_pairs; ++pi)
        for (std::size_t l = 0; l < layers; ++l) {
          guard([&] {
            const auto t = std::chrono::steady_clock::now();
            Pair& p = pairs[pi];
            const auto& mats = study.arms()[p.arm].matrices[l];
            for (std::size_t g = 0; g < mats.size(); ++g) {
              instantiate(mats[g], study.seed(), p.trial, study.matrix_id(static_cast<int>(l), static_cast<int>(g)),
                          p.chips[l][g]);
            }
            if (profiling) {
              chip_seconds[l] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
              ++chip_calls[l];
            }
          });
        }
        // Evaluation: one work item per (pair, image chunk).
#pragma omp for schedule(dynamic) collapse(2)
      for (std::int64_t pi = 0; pi < n_pairs; ++pi)
        for (std::int64_t c = 0; c < chunks; ++c) {
          guard([&] {
            Pair& p = pairs[pi];
            const std::int64_t i0 = c * batch, n = std::min(batch, images - i0);
            provider.bind(p.arm, p.trial, &p.chips, i0, n, p.err.data() + i0 * layers, p.ref.data() + i0 * layers);
            executor.run(study.images().data() + i0 * study.sample_size(), n, logits.data(), &provider,
                         profiling ? &node_seconds : nullptr);
            ++runs;
            count_hits(logits.data(), n, classes, study.labels().data() + i0, p.top1[c], p.top5[c]);
          });
        }
#pragma omp single
      {
        for (Pair& p : pairs) {
          TrialRecord r;
          r.trial = p.trial;
          r.arm = p.arm;
          r.images = images;
          for (std::int64_t c = 0; c < chunks; ++c) {
            r.top1 += p.top1[c];
            r.top5 += p.top5[c];
          }
          for (const auto& layer : p.chips)
            for (const auto& chip : layer)
              for (const auto& tile : chip.tiles) {
                r.stuck_off += tile.stuck_off;
                r.stuck_on += tile.stuck_on;
              }
          r.layer_rel_rms.assign(layers, 0.0);
          for (std::size_t l = 0; l < layers; ++l) {
            double e = 0.0, s = 0.0;
            for (std::int64_t i = 0; i < images; ++i) {
              e += p.err[i * layers + l];
              s += p.ref[i * layers + l];
            }
            r.layer_rel_rms[l] = s > 0.0 ? std::sqrt(e / s) : (e > 0.0 ? INFINITY : 0.0);
          }
          out.push_back(std::move(r));
        }
        if (control.progress) control.progress->add(static_cast<std::int64_t>(pairs.size()));
      }
      if (error) break;  // every thread sees the same flag after the barrier of `single`
    }
    if (profiling) {
      for (std::size_t l = 0; l < layers; ++l)
        control.profile->add("chips " + study.layer_names()[l], StageKind::chips, chip_seconds[l], chip_calls[l]);
      const model::Model& m = study.model();
      for (std::size_t k = 0; k < node_seconds.size(); ++k) {
        if (node_seconds[k] == 0.0) continue;  // folded while planning, or never run by this thread
        const int node = static_cast<int>(k);
        control.profile->add(node_stage_name(m, node), node_stage_kind(m, node), node_seconds[k], runs);
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace xbarmc::montecarlo
