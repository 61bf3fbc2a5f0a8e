#include "xbarmc/model/executor.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <limits>
#include <mutex>

#include <cblas.h>
#include <fmt/format.h>

#include "xbarmc/errors.hpp"
#include "xbarmc/model/bind.hpp"
#include "xbarmc/model/ops.hpp"

namespace xbarmc::model {

void use_single_threaded_blas() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

namespace {

/// 64-byte aligned float storage.
struct AlignedBuffer {
  explicit AlignedBuffer(std::size_t floats) {
    const std::size_t bytes = std::max<std::size_t>(64, (floats * sizeof(float) + 63) / 64 * 64);
    data = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (!data) throw std::bad_alloc();
    std::memset(data, 0, bytes);
  }
  ~AlignedBuffer() { std::free(data); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  float* data = nullptr;
};

}  // namespace

struct Executor::Plan {
  struct Step {
    int node = -1;
    OpKernel* kernel = nullptr;
    std::vector<TensorView> in, out;
  };
  std::int64_t batch = 0;
  std::vector<std::unique_ptr<OpKernel>> kernels;
  std::vector<Step> steps;
  std::deque<Tensor> folded;  // values computed while planning (stable addresses)
  std::vector<std::unique_ptr<AlignedBuffer>> buffers;
  std::unique_ptr<AlignedBuffer> scratch;
  TensorView input;
  TensorView output;
  std::vector<Shape> value_shapes;          // by value index
  const Tensor* constant_output = nullptr;  // a graph whose output does not depend on the input
};

Executor::Executor(const Model& model, std::int64_t max_batch)
    : model_(model), max_batch_(model.fixed_batch() > 0 ? model.fixed_batch() : std::max<std::int64_t>(1, max_batch)) {
  use_single_threaded_blas();
}

Executor::~Executor() = default;

Executor::Plan& Executor::plan_for(std::int64_t batch) {
  for (auto& p : plans_)
    if (p->batch == batch) return *p;
  // Keep a few plans: the regular batch and the tail of a dataset.
  if (plans_.size() >= 4) plans_.erase(plans_.begin());

  const Graph& g = model_.graph();
  auto plan = std::make_unique<Plan>();
  plan->batch = batch;
  BoundGraph bg = bind_graph(model_, batch);
  const int V = static_cast<int>(g.value_names.size());
  const std::vector<ValueMeta>& meta = bg.meta;
  std::vector<BoundGraph::Step>& pending = bg.steps;
  plan->folded = std::move(bg.folded);  // a deque's move keeps its elements where they are

  // Buffer assignment with reuse. A storage holds one value and its views; it is freed
  // after the last step that reads any of them.
  const int S = static_cast<int>(pending.size());
  constexpr int kForever = std::numeric_limits<int>::max();
  std::vector<int> last_use(V, -1);
  for (int s = 0; s < S; ++s)
    for (int v : g.nodes[pending[s].node].inputs)
      if (v >= 0) last_use[v] = s;
  last_use[g.output] = kForever;

  std::vector<int> storage_of(V, -1);
  std::vector<std::size_t> storage_bytes;  // size needed per storage
  std::vector<int> storage_end;            // last step reading it
  std::vector<int> storage_block;          // block it lives in
  std::vector<std::size_t> block_bytes;    // capacity per block
  std::vector<int> free_blocks;
  auto new_storage = [&](int v, std::size_t bytes, int block) {
    const int st = static_cast<int>(storage_bytes.size());
    storage_bytes.push_back(bytes);
    storage_end.push_back(last_use[v]);
    if (block < 0) {
      // Best fit among free blocks; else grow the largest free one; else a new block.
      int best = -1;
      for (int b : free_blocks)
        if (block_bytes[b] >= bytes && (best < 0 || block_bytes[b] < block_bytes[best])) best = b;
      if (best < 0)
        for (int b : free_blocks)
          if (best < 0 || block_bytes[b] > block_bytes[best]) best = b;
      if (best >= 0) {
        free_blocks.erase(std::find(free_blocks.begin(), free_blocks.end(), best));
        block_bytes[best] = std::max(block_bytes[best], bytes);
        block = best;
      } else {
        block = static_cast<int>(block_bytes.size());
        block_bytes.push_back(bytes);
      }
    }
    storage_block.push_back(block);
    storage_of[v] = st;
  };
  auto value_bytes = [&](int v) { return static_cast<std::size_t>(numel(meta[v].shape)) * dtype_size(meta[v].dtype); };

  new_storage(g.input, value_bytes(g.input), -1);
  for (int s = 0; s < S; ++s) {
    const Node& n = g.nodes[pending[s].node];
    const BoundOp& b = pending[s].bound;
    for (std::size_t o = 0; o < b.outputs.size() && o < n.outputs.size(); ++o) {
      const int v = n.outputs[o];
      if (v < 0) continue;
      const int in0 = n.inputs.empty() ? -1 : n.inputs[0];
      const int st0 = in0 >= 0 && !meta[in0].value ? storage_of[in0] : -1;
      if (o == 0 && b.aliasing == Aliasing::view && st0 >= 0) {
        storage_of[v] = st0;
        storage_end[st0] = std::max(storage_end[st0], last_use[v]);
        continue;
      }
      bool in_place = o == 0 && b.aliasing == Aliasing::in_place && st0 >= 0 && storage_end[st0] == s &&
                      meta[in0].shape == meta[v].shape && meta[in0].dtype == meta[v].dtype;
      for (std::size_t k = 1; k < n.inputs.size() && in_place; ++k)
        in_place = n.inputs[k] < 0 || storage_of[n.inputs[k]] != st0;
      if (in_place) {
        storage_of[v] = st0;
        storage_end[st0] = std::max(storage_end[st0], last_use[v]);
        continue;
      }
      new_storage(v, value_bytes(v), -1);
      if (last_use[v] < 0) storage_end[storage_of[v]] = s;  // never read: free after this step
    }
    // Free the storages whose last reader is this step.
    for (int st = 0; st < static_cast<int>(storage_end.size()); ++st)
      if (storage_end[st] == s) {
        const int blk = storage_block[st];
        bool still_used = false;  // another live storage in the same block (in-place chains share blocks)
        for (int o2 = 0; o2 < static_cast<int>(storage_end.size()) && !still_used; ++o2)
          still_used = o2 != st && storage_block[o2] == blk && storage_end[o2] > s;
        if (!still_used && std::find(free_blocks.begin(), free_blocks.end(), blk) == free_blocks.end())
          free_blocks.push_back(blk);
      }
  }

  for (auto bytes : block_bytes) plan->buffers.push_back(std::make_unique<AlignedBuffer>((bytes + 3) / 4));
  auto view = [&](int v) -> TensorView {
    if (v < 0) return TensorView{};
    const ValueMeta& m = meta[v];
    if (m.value) return view_of(*m.value);
    return TensorView{m.dtype, m.shape, plan->buffers[storage_block[storage_of[v]]]->data};
  };
  std::size_t scratch = 16;
  for (auto& p : pending) {
    const Node& n = g.nodes[p.node];
    Plan::Step step;
    step.node = p.node;
    step.kernel = p.bound.kernel.get();
    for (int v : n.inputs) step.in.push_back(view(v));
    for (std::size_t o = 0; o < n.outputs.size(); ++o)
      step.out.push_back(o < p.bound.outputs.size() ? view(n.outputs[o]) : TensorView{});
    scratch = std::max(scratch, p.bound.kernel->scratch_floats());
    plan->kernels.push_back(std::move(p.bound.kernel));
    plan->steps.push_back(std::move(step));
  }
  plan->scratch = std::make_unique<AlignedBuffer>(scratch);
  plan->input = view(g.input);
  if (meta[g.output].value) {
    plan->constant_output = meta[g.output].value;
    plan->output = view_of(*meta[g.output].value);
  } else {
    plan->output = view(g.output);
  }
  if (numel(plan->output.shape) != batch * model_.num_classes() && model_.num_classes() > 0)
    throw InvalidInput(model_.path(),
                       fmt::format("the output '{}' has shape {} for a batch of {}; expected {} "
                                   "values per sample",
                                   g.output_name, shape_str(plan->output.shape), batch, model_.num_classes()));
  if (plan->output.dtype != DType::f32)
    throw InvalidInput(model_.path(), fmt::format("the graph output '{}' is {}, expected float logits", g.output_name,
                                                  dtype_name(plan->output.dtype)));
  plan->value_shapes.resize(V);
  for (int v = 0; v < V; ++v) plan->value_shapes[v] = meta[v].shape;  // empty for values never computed
  plans_.push_back(std::move(plan));
  return *plans_.back();
}

Shape Executor::output_shape(std::int64_t batch) { return plan_for(batch).output.shape; }

const std::vector<Shape>& Executor::value_shapes(std::int64_t batch) { return plan_for(batch).value_shapes; }

void Executor::run(const float* inputs, std::int64_t n, float* logits, MatmulProvider* provider,
                   std::vector<double>* node_seconds) {
  std::int64_t per_sample = 1;
  for (auto d : model_.input_shape()) per_sample *= d;
  const std::int64_t classes = model_.num_classes();
  RunContext ctx;
  ctx.layers = &model_.weight_layers();
  ctx.provider = provider;
  for (std::int64_t s0 = 0; s0 < n; s0 += max_batch_) {
    const std::int64_t cs = std::min(max_batch_, n - s0);
    // A model with a fixed batch runs full batches (the tail padded with zeros).
    Plan& p = plan_for(model_.fixed_batch() > 0 ? model_.fixed_batch() : cs);
    std::memcpy(p.input.data, inputs + s0 * per_sample, cs * per_sample * sizeof(float));
    if (p.batch > cs) std::memset(p.input.f() + cs * per_sample, 0, (p.batch - cs) * per_sample * sizeof(float));
    ctx.scratch = p.scratch->data;
    if (node_seconds) {
      using Clock = std::chrono::steady_clock;
      auto t = Clock::now();
      for (auto& step : p.steps) {
        step.kernel->run(step.in.data(), step.out.data(), ctx);
        const auto t1 = Clock::now();
        (*node_seconds)[static_cast<std::size_t>(step.node)] += std::chrono::duration<double>(t1 - t).count();
        t = t1;
      }
    } else {
      for (auto& step : p.steps) step.kernel->run(step.in.data(), step.out.data(), ctx);
    }
    std::memcpy(logits + s0 * classes, p.output.data, cs * classes * sizeof(float));
  }
}

}  // namespace xbarmc::model
