// The warp crossbar kernel's own code (kernels/cuda/crossbar_warp_kernel.hpp) run on the
// CPU emulator of kernels/cuda/simt.hpp, against the CPU backend on the same chips: the
// same comparison as tests/cuda/test_crossbar_cuda.cu makes on a GPU, here on every CI
// run. What the emulator cannot show is the hardware itself (timing, the real mma unit,
// the compiler's device code); the GPU tests cover those.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../../kernels/cuda/crossbar_warp_kernel.hpp"
#include "../common/error_message.hpp"
#include "xbarmc/physics/cell.hpp"
#include "xbarmc/physics/crossbar.hpp"
#include "xbarmc/physics/ir_drop.hpp"
#include "xbarmc/rng/counter.hpp"
#include "xbarmc/rng/distributions.hpp"

using namespace xbarmc;
namespace detail = xbarmc::cuda::detail;

namespace {

// Outputs whose bits differ between two runs.
std::int64_t bits_differing(const std::vector<float>& a, const std::vector<float>& b) {
  std::int64_t differ = 0;
  for (std::size_t i = 0; i < a.size(); ++i) differ += std::memcmp(&a[i], &b[i], sizeof(float)) != 0;
  return differ;
}

std::vector<float> random_values(std::size_t n, std::uint32_t stream, float lo, float hi) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    const rng::Block b = rng::draw_block(99, rng::Purpose::test, stream, 0, 0, static_cast<std::uint32_t>(i));
    v[i] = lo + (hi - lo) * rng::u01f(b.v[0]);
  }
  return v;
}

// Chip instances as instantiate_chips draws them on the GPU (the same physics functions):
// effective levels as f16 hi + lo parts, [trial][tile][rows_p][cols_p].
void instantiate_host(const detail::HostMatrix& m, std::uint64_t seed, int trials, std::uint32_t layer,
                      std::vector<__half>& hi, std::vector<__half>& lo) {
  const std::size_t per_tile = static_cast<std::size_t>(m.rows_p) * m.cols_p;
  hi.assign(per_tile * m.tiles * trials, __float2half_rn(0.0f));
  lo = hi;
  const physics::Wires wires{m.hw.r_wire, m.hw.r_driver, m.hw.r_sense};
  for (int t = 0; t < trials; ++t)
    for (int tile = 0; tile < m.tiles; ++tile)
      for (int r = 0; r < std::min(m.rows_p, m.hw.rows); ++r)
        for (int c = 0; c < std::min(m.cols_p, m.hw.cols); ++c) {
          const std::uint32_t e = static_cast<std::uint32_t>(r * m.hw.cols + c);
          const std::size_t li = static_cast<std::size_t>(tile) * m.hw.rows * m.hw.cols + e;
          physics::CellFault f;
          double g =
              physics::sample_cell(m.cell, seed, static_cast<std::uint32_t>(t), layer, static_cast<std::uint32_t>(tile),
                                   e, m.level[li], !m.verified.empty() && m.verified[li] != 0, &f);
          if (m.hw.ir_drop == IrDrop::static_resistance)
            g = physics::static_transfer(g, physics::series_resistance(wires, m.hw.rows, r, c));
          detail::store_level(
              m.cell, g, hi.data(), lo.data(),
              (static_cast<std::int64_t>(t) * m.tiles + tile) * static_cast<std::int64_t>(per_tile) + r * m.cols_p + c);
        }
}

// A convolution over a C x size x size input with a kernel x kernel kernel (stride,
// padding on every side) and M outputs; K, the output size and the positions follow.
cuda::LayerGeometry square_conv(int C, int size, int kernel, int stride, int pad, int M) {
  cuda::LayerGeometry g;
  g.conv = true;
  g.C = C;
  g.H = g.W = size;
  g.kh = g.kw = kernel;
  g.sh = g.sw = stride;
  g.pt = g.pl = pad;
  g.K = C * kernel * kernel;
  g.M = M;
  g.OH = g.OW = (size + 2 * pad - kernel) / stride + 1;
  g.positions = g.OH * g.OW;
  return g;
}

enum class Shape { dense, conv, conv_groups, transposed, lenet_conv1, lenet_conv2, first_conv_wide };

struct Case {
  const char* name;
  HardwareConfig hw;
  bool signed_inputs;
  Shape shape;
  std::int64_t M = 20;       // dense: logical columns
  int rows_k = 0;            // tiles read in row chunks: the chunk's rows the case means to test
  std::int64_t samples = 0;  // samples per trial (0: the shape's)
  bool batch_body = false;   // read by the batched body too (warp_batch_applies; XBARMC_CUDA_BATCH=on)
  bool image = false;        // inputs like a normalized image: a negative background, a positive object, a zero band
};

