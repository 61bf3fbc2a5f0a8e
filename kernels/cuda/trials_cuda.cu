#include "trials_cuda.cuh"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>

#include <fmt/format.h>

#include "crossbar_cuda.cuh"
#include "network_cuda.cuh"
#include "stage_timer.cuh"
#include "xbarmc/cuda/check.cuh"
#include "xbarmc/cuda/device_buffer.cuh"
#include "xbarmc/errors.hpp"
#include "xbarmc/montecarlo/progress.hpp"
#include "xbarmc/montecarlo/study.hpp"
#include "xbarmc/physics/chip.hpp"

namespace xbarmc::cuda {

namespace {

// Top-1 and top-5 hits per trial, with the CPU's rule (montecarlo::count_hits): the label's
// rank counts larger logits and equal ones at a lower index.
__global__ void hits_kernel(const float* logits, std::int64_t images, int trials, std::int64_t classes,
                            const std::int32_t* labels, unsigned long long* top) {
  const std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (i >= images * trials) return;
  const int t = static_cast<int>(i / images);
  const std::int32_t y = labels[i % images];
  const float* z = logits + i * classes;
  const float zy = z[y];
  std::int64_t better = 0;
  for (std::int64_t c = 0; c < classes; ++c) better += (z[c] > zy) || (z[c] == zy && c < y);
  if (better == 0) atomicAdd(&top[2 * t], 1ull);
  if (better < 5) atomicAdd(&top[2 * t + 1], 1ull);
}

}  // namespace

struct TrialRunner::State {
  const montecarlo::Study* study = nullptr;
  // Per arm, per layer, per group.
  std::vector<std::vector<std::vector<DeviceMatrix>>> matrices;
  std::vector<std::vector<DeviceBuffer<float>>> weights;  // [layer][group]
  DeviceBuffer<float> images;
  DeviceBuffer<std::int32_t> labels;
  std::map<std::pair<int, std::int64_t>, std::unique_ptr<GpuNetwork>> networks;  // by (trials, images)

