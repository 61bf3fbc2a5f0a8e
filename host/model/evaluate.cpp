#include "xbarmc/model/evaluate.hpp"

#include <algorithm>
#include <exception>
#include <memory>

#include <omp.h>

#include "xbarmc/backend.hpp"
#include "xbarmc/model/executor.hpp"

namespace xbarmc::model {

std::vector<float> run_batched(const Model& model, const float* inputs, std::int64_t n, MatmulProvider* provider,
                               int threads, std::int64_t batch) {
  std::int64_t per_sample = 1;
  for (auto d : model.input_shape()) per_sample *= d;
  const std::int64_t classes = model.num_classes();
  std::vector<float> logits(static_cast<std::size_t>(n * classes));
  batch = std::max<std::int64_t>(1, batch);
  const std::int64_t batches = (n + batch - 1) / batch;
  const int t = static_cast<int>(
      std::min<std::int64_t>(std::max(1, resolve_threads(threads)), std::max<std::int64_t>(1, batches)));
  use_single_threaded_blas();
  std::exception_ptr error;  // an exception must not leave an OpenMP region
#pragma omp parallel num_threads(t)
  {
    std::unique_ptr<Executor> ex;
#pragma omp for schedule(dynamic)
    for (std::int64_t b = 0; b < batches; ++b) {
      try {
        if (!ex) ex = std::make_unique<Executor>(model, batch);
        const std::int64_t s0 = b * batch, cs = std::min(batch, n - s0);
        ex->run(inputs + s0 * per_sample, cs, logits.data() + s0 * classes, provider);
      } catch (...) {
#pragma omp critical(xbarmc_run_batched_error)
        if (!error) error = std::current_exception();
      }
    }
  }
  if (error) std::rethrow_exception(error);
  return logits;
}

std::int64_t argmax(const float* logits, std::int64_t classes) {
  std::int64_t best = 0;
  for (std::int64_t c = 1; c < classes; ++c)
    if (logits[c] > logits[best]) best = c;
  return best;
}

Accuracy accuracy(const float* logits, std::int64_t n, std::int64_t classes, const std::int32_t* labels) {
  Accuracy a;
  a.count = n;
  for (std::int64_t s = 0; s < n; ++s) {
    const float* l = logits + s * classes;
    const std::int32_t y = labels[s];
    if (argmax(l, classes) == y) ++a.top1;
    if (y < 0 || y >= classes) continue;
    // Rank of the label: classes with a larger logit (or equal and a lower index) come first.
    std::int64_t rank = 0;
    for (std::int64_t c = 0; c < classes; ++c) rank += l[c] > l[y] || (l[c] == l[y] && c < y);
    if (rank < 5) ++a.top5;
  }
  return a;
}

}  // namespace xbarmc::model