std::vector<Case> cases() {
  std::vector<Case> c;
  HardwareConfig d;  // defaults: 8-bit weights, 2-bit cells, differential, 8-bit ADC, sigma 0.05, faults
  c.push_back({"default", d, false, Shape::dense});
  c.push_back({"signed_inputs", d, true, Shape::dense});
  HardwareConfig s = d;
  s.ir_drop = IrDrop::static_resistance;
  s.r_wire = 2.0;
  c.push_back({"static_ir", s, false, Shape::dense});
  HardwareConfig o = d;
  o.sign_mode = SignMode::offset;
  o.bits_per_cell = 4;
  o.adc_bits = 6;
  c.push_back({"offset_4bit_cells", o, true, Shape::dense});
  // One 4-bit cell per weight: 128 logical columns per column tile (130 weights: tiles of
  // 128 and 2), so the float reference computes a window in two blocks of 64 columns.
  HardwareConfig o4 = o;
  o4.weight_bits = 4;
  c.push_back({"offset_4bit_weights_128_logical_columns", o4, true, Shape::dense, 130, 0, 80});
  HardwareConfig dac = d;
  dac.dac_bits = 2;
  dac.variation = Variation::normal;
  dac.sigma = 0.02;
  c.push_back({"dac2_normal", dac, false, Shape::dense});
  HardwareConfig ideal = d;
  ideal.sigma = 0;
  ideal.p_stuck_off = ideal.p_stuck_on = 0;
  ideal.adc_bits = 0;
  c.push_back({"ideal", ideal, true, Shape::dense});
  HardwareConfig noisy = d;
  noisy.read_noise = 0.05;
  c.push_back({"read_noise", noisy, false, Shape::dense});
  c.push_back({"read_noise_signed", noisy, true, Shape::dense});
  // 264 vectors per trial: two chunks of 256 (read noise runs one block per SM, whose
  // shared memory holds 256 vectors), so also run in two image passes (below), cut at
  // vector 256; 16 weights: one column tile.
  c.push_back({"read_noise_signed_two_passes", noisy, true, Shape::dense, 16, 0, 264});
  HardwareConfig noisy_dac = noisy;  // multi-bit DAC codes: the variance takes their squares
  noisy_dac.dac_bits = 2;
  c.push_back({"read_noise_dac2_signed", noisy_dac, true, Shape::dense});
  noisy_dac.dac_bits = 4;
  c.push_back({"read_noise_dac4", noisy_dac, false, Shape::dense});
  noisy_dac.dac_bits = 8;  // squares above 2^11: f16 hi + lo parts (one read per vector)
  c.push_back({"read_noise_dac8", noisy_dac, false, Shape::dense});
  noisy_dac.dac_bits = 6;  // signed: 7-bit magnitudes in two 6-bit steps
  c.push_back({"read_noise_dac6_signed", noisy_dac, true, Shape::dense});
  HardwareConfig r100 = d;  // tiles whose read region (112 = 7 x 16) passes their edge
  r100.rows = r100.cols = 100;
  c.push_back({"rows100", r100, true, Shape::dense});
  HardwareConfig r256 = d;  // 256-row tiles: the warp kernel's tall variant (16 mma k-steps)
  r256.rows = 256;
  c.push_back({"rows256", r256, false, Shape::dense});
  HardwareConfig noisy256 = r256;  // read noise on the tall variant (gains computed in registers)
  noisy256.read_noise = 0.05;
  c.push_back({"read_noise_rows256", noisy256, true, Shape::dense});
  // Tiles read over more than 256 rows, in row chunks (partial sums kept across chunks):
  // 400 rows (chunks of 128, 128, 128 and 16 rows); 512 rows with read noise (its
  // variances kept too; chunks of 64 rows, what fits shared memory with them).
  HardwareConfig r400 = d;
  r400.rows = 400;
  c.push_back({"rows400_row_chunks", r400, true, Shape::dense, 20, 128});
  HardwareConfig noisy512 = d;
  noisy512.rows = 512;
  noisy512.read_noise = 0.05;
  c.push_back({"read_noise_rows512_row_chunks", noisy512, false, Shape::dense, 20, 64});
  // Signed 12-bit inputs, bit-serial: 2 phases x 11 reads, more than a pass's 16 slots, so
  // one pass per phase (read groups), shift-added in the CPU's phase order; with read
  // noise (its draws at the phase's reads), and on 288-row tiles in row chunks (the
  // partial sums kept per group: 64-row chunks fit).
  HardwareConfig long_in = d;
  long_in.input_bits = 12;
  c.push_back({"signed_12bit_read_groups", long_in, true, Shape::dense});
  HardwareConfig long_adc14 = long_in;  // sums past 2^24: the staged shift-add, in double
  long_adc14.adc_bits = 14;
  c.push_back({"adc14_signed_12bit_staged_shift_add", long_adc14, true, Shape::dense});
  HardwareConfig noisy_long = long_in;
  noisy_long.read_noise = 0.05;
  c.push_back({"read_noise_signed_12bit_read_groups", noisy_long, true, Shape::dense});
  HardwareConfig long288 = long_in;
  long288.rows = 288;
  c.push_back({"rows288_signed_12bit_read_groups", long288, true, Shape::dense, 20, 64});
  // Tiles wider than 128 columns, read in column windows: 256 columns holding 20 x 8 used
  // ones (windows [0, 128) and [128, 256)); 6-bit weights (6 columns per logical column,
  // 30 x 6 = 180 used: windows [0, 128) and [112, 240), overlapping); 256 x 256 with read noise.
  HardwareConfig wide = d;
  wide.cols = 256;
  c.push_back({"cols256", wide, false, Shape::dense, 20});
  HardwareConfig wide6 = wide;
  wide6.weight_bits = 6;
  c.push_back({"cols256_overlapping_windows", wide6, true, Shape::dense, 30});
  HardwareConfig square = r256;
  square.cols = 256;
  square.read_noise = 0.05;
  c.push_back({"rows256_cols256_read_noise", square, true, Shape::dense, 20});
  c.push_back({"conv", d, false, Shape::conv, 20, 0, 0, true});
  // Short tiles on the batched body's other paths: offset mode (input code sums), 2-bit
  // DAC codes, 4 reads per vector (4 vectors per pass); 16-row tiles (2 row tiles of 16
  // and 11 rows, the outputs summed over them) with signed inputs.
  HardwareConfig o_dac2 = o;
  o_dac2.dac_bits = 2;
  c.push_back({"conv_offset_dac2", o_dac2, false, Shape::conv, 20, 0, 0, true});
  HardwareConfig r16 = d;
  r16.rows = 16;
  c.push_back({"conv_rows16_row_tiles", r16, true, Shape::conv, 20, 0, 0, true});
  // LeNet-5's conv1 (the layer with most of the bundled study's ADC conversions): 28 x 28
  // input, 5 x 5 kernel, padding 2, 6 outputs (48 of 128 columns), signed 8-bit inputs (14
  // reads: one vector per pass, its reads across both fragments).
  c.push_back({"lenet_conv1", d, true, Shape::lenet_conv1, 20, 0, 0, true});
  // The same on an image-like input, as a normalized Fashion-MNIST image: background and
  // object patches have one phase all zero (50.9% of conv1's vectors on the test set,
  // xbarmc_read_sparsity), edge patches have both, and the patches of a band of exact
  // zeros neither (the batched body skips the phases whose codes are all zero).
  c.push_back({"lenet_conv1_image", d, true, Shape::lenet_conv1, 20, 0, 0, true, true});
  // The same with signed 9-bit inputs: two phases of 8 steps, every slot of a fragment a read.
  HardwareConfig in9 = d;
  in9.input_bits = 9;
  c.push_back({"lenet_conv1_image_9bit", in9, true, Shape::lenet_conv1, 20, 0, 0, true, true});
  // And with signed 11-bit inputs read by 2-bit DAC codes: two phases of 5 steps.
  HardwareConfig in11 = d;
  in11.input_bits = 11;
  in11.dac_bits = 2;
  c.push_back({"lenet_conv1_image_dac2", in11, true, Shape::lenet_conv1, 20, 0, 0, true, true});
  // LeNet-5's conv2: 6 x 14 x 14 input (ReLU outputs: unsigned 8-bit, 8 reads), 5 x 5
  // kernel (150 rows: row tiles of 128 and 22 on the narrow variant), 16 outputs (128
  // columns); on the narrow variant's batched body too.
  c.push_back({"lenet_conv2", d, false, Shape::lenet_conv2, 20, 0, 0, true});
  // A first convolution (3 x 3 x 3 = 27 rows: the short variant) with 20 outputs on
  // 256-column tiles: 160 columns read in two windows (on the batched body, whose column
  // sums for a 128-column window fit only one pass's vectors: folded per pass).
  c.push_back({"first_conv_cols256", wide, true, Shape::first_conv_wide, 20, 0, 0, true});
  c.push_back({"grouped_conv", d, true, Shape::conv_groups});
  c.push_back({"transposed_input", d, false, Shape::transposed});
  return c;
}

}  // namespace

class WarpKernelEmulated : public ::testing::TestWithParam<int> {};