  GpuNetwork& network(int trials, std::int64_t images, cudaStream_t s) {
    auto key = std::make_pair(trials, images);
    auto it = networks.find(key);
    if (it == networks.end()) {
      if (networks.size() >= 3) networks.erase(networks.begin());
      it = networks.emplace(key, std::make_unique<GpuNetwork>(study->model(), trials, images, s)).first;
    }
    return *it->second;
  }
};

TrialRunner::TrialRunner(cudaStream_t stream) : state_(std::make_unique<State>()), stream_(stream) {}
TrialRunner::~TrialRunner() = default;

void TrialRunner::run(const montecarlo::Study& study, std::uint32_t first, std::uint32_t count,
                      const montecarlo::RunControl& control, std::vector<montecarlo::TrialRecord>& out) {
  State& st = *state_;
  const auto& layers = study.model().weight_layers();
  const int arms = static_cast<int>(study.arms().size());
  if (st.study != &study) {
    st = State{};
    st.study = &study;
    for (const auto& arm : study.arms()) {
      st.matrices.emplace_back();
      for (const auto& layer : arm.matrices) {
        st.matrices.back().emplace_back();
        for (const auto& m : layer) st.matrices.back().back().push_back(upload_matrix(m));
      }
    }
    for (const auto& l : layers) {
      st.weights.emplace_back();
      for (int g = 0; g < l.groups; ++g) {
        std::vector<float> w(l.weights.begin() + static_cast<std::int64_t>(g) * l.K * l.M,
                             l.weights.begin() + static_cast<std::int64_t>(g + 1) * l.K * l.M);
        st.weights.back().push_back(DeviceBuffer<float>::from_host(w));
      }
    }
    st.images = DeviceBuffer<float>::from_host(study.images());
    st.labels = DeviceBuffer<std::int32_t>::from_host(study.labels());
  }

  // Batch sizes from free memory: images per pass B (all when they fit) and trials in
  // flight T, with the activations of T x B samples and T chips per matrix.
  const std::int64_t N = study.image_count(), S = study.sample_size(), classes = study.classes();
  std::size_t free_b = 0, total_b = 0;
  XBARMC_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  const double budget = 0.6 * static_cast<double>(free_b);
  const double per_sample = static_cast<double>(GpuNetwork::bytes_per_sample(study.model())) + 64.0;
  double chip_bytes = 0;
  for (const auto& arm : st.matrices) {
    double b = 0;
    for (const auto& layer : arm)
      for (const auto& m : layer) b += 4.0 * static_cast<double>(m.leff_per_chip());
    chip_bytes = std::max(chip_bytes, b);
  }
  // $XBARMC_CUDA_IMAGES_PER_PASS caps the images per pass (tests: results do not depend on
  // it); several passes hold multiples of kPassImages images (images_per_pass).
  std::int64_t cap = 0;
  if (const char* e = std::getenv("XBARMC_CUDA_IMAGES_PER_PASS")) {
    cap = std::atoll(e);
    if (cap < 1) throw InvalidConfig(std::string("XBARMC_CUDA_IMAGES_PER_PASS: '") + e + "' is not a positive count");
  }
  const std::int64_t B = images_per_pass(N, static_cast<std::int64_t>(budget / 2 / per_sample), cap);
  std::int64_t T = static_cast<std::int64_t>(budget / (static_cast<double>(B) * per_sample + chip_bytes));
  T = std::clamp<std::int64_t>(T, 1, std::min<std::int64_t>(count, 4096));
  if (control.trial_batch > 0) T = std::min<std::int64_t>(T, control.trial_batch);
  if (T < 1) throw Error("the GPU has too little free memory for one trial; free memory or use --backend cpu");

  // Chip storage per matrix for T trials, stuck counters, error sums and hits.
  std::vector<std::vector<DeviceBuffer<__half>>> hi(layers.size()), lo(layers.size());
  std::vector<std::vector<DeviceBuffer<double>>> err(layers.size());
  for (std::size_t l = 0; l < layers.size(); ++l)
    for (int g = 0; g < layers[l].groups; ++g) {
      std::int64_t most = 0;
      for (int a = 0; a < arms; ++a) most = std::max(most, st.matrices[a][l][g].leff_per_chip());
      hi[l].emplace_back(static_cast<std::size_t>(most * T));
      lo[l].emplace_back(static_cast<std::size_t>(most * T));
      err[l].emplace_back(static_cast<std::size_t>(2 * T));
    }
  DeviceBuffer<unsigned long long> stuck(static_cast<std::size_t>(2 * T)), hits(static_cast<std::size_t>(2 * T));
  StageTimer timer(control.profile, stream_);

  for (std::uint32_t t0 = first; t0 < first + count; t0 += static_cast<std::uint32_t>(T)) {
    const int nt = static_cast<int>(std::min<std::int64_t>(T, first + count - t0));
    std::vector<montecarlo::TrialRecord> batch(static_cast<std::size_t>(nt) * arms);
    for (int a = 0; a < arms; ++a) {
      const montecarlo::Arm& arm = study.arms()[a];
      XBARMC_CUDA_CHECK(cudaMemsetAsync(stuck.data(), 0, stuck.bytes(), stream_));
      XBARMC_CUDA_CHECK(cudaMemsetAsync(hits.data(), 0, hits.bytes(), stream_));
      CrossbarBinding b;
      b.matrices.resize(layers.size());
      b.quantizers = arm.input_quant;
      b.hi.resize(layers.size());
      b.lo.resize(layers.size());
      b.weights.resize(layers.size());
      b.errors.resize(layers.size());
      b.seed = study.seed();
      b.trial0 = t0;
      b.ids.resize(layers.size());
      for (std::size_t l = 0; l < layers.size(); ++l) {
        timer.mark("chips " + study.layer_names()[l], montecarlo::StageKind::chips);
        for (int g = 0; g < layers[l].groups; ++g) {
          const DeviceMatrix& m = st.matrices[a][l][g];
          const std::uint32_t id = study.matrix_id(static_cast<int>(l), g);
          if (m.hw.ir_drop == IrDrop::exact) {
            instantiate_chips_on_host(arm.matrices[l][g], m, study.seed(), t0, nt, id, hi[l][g].data(), lo[l][g].data(),
                                      stuck.data(), stream_);
          } else {
            instantiate_chips(m, study.seed(), t0, nt, id, hi[l][g].data(), lo[l][g].data(), stuck.data(), stream_);
          }
          XBARMC_CUDA_CHECK(cudaMemsetAsync(err[l][g].data(), 0, err[l][g].bytes(), stream_));
          b.matrices[l].push_back(&m);
          b.hi[l].push_back(hi[l][g].data());
          b.lo[l].push_back(lo[l][g].data());
          b.weights[l].push_back(st.weights[l][g].data());
          b.errors[l].push_back(err[l][g].data());
          b.ids[l].push_back(id);
        }
      }
      for (std::int64_t i0 = 0; i0 < N; i0 += B) {
        const std::int64_t nb = std::min(B, N - i0);
        GpuNetwork& net = st.network(nt, nb, stream_);
        timer.mark("input copy", montecarlo::StageKind::transfer);
        for (int t = 0; t < nt; ++t) {
          XBARMC_CUDA_CHECK(cudaMemcpyAsync(net.input() + t * nb * S, st.images.data() + i0 * S,
                                            static_cast<std::size_t>(nb * S) * sizeof(float), cudaMemcpyDeviceToDevice,
                                            stream_));
        }
        b.first_image = i0;
        b.run_images = N;
        net.run(b, &timer);
        // Hits of this pass: labels i0.., per trial (a pass is nt x nb samples).
        timer.mark("top-k hits", montecarlo::StageKind::transfer);
        const std::int64_t n = nb * nt;
        hits_kernel<<<static_cast<int>((n + 255) / 256), 256, 0, stream_>>>(net.logits(), nb, nt, classes,
                                                                            st.labels.data() + i0, hits.data());
        XBARMC_CUDA_CHECK_LAUNCH();
      }
      timer.mark("results to host", montecarlo::StageKind::transfer);
      std::vector<unsigned long long> h_stuck(2 * nt), h_hits(2 * nt);
      stuck.download(h_stuck.data(), 2 * nt, stream_);
      hits.download(h_hits.data(), 2 * nt, stream_);
      std::vector<std::vector<std::vector<double>>> h_err(layers.size());
      for (std::size_t l = 0; l < layers.size(); ++l)
        for (int g = 0; g < layers[l].groups; ++g) {
          h_err[l].emplace_back(2 * nt);
          err[l][g].download(h_err[l][g].data(), 2 * nt, stream_);
        }
      timer.close();
      XBARMC_CUDA_CHECK(cudaStreamSynchronize(stream_));
      timer.flush();
      for (int t = 0; t < nt; ++t) {
        montecarlo::TrialRecord& r = batch[static_cast<std::size_t>(t) * arms + a];
        r.trial = t0 + t;
        r.arm = a;
        r.images = N;
        r.top1 = static_cast<std::int64_t>(h_hits[2 * t]);
        r.top5 = static_cast<std::int64_t>(h_hits[2 * t + 1]);
        r.stuck_off = static_cast<std::int64_t>(h_stuck[2 * t]);
        r.stuck_on = static_cast<std::int64_t>(h_stuck[2 * t + 1]);
        for (std::size_t l = 0; l < layers.size(); ++l) {
          double e = 0.0, s = 0.0;
          for (int g = 0; g < layers[l].groups; ++g) {
            e += h_err[l][g][2 * t];
            s += h_err[l][g][2 * t + 1];
          }
          r.layer_rel_rms.push_back(s > 0.0 ? std::sqrt(e / s) : (e > 0.0 ? INFINITY : 0.0));
        }
      }
    }
    for (auto& r : batch) out.push_back(std::move(r));
    if (control.progress) control.progress->add(static_cast<std::int64_t>(nt) * arms);
  }
}

}  // namespace xbarmc::cuda
