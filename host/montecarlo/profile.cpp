#include "xbarmc/montecarlo/profile.hpp"

#include <algorithm>
#include <array>
#include <sstream>

#include <fmt/format.h>

#include "xbarmc/model/model.hpp"

namespace xbarmc::montecarlo {

const char* stage_kind_name(StageKind kind) {
  switch (kind) {
    case StageKind::chips:
      return "chips";
    case StageKind::crossbar:
      return "crossbar";
    case StageKind::digital:
      return "digital";
    case StageKind::transfer:
      return "transfer";
  }
  return "?";
}

std::string node_stage_name(const model::Model& model, int node) {
  const model::Node& n = model.graph().nodes.at(static_cast<std::size_t>(node));
  return n.op_type + " " + n.name;
}

StageKind node_stage_kind(const model::Model& model, int node) {
  return model.node_layer(node) >= 0 ? StageKind::crossbar : StageKind::digital;
}

void StageProfile::set_clock(std::string clock) {
  std::lock_guard<std::mutex> lock(mutex_);
  clock_ = std::move(clock);
}

void StageProfile::add(const std::string& name, StageKind kind, double seconds, std::int64_t calls) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = index_.find(name);
  if (it == index_.end()) {
    it = index_.emplace(name, stages_.size()).first;
    stages_.push_back(Stage{name, kind, 0, 0.0});
  }
  Stage& s = stages_[it->second];
  s.calls += calls;
  s.seconds += seconds;
}

std::vector<StageProfile::Stage> StageProfile::stages() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<Stage> out;
  for (const auto& s : stages_)
    if (s.calls > 0) out.push_back(s);
  return out;
}

double StageProfile::total_seconds() const {
  std::lock_guard<std::mutex> lock(mutex_);
  double t = 0.0;
  for (const auto& s : stages_) t += s.seconds;
  return t;
}

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace

std::string StageProfile::csv() const {
  const std::vector<Stage> st = stages();
  const double total = total_seconds();
  std::ostringstream os;
  os << "stage,kind,calls,seconds,share\n";
  for (const auto& s : st) {
    os << csv_field(s.name) << ',' << stage_kind_name(s.kind) << ',' << s.calls << ','
       << fmt::format("{:.9g},{:.6f}", s.seconds, total > 0.0 ? s.seconds / total : 0.0) << '\n';
  }
  return os.str();
}

std::string StageProfile::table(std::size_t top) const {
  std::vector<Stage> st = stages();
  const double total = total_seconds();
  const auto share = [&](double s) { return total > 0.0 ? 100.0 * s / total : 0.0; };
  std::string out = fmt::format("time by stage ({}; {:.3f} s in all):\n", clock(), total);
  std::array<double, 4> by_kind{};
  for (const auto& s : st) by_kind[static_cast<std::size_t>(s.kind)] += s.seconds;
  for (StageKind k : {StageKind::chips, StageKind::crossbar, StageKind::digital, StageKind::transfer}) {
    const double s = by_kind[static_cast<std::size_t>(k)];
    out += fmt::format("  {:<10} {:>10.4f} s {:>6.1f} %\n", stage_kind_name(k), s, share(s));
  }
  std::stable_sort(st.begin(), st.end(), [](const Stage& a, const Stage& b) { return a.seconds > b.seconds; });
  const std::size_t all = st.size();
  if (st.size() > top) st.resize(top);
  out += fmt::format("  longest stages ({} of {}, all in profile.csv):\n", st.size(), all);
  std::size_t width = 24;  // the names' column fits the longest listed name
  for (const auto& s : st) width = std::max(width, s.name.size());
  for (const auto& s : st) {
    out += fmt::format("  {:<{}} {:<9} {:>9} calls {:>10.4f} s {:>6.1f} %\n", s.name, width, stage_kind_name(s.kind),
                       s.calls, s.seconds, share(s.seconds));
  }
  return out;
}

}  // namespace xbarmc::montecarlo