TEST_P(WarpKernelEmulated, EqualsTheCpuOnTheSameChips) {
  const Case cs = cases()[static_cast<std::size_t>(GetParam())];
  // dense: 2 row tiles (128 + 22 rows), 2 column tiles (16 + 4 weights of 8 columns).
  // conv: 3 x 7 x 7 input, 3 x 3 kernel, padding 1, stride 2 (K = 27, 16 positions: the
  //   short variant), 80 samples: 5 chunks per trial, 10 items on the 5 blocks one SM's
  //   grid asks for (4 blocks per SM), so consecutive items on one tile (its levels
  //   reused); bias, ReLU.
  // conv_groups: group 1 of 2 (4 input channels, 2 x 2 kernel, dilation 2, 2 + 2 outputs).
  // transposed: constant-first MatMul, each sample K x positions; bias, ReLU.
  // lenet_conv1: 1 x 28 x 28 input, 5 x 5 kernel, padding 2 (K = 25, 784 positions), 1 sample.
  // lenet_conv2: 6 x 14 x 14 input, 5 x 5 kernel (K = 150, 100 positions), 2 samples.
  // first_conv_wide: 3 x 8 x 8 input, 3 x 3 kernel, padding 1 (K = 27, 64 positions), 20
  //   outputs, 4 samples.
  cuda::LayerGeometry geo;
  std::int64_t samples = 24;
  switch (cs.shape) {
    case Shape::dense:
      geo.K = cs.hw.rows > 128 ? cs.hw.rows + 44 : 150;  // taller tiles: 2 row tiles as well (256 + 44, ...)
      geo.M = cs.M;
      break;
    case Shape::conv:
      geo = square_conv(3, 7, 3, 2, 1, 5);
      samples = 80;
      break;
    case Shape::lenet_conv1:
      geo = square_conv(1, 28, 5, 1, 2, 6);
      samples = 1;
      break;
    case Shape::lenet_conv2:
      geo = square_conv(6, 14, 5, 1, 0, 16);
      samples = 2;
      break;
    case Shape::first_conv_wide:
      geo = square_conv(3, 8, 3, 1, 1, 20);
      samples = 4;
      break;
    case Shape::conv_groups:
      geo.conv = true;
      geo.groups = 2;
      geo.K = 8;
      geo.M = 2;
      geo.C = 4;
      geo.H = 5;
      geo.W = 6;
      geo.kh = geo.kw = 2;
      geo.dh = geo.dw = 2;
      geo.pt = 0;
      geo.pl = 1;
      geo.OH = 3;
      geo.OW = 5;
      geo.positions = 15;
      samples = 4;
      break;
    case Shape::transposed:
      geo.transposed_input = true;
      geo.K = 40;
      geo.M = 6;
      geo.positions = 5;
      samples = 6;
      break;
  }
  if (cs.samples > 0) samples = cs.samples;
  const int group = cs.shape == Shape::conv_groups ? 1 : 0;
  const bool bias_relu = cs.shape == Shape::conv || cs.shape == Shape::lenet_conv1 || cs.shape == Shape::lenet_conv2 ||
                         cs.shape == Shape::transposed;
  const std::int64_t K = geo.K, M = geo.M, P = geo.positions;
  const int trials = 2;
  const std::uint64_t seed = 7;
  const std::uint32_t layer = 5;
  const std::int64_t vector_base = cs.hw.read_noise > 0 ? 64 : 0;  // as if after 64 / P earlier images
  const std::int64_t in_size = geo.conv ? geo.C * geo.H * geo.W : P * geo.groups * K;
  const std::int64_t out_size = P * geo.groups * M;
  const std::int64_t n = samples * P;  // vectors per trial
  const auto W = random_values(static_cast<std::size_t>(K * M), 1, -1.0f, 1.0f);
  auto X =
      random_values(static_cast<std::size_t>(trials * samples * in_size), 2, cs.signed_inputs ? -1.0f : 0.0f, 1.0f);
  if (cs.image) {  // a background of -0.42 around an object of values in (0, 1], rows 7-20, columns 6-21,
    for (std::size_t i = 0; i < X.size(); ++i) {  // and rows 0-3 all 0
      const std::int64_t e = static_cast<std::int64_t>(i) % in_size, iy = (e / geo.W) % geo.H, ix = e % geo.W;
      const bool object = iy >= 7 && iy < 21 && ix >= 6 && ix < 22;
      X[i] = object ? 0.05f + 0.95f * std::fabs(X[i]) : iy < 4 ? 0.0f : -0.42f;
    }
  }
  const auto bias = random_values(static_cast<std::size_t>(geo.groups * M), 3, -0.5f, 0.5f);
  const MappedMatrix mm = map_naive(W.data(), K, M, cs.hw);
  const quant::Quantizer xq = quant::activation_quantizer(cs.signed_inputs ? -1.0f : 0.0f, 1.0f, cs.hw.input_bits);
  const detail::HostMatrix hm = detail::host_matrix(mm);
  std::vector<__half> hi, lo;
  instantiate_host(hm, seed, trials, layer, hi, lo);

  // Where element k of vector (sample s, position pos) comes from, and where output m of
  // it goes, per LayerGeometry's definitions (independent of the kernel's gather).
  const auto input_of = [&](const float* x, std::int64_t pos, std::int64_t k) -> float {
    if (geo.conv) {
      const std::int64_t kx = k % geo.kw, ky = (k / geo.kw) % geo.kh, c = k / (geo.kw * geo.kh);
      const std::int64_t iy = (pos / geo.OW) * geo.sh - geo.pt + ky * geo.dh;
      const std::int64_t ix = (pos % geo.OW) * geo.sw - geo.pl + kx * geo.dw;
      if (iy < 0 || iy >= geo.H || ix < 0 || ix >= geo.W) return 0.0f;
      return x[((group * (geo.C / geo.groups) + c) * geo.H + iy) * geo.W + ix];
    }
    if (geo.transposed_input) return x[(group * K + k) * P + pos];
    return x[pos * geo.groups * K + group * K + k];
  };
  const auto output_index = [&](std::int64_t pos, std::int64_t m) -> std::int64_t {
    const std::int64_t mg = group * M + m;
    return geo.conv || geo.transposed_input ? mg * P + pos : pos * geo.groups * M + mg;
  };

  // The kernel on the emulator.
  std::vector<float> y(static_cast<std::size_t>(trials * samples * out_size), -1.0f);
  std::vector<double> errors(2 * trials, 0.0);
  cuda::CrossbarLaunch l;
  l.geo = geo;
  l.group = group;
  l.xq = xq;
  l.leff_hi = hi.data();
  l.leff_lo = lo.data();
  l.trials = trials;
  l.samples_per_trial = samples;
  l.in = X.data();
  l.out = y.data();
  l.weights = W.data();
  l.seed = seed;
  l.trial0 = 0;
  l.layer_id = layer;
  l.vector_base = vector_base;
  if (bias_relu) {
    l.bias = bias.data();
    l.relu = true;
  }
  const physics::InputPlan plan = physics::input_plan(cs.hw.input_bits, cs.hw.dac_bits, xq.is_signed());
  detail::WarpLaunch w = detail::prepare_warp_launch(detail::common_params(hm, l, plan), trials, 1);
  std::vector<double> item_err(static_cast<std::size_t>(2 * w.p.items), 0.0);
  // How a tile is read: by its variant (a short tile by the short variant), a short tile by
  // the narrow variant (XBARMC_CUDA_SHORT=narrow), or by the batched body
  // (XBARMC_CUDA_BATCH=on).
  enum class ShortAs { short_variant, narrow, batch };
  const auto run_kernel = [&](const detail::WarpLaunch& wl, ShortAs short_as = ShortAs::short_variant) {
    // The float reference into the outputs first (reference_layer's kernel), as on a GPU.
    const std::int64_t ref_blocks = detail::reference_blocks(wl.p, trials);
    const int ref_grid = static_cast<int>(std::min<std::int64_t>(ref_blocks, 7));  // blocks b, b + 7, ...
    simt::launch(ref_grid, detail::kRefThreads, detail::reference_smem_bytes(wl.p),
                 [&](unsigned char* smem) { detail::reference_body(wl.p, trials, ref_grid, smem); });
    if (short_as == ShortAs::batch) {
      ASSERT_TRUE(detail::warp_batch_applies(wl));
      // The instantiation the GPU launch picks (crossbar_warp.cu, launch_batch): the
      // variant's k-steps (short, narrow, tall), reads_p 16, 8 or any, and on short tiles
      // whether zero phases are skipped (warp_batch_halves).
      const auto body = [&](auto k_steps, unsigned char* smem) {
        constexpr int kK = decltype(k_steps)::value;
        switch (wl.rp.reads_p) {
          case 16:
            if (kK == cuda::warp::kShortKSteps && detail::warp_batch_halves(wl)) {
              detail::warp_batch_body<kK, 16, true>(wl.p, wl.batch_smem, wl.rp, smem);
            } else {
              detail::warp_batch_body<kK, 16>(wl.p, wl.batch_smem, wl.rp, smem);
            }
            break;
          case 8:
            detail::warp_batch_body<kK, 8>(wl.p, wl.batch_smem, wl.rp, smem);
            break;
          default:
            detail::warp_batch_body<kK, 0>(wl.p, wl.batch_smem, wl.rp, smem);
        }
      };
      const int k_steps = detail::warp_k_steps(wl.p.rows_p, false);
      simt::launch(wl.grid, detail::kThreads, static_cast<std::size_t>(wl.batch_smem.total), [&](unsigned char* smem) {
        if (k_steps == cuda::warp::kShortKSteps) {
          body(std::integral_constant<int, cuda::warp::kShortKSteps>{}, smem);
        } else if (k_steps == cuda::warp::kMaxKSteps) {
          body(std::integral_constant<int, cuda::warp::kMaxKSteps>{}, smem);
        } else {
          body(std::integral_constant<int, cuda::warp::kMaxKStepsTall>{}, smem);
        }
      });
      return;
    }
    simt::launch(wl.grid, detail::kThreads, static_cast<std::size_t>(wl.smem.total), [&](unsigned char* smem) {
      constexpr int narrow = cuda::warp::kMaxKSteps, tall = cuda::warp::kMaxKStepsTall,
                    short_ = cuda::warp::kShortKSteps;
      const bool noise = wl.p.read_noise > 0.0f;
      const int k_steps = detail::warp_k_steps(wl.p.rows_p, noise);
      if (noise) {
        k_steps == tall ? detail::warp_crossbar_body<true, tall>(wl.p, wl.smem, wl.rp, smem)
                        : detail::warp_crossbar_body<true, narrow>(wl.p, wl.smem, wl.rp, smem);
      } else if (k_steps == short_ && short_as == ShortAs::short_variant) {
        detail::warp_crossbar_body<false, short_>(wl.p, wl.smem, wl.rp, smem);
      } else {
        k_steps == tall ? detail::warp_crossbar_body<false, tall>(wl.p, wl.smem, wl.rp, smem)
                        : detail::warp_crossbar_body<false, narrow>(wl.p, wl.smem, wl.rp, smem);
      }
    });
  };
  w.p.item_err = item_err.data();
  run_kernel(w);
  // The integer shift-add in registers (warp::exact_shift_add): every case with an ADC of
  // up to 8 bits (inputs of up to 12 bits); not the ideal ADC, nor a 14-bit ADC with
  // 12-bit inputs (sums up to 2^26).
  EXPECT_EQ(w.p.exact_shift_add, cs.hw.adc_bits > 0 && cs.hw.adc_bits <= 8);
  // The launch `other` run again into fresh buffers: the same output and error-sum bits.
  const auto expect_same_bits = [&](detail::WarpLaunch other, ShortAs short_as, const char* what) {
    std::vector<float> y_other(y.size(), -1.0f);
    std::vector<double> err_other(item_err.size(), 0.0);
    other.p.out = y_other.data();
    other.p.item_err = err_other.data();
    run_kernel(other, short_as);
    EXPECT_EQ(bits_differing(y, y_other), 0) << "outputs that differ: " << what;
    EXPECT_EQ(item_err, err_other) << what;
  };
  if (w.p.exact_shift_add) {
    // The shift-add in registers equals the staged one (the CPU's shift_add_column over
    // shared memory) bit for bit: outputs and error sums.
    detail::WarpLaunch staged = w;
    staged.p.exact_shift_add = false;
    expect_same_bits(staged, ShortAs::short_variant, "the register shift-add against the staged one");
  }
  if (detail::warp_k_steps(w.p.rows_p, w.p.read_noise > 0.0f) == cuda::warp::kShortKSteps) {
    // Tiles of up to 32 rows: the short variant (2 k-steps) gives the bits of the narrow
    // one (8 k-steps, XBARMC_CUDA_SHORT=narrow) on the same chunks.
    expect_same_bits(w, ShortAs::narrow, "the short variant against the narrow one");
    std::printf("%s: the short variant's outputs and error sums equal the narrow variant's\n", cs.name);
  }
  // The batched body (XBARMC_CUDA_BATCH=on), where it applies (short and narrow tiles in
  // one row chunk, one read group, the register shift-add): the same bits as the variant.
  if (cs.batch_body) {
    ASSERT_TRUE(detail::warp_batch_applies(w)) << "a case meant for the batched body";
  }
  if (detail::warp_batch_applies(w)) {
    expect_same_bits(w, ShortAs::batch, "the batched body against the variant");
    // The other way of folding the column sums into the outputs (per batch, or after
    // each pass where a batch's sums do not fit): the same bits.
    detail::WarpLaunch other_fold = w;
    const bool per_batch = w.batch_smem.col_vectors == w.batch_smem.batch;
    other_fold.batch_smem = detail::warp_batch_layout(w.smem, w.p.cols_p, w.p.phases, w.batch_smem.batch,
                                                      per_batch ? w.rp.vectors : w.batch_smem.batch);
    expect_same_bits(other_fold, ShortAs::batch,
                     per_batch ? "the batched body folding per pass" : "the batched body folding per batch");
    // Where the batched body skips the phases whose codes are all zero (warp_batch_halves:
    // signed inputs on 16 read slots, the batch's column sums kept, short tiles), not
    // skipping them (XBARMC_CUDA_SKIP_ZERO=off) gives the same bits. (Elsewhere that flag
    // picks the instantiation the lines above ran.)
    if (detail::warp_batch_halves(w)) {
      detail::WarpLaunch no_skip = w;
      no_skip.p.skip_zero_phases = false;
      ASSERT_FALSE(detail::warp_batch_halves(no_skip));
      expect_same_bits(no_skip, ShortAs::batch, "the batched body reading every phase");
    }
    if (cs.image) {  // every kind of vector is there: one phase all zero, both phases, neither
      ASSERT_TRUE(detail::warp_batch_halves(w)) << "a case meant for skipping zero phases";
      std::int64_t one = 0, both = 0, none = 0;
      for (std::int64_t v = 0; v < n; ++v) {
        bool pos = false, neg = false;
        for (std::int64_t k = 0; k < K; ++k) {
          const int q = xq.quantize(input_of(X.data() + (v / P) * in_size, v % P, k));
          pos = pos || q > 0;
          neg = neg || q < 0;
        }
        ++(pos && neg ? both : pos || neg ? one : none);
      }
      EXPECT_GT(one, 0) << "no vector with one phase all zero";
      EXPECT_GT(both, 0) << "no vector with both phases";
      EXPECT_GT(none, 0) << "no vector with both phases all zero";
      std::printf("%s: %lld vectors with one phase all zero, %lld with both, %lld with neither\n", cs.name,
                  static_cast<long long>(one), static_cast<long long>(both), static_cast<long long>(none));
    }
    std::printf(
        "%s: the batched body (%d vectors per warp batch, %d-row tiles, %d read slots per vector, column sums folded "
        "per %s) gives the variant's outputs and error sums, folding per batch and per pass\n",
        cs.name, w.batch_smem.batch, w.p.rows_p, w.rp.reads_p, per_batch ? "batch" : "pass");
  }
  // A network's first crossbar layer, whose inputs are the same for every trial
  // (CrossbarLaunch::same_input_per_trial): the float reference computed for the first
  // trial and copied to the others (crossbar_reference) has the bits of the reference
  // computed for every trial, and writes only the group's outputs.
  {
    std::vector<float> x_same(X.size());
    const std::size_t per_trial = static_cast<std::size_t>(samples * in_size);
    for (int t = 0; t < trials; ++t) std::copy(X.begin(), X.begin() + per_trial, x_same.begin() + t * per_trial);
    std::vector<float> y_all(y.size(), -1.0f), y_copied(y.size(), -1.0f);
    const auto reference = [&](detail::LayerParams q, int ref_trials, float* out) {
      q.out = out;
      const int grid = static_cast<int>(std::min<std::int64_t>(detail::reference_blocks(q, ref_trials), 7));
      simt::launch(grid, detail::kRefThreads, detail::reference_smem_bytes(q),
                   [&](unsigned char* smem) { detail::reference_body(q, ref_trials, grid, smem); });
    };
    detail::LayerParams q = w.p;
    q.in = x_same.data();
    reference(q, trials, y_all.data());
    reference(q, 1, y_copied.data());
    q.out = y_copied.data();
    const int copy_grid = 3;  // blocks b, b + 3, ... over the (trial, sample) rows
    simt::launch(copy_grid, detail::kRefThreads, 0,
                 [&](unsigned char*) { detail::copy_first_trial_body(q, trials, copy_grid); });
    EXPECT_EQ(bits_differing(y_all, y_copied), 0) << "the first trial's reference copied to the others";
    const std::size_t out_trial = static_cast<std::size_t>(samples * out_size);
    const auto written = std::count_if(y_all.begin(), y_all.begin() + out_trial, [](float v) { return v != -1.0f; });
    EXPECT_EQ(written, samples * P * M) << "the group's outputs of the first trial";
    EXPECT_TRUE(std::equal(y_all.begin(), y_all.begin() + out_trial, y_all.begin() + out_trial))
        << "the same inputs give every trial the same reference";
  }
  for (int t = 0; t < trials; ++t)
    detail::fold_item_errors(item_err.data(), w.p.chunks_per_trial, w.p.n_col_tiles, t, errors.data());

  // Image passes: the run's vectors cut into two passes at the first sample whose vector
  // index is a multiple of the chunk size (as kPassImages images are for any chunk size),
  // each pass reading its own samples with the run's vector count for its chunks and its
  // first vector's index for read noise, the error sums continued pass after pass: the
  // same outputs and error sums, bit for bit, as one pass.
  ASSERT_EQ(cuda::kPassImages % w.p.vec, 0) << "a chunk must divide the vectors of kPassImages images";
  std::int64_t split = 0;
  for (std::int64_t s = 1; s < samples && split == 0; ++s)
    if (s * P % w.p.vec == 0) split = s;
  if (cs.samples > 0) {  // the cases sized for it must run the two-pass comparison
    EXPECT_GT(w.p.chunks_per_trial, 1) << "a case sized for two passes in one chunk";
    EXPECT_GT(split, 0) << "no sample starts a chunk: the two-pass comparison did not run";
  }
  if (split > 0) {
    std::vector<float> y2(y.size(), -1.0f);
    std::vector<double> errors2(2 * trials, 0.0);
    for (const auto& [s0, s1] : {std::make_pair(std::int64_t{0}, split), std::make_pair(split, samples)}) {
      const std::int64_t ns = s1 - s0;
      std::vector<float> xp(static_cast<std::size_t>(trials * ns * in_size)),
          yp(static_cast<std::size_t>(trials * ns * out_size), -1.0f);
      for (int t = 0; t < trials; ++t)
        std::copy_n(X.begin() + (t * samples + s0) * in_size, ns * in_size, xp.begin() + t * ns * in_size);
      cuda::CrossbarLaunch lp = l;
      lp.samples_per_trial = ns;
      lp.run_samples_per_trial = samples;
      lp.in = xp.data();
      lp.out = yp.data();
      lp.vector_base = vector_base + s0 * P;
      detail::WarpLaunch wp = detail::prepare_warp_launch(detail::common_params(hm, lp, plan), trials, 1);
      EXPECT_EQ(wp.p.vec, w.p.vec) << "a pass's chunks follow the run's vectors";
      std::vector<double> err_p(static_cast<std::size_t>(2 * wp.p.items), 0.0);
      wp.p.item_err = err_p.data();
      run_kernel(wp);
      for (int t = 0; t < trials; ++t) {
        detail::fold_item_errors(err_p.data(), wp.p.chunks_per_trial, wp.p.n_col_tiles, t, errors2.data());
        std::copy_n(yp.begin() + t * ns * out_size, ns * out_size, y2.begin() + (t * samples + s0) * out_size);
      }
    }
    EXPECT_EQ(bits_differing(y, y2), 0) << "outputs in two image passes (at sample " << split
                                        << ") that differ from one pass";
    EXPECT_EQ(std::memcmp(errors.data(), errors2.data(), errors.size() * sizeof(double)), 0)
        << "error sums in two passes: " << errors2[0] << ", one pass: " << errors[0];
    std::printf("%s: two image passes (at sample %lld of %lld) give the same outputs and error sums\n", cs.name,
                static_cast<long long>(split), static_cast<long long>(samples));
  }

  // The CPU backend on the same chips, from the gathered (im2col) inputs.
  std::int64_t mismatched = 0, total = 0;
  double scale = 0.0;
  for (float v : y) scale = std::max(scale, static_cast<double>(std::fabs(v)));
  for (int t = 0; t < trials; ++t) {
    std::vector<float> cols(static_cast<std::size_t>(n * K), 0.0f);
    for (std::int64_t v = 0; v < n; ++v)
      for (std::int64_t k = 0; k < K; ++k)
        cols[static_cast<std::size_t>(v * K + k)] = input_of(X.data() + (t * samples + v / P) * in_size, v % P, k);
    ChipMatrix chip;
    instantiate(mm, seed, static_cast<std::uint32_t>(t), layer, chip);
    std::vector<float> y_cpu(static_cast<std::size_t>(n * M));
    CrossbarWorkspace ws;
    crossbar_matmul(mm, chip, xq, cols.data(), n, y_cpu.data(), ws, seed, static_cast<std::uint32_t>(t), layer,
                    vector_base);
    double e = 0.0, r = 0.0;
    for (std::int64_t v = 0; v < n; ++v)
      for (std::int64_t m = 0; m < M; ++m) {
        const float got = y[static_cast<std::size_t>((t * samples + v / P) * out_size + output_index(v % P, m))];
        const float raw = y_cpu[static_cast<std::size_t>(v * M + m)];
        float want = raw;
        if (bias_relu) {
          want += bias[static_cast<std::size_t>(group * M + m)];
          want = want > 0.0f ? want : 0.0f;
        }
        ++total;
        if (std::fabs(static_cast<double>(got) - want) > 1e-6 * scale) ++mismatched;
        double exact = 0.0;
        for (std::int64_t k = 0; k < K; ++k)
          exact +=
              static_cast<double>(cols[static_cast<std::size_t>(v * K + k)]) * W[static_cast<std::size_t>(k * M + m)];
        e += (raw - exact) * (raw - exact);
        r += exact * exact;
      }
    EXPECT_NEAR(errors[2 * t + 1], r, 1e-4 * r) << "trial " << t << ": sum of squared exact outputs";
    EXPECT_NEAR(errors[2 * t], e, 2e-2 * e + 1e-9 * r) << "trial " << t << ": sum of squared errors";
  }
  // Outputs of the other group (conv_groups) are untouched.
  if (cs.shape == Shape::conv_groups) {
    for (int t = 0; t < trials; ++t)
      for (std::int64_t s = 0; s < samples; ++s)
        for (std::int64_t i = 0; i < M * P; ++i)
          EXPECT_EQ(y[static_cast<std::size_t>((t * samples + s) * out_size + i)], -1.0f) << "group 0's output written";
  }
  std::printf(
      "%s (warp kernel, emulated): %lld of %lld outputs differ from the CPU; %d blocks, %lld items, %d vectors per "
      "item, %d-row chunks, %d read group(s)\n",
      cs.name, static_cast<long long>(mismatched), static_cast<long long>(total), w.grid,
      static_cast<long long>(w.p.items), static_cast<int>(w.p.vec), w.smem.rows_k, w.rp.groups);
  if (cs.shape == Shape::conv) {
    EXPECT_GT(w.p.items_per_block, 1) << "the case must put consecutive items of one tile in a block";
  }
  if (cs.rows_k > 0) {
    EXPECT_EQ(w.smem.rows_k, cs.rows_k) << "the row chunks the case names";
    EXPECT_EQ(w.p.vec, detail::kWarps * w.rp.vectors) << "read in row chunks: one pass per warp";
  }
  if (plan.phases * plan.steps > 16) {  // (signed inputs of 10-16 bits, bit-serial)
    EXPECT_EQ(w.rp.groups, 2) << "more than 16 reads: one pass per phase";
  }
  if (cs.hw.sigma == 0 && cs.hw.p_stuck_on == 0) {
    EXPECT_EQ(mismatched, 0) << "ideal hardware has integer signals: no code can differ";
  } else {
    EXPECT_LE(mismatched, total / 200) << "more than 0.5% of the outputs differ";
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, WarpKernelEmulated, ::testing::Range(0, static_cast<int>(cases().size())),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(cases()[static_cast<std::size_t>(info.param)].name);
                         });

