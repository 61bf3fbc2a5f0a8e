#include "xbarmc/montecarlo/progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include <fmt/format.h>

namespace xbarmc::montecarlo {

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  if (s < 60) return fmt::format("{:.1f}s", s);
  const auto m = static_cast<long>(s / 60);
  if (m < 60) return fmt::format("{}m{:02d}s", m, static_cast<int>(s - 60.0 * m));
  return fmt::format("{}h{:02d}m", m / 60, static_cast<int>(m % 60));
}

Progress::Progress(std::int64_t total_trials, std::int64_t images, bool enabled)
    : total_(total_trials), images_(images), enabled_(enabled), tty_(::isatty(STDERR_FILENO) == 1) {
  start_ = last_ = std::chrono::steady_clock::now();
}

void Progress::add(std::int64_t trials) {
  std::lock_guard<std::mutex> lock(mutex_);
  done_ += trials;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_).count();
  if (since >= (tty_ ? 0.2 : 5.0)) {
    last_ = now;
    print(false);
  }
}

void Progress::extend(std::int64_t more) {
  std::lock_guard<std::mutex> lock(mutex_);
  total_ += more;
}

void Progress::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  print(true);
}

void Progress::print(bool final) {
  if (!enabled_) return;
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = t > 0 ? static_cast<double>(done_) * images_ / t : 0.0;
  const double eta = done_ > 0 ? t * static_cast<double>(total_ - done_) / static_cast<double>(done_) : NAN;
  const std::string stats = fmt::format("{}/{} trials  {:.0f} trial-images/s  elapsed {}  ETA {}", done_, total_, rate,
                                        format_duration(t), final ? "0s" : format_duration(eta));
  if (tty_) {
    constexpr int width = 30;
    const int fill = total_ > 0 ? static_cast<int>(width * done_ / total_) : width;
    std::fprintf(stderr, "\r[%s%s] %s\033[K%s", std::string(fill, '#').c_str(), std::string(width - fill, '.').c_str(),
                 stats.c_str(), final ? "\n" : "");
  } else {
    std::fprintf(stderr, "progress: %s\n", stats.c_str());
  }
  std::fflush(stderr);
}

}  // namespace xbarmc::montecarlo
