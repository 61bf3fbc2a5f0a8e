// Planning and running a network on the GPU (see network_cuda.cuh). The planner
// mirrors the CPU executor's: bind every node with model::bind_op (shape inference),
// fold what is known before the run, then give every remaining node a device kernel.

#include "network_cuda.cuh"

#include <algorithm>
#include <deque>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "ops_cuda.cuh"
#include "stage_timer.cuh"
#include "xbarmc/cuda/check.cuh"
#include "xbarmc/errors.hpp"
#include "xbarmc/model/bind.hpp"
#include "xbarmc/model/ops.hpp"

namespace xbarmc::cuda {

using model::DType;
using model::Node;
using model::Shape;
using model::Tensor;
using model::ValueMeta;

namespace {

std::int64_t numel(const Shape& s) {
  std::int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

[[noreturn]] void unsupported(const Node& n, const std::string& what) {
  throw Unsupported(fmt::format("node '{}' ({}): {} is not implemented on the CUDA backend; use --backend cpu", n.name,
                                n.op_type, what));
}

int norm_axis(std::int64_t a, int rank) { return static_cast<int>(a < 0 ? a + rank : a); }

void auto_pads(const std::string& mode, std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t d,
               std::int64_t* begin) {
  if (mode == "VALID") {
    *begin = 0;
  } else if (mode == "SAME_UPPER" || mode == "SAME_LOWER") {
    const std::int64_t out = (in + s - 1) / s;
    const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * s + (k - 1) * d + 1 - in);
    const std::int64_t small = total / 2, big = total - small;
    *begin = mode == "SAME_UPPER" ? small : big;
  }
}

}  // namespace

struct GpuNetwork::Impl {
  const model::Model& model;
  int trials;
  std::int64_t images, batch;
  cudaStream_t stream;
  std::deque<Tensor> folded;
  std::vector<ValueMeta> meta;
  std::vector<char> boolean;  // per value: a boolean activation, kept as float 0 / 1
  std::vector<char> same;     // per value: the same data for every trial (model::same_per_trial_values)
  std::vector<float*> ptr;    // device data of every activation and used constant
  std::vector<DeviceBuffer<float>> slots;
  std::map<int, DeviceBuffer<float>> const_f;
  std::map<int, DeviceBuffer<std::int64_t>> const_i;
  DeviceBuffer<double> scratch;
  std::int64_t scratch_items = 0;
  std::vector<std::function<void(const CrossbarBinding&)>> steps;
  std::vector<std::string> step_stage;  // per step: its node's stage name (--profile)
  std::vector<montecarlo::StageKind> step_kind;
  std::size_t bytes = 0;

  Impl(const model::Model& m, int t, std::int64_t b, cudaStream_t s)
      : model(m), trials(t), images(b), batch(static_cast<std::int64_t>(t) * b), stream(s) {}