// Image passes: every pass but the last holds a multiple of kPassImages images, and the
// error sums of a run cut into passes fold to the same bits as in one pass. The item sums
// have full 53-bit mantissas and magnitudes 2^-12 .. 2^12, so another order of the
// additions (column tile after column tile, say) rounds otherwise.
TEST(ImagePasses, PassesHoldMultiplesOfKPassImagesAndFoldErrorsAsOnePass) {
  EXPECT_EQ(cuda::images_per_pass(1000, 5000, 0), 1000);  // all fit: one pass
  EXPECT_EQ(cuda::images_per_pass(1000, 1000, 0), 1000);
  EXPECT_EQ(cuda::images_per_pass(1000, 999, 0), 768);       // rounded down to 3 x 256
  EXPECT_EQ(cuda::images_per_pass(1000, 100, 0), 256);       // at least 256
  EXPECT_EQ(cuda::images_per_pass(300, 5000, 128), 256);     // a cap below 256
  EXPECT_EQ(cuda::images_per_pass(200, 5000, 128), 200);     // ... unless all images are fewer
  EXPECT_EQ(cuda::images_per_pass(100000, 5000, 600), 512);  // the cap rounded down
  const int n_ct = 3;
  const std::int64_t chunks = 7;
  const int trials = 2;
  std::vector<double> one(static_cast<std::size_t>(2 * chunks * n_ct * trials));
  for (std::size_t i = 0; i < one.size(); ++i) {
    const auto b = rng::draw_block(11, rng::Purpose::test, 0, 0, 0, static_cast<std::uint32_t>(i));
    const double mantissa = 1.0 + (static_cast<double>(b.v[0]) + std::ldexp(b.v[1], -32)) / 4294967296.0;
    one[i] = std::ldexp(mantissa, static_cast<int>(b.v[2] % 24) - 12);  // full 53-bit mantissas, 2^-12 .. 2^12
  }
  std::vector<double> whole(2 * trials, 0.0), cut(2 * trials, 0.0);
  for (int t = 0; t < trials; ++t) detail::fold_item_errors(one.data(), chunks, n_ct, t, whole.data());
  for (const auto& [c0, c1] :
       {std::make_pair(std::int64_t{0}, std::int64_t{3}), std::make_pair(std::int64_t{3}, chunks)}) {
    // The pass's items: chunks c0..c1 - 1, laid out as item_of numbers them.
    const std::int64_t nc = c1 - c0;
    std::vector<double> pass(static_cast<std::size_t>(2 * nc * n_ct * trials));
    for (int t = 0; t < trials; ++t)
      for (int ct = 0; ct < n_ct; ++ct)
        for (std::int64_t c = 0; c < nc; ++c)
          for (int k = 0; k < 2; ++k)
            pass[static_cast<std::size_t>(2 * ((t * n_ct + ct) * nc + c) + k)] =
                one[static_cast<std::size_t>(2 * ((t * n_ct + ct) * chunks + c0 + c) + k)];
    for (int t = 0; t < trials; ++t) detail::fold_item_errors(pass.data(), nc, n_ct, t, cut.data());
  }
  EXPECT_EQ(std::memcmp(whole.data(), cut.data(), whole.size() * sizeof(double)), 0)
      << whole[0] << " in one pass, " << cut[0] << " in two";
  // The items in column-tile order sum to other bits: the values can tell the orders apart.
  std::vector<double> other(2 * trials, 0.0);
  for (int t = 0; t < trials; ++t)
    for (int ct = 0; ct < n_ct; ++ct)
      for (std::int64_t c = 0; c < chunks; ++c)
        for (int k = 0; k < 2; ++k)
          other[static_cast<std::size_t>(2 * t + k)] +=
              one[static_cast<std::size_t>(2 * ((t * n_ct + ct) * chunks + c) + k)];
  EXPECT_NE(std::memcmp(whole.data(), other.data(), whole.size() * sizeof(double)), 0);
}

