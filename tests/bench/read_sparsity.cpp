// How many of a network's crossbar reads carry no input: per weight layer, the share of
// (vector, read) pairs whose DAC codes are all zero over the vector's rows (the whole
// vector, and each row tile on its own), on the study's real images and input
// quantizers at default hardware. Such a read's column signals are exactly 0, so its ADC
// codes are 0 and it adds nothing to the shift-add: a kernel that skipped it would give
// the same bits. This measures what skipping could save (docs/cuda.md, "Reads that carry
// no input"); the batched body skips whole phases of signed vectors (XBARMC_CUDA_SKIP_ZERO).
//
//   xbarmc_read_sparsity MODEL.onnx [DATA_DIR] [IMAGES]
//
// Per layer it also prints the 16-slot passes (the warp kernel's unit of work: a vector's
// reads padded to a power of two, warp::ReadPlan) that the data needs now, and two ways to
// pack fewer: each vector's nonzero reads in a segment of the next power of two (passes
// holding one segment size), and, for signed inputs of at most 8 steps per phase, the
// batched body's skipping of zero phases: in each batch of 8 vectors, a vector with codes
// in both phases takes a pass, two with codes in one phase share one, and a vector
// without codes takes none. (The kernel skips them where warp_batch_halves holds, as on
// LeNet-5's conv1; not on ResNet-20's and VGG's first convolutions, whose 128-column
// windows fold the column sums per pass.)
#include <algorithm>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include "xbarmc/config/settings.hpp"
#include "xbarmc/errors.hpp"
#include "xbarmc/model/executor.hpp"
#include "xbarmc/montecarlo/run_keys.hpp"
#include "xbarmc/montecarlo/study.hpp"
#include "xbarmc/physics/dac.hpp"

using namespace xbarmc;

namespace {

int pow2_at_least(int n) {
  int p = 1;
  while (p < n) p *= 2;
  return p;
}

struct LayerStats {
  std::int64_t vectors = 0, reads = 0, zero_reads = 0, tile_reads = 0, zero_tile_reads = 0;
  std::int64_t one_phase = 0;              // signed inputs: vectors with one phase all zero
  double passes = 0, passes_segments = 0;  // 16-slot passes: now, and per-vector segments (ideal packing)
  std::vector<std::uint8_t> segment;       // per vector in order: its segment's slots
  std::vector<std::uint8_t> coded_phases;  // per vector in order: its phases with a nonzero code (0-2)
  int phases = 1, steps = 0, reads_p = 0;
};

// Exact float products for the executor (the crossbar's outputs differ from them by the
// analog error, which moves few codes of the next layer's inputs), and the statistics of
// each weight layer's inputs.
class Sparsity final : public model::MatmulProvider {
 public:
  explicit Sparsity(const montecarlo::Study& study) : study_(study), stats_(study.layer_names().size()) {}

  void matmul(int layer, int group, const float* X, std::int64_t n, float* Y) override {
    const model::WeightLayer& l = study_.model().weight_layers()[layer];
    model::float_product(l, group, X, n, Y);
    const montecarlo::Arm& arm = study_.arms()[0];
    const MappedMatrix& mm = arm.matrices[layer][group];
    const quant::Quantizer& q = arm.input_quant[layer][group];
    const physics::InputPlan plan = physics::input_plan(mm.hw.input_bits, mm.hw.dac_bits, q.is_signed());
    std::lock_guard<std::mutex> lock(mutex_);
    LayerStats& s = stats_[static_cast<std::size_t>(layer)];
    s.phases = plan.phases;
    s.steps = plan.steps;
    s.reads_p = pow2_at_least(plan.phases * plan.steps);
    std::vector<int> codes(static_cast<std::size_t>(l.K));
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t k = 0; k < l.K; ++k) codes[k] = q.quantize(X[i * l.K + k]);
      int nonzero = 0;
      bool phase_zero[2] = {true, true};
      for (int ph = 0; ph < plan.phases; ++ph)
        for (int st = 0; st < plan.steps; ++st) {
          bool any = false;
          for (int rt = 0; rt < mm.n_row_tiles; ++rt) {
            bool tile_any = false;
            for (std::int32_t k : mm.tiles[static_cast<std::size_t>(rt) * mm.n_col_tiles].row_of)
              if (k >= 0 && physics::dac_code(physics::phase_magnitude(codes[k], ph), st, plan.dac_bits) != 0) {
                tile_any = true;
                break;
              }
            ++s.tile_reads;
            s.zero_tile_reads += tile_any ? 0 : 1;
            any = any || tile_any;
          }
          ++s.reads;
          if (any) {
            ++nonzero;
            phase_zero[ph] = false;
          } else {
            ++s.zero_reads;
          }
        }
      ++s.vectors;
      s.passes += s.reads_p / 16.0;
      const int seg = std::min(pow2_at_least(std::max(nonzero, 1)), s.reads_p);
      s.passes_segments += seg / 16.0;
      s.segment.push_back(static_cast<std::uint8_t>(seg));
      if (plan.phases == 2 && (phase_zero[0] || phase_zero[1])) ++s.one_phase;
      s.coded_phases.push_back(
          static_cast<std::uint8_t>(plan.phases - phase_zero[0] - (plan.phases == 2 && phase_zero[1])));
    }
  }

  const std::vector<LayerStats>& stats() const { return stats_; }

 private:
  const montecarlo::Study& study_;
  std::vector<LayerStats> stats_;
  std::mutex mutex_;
};

