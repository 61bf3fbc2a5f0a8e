#pragma once
/// \file
/// The compute backends behind one coarse interface: one virtual call does a whole
/// batch of trials, so dispatch cost never matters. The CPU backend is the
/// reference; the CUDA backend must agree with it (integer decisions bitwise,
/// floating results within stated tolerances).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "xbarmc/rng/counter.hpp"

namespace xbarmc {

namespace montecarlo {
class Study;
struct RunControl;
struct TrialRecord;
}  // namespace montecarlo

enum class BackendKind { cpu, cuda };

/// A GPU as the CUDA runtime reports it.
struct GpuInfo {
  int index = 0;
  std::string name;
  std::size_t total_bytes = 0;
  std::size_t free_bytes = 0;
  int cc_major = 0;
  int cc_minor = 0;
  int multiprocessors = 0;
};

/// Raw Philox words for a block of logical coordinates: trials
/// [trial_first, trial_first + trial_count) x elements [0, element_count) of one
/// (purpose, layer, tile). Used to check that backends draw identically.
struct RawDrawRequest {
  std::uint64_t seed = 0;
  rng::Purpose purpose = rng::Purpose::test;
  std::uint32_t trial_first = 0;
  std::uint32_t trial_count = 1;
  std::uint32_t layer = 0;
  std::uint32_t tile = 0;
  std::uint32_t element_count = 0;
};

/// A compute backend.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual BackendKind kind() const = 0;
  /// "cpu" or "cuda".
  virtual std::string name() const = 0;
  /// Human description of the device, e.g. "2 CPU threads" or "NVIDIA H100 80GB HBM3 (GPU 0)".
  virtual std::string device() const = 0;
  /// Fills out[((t - trial_first) * element_count + e) * 4 + w] with word w of the
  /// Philox block at (seed, purpose, t, layer, tile, e).
  virtual void draw_raw(const RawDrawRequest& request, std::uint32_t* out) = 0;
  /// Runs trials [first, first + count) of every arm of `study` (one chip instance
  /// each, on all the study's images) and appends one record per trial and arm.
  /// Records depend only on (seed, trial, arm), never on how the work is split.
  virtual void run_trials(const montecarlo::Study& study, std::uint32_t first, std::uint32_t count,
                          const montecarlo::RunControl& control, std::vector<montecarlo::TrialRecord>& out) = 0;
};

/// How to choose a backend.
struct BackendOptions {
  std::string choice = "auto";  ///< auto | cpu | cuda
  int threads = 0;              ///< CPU threads, 0 = all cores
  int gpu = 0;                  ///< CUDA device index
};

/// auto = CUDA when compiled in and a device exists, else CPU. Asking for cuda
/// without a device throws NoDevice; in a build without CUDA, NotCompiled.
std::unique_ptr<Backend> make_backend(const BackendOptions& options);

/// The CPU backend (always available).
std::unique_ptr<Backend> make_cpu_backend(int threads);

/// Number of CPU threads a `threads` setting means (0 = all cores).
int resolve_threads(int threads);

namespace cuda {
/// True when this build contains the CUDA backend.
bool compiled();
/// Number of usable CUDA devices (0 when no driver or no GPU).
int device_count();
/// The devices the runtime sees.
std::vector<GpuInfo> devices();
/// The CUDA backend on device `gpu`; throws NotCompiled or NoDevice.
std::unique_ptr<Backend> make_backend(int gpu);
}  // namespace cuda

}  // namespace xbarmc