// A block's shared memory starts neither zeroed nor uniform (a GPU does not clear it): a
// kernel that reads words it did not write reads words that differ from 0 and from each
// other, in every block.
TEST(SimtEmulator, SharedMemoryStartsUncleared) {
  constexpr std::size_t kWords = 1024;
  std::vector<std::uint32_t> seen(2 * kWords);
  simt::launch(2, 32, kWords * sizeof(std::uint32_t), [&](unsigned char* smem) {
    if (simt::thread_x() == 0)
      std::memcpy(seen.data() + simt::block_x() * kWords, smem, kWords * sizeof(std::uint32_t));
  });
  std::sort(seen.begin(), seen.end());
  EXPECT_NE(seen.front(), 0u) << "a zero word";
  EXPECT_GT(std::unique(seen.begin(), seen.end()) - seen.begin(), static_cast<std::ptrdiff_t>(kWords))
      << "too few distinct words";
}

// ballot: bit l for lane l's predicate, the same word in every lane of the warp (two
// warps, each with its own bits); lowest_bit: the index of the lowest set bit.
TEST(SimtEmulator, Ballot) {
  std::vector<std::uint32_t> got(64);
  simt::launch(1, 64, 0, [&](unsigned char*) {
    const int t = simt::thread_x(), lane = t % 32;
    got[static_cast<std::size_t>(t)] = simt::ballot(t < 32 ? lane % 3 == 0 : lane == 5 || lane == 31);
  });
  std::uint32_t first = 0;
  for (int l = 0; l < 32; l += 3) first |= 1u << l;
  for (int t = 0; t < 64; ++t) EXPECT_EQ(got[static_cast<std::size_t>(t)], t < 32 ? first : 0x80000020u) << t;
  EXPECT_EQ(simt::lowest_bit(0x80000020u), 5);
  EXPECT_EQ(simt::lowest_bit(1u), 0);
  EXPECT_EQ(simt::lowest_bit(0x80000000u), 31);
}