// Passes with per-vector segments within batches of `batch` consecutive vectors (the
// batched body's warp batches): each batch's vectors of one segment size share passes.
double batched_segment_passes(const std::vector<std::uint8_t>& segment, int batch) {
  double passes = 0;
  for (std::size_t b0 = 0; b0 < segment.size(); b0 += static_cast<std::size_t>(batch)) {
    int count[17] = {};
    const std::size_t end = std::min(segment.size(), b0 + static_cast<std::size_t>(batch));
    for (std::size_t i = b0; i < end; ++i) ++count[segment[i]];
    for (int seg = 1; seg <= 16; seg *= 2) {
      const int per_pass = 16 / seg;
      passes += (count[seg] + per_pass - 1) / per_pass;
    }
  }
  return passes;
}

// Passes of the batched body skipping zero phases (warp_batch_halves) in batches of
// `batch` consecutive vectors: one per vector with codes in both phases, one per two
// vectors with codes in one.
double skip_zero_phase_passes(const std::vector<std::uint8_t>& coded_phases, int batch) {
  double passes = 0;
  for (std::size_t b0 = 0; b0 < coded_phases.size(); b0 += static_cast<std::size_t>(batch)) {
    int both = 0, one = 0;
    const std::size_t end = std::min(coded_phases.size(), b0 + static_cast<std::size_t>(batch));
    for (std::size_t i = b0; i < end; ++i) {
      both += coded_phases[i] == 2;
      one += coded_phases[i] == 1;
    }
    passes += both + (one + 1) / 2;
  }
  return passes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.onnx [DATA_DIR] [IMAGES]\n", argv[0]);
    return 2;
  }
  try {
    static const config::Schema schema = montecarlo::run_schema();
    config::Settings s(schema);
    s.set("model", argv[1], "command line");
    s.set("data", argc > 2 ? argv[2] : "/usr/share/datasets/fashion-mnist", "command line");
    s.set("images", argc > 3 ? argv[3] : "500", "command line");
    montecarlo::Study study(s, {{"base", {}, "command line"}}, 0, false);
    Sparsity sp(study);
    model::Executor ex(study.model(), 16);
    std::vector<float> logits(static_cast<std::size_t>(study.image_count() * study.classes()));
    ex.run(study.images().data(), study.image_count(), logits.data(), &sp);
    std::printf("%s, %lld images of %s\n", argv[1], static_cast<long long>(study.image_count()),
                study.data_description().c_str());
    std::printf("%9s %6s %11s %14s %10s %11s %18s %18s %18s  %s\n", "vec/img", "reads", "zero reads", "zero per tile",
                "one phase", "passes/img", "with segments", "in batches of 8", "skip zero phases", "layer");
    for (std::size_t l = 0; l < sp.stats().size(); ++l) {
      const LayerStats& t = sp.stats()[l];
      if (t.vectors == 0) continue;
      const double per_img = static_cast<double>(study.image_count());
      char reads[16];
      std::snprintf(reads, sizeof reads, "%dx%d", t.phases, t.steps);
      const double batched = batched_segment_passes(t.segment, 8);
      char skip[32] = "-";  // signed inputs on 16 slots, at most 8 steps per phase (warp_batch_halves)
      if (t.phases == 2 && t.steps <= 8 && t.reads_p == 16) {
        const double sp8 = skip_zero_phase_passes(t.coded_phases, 8);
        std::snprintf(skip, sizeof skip, "%.1f (%.2fx)", sp8 / per_img, t.passes / sp8);
      }
      std::printf("%9.0f %6s %10.1f%% %13.1f%% %9.1f%% %11.1f %10.1f (%.2fx) %10.1f (%.2fx) %18s  %s\n",
                  t.vectors / per_img, reads, 100.0 * t.zero_reads / t.reads, 100.0 * t.zero_tile_reads / t.tile_reads,
                  t.phases == 2 ? 100.0 * t.one_phase / t.vectors : 0.0, t.passes / per_img,
                  t.passes_segments / per_img, t.passes / t.passes_segments, batched / per_img, t.passes / batched,
                  skip, study.layer_names()[l].c_str());
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
