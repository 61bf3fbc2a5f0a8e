#pragma once
/// \file
/// The margin gate: requirements such as "p05>=0.85" or "mean_drop<=0.01" and their
/// verdicts from confidence intervals (pass, fail, or undecided while the interval
/// straddles the threshold).

#include <string>
#include <vector>

#include "xbarmc/stats/intervals.hpp"

namespace xbarmc::stats {

/// One parsed requirement. Grammar: [ARM ':'] STAT ['_drop'] OP NUMBER ['%'], with
/// STAT = mean | pNN (NN = 1..99, e.g. p05, p50) | min | max, OP = >= | <= | > | <.
struct Requirement {
  std::string text;  ///< the text as given
  std::string arm;   ///< the arm it applies to; empty = every arm
  std::string stat;  ///< "mean", "min", "max" or "pNN" with two digits ("p05")
  double p;          ///< the percentile as a probability (0.05 for p05); 0 for min, 1 for max, NaN for mean
  bool drop;         ///< true: the statistic is reference (float accuracy) minus STAT
  std::string op;    ///< ">=", "<=", ">" or "<"
  double threshold;  ///< the number (a trailing '%' divides it by 100)
};

/// Parses a requirement; throws InvalidConfig naming the text, what is wrong, the
/// grammar and examples.
Requirement parse_requirement(const std::string& text);

/// Throws InvalidConfig when the threshold lies outside the values the statistic can
/// take for values within `bounds` (e.g. "p05>=85" for an accuracy in [0, 1]: 0.85 or
/// 85% was meant), so such a mistake is caught before a long run.
void check_requirement(const Requirement& r, Interval bounds = {0.0, 1.0});

/// Outcome of a requirement.
enum class Verdict { pass, fail, undecided };

/// The verdict on one requirement, with the numbers behind it.
struct Evaluation {
  Verdict verdict;
  double estimate;          ///< point estimate of the statistic (of the drop when r.drop)
  Interval ci;              ///< its confidence interval (a point for min and max)
  std::string explanation;  ///< one line for a person: estimate, interval, threshold, why
};

/// Evaluates r on the per-trial values x: pass when the whole confidence interval of
/// the statistic satisfies the requirement, fail when the whole interval violates it,
/// otherwise undecided. mean: Student-t interval; pNN: order-statistic interval
/// (computed from x for any NN); min and max: the observed value, without an interval.
/// `float_accuracy` is the reference of _drop statistics (ignored otherwise).
Evaluation evaluate(const Requirement& r, const std::vector<double>& x, double float_accuracy, double confidence = 0.95,
                    Interval bounds = {0.0, 1.0});

/// "pass", "fail" or "undecided".
std::string to_string(Verdict v);

/// Overall verdict: fail if any fails, else undecided if any is undecided, else pass
/// (also for no requirements).
Verdict combine(const std::vector<Verdict>& v);

}  // namespace xbarmc::stats