// The emulator itself: barriers, shuffles and the warp-collective mma on known values
// (operands laid out by warp_layout.hpp, the product checked element by element).
TEST(SimtEmulator, MmaShuffleAndBarriers) {
  float A[16][16], B[16][8];
  for (int i = 0; i < 16; ++i)
    for (int k = 0; k < 16; ++k) A[i][k] = static_cast<float>((i * 7 + k * 3) % 5) - 2.0f;
  for (int k = 0; k < 16; ++k)
    for (int j = 0; j < 8; ++j) B[k][j] = static_cast<float>((k + 2 * j) % 4);
  float D[32][4] = {};
  int shuffled[64] = {};
  int counted[2] = {};
  simt::launch(1, 64, 0, [&](unsigned char*) {
    const int tid = simt::thread_x(), lane = tid % 32;
    const auto pack = [](float lo, float hi) {
      return static_cast<std::uint32_t>(__half_as_ushort(__float2half_rn(lo))) |
             (static_cast<std::uint32_t>(__half_as_ushort(__float2half_rn(hi))) << 16);
    };
    std::uint32_t a[4], b[2];
    for (int r = 0; r < 4; ++r) {
      const cuda::warp::RowCol e = cuda::warp::a_register(lane, r);
      a[r] = pack(A[e.row][e.col], A[e.row][e.col + 1]);
    }
    for (int r = 0; r < 2; ++r) {
      const cuda::warp::RowCol e = cuda::warp::b_register(lane, r);
      b[r] = pack(B[e.row][e.col], B[e.row + 1][e.col]);
    }
    float d[4] = {1.0f, 1.0f, 1.0f, 1.0f};
    simt::mma_16816(d, a, b[0], b[1]);
    if (tid < 32)
      for (int i = 0; i < 4; ++i) D[lane][i] = d[i];
    shuffled[tid] = simt::shfl_xor(tid, 5);
    if (tid == 0) counted[0] = 1;
    simt::sync_block();
    if (tid == 63) counted[1] = counted[0];
  });
  for (int lane = 0; lane < 32; ++lane)
    for (int i = 0; i < 4; ++i) {
      const cuda::warp::RowCol e = cuda::warp::c_element(lane, i);
      float want = 1.0f;
      for (int k = 0; k < 16; ++k) want += A[e.row][k] * B[k][e.col];
      EXPECT_EQ(D[lane][i], want) << "lane " << lane << " element " << i;
    }
  for (int t = 0; t < 64; ++t) EXPECT_EQ(shuffled[t], (t / 32) * 32 + ((t % 32) ^ 5));
  EXPECT_EQ(counted[1], 1) << "sync_block orders the block's threads";
}

