#include "xbarmc/stats/requirement.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "xbarmc/errors.hpp"

namespace xbarmc::stats {

namespace {

const char* const grammar =
    "Grammar: [ARM:]STAT[_drop] OP NUMBER[%], STAT = mean | pNN (percentile 01..99, e.g. p05, p50) | min | max, "
    "OP = >= | <= | > | <; STAT_drop is the float accuracy minus STAT; spaces are allowed. Examples: \"p05>=0.85\", "
    "\"mean_drop <= 0.01\", \"adc6: p01_drop<=2%\"";

std::string trim(const std::string& s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  const auto b = std::find_if(s.begin(), s.end(), not_space);
  const auto e = std::find_if(s.rbegin(), s.rend(), not_space).base();
  return b < e ? std::string(b, e) : std::string();
}

[[noreturn]] void bad(const std::string& text, const std::string& why) {
  throw InvalidConfig(fmt::format("requirement \"{}\": {}. {}", text, why, grammar));
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The statistic's name as a user reads it, e.g. "p05_drop".
std::string label(const Requirement& r) { return r.stat + (r.drop ? "_drop" : ""); }

bool holds(double v, const std::string& op, double t) {
  if (op == ">=") return v >= t;
  if (op == "<=") return v <= t;
  if (op == ">") return v > t;
  return v < t;
}

}  // namespace

Requirement parse_requirement(const std::string& text) {
  const std::string t = trim(text);
  if (t.empty()) bad(text, "it is empty");
  const std::size_t op_pos = t.find_first_of("<>");
  if (op_pos == std::string::npos) {
    bad(text, t.find('=') != std::string::npos ? "'=' alone is not a comparison; use >=, <=, > or <"
                                               : "there is no comparison operator (>=, <=, > or <)");
  }
  Requirement r{};
  r.text = text;
  r.op = t.substr(op_pos, 1);
  std::size_t after = op_pos + 1;
  if (after < t.size() && t[after] == '=') {
    r.op += '=';
    ++after;
  }
  std::string left = trim(t.substr(0, op_pos));
  std::string right = trim(t.substr(after));
  if (!left.empty() && left.back() == '=') bad(text, fmt::format("unknown operator '={}'; use {}=", r.op, r.op));
  if (!right.empty() && std::string("<>=").find(right.front()) != std::string::npos) {
    bad(text, fmt::format("unknown operator '{}{}'", r.op, right.front()));
  }

  const std::size_t colon = left.rfind(':');
  if (colon != std::string::npos) {
    r.arm = trim(left.substr(0, colon));
    if (r.arm.empty()) bad(text, "the arm name before ':' is empty");
    left = trim(left.substr(colon + 1));
  }
  if (left.empty()) bad(text, "there is no statistic before the operator");
  std::string stat = lower(left);
  const std::string suffix = "_drop";
  if (stat.size() > suffix.size() && stat.compare(stat.size() - suffix.size(), suffix.size(), suffix) == 0) {
    r.drop = true;
    stat.resize(stat.size() - suffix.size());
  }
  if (stat == "mean") {
    r.p = std::numeric_limits<double>::quiet_NaN();
  } else if (stat == "min") {
    r.p = 0.0;
  } else if (stat == "max") {
    r.p = 1.0;
  } else if (stat.size() >= 2 && stat.size() <= 3 && stat[0] == 'p' &&
             std::all_of(stat.begin() + 1, stat.end(), [](unsigned char c) { return std::isdigit(c); })) {
    const int nn = std::stoi(stat.substr(1));
    if (nn < 1 || nn > 99) bad(text, fmt::format("percentile '{}' is not between p01 and p99", left));
    stat = fmt::format("p{:02d}", nn);
    r.p = nn / 100.0;
  } else {
    bad(text, fmt::format("unknown statistic '{}'", left));
  }
  r.stat = stat;

  if (right.empty()) bad(text, "there is no number after the operator");
  std::string num = right;
  bool percent = false;
  if (num.back() == '%') {
    percent = true;
    num = trim(num.substr(0, num.size() - 1));
  }
  const char* first = num.data();
  if (!num.empty() && num.front() == '+') ++first;
  double v = 0.0;
  const auto [end, ec] = std::from_chars(first, num.data() + num.size(), v);
  if (num.empty() || ec != std::errc() || end != num.data() + num.size() || !std::isfinite(v)) {
    bad(text, fmt::format("'{}' is not a number", right));
  }
  r.threshold = percent ? v / 100.0 : v;
  return r;
}

void check_requirement(const Requirement& r, Interval bounds) {
  if (!std::isfinite(bounds.lo) || !std::isfinite(bounds.hi)) return;
  const double w = bounds.hi - bounds.lo;
  const Interval range = r.drop ? Interval{-w, w} : bounds;
  if (r.threshold < range.lo || r.threshold > range.hi) {
    throw InvalidConfig(fmt::format(
        "requirement \"{}\": the threshold {} lies outside [{}, {}], the values {} can take; write a fraction "
        "(0.85) or a percentage (85%)",
        r.text, r.threshold, range.lo, range.hi, label(r)));
  }
}

Evaluation evaluate(const Requirement& r, const std::vector<double>& x, double float_accuracy, double confidence,
                    Interval bounds) {
  check_confidence(confidence);
  check_sample(x, bounds, fmt::format("values for requirement \"{}\"", r.text));
  if (r.op != ">=" && r.op != "<=" && r.op != ">" && r.op != "<") {
    throw InvalidConfig(fmt::format("requirement \"{}\": unknown operator '{}'. {}", r.text, r.op, grammar));
  }
  if (r.drop && !std::isfinite(float_accuracy)) {
    throw Error(fmt::format("requirement \"{}\" needs the float accuracy, which is {}", r.text, float_accuracy));
  }
  std::vector<double> sorted(x);
  std::sort(sorted.begin(), sorted.end());
  const auto n = static_cast<std::int64_t>(sorted.size());
  const std::string level = fmt::format("{:.6g}%", confidence * 100.0);

  Evaluation e{};
  std::string method, note;
  if (r.stat == "mean") {
    long double sum = 0.0L;
    for (double v : sorted) sum += v;
    const long double m = sum / static_cast<long double>(n);
    long double ss = 0.0L;
    for (double v : sorted) ss += (v - m) * (v - m);
    e.estimate = std::clamp(static_cast<double>(m), sorted.front(), sorted.back());
    const double sd = n >= 2 ? static_cast<double>(std::sqrt(ss / static_cast<long double>(n - 1))) : 0.0;
    e.ci = mean_interval(e.estimate, sd, n, confidence, bounds);
    method = fmt::format("Student t, {} trials", n);
    if (n < 2) note = "; one trial gives no interval for the mean, so it is the whole range";
  } else if (r.stat == "min" || r.stat == "max") {
    e.estimate = r.stat == "min" ? sorted.front() : sorted.back();
    e.ci = Interval{e.estimate, e.estimate};
    method = fmt::format("the observed {} of {} trials, no interval", r.stat, n);
  } else {
    check_probability(r.p);
    const QuantileEstimate q = quantile_estimate(sorted, r.p, confidence, bounds);
    e.estimate = q.value;
    e.ci = q.ci;
    method =
        fmt::format("order statistics {}..{} of {} trials",
                    q.lower_rank >= 1 ? fmt::format("X({})", q.lower_rank) : fmt::format("bound {}", bounds.lo),
                    q.upper_rank <= n ? fmt::format("X({})", q.upper_rank) : fmt::format("bound {}", bounds.hi), n);
    if (q.lower_rank < 1) {
      note += fmt::format("; {} trials are too few for a {} lower limit on {} (that takes {})", n, level, r.stat,
                          min_n_for_quantile_side(r.p, confidence, true));
    }
    if (q.upper_rank > n) {
      note += fmt::format("; {} trials are too few for a {} upper limit on {} (that takes {})", n, level, r.stat,
                          min_n_for_quantile_side(r.p, confidence, false));
    }
  }
  if (r.drop) {
    e.estimate = float_accuracy - e.estimate;
    e.ci = Interval{float_accuracy - e.ci.hi, float_accuracy - e.ci.lo};
    method += fmt::format(", float accuracy {:.6g}", float_accuracy);
  }

  // The statistic lies in the interval; the verdict holds for every value in it.
  const bool lo_ok = holds(e.ci.lo, r.op, r.threshold);
  const bool hi_ok = holds(e.ci.hi, r.op, r.threshold);
  const bool point = r.stat == "min" || r.stat == "max";
  std::string why;
  if (lo_ok && hi_ok) {
    e.verdict = Verdict::pass;
    why = point ? "the observed value satisfies it: pass" : "the whole interval satisfies it: pass";
  } else if (!lo_ok && !hi_ok) {
    e.verdict = Verdict::fail;
    why = point ? "the observed value violates it: fail" : "the whole interval violates it: fail";
  } else {
    e.verdict = Verdict::undecided;
    why = "the interval straddles the threshold: undecided (more trials narrow it)";
  }
  const std::string ci_text = point ? std::string() : fmt::format(", {} CI [{:.6g}, {:.6g}]", level, e.ci.lo, e.ci.hi);
  e.explanation = fmt::format("{}{} = {:.6g}{} ({}); required {} {:.6g}: {}{}", r.arm.empty() ? "" : r.arm + ": ",
                              label(r), e.estimate, ci_text, method, r.op, r.threshold, why, note);
  return e;
}

std::string to_string(Verdict v) {
  switch (v) {
    case Verdict::pass:
      return "pass";
    case Verdict::fail:
      return "fail";
    case Verdict::undecided:
      return "undecided";
  }
  return "undecided";
}

Verdict combine(const std::vector<Verdict>& v) {
  if (std::find(v.begin(), v.end(), Verdict::fail) != v.end()) return Verdict::fail;
  if (std::find(v.begin(), v.end(), Verdict::undecided) != v.end()) return Verdict::undecided;
  return Verdict::pass;
}

}  // namespace xbarmc::stats