  const float* dev_float(int v) {
    if (ptr[v]) return ptr[v];
    const ValueMeta& m = meta[v];
    if (!m.value) throw Error("internal: a value without data on the GPU");
    auto it = const_f.emplace(v, DeviceBuffer<float>::from_host(m.value->as_floats())).first;
    return it->second.data();
  }
  const std::int64_t* dev_ints(int v) {
    auto it = const_i.find(v);
    if (it == const_i.end())
      it = const_i.emplace(v, DeviceBuffer<std::int64_t>::from_host(meta[v].value->as_ints())).first;
    return it->second.data();
  }
  void plan(bool allocate);
  void add_step(int node_index, const Node& n);
  void add_node(int node_index, const Node& n);
  void add_digital(int node_index, const Node& n);
  void add_crossbar(int node_index, const Node& n);
};

void GpuNetwork::Impl::plan(bool allocate) {
  const model::Graph& g = model.graph();
  const int V = static_cast<int>(g.value_names.size());
  ptr.assign(V, nullptr);
  model::BoundGraph bg = model::bind_graph(model, batch);
  // Boolean activations (comparisons, logical operators, ...) are kept as float 0 / 1;
  // other integer activations are refused. (Classified before bg.meta is moved out.)
  boolean = model::boolean_activations(model, bg);
  same = model::same_per_trial_values(model, bg, trials);
  meta = std::move(bg.meta);
  folded = std::move(bg.folded);  // a deque's move keeps its elements where they are
  std::vector<int> pending;
  for (const auto& st : bg.steps) {
    const Node& n = g.nodes[st.node];
    for (int v : n.outputs)
      if (v >= 0 && meta[v].dtype != DType::f32 && !boolean[static_cast<std::size_t>(v)])
        unsupported(n,
                    "an integer activation computed at run time (only boolean ones, from comparisons, logical "
                    "operators, Not or a Cast to bool, run on the GPU)");
    pending.push_back(st.node);
  }
  if (meta[g.output].value) throw Unsupported("a network whose output does not depend on its input");
  if (meta[g.output].dtype != DType::f32)
    throw Unsupported("a network whose output is an integer or boolean tensor (the CUDA backend ranks float scores)");

  // Storage by lifetime: a storage is freed after the last step that reads any value in it.
  const int S = static_cast<int>(pending.size());
  std::vector<int> last_use(V, -1);
  for (int s = 0; s < S; ++s)
    for (int v : g.nodes[pending[s]].inputs)
      if (v >= 0) last_use[v] = s;
  last_use[g.output] = std::numeric_limits<int>::max();
  std::vector<int> storage_of(V, -1), storage_slot, storage_end;
  std::vector<std::size_t> slot_size;
  std::vector<int> free_slots;
  auto assign = [&](int v, int step) {
    const std::size_t need = static_cast<std::size_t>(numel(meta[v].shape));
    int best = -1;
    for (int sl : free_slots)
      if (slot_size[sl] >= need && (best < 0 || slot_size[sl] < slot_size[best])) best = sl;
    if (best < 0 && !free_slots.empty())
      best = *std::max_element(free_slots.begin(), free_slots.end(),
                               [&](int a, int b) { return slot_size[a] < slot_size[b]; });
    if (best >= 0) {
      free_slots.erase(std::find(free_slots.begin(), free_slots.end(), best));
      slot_size[best] = std::max(slot_size[best], need);
    } else {
      best = static_cast<int>(slot_size.size());
      slot_size.push_back(need);
    }
    storage_of[v] = static_cast<int>(storage_slot.size());
    storage_slot.push_back(best);
    storage_end.push_back(last_use[v] < 0 ? step : last_use[v]);
  };
  assign(g.input, -1);
  for (int s = 0; s < S; ++s) {
    const Node& n = g.nodes[pending[s]];
    for (std::size_t o = 0; o < n.outputs.size(); ++o) {
      const int v = n.outputs[o];
      if (v < 0) continue;
      const int in0 = n.inputs.empty() ? -1 : n.inputs[0];
      if (o == 0 && model::is_view_op(n.op_type) && in0 >= 0 && storage_of[in0] >= 0) {
        storage_of[v] = storage_of[in0];
        storage_end[storage_of[v]] = std::max(storage_end[storage_of[v]], last_use[v]);
        continue;
      }
      assign(v, s);
    }
    for (int st = 0; st < static_cast<int>(storage_end.size()); ++st) {
      if (storage_end[st] != s) continue;
      bool shared = false;  // another live storage in the same slot
      for (int o2 = 0; o2 < static_cast<int>(storage_end.size()) && !shared; ++o2)
        shared = o2 != st && storage_slot[o2] == storage_slot[st] && storage_end[o2] > s;
      if (!shared && std::find(free_slots.begin(), free_slots.end(), storage_slot[st]) == free_slots.end())
        free_slots.push_back(storage_slot[st]);
    }
  }
  bytes = 0;
  for (auto sz : slot_size) bytes += sz * sizeof(float);
  if (!allocate) return;
  for (auto sz : slot_size) slots.emplace_back(std::max<std::size_t>(sz, 1));
  for (int v = 0; v < V; ++v)
    if (storage_of[v] >= 0) ptr[v] = slots[storage_slot[storage_of[v]]].data();
  for (int k : pending) add_step(k, g.nodes[k]);
}

void GpuNetwork::Impl::add_crossbar(int k, const Node& n) {
  const int layer = model.node_layer(k);
  const model::WeightLayer& wl = model.weight_layers()[layer];
  const bool relu = model.node_fused_relu(k);
  const int xin = wl.constant_first ? n.inputs[1] : n.inputs[0];
  const Shape xs = meta[xin].shape;
  const Shape ys = meta[n.outputs[0]].shape;
  LayerGeometry geo;
  geo.K = wl.K;
  geo.M = wl.M;
  geo.groups = wl.groups;
  if (wl.op_type == "Conv") {
    geo.conv = true;
    geo.C = xs[1];
    geo.H = xs.size() == 4 ? xs[2] : 1;
    geo.W = xs.back();
    geo.OH = ys.size() == 4 ? ys[2] : 1;
    geo.OW = ys.back();
    geo.kh = wl.kernel_h;
    geo.kw = wl.kernel_w;
    geo.sh = wl.stride_h;
    geo.sw = wl.stride_w;
    geo.dh = wl.dilation_h;
    geo.dw = wl.dilation_w;
    geo.pt = wl.pad_top;
    geo.pl = wl.pad_left;
    if (wl.auto_pad != "NOTSET") {
      auto_pads(wl.auto_pad, geo.H, geo.kh, geo.sh, geo.dh, &geo.pt);
      auto_pads(wl.auto_pad, geo.W, geo.kw, geo.sw, geo.dw, &geo.pl);
    }
    geo.positions = geo.OH * geo.OW;
  } else {
    if (n.op_type == "Gemm" && n.attr_int("transA", 0) != 0) unsupported(n, "Gemm with transA = 1");
    if (wl.constant_first) {
      geo.transposed_input = true;
      geo.positions = xs.back();
    } else {
      geo.positions = numel(xs) / batch / (wl.K * wl.groups);
    }
  }
  if (numel(xs) / batch * batch != numel(xs)) unsupported(n, "an input whose leading dim is not the batch");
  const float* in = dev_float(xin);
  float* out = ptr[n.outputs[0]];
  const float* bias = nullptr;
  if (!wl.bias.empty()) {
    auto it = const_f.emplace(-1000 - layer, DeviceBuffer<float>::from_host(wl.bias)).first;
    bias = it->second.data();
  }
  const int trials_ = trials;
  const std::int64_t images_ = images;
  // Every trial's input holds the same images: the float reference once, for the first trial.
  const bool same_input = same[static_cast<std::size_t>(xin)] != 0;
  const auto launch_of = [layer, geo, in, out, bias, relu, trials_, images_, same_input](const CrossbarBinding& b,
                                                                                         int g) {
    CrossbarLaunch l;
    l.m = b.matrices[layer][g];
    l.geo = geo;
    l.group = g;
    l.xq = b.quantizers[layer][g];
    l.leff_hi = b.hi[layer][g];
    l.leff_lo = b.lo[layer][g];
    l.trials = trials_;
    l.samples_per_trial = images_;
    l.run_samples_per_trial = b.run_images;
    l.in = in;
    l.out = out;
    l.same_input_per_trial = same_input;
    l.bias = bias;
    l.relu = relu;
    l.weights = b.weights[layer][g];
    l.errors = b.errors[layer][g];
    l.seed = b.seed;
    l.trial0 = b.trial0;
    l.layer_id = b.ids[layer][g];
    l.vector_base = b.first_image * geo.positions;
    return l;
  };
  // Two steps, timed apart by --profile: the float reference of the error sums into the
  // outputs ("OP NODE reference"), then the crossbar reads, which write over it.
  steps.push_back([this, launch_of, geo](const CrossbarBinding& b) {
    for (int g = 0; g < geo.groups; ++g) {
      const CrossbarLaunch l = launch_of(b, g);
      crossbar_kernel(l);  // refusals first, before anything runs
      crossbar_reference(l, stream);
    }
  });
  step_stage.push_back(montecarlo::node_stage_name(model, k) + " reference");
  step_kind.push_back(montecarlo::StageKind::crossbar);
  steps.push_back([this, launch_of, geo](const CrossbarBinding& b) {
    for (int g = 0; g < geo.groups; ++g) {
      CrossbarLaunch l = launch_of(b, g);
      const std::int64_t items = crossbar_items(l);
      if (items > scratch_items) {  // grows on the first run only
        scratch = DeviceBuffer<double>(static_cast<std::size_t>(2 * items));
        scratch_items = items;
      }
      l.scratch = scratch.data();
      crossbar_products(l, stream);
    }
  });
}

void GpuNetwork::Impl::add_step(int k, const Node& n) {
  add_node(k, n);
  step_stage.resize(steps.size(), montecarlo::node_stage_name(model, k));
  step_kind.resize(steps.size(), montecarlo::node_stage_kind(model, k));
}

void GpuNetwork::Impl::add_node(int k, const Node& n) {
  if (model.node_layer(k) >= 0) return add_crossbar(k, n);  // ReLU fused in the crossbar kernel
  const std::size_t before = steps.size();
  add_digital(k, n);
  if (model.node_fused_relu(k)) {
    if (steps.size() == before) unsupported(n, "a ReLU fused into a view");
    float* y = ptr[n.outputs[0]];
    const std::int64_t cnt = numel(meta[n.outputs[0]].shape);
    cudaStream_t s = stream;
    steps.push_back(
        [=](const CrossbarBinding&) { ops::unary(model::UnaryOp::relu, model::UnaryParams{}, y, y, cnt, s); });
  }
}

void GpuNetwork::Impl::add_digital(int k, const Node& n) {
  const std::string& op = n.op_type;
  if (model::is_view_op(op)) return;  // aliases its input's storage
  cudaStream_t s = stream;
  const int yv = n.outputs.empty() ? -1 : n.outputs[0];
  float* y = yv >= 0 ? ptr[yv] : nullptr;
  const Shape sy = yv >= 0 ? meta[yv].shape : Shape{};
  auto in_shape = [&](int i) { return meta[n.inputs[i]].shape; };
  static const std::map<std::string, ops::Binary> binary_ops = {
      {"Add", ops::Binary::add},
      {"Sub", ops::Binary::sub},
      {"Mul", ops::Binary::mul},
      {"Div", ops::Binary::div},
      {"Pow", ops::Binary::pow_},
      {"Max", ops::Binary::max_},
      {"Min", ops::Binary::min_},
      {"Sum", ops::Binary::add},
      {"Mod", ops::Binary::mod},
      {"PRelu", ops::Binary::prelu},
      // comparisons and logical operators: booleans as float 0 / 1 (model::apply_compare)
      {"Equal", ops::Binary::equal},
      {"Less", ops::Binary::less},
      {"Greater", ops::Binary::greater},
      {"LessOrEqual", ops::Binary::less_eq},
      {"GreaterOrEqual", ops::Binary::greater_eq},
      {"And", ops::Binary::and_},
      {"Or", ops::Binary::or_},
      {"Xor", ops::Binary::xor_}};
  std::vector<ValueMeta> in;
  for (int v : n.inputs) in.push_back(v >= 0 ? meta[v] : ValueMeta{});
  model::BindContext ctx;
  ctx.source = model.path();
  ctx.opset = model.graph().opset;
  if (op == "Cast") {  // float and boolean activations (other integers are refused in plan)
    const float* x = dev_float(n.inputs[0]);
    const std::int64_t cnt = numel(sy);
    if (n.attr_int("to", 1) == 9 && !boolean[static_cast<std::size_t>(n.inputs[0])]) {
      // float to bool: x != 0, as Not twice (the CPU's Cast: v != 0.0f)
      steps.push_back([=](const CrossbarBinding&) {
        ops::unary(model::UnaryOp::not_, model::UnaryParams{}, x, y, cnt, s);
        ops::unary(model::UnaryOp::not_, model::UnaryParams{}, y, y, cnt, s);
      });
      return;
    }
    // float to float, boolean to float or to an integer type: the values stay
    steps.push_back(
        [=](const CrossbarBinding&) { ops::unary(model::UnaryOp::identity, model::UnaryParams{}, x, y, cnt, s); });
    return;
  }
  if (const auto u = model::unary_binding(n, in, ctx)) {
    const float* x = dev_float(n.inputs[0]);
    const std::int64_t cnt = numel(sy);
    const model::UnaryBinding ub = *u;
    steps.push_back([=](const CrossbarBinding&) { ops::unary(ub.op, ub.params, x, y, cnt, s); });
    return;
  }
  if (auto b = binary_ops.find(op); b != binary_ops.end()) {
    if (n.input_count() == 1 && (op == "Max" || op == "Min" || op == "Sum")) {  // variadic, one operand: a copy
      const float* x = dev_float(n.inputs[0]);
      const std::int64_t cnt = numel(sy);
      steps.push_back(
          [=](const CrossbarBinding&) { ops::unary(model::UnaryOp::identity, model::UnaryParams{}, x, y, cnt, s); });
      return;
    }
    if (n.input_count() != 2) unsupported(n, "more than two inputs");
    const float* a = dev_float(n.inputs[0]);
    const float* c = dev_float(n.inputs[1]);
    const Shape sa = in_shape(0), sb = in_shape(1);
    const ops::Binary bop = b->second;
    steps.push_back([=](const CrossbarBinding&) { ops::binary(bop, a, sa, c, sb, y, sy, s); });
    return;
  }
  if (op == "Where") {  // float (or boolean) branches
    const float* a = dev_float(n.inputs[1]);
    const float* b = dev_float(n.inputs[2]);
    const Shape sc = in_shape(0), sa = in_shape(1), sb = in_shape(2);
    if (!meta[n.inputs[0]].value) {  // a condition computed at run time: a boolean activation (float 0 / 1)
      const float* c = dev_float(n.inputs[0]);
      steps.push_back([=](const CrossbarBinding&) { ops::where(c, sc, a, sa, b, sb, y, sy, s); });
      return;
    }
    const std::int64_t* c = dev_ints(n.inputs[0]);  // a mask known before the run
    steps.push_back([=](const CrossbarBinding&) { ops::where(c, sc, a, sa, b, sb, y, sy, s); });
    return;
  }
  if (op == "Expand") {
    const float* x = dev_float(n.inputs[0]);
    const Shape sx = in_shape(0);
    steps.push_back([=](const CrossbarBinding&) { ops::expand(x, sx, y, sy, s); });
    return;
  }
  if (op == "Transpose") {
    const Shape sx = in_shape(0);
    std::vector<std::int64_t> perm = n.attr_ints("perm");
    if (perm.empty())
      for (int d = static_cast<int>(sx.size()) - 1; d >= 0; --d) perm.push_back(d);
    const float* x = dev_float(n.inputs[0]);
    steps.push_back([=](const CrossbarBinding&) { ops::transpose(x, sx, perm, y, s); });
    return;
  }
  if (op == "Gather") {
    const Shape sx = in_shape(0);
    const int axis = norm_axis(n.attr_int("axis", 0), static_cast<int>(sx.size()));
    if (!meta[n.inputs[1]].value) unsupported(n, "indices computed at run time");
    const std::int64_t* idx = dev_ints(n.inputs[1]);
    const std::int64_t nidx = meta[n.inputs[1]].value->size();
    const float* x = dev_float(n.inputs[0]);
    steps.push_back([=](const CrossbarBinding&) { ops::gather(x, sx, axis, idx, nidx, y, s); });
    return;
  }
  if (op == "Concat") {
    const int axis = norm_axis(n.attr_int("axis", 0), static_cast<int>(sy.size()));
    std::vector<std::pair<const float*, Shape>> parts;
    for (int i = 0; i < n.input_count(); ++i)
      if (n.has_input(i)) parts.emplace_back(dev_float(n.inputs[i]), in_shape(i));
    steps.push_back([=](const CrossbarBinding&) {
      std::int64_t off = 0;
      for (const auto& [x, sx] : parts) {
        ops::concat_part(x, sx, axis, off, y, sy, s);
        off += sx[axis];
      }
    });
    return;
  }
  if (op == "Slice") {
    const Shape sx = in_shape(0);
    const int r = static_cast<int>(sx.size());
    auto ints = [&](int i) {
      if (!n.has_input(i)) return std::vector<std::int64_t>{};
      if (!meta[n.inputs[i]].value) unsupported(n, "slice bounds computed at run time");
      return meta[n.inputs[i]].value->as_ints();
    };
    std::vector<std::int64_t> starts = n.inputs.size() > 1 ? ints(1) : n.attr_ints("starts");
    std::vector<std::int64_t> ends = n.inputs.size() > 2 ? ints(2) : n.attr_ints("ends");
    std::vector<std::int64_t> axes = n.inputs.size() > 3 ? ints(3) : n.attr_ints("axes");
    std::vector<std::int64_t> stp = n.inputs.size() > 4 ? ints(4) : std::vector<std::int64_t>{};
    if (axes.empty())
      for (std::size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<std::int64_t>(i));
    if (stp.empty()) stp.assign(starts.size(), 1);
    std::vector<std::int64_t> start(r, 0), step(r, 1);
    for (std::size_t i = 0; i < starts.size(); ++i) {
      const int a = norm_axis(axes[i], r);
      const std::int64_t dim = sx[a];
      std::int64_t st = starts[i];
      if (st < 0) st += dim;
      st = stp[i] > 0 ? std::clamp<std::int64_t>(st, 0, dim) : std::clamp<std::int64_t>(st, 0, dim - 1);
      start[a] = sy[a] > 0 ? st : 0;
      step[a] = stp[i];
    }
    (void)ends;
    const float* x = dev_float(n.inputs[0]);
    steps.push_back([=](const CrossbarBinding&) { ops::slice(x, sx, start, step, y, sy, s); });
    return;
  }
  if (op == "MaxPool" || op == "AveragePool") {
    const Shape sx = in_shape(0);
    const int sd = static_cast<int>(sx.size()) - 2;
    ops::Pool p;
    p.max = op == "MaxPool";
    p.count_include_pad = n.attr_int("count_include_pad", 0) != 0;
    const auto ks = n.attr_ints("kernel_shape");
    const auto st = n.attr_ints("strides", std::vector<std::int64_t>(sd, 1));
    const auto di = n.attr_ints("dilations", std::vector<std::int64_t>(sd, 1));
    const auto pads = n.attr_ints("pads", std::vector<std::int64_t>(2 * sd, 0));
    const std::string ap = n.attr_text("auto_pad", "NOTSET");
    p.N = sx[0];
    p.C = sx[1];
    p.H = sd == 2 ? sx[2] : 1;
    p.W = sx.back();
    p.OH = sd == 2 ? sy[2] : 1;
    p.OW = sy.back();
    p.kh = sd == 2 ? ks[0] : 1;
    p.kw = ks.back();
    p.sh = sd == 2 ? st[0] : 1;
    p.sw = st.back();
    p.dh = sd == 2 ? di[0] : 1;
    p.dw = di.back();
    p.pt = sd == 2 ? pads[0] : 0;
    p.pl = sd == 2 ? pads[1] : pads[0];
    if (ap != "NOTSET") {
      auto_pads(ap, p.H, p.kh, p.sh, p.dh, &p.pt);
      auto_pads(ap, p.W, p.kw, p.sw, p.dw, &p.pl);
    }
    const float* x = dev_float(n.inputs[0]);
    steps.push_back([=](const CrossbarBinding&) { ops::pool2d(p, x, y, s); });
    return;
  }
  if (op == "GlobalAveragePool" || op == "GlobalMaxPool") {
    const Shape sx = in_shape(0);
    const std::int64_t planes = sx[0] * sx[1], size = numel(sx) / planes;
    const float* x = dev_float(n.inputs[0]);
    const bool max = op == "GlobalMaxPool";
    steps.push_back([=](const CrossbarBinding&) { ops::global_pool(max, x, planes, size, y, s); });
    return;
  }
  if (const auto rb = model::reduce_binding(n, in, ctx)) {
    const Shape sx = in_shape(0);
    const float* x = dev_float(n.inputs[0]);
    if (rb->copy) {
      const std::int64_t cnt = numel(sx);
      steps.push_back(
          [=](const CrossbarBinding&) { ops::unary(model::UnaryOp::identity, model::UnaryParams{}, x, y, cnt, s); });
      return;
    }
    const model::Reduce rop = rb->op;
    const std::vector<char> reduced = rb->reduced;
    steps.push_back([=](const CrossbarBinding&) { ops::reduce(rop, x, sx, reduced, y, s); });
    return;
  }
  if (const auto im = model::index_map_binding(n, in, ctx)) {
    const Shape sx = in_shape(0);
    const float* x = dev_float(n.inputs[0]);
    const model::IndexMap mode = im->mode;
    const std::vector<std::int64_t> lead = im->lead;
    const float value = static_cast<float>(im->value);
    steps.push_back([=](const CrossbarBinding&) { ops::index_map(mode, x, sx, lead, value, y, sy, s); });
    return;
  }
  if (op == "Split") {  // each output a slice along the axis, sized by the CPU's binding
    const Shape sx = in_shape(0);
    const int r = static_cast<int>(sx.size());
    const int axis = norm_axis(n.attr_int("axis", 0), r);
    const float* x = dev_float(n.inputs[0]);
    const model::BoundOp bound = model::bind_op(n, in, ctx);  // every output's shape, omitted ones too
    std::int64_t offset = 0;
    for (std::size_t o = 0; o < n.outputs.size(); ++o) {
      const int v = n.outputs[o];
      const Shape so = bound.outputs.at(o).shape;
      if (v >= 0 && ptr[v]) {
        std::vector<std::int64_t> start(r, 0), step(r, 1);
        start[axis] = offset;
        float* yo = ptr[v];
        steps.push_back([=](const CrossbarBinding&) { ops::slice(x, sx, start, step, yo, so, s); });
      }
      offset += so[axis];
    }
    return;
  }
  if (op == "Softmax" || op == "LogSoftmax") {
    const Shape sx = in_shape(0);
    const int r = static_cast<int>(sx.size());
    const int opset = model.graph().opset;
    const int axis = norm_axis(n.attr_int("axis", opset >= 13 ? -1 : 1), r);
    std::int64_t outer = 1, dim = 1, inner = 1;
    for (int d = 0; d < r; ++d) {
      if (d < axis)
        outer *= sx[d];
      else if (d == axis || opset < 13)
        dim *= sx[d];
      else
        inner *= sx[d];
    }
    const float* x = dev_float(n.inputs[0]);
    const bool log = op == "LogSoftmax";
    steps.push_back([=](const CrossbarBinding&) { ops::softmax(x, outer, dim, inner, log, y, s); });
    return;
  }
  if (op == "LayerNormalization") {
    const Shape sx = in_shape(0);
    const int r = static_cast<int>(sx.size());
    const int axis = norm_axis(n.attr_int("axis", -1), r);
    std::int64_t rows = 1, cols = 1;
    for (int d = 0; d < r; ++d) (d < axis ? rows : cols) *= sx[d];
    const float* x = dev_float(n.inputs[0]);
    const float* scale = dev_float(n.inputs[1]);
    const float* bias = n.has_input(2) ? dev_float(n.inputs[2]) : nullptr;
    const float eps = n.attr_float("epsilon", 1e-5f);
    steps.push_back([=](const CrossbarBinding&) { ops::layer_norm(x, rows, cols, scale, bias, eps, y, s); });
    return;
  }
  if (op == "BatchNormalization") {
    const Shape sx = in_shape(0);
    for (int i = 1; i <= 4; ++i)
      if (!meta[n.inputs[i]].value) unsupported(n, "batch-norm parameters computed at run time");
    const auto sc = meta[n.inputs[1]].value->as_floats(), bb = meta[n.inputs[2]].value->as_floats(),
               mean = meta[n.inputs[3]].value->as_floats(), var = meta[n.inputs[4]].value->as_floats();
    const float eps = n.attr_float("epsilon", 1e-5f);
    std::vector<float> a(sc.size()), b(sc.size());
    for (std::size_t c = 0; c < sc.size(); ++c) {
      a[c] = sc[c] / std::sqrt(var[c] + eps);
      b[c] = bb[c] - mean[c] * a[c];
    }
    const float* da = const_f.emplace(-2000 - k, DeviceBuffer<float>::from_host(a)).first->second.data();
    const float* db = const_f.emplace(-3000 - k, DeviceBuffer<float>::from_host(b)).first->second.data();
    const std::int64_t N = sx[0], C = sx[1], inner = numel(sx) / (N * C);
    const float* x = dev_float(n.inputs[0]);
    steps.push_back([=](const CrossbarBinding&) { ops::channel_affine(x, N, C, inner, da, db, y, s); });
    return;
  }
  if (op == "MatMul") {
    const Shape sa = in_shape(0), sb = in_shape(1);
    if (sa.size() < 2 || sb.size() < 2) unsupported(n, "MatMul of a vector");
    const float* a = dev_float(n.inputs[0]);
    const float* b = dev_float(n.inputs[1]);
    steps.push_back([=](const CrossbarBinding&) { ops::matmul(a, sa, b, sb, y, sy, s); });
    return;
  }
  unsupported(n, "this operator");
}

GpuNetwork::GpuNetwork(const model::Model& model, int trials, std::int64_t images_per_trial, cudaStream_t stream)
    : impl_(std::make_unique<Impl>(model, trials, images_per_trial, stream)) {
  impl_->plan(true);
  input_ = impl_->ptr[model.graph().input];
  output_ = impl_->ptr[model.graph().output];
  activation_bytes_ = impl_->bytes;
}

GpuNetwork::~GpuNetwork() = default;

void GpuNetwork::run(const CrossbarBinding& binding, StageTimer* timer) {
  for (std::size_t i = 0; i < impl_->steps.size(); ++i) {
    if (timer) timer->mark(impl_->step_stage[i], impl_->step_kind[i]);
    impl_->steps[i](binding);
  }
}

std::size_t GpuNetwork::bytes_per_sample(const model::Model& model) {
  Impl probe(model, 1, 1, nullptr);
  probe.plan(false);
  return probe.bytes;
}

}  // namespace xbarmc::cuda