// Consecutive mma calls each multiply their own operands (the emulator lays out a call's
// A and B once per warp and alternates two operand sets).
// ldmatrix by the PTX ISA's rule (simt.hpp), with the row addresses warp::a_ldmatrix_row
// gives, loads the A registers a_register names; a row address that is not 16-byte
// aligned is an error.
TEST(SimtEmulator, LdmatrixLoadsTheARegisters) {
  constexpr int ldk = 40;  // 32 rows + the kernel's padding of 8
  std::vector<std::uint32_t> got(32 * 4), want(32 * 4);
  simt::launch(1, 32, sizeof(__half) * 32 * ldk, [&](unsigned char* smem) {
    auto* m = reinterpret_cast<unsigned short*>(smem);
    const int lane = simt::thread_x();
    for (int i = lane; i < 32 * ldk; i += 32) m[i] = static_cast<unsigned short>(i * 7 + 3);
    simt::sync_warp();
    const int m0 = 16, ks = 1;  // the second fragment, the second k-step
    const cuda::warp::RowCol e = cuda::warp::a_ldmatrix_row(lane);
    std::uint32_t r[4];
    simt::ldmatrix_x4(r, m + (m0 + e.row) * ldk + ks * 16 + e.col);
    for (int i = 0; i < 4; ++i) {
      got[lane * 4 + i] = r[i];
      const cuda::warp::RowCol a = cuda::warp::a_register(lane, i);
      std::memcpy(&want[lane * 4 + i], m + (m0 + a.row) * ldk + ks * 16 + a.col, sizeof(std::uint32_t));
    }
  });
  EXPECT_EQ(got, want);
  EXPECT_THROW(simt::launch(1, 32, 1024,
                            [&](unsigned char* smem) {
                              std::uint32_t r[4];
                              simt::ldmatrix_x4(r, smem + 8);
                            }),
               std::logic_error);
}

TEST(SimtEmulator, ConsecutiveMmasUseTheirOwnOperands) {
  constexpr int kCalls = 5;
  float D[32][4] = {};
  simt::launch(1, 32, 0, [&](unsigned char*) {
    const int lane = simt::thread_x();
    const auto pack = [](float lo, float hi) {
      return static_cast<std::uint32_t>(__half_as_ushort(__float2half_rn(lo))) |
             (static_cast<std::uint32_t>(__half_as_ushort(__float2half_rn(hi))) << 16);
    };
    float d[4] = {};
    for (int call = 0; call < kCalls; ++call) {
      std::uint32_t a[4], b[2];
      for (int r = 0; r < 4; ++r) {
        const cuda::warp::RowCol e = cuda::warp::a_register(lane, r);
        a[r] = pack(static_cast<float>(e.row + call), static_cast<float>(e.row + call));
      }
      for (int r = 0; r < 2; ++r) {
        const cuda::warp::RowCol e = cuda::warp::b_register(lane, r);
        b[r] = pack(static_cast<float>((e.col + call) % 3), static_cast<float>((e.col + call) % 3));
      }
      simt::mma_16816(d, a, b[0], b[1]);
    }
    for (int i = 0; i < 4; ++i) D[lane][i] = d[i];
  });
  for (int lane = 0; lane < 32; ++lane)
    for (int i = 0; i < 4; ++i) {
      const cuda::warp::RowCol e = cuda::warp::c_element(lane, i);
      float want = 0.0f;
      for (int call = 0; call < kCalls; ++call) want += 16.0f * (e.row + call) * ((e.col + call) % 3);
      EXPECT_EQ(D[lane][i], want) << "lane " << lane << " element " << i;
    }
}

// A read of what another thread writes without a barrier in between sees the stale value
// in one of the emulator's two orders: threads run upwards until the first barrier, then
// downwards until the next. With the barrier, every read sees the write.
TEST(SimtEmulator, AMissingBarrierShowsAsStaleData) {
  int x[64] = {}, y[64] = {}, seen_up[64] = {}, seen_down[64] = {}, synced[64] = {};
  simt::launch(1, 64, 0, [&](unsigned char*) {
    const int tid = simt::thread_x();
    x[tid] = 1;
    seen_up[tid] = x[(tid + 1) % 64];  // no barrier: thread tid + 1 has not run yet
    simt::sync_block();
    y[tid] = 1;
    seen_down[tid] = y[(tid + 63) % 64];  // no barrier: thread tid - 1 has not run yet
    simt::sync_block();
    synced[tid] = y[(tid + 63) % 64] + x[(tid + 1) % 64];
  });
  int stale_up = 0, stale_down = 0;
  for (int t = 0; t < 64; ++t) {
    stale_up += seen_up[t] == 0;
    stale_down += seen_down[t] == 0;
    EXPECT_EQ(synced[t], 2) << "thread " << t;
  }
  EXPECT_GT(stale_up, 0) << "reading a higher thread's write without a barrier";
  EXPECT_GT(stale_down, 0) << "reading a lower thread's write without a barrier";
}

// A barrier that not every thread reaches is an error, not a hang; an exception thrown
// in one thread reaches the caller (the others waiting for it at a barrier).
TEST(SimtEmulator, ABarrierInDivergentCodeIsAnErrorNotAHang) {
  const std::string what = xbarmc::testing::thrown_message<std::logic_error>([] {
    simt::launch(1, 64, 0, [&](unsigned char*) {
      if (simt::thread_x() < 32) simt::sync_block();
    });
  });
  EXPECT_NE(what.find("deadlock, 32 of 64 threads wait at barriers"), std::string::npos) << what;
  EXPECT_THROW(simt::launch(2, 64, 0,
                            [&](unsigned char*) {
                              if (simt::block_x() == 1 && simt::thread_x() == 40) throw std::runtime_error("thrown");
                              simt::sync_block();
                            }),
               std::runtime_error);
  int after = 0;  // the emulator runs again after an error
  simt::launch(1, 32, 0, [&](unsigned char*) {
    simt::sync_warp();
    if (simt::thread_x() == 31) after = 1;
  });
  EXPECT_EQ(after, 1);
}

// Read noise's squared DAC codes as f16 hi + lo parts (square_half2): exact for every code
// pair of up to 8 bits, the lo part 0 for codes of up to 5 bits (one mma suffices there).
// The end-to-end cases above cannot see the lo parts: they move sigma by at most 2^-12
// relative, far below an ADC step.
TEST(WarpKernelPieces, SquaredDacCodesSplitExactlyIntoTwoHalfParts) {
  auto half_bits = [](float v) { return static_cast<std::uint32_t>(__half_as_ushort(__float2half_rn(v))); };
  auto to_float = [](std::uint32_t bits) { return __half2float(__ushort_as_half(static_cast<unsigned short>(bits))); };
  for (int a = 0; a < 256; ++a)
    for (int b = 0; b < 256; b += 17) {
      const std::uint32_t w = half_bits(static_cast<float>(a)) | (half_bits(static_cast<float>(b)) << 16);
      std::uint32_t hi = 0, lo = 0;
      cuda::detail::square_half2(w, hi, lo);
      ASSERT_EQ(to_float(hi & 0xffffu) + to_float(lo & 0xffffu), static_cast<float>(a * a)) << a;
      ASSERT_EQ(to_float(hi >> 16) + to_float(lo >> 16), static_cast<float>(b * b)) << b;
      if (a <= 45) {
        ASSERT_EQ(lo & 0xffffu, 0u) << a;
      }
    }
}

// The shared memory of row chunks: partial sums per read group fit, and with read noise
// (variances too) they do not: the one combination the warp kernel refuses
// (warp_kernel_refusal), for 128-column windows.
TEST(WarpKernelPieces, RowChunksHoldPartialSumsPerReadGroupExceptWithReadNoise) {
  const cuda::warp::ReadPlan groups = cuda::warp::read_plan(2, 11);  // signed 12-bit inputs
  ASSERT_EQ(groups.groups, 2);
  EXPECT_GT(detail::warp_chunking(512, 128, 16, groups, 1000, false).V, 0);
  EXPECT_EQ(detail::warp_chunking(512, 128, 16, groups, 1000, true).V, 0);
  EXPECT_GT(detail::warp_chunking(256, 128, 16, groups, 1000, true).V, 0);  // one piece: no partial sums
  EXPECT_GT(detail::warp_chunking(512, 128, 16, cuda::warp::read_plan(2, 7), 1000, true).V, 0);
}

// Column windows of tiles wider than 128 columns (kernels/cuda/host_matrix.cpp): every
// logical column in exactly one window that holds all its physical columns, windows
// starting at multiples of 16, the chips' row wide enough for every window.
TEST(ColumnWindows, CoverEveryLogicalColumnOnce) {
  HardwareConfig hw;
  hw.cols = 256;
  hw.weight_bits = 6;  // 6 physical columns per logical column: windows [0, 128) and [112, 240)
  const auto W = random_values(100 * 30, 8, -1.0f, 1.0f);
  const MappedMatrix mm = map_naive(W.data(), 100, 30, hw);
  const detail::HostMatrix hm = detail::host_matrix(mm);
  ASSERT_EQ(hm.n_col_tiles, 1);
  ASSERT_EQ(hm.n_windows, 2);
  EXPECT_EQ(hm.win_cols, 128);
  EXPECT_EQ(hm.win_col0, (std::vector<std::int32_t>{0, 112}));
  EXPECT_EQ(hm.cols_p, 240);
  std::vector<int> seen(30, 0);
  for (int w = 0; w < hm.n_windows; ++w)
    for (int j = 0; j < hm.ct_count[w]; ++j) {
      const int l = hm.ct_logical[w * hm.max_logical + j];
      ++seen[l];
      for (int e = hm.ct_start[w * (hm.max_logical + 1) + j]; e < hm.ct_start[w * (hm.max_logical + 1) + j + 1]; ++e) {
        const int c = hm.win_col0[w] + hm.ct_cols[w * hm.win_cols + e];
        EXPECT_EQ(mm.tiles[0].col_role[c].logical, l) << "window " << w << " column " << c;
      }
      EXPECT_EQ(hm.ct_start[w * (hm.max_logical + 1) + j + 1] - hm.ct_start[w * (hm.max_logical + 1) + j], 6);
    }
  EXPECT_EQ(seen, std::vector<int>(30, 1));
  // Up to 128 columns: one window per column tile, the whole of it.
  HardwareConfig narrow;
  const MappedMatrix mn = map_naive(W.data(), 100, 30, narrow);
  const detail::HostMatrix hn = detail::host_matrix(mn);
  EXPECT_EQ(hn.n_windows, hn.n_col_tiles);
  EXPECT_EQ(hn.win_cols, hn.cols_p);
  for (int w = 0; w < hn.n_windows; ++w) {
    EXPECT_EQ(hn.win_tile[w], w);
    EXPECT_EQ(hn.win_col0[w], 0);
  }
}

// A logical column spread over more than 128 physical columns fits no window: refused,
// naming the column (the CPU backend runs such mappings).
TEST(ColumnWindows, ALogicalColumnWiderThanAWindowIsRefused) {
  HardwareConfig hw;
  hw.cols = 256;
  const auto W = random_values(64 * 20, 9, -1.0f, 1.0f);
  MappedMatrix mm = map_naive(W.data(), 64, 20, hw);
  mm.tiles[0].col_role[200] = mm.tiles[0].col_role[0];  // logical column 0 now also on column 200
  try {
    detail::host_matrix(mm);
    ADD_FAILURE() << "a logical column on columns 0 to 200 was accepted";
  } catch (const Unsupported& e) {
    EXPECT_NE(std::string(e.what()).find("logical column 0"), std::string::npos) << e.what();
  }
}
