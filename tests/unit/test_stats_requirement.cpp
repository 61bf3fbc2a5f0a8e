// The margin gate: requirement parsing (good and bad texts, messages) and verdicts on
// constructed samples whose intervals are known.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "../common/error_message.hpp"
#include "xbarmc/errors.hpp"
#include "xbarmc/stats/requirement.hpp"

using namespace xbarmc;
using namespace xbarmc::stats;

namespace {

std::string parse_error(const std::string& text) {
  return xbarmc::testing::thrown_message<InvalidConfig>([&] { parse_requirement(text); });
}

// 0.9000, 0.9001, ..., 0.9099: n = 100, evenly spread; each value is the double nearest
// (9000 + i) / 10000, so it equals the literal a requirement writes.
std::vector<double> ramp() {
  std::vector<double> x;
  for (int i = 0; i < 100; ++i) x.push_back((9000 + i) / 10000.0);
  return x;
}

Verdict verdict(const std::string& text, const std::vector<double>& x, double float_accuracy = 0.95) {
  return evaluate(parse_requirement(text), x, float_accuracy).verdict;
}

}  // namespace

TEST(StatsRequirement, ParsesTheGrammar) {
  Requirement r = parse_requirement("p05>=0.85");
  EXPECT_EQ(r.text, "p05>=0.85");
  EXPECT_EQ(r.arm, "");
  EXPECT_EQ(r.stat, "p05");
  EXPECT_DOUBLE_EQ(r.p, 0.05);
  EXPECT_FALSE(r.drop);
  EXPECT_EQ(r.op, ">=");
  EXPECT_DOUBLE_EQ(r.threshold, 0.85);

  r = parse_requirement("mean_drop<=0.01");
  EXPECT_EQ(r.stat, "mean");
  EXPECT_TRUE(r.drop);
  EXPECT_TRUE(std::isnan(r.p));
  EXPECT_EQ(r.op, "<=");
  EXPECT_DOUBLE_EQ(r.threshold, 0.01);

  r = parse_requirement("p01_drop<=0.02");
  EXPECT_EQ(r.stat, "p01");
  EXPECT_TRUE(r.drop);
  EXPECT_DOUBLE_EQ(r.p, 0.01);

  r = parse_requirement("mean>0.9");
  EXPECT_EQ(r.op, ">");
  r = parse_requirement("p50 >= 0.88");
  EXPECT_EQ(r.stat, "p50");
  EXPECT_DOUBLE_EQ(r.p, 0.5);
  EXPECT_DOUBLE_EQ(r.threshold, 0.88);

  r = parse_requirement("  adc6 : P5 < 85% ");
  EXPECT_EQ(r.arm, "adc6");
  EXPECT_EQ(r.stat, "p05");
  EXPECT_EQ(r.op, "<");
  EXPECT_DOUBLE_EQ(r.threshold, 0.85);

  r = parse_requirement("MAX<=1");
  EXPECT_EQ(r.stat, "max");
  EXPECT_DOUBLE_EQ(r.p, 1.0);
  r = parse_requirement("min>=+.5");
  EXPECT_EQ(r.stat, "min");
  EXPECT_DOUBLE_EQ(r.threshold, 0.5);
  r = parse_requirement("p99_drop>-8.5e-2");
  EXPECT_DOUBLE_EQ(r.threshold, -0.085);
  EXPECT_DOUBLE_EQ(r.p, 0.99);
  r = parse_requirement("p37>=0.5");
  EXPECT_DOUBLE_EQ(r.p, 0.37);
}

TEST(StatsRequirement, BadTextsSayWhatIsWrong) {
  const struct {
    const char* text;
    const char* reason;
  } cases[] = {
      {"", "empty"},
      {"p05", "no comparison operator"},
      {"p05=0.85", "'=' alone"},
      {"p05==0.85", "'=' alone"},
      {"p05=>0.85", "'=>'"},
      {"p05>>0.85", "'>>'"},
      {"p05><0.85", "'><'"},
      {"median>=0.5", "unknown statistic 'median'"},
      {"p100>=0.5", "unknown statistic 'p100'"},
      {"p5.5>=0.5", "unknown statistic"},
      {"p00>=0.5", "not between p01 and p99"},
      {"p05_drop_drop<=0.1", "unknown statistic"},
      {"mean_dorp<=0.1", "unknown statistic 'mean_dorp'"},
      {"p05>=", "no number"},
      {"p05>=abc", "'abc' is not a number"},
      {"p05>=0.85x", "not a number"},
      {"p05>=nan", "not a number"},
      {"p05>=inf", "not a number"},
      {"p05>=%", "not a number"},
      {">=0.85", "no statistic"},
      {": p05>=0.8", "arm name before ':' is empty"},
  };
  for (const auto& c : cases) {
    const std::string m = parse_error(c.text);
    SCOPED_TRACE(c.text);
    EXPECT_NE(m.find(c.reason), std::string::npos) << m;
    EXPECT_NE(m.find(std::string("\"") + c.text + "\""), std::string::npos) << m;  // names the text
    EXPECT_NE(m.find("Grammar: [ARM:]STAT[_drop] OP NUMBER"), std::string::npos) << m;
    EXPECT_NE(m.find("\"p05>=0.85\""), std::string::npos) << m;  // an example
  }
}

TEST(StatsRequirement, ThresholdMustBeReachable) {
  EXPECT_THROW(check_requirement(parse_requirement("p05>=85")), InvalidConfig);
  try {
    check_requirement(parse_requirement("p05>=85"));
  } catch (const InvalidConfig& e) {
    EXPECT_NE(std::string(e.what()).find("85%"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(check_requirement(parse_requirement("p05>=85%")));
  EXPECT_NO_THROW(check_requirement(parse_requirement("max<=1")));
  EXPECT_NO_THROW(check_requirement(parse_requirement("mean_drop<=0.01")));
  EXPECT_NO_THROW(check_requirement(parse_requirement("mean_drop>=-0.5")));
  EXPECT_THROW(check_requirement(parse_requirement("mean_drop<=1.5")), InvalidConfig);
  EXPECT_THROW(check_requirement(parse_requirement("mean<-0.1")), InvalidConfig);
}

TEST(StatsRequirement, QuantileVerdicts) {
  // n = 100, p05: X(5) = 0.9004, interval [X(1), X(11)] = [0.9000, 0.9010] (ranks hand-checked
  // in test_stats_summary.cpp).
  const auto x = ramp();
  const Evaluation e = evaluate(parse_requirement("p05>=0.85"), x, 0.95);
  EXPECT_EQ(e.verdict, Verdict::pass);
  EXPECT_NEAR(e.estimate, 0.9004, 1e-12);
  EXPECT_NEAR(e.ci.lo, 0.9000, 1e-12);
  EXPECT_NEAR(e.ci.hi, 0.9010, 1e-12);
  EXPECT_NE(e.explanation.find("pass"), std::string::npos) << e.explanation;
  EXPECT_NE(e.explanation.find("X(1)..X(11) of 100 trials"), std::string::npos) << e.explanation;
  EXPECT_EQ(verdict("p05>=0.95", x), Verdict::fail);
  EXPECT_EQ(verdict("p05>=0.9005", x), Verdict::undecided);
  EXPECT_EQ(verdict("p05<=0.9010", x), Verdict::pass);
  EXPECT_EQ(verdict("p05<0.9010", x), Verdict::undecided);  // X(11) = 0.9010 itself is not < 0.9010
  EXPECT_EQ(verdict("p05<0.9", x), Verdict::fail);
  // Drops mirror the interval: 0.95 - [0.9000, 0.9010] = [0.0490, 0.0500].
  const Evaluation d = evaluate(parse_requirement("p05_drop<=0.0501"), x, 0.95);
  EXPECT_EQ(d.verdict, Verdict::pass);
  EXPECT_NEAR(d.estimate, 0.0496, 1e-12);
  EXPECT_NEAR(d.ci.lo, 0.0490, 1e-12);
  EXPECT_NEAR(d.ci.hi, 0.0500, 1e-12);
  EXPECT_EQ(verdict("p05_drop<=0.04", x), Verdict::fail);
  EXPECT_EQ(verdict("p05_drop<=0.0495", x), Verdict::undecided);
  // A percentile the summary does not carry is computed on demand: p37 = X(37) = 0.9036.
  const Evaluation p37 = evaluate(parse_requirement("p37>0.9"), x, 0.95);
  EXPECT_NEAR(p37.estimate, 0.9036, 1e-12);
  EXPECT_EQ(p37.verdict, Verdict::pass);
}

TEST(StatsRequirement, MeanVerdicts) {
  // mean 0.90495, sd = 0.0001 * sd(0..99) = 0.0029011, t(0.975; 99) = 1.9842,
  // half width 0.000576: interval [0.904374, 0.905526].
  const auto x = ramp();
  const Evaluation e = evaluate(parse_requirement("mean>=0.904"), x, 0.95);
  EXPECT_EQ(e.verdict, Verdict::pass);
  EXPECT_NEAR(e.estimate, 0.90495, 1e-12);
  EXPECT_NEAR(e.ci.lo, 0.904374, 1e-6);
  EXPECT_NEAR(e.ci.hi, 0.905526, 1e-6);
  EXPECT_EQ(verdict("mean<0.904", x), Verdict::fail);
  EXPECT_EQ(verdict("mean>=0.905", x), Verdict::undecided);
  // Drop against 0.95: [0.044474, 0.045626].
  EXPECT_EQ(verdict("mean_drop<=0.05", x), Verdict::pass);
  EXPECT_EQ(verdict("mean_drop<=0.04", x), Verdict::fail);
  EXPECT_EQ(verdict("mean_drop<=0.045", x), Verdict::undecided);
  EXPECT_EQ(verdict("mean_drop<=0.045", x, 0.949), Verdict::pass);  // the reference moves the drop
  // One trial: the interval is the whole range, so nothing inside (0, 1) can be decided.
  const Evaluation one = evaluate(parse_requirement("mean>=0.5"), {0.9}, 0.95);
  EXPECT_EQ(one.verdict, Verdict::undecided);
  EXPECT_NE(one.explanation.find("one trial"), std::string::npos) << one.explanation;
}

TEST(StatsRequirement, MinMaxArePointValues) {
  const auto x = ramp();  // min 0.9, max 0.9099
  const Evaluation e = evaluate(parse_requirement("min>=0.9"), x, 0.95);
  EXPECT_EQ(e.verdict, Verdict::pass);
  EXPECT_DOUBLE_EQ(e.ci.lo, e.ci.hi);
  EXPECT_NE(e.explanation.find("no interval"), std::string::npos) << e.explanation;
  EXPECT_NE(e.explanation.find("the observed value satisfies it: pass"), std::string::npos) << e.explanation;
  EXPECT_EQ(verdict("min>0.9", x), Verdict::fail);
  EXPECT_EQ(verdict("max<=0.91", x), Verdict::pass);
  EXPECT_EQ(verdict("max_drop>=0.04", x), Verdict::pass);  // 0.95 - 0.9099 = 0.0401
}

TEST(StatsRequirement, TooFewTrialsLeaveASideOpen) {
  // 30 trials are too few for a 95% lower limit on p01 (that takes 368): the lower end is the
  // bound 0, so p01 >= 0.85 cannot pass yet, but p01 >= 0.95 already fails (X(u) = 0.9 < 0.95).
  const std::vector<double> x(30, 0.9);
  const Evaluation e = evaluate(parse_requirement("p01>=0.85"), x, 0.95);
  EXPECT_EQ(e.verdict, Verdict::undecided);
  EXPECT_DOUBLE_EQ(e.ci.lo, 0.0);
  EXPECT_DOUBLE_EQ(e.ci.hi, 0.9);
  EXPECT_NE(e.explanation.find("too few for a 95% lower limit on p01 (that takes 368)"), std::string::npos)
      << e.explanation;
  EXPECT_EQ(verdict("p01>=0.95", x), Verdict::fail);
  // The drop of p01 mirrors it: the drop's upper end is 0.95 - 0 = 0.95.
  const Evaluation d = evaluate(parse_requirement("p01_drop<=0.1"), x, 0.95);
  EXPECT_EQ(d.verdict, Verdict::undecided);
  EXPECT_DOUBLE_EQ(d.ci.hi, 0.95);
  EXPECT_EQ(verdict("p01_drop<0.04", x), Verdict::fail);  // drop >= 0.95 - 0.9 = 0.05 everywhere
}

TEST(StatsRequirement, TiesAndStrictOperators) {
  // Every value 0.9: the quantile interval is the point 0.9.
  const std::vector<double> x(50, 0.9);
  EXPECT_EQ(verdict("p50>=0.9", x), Verdict::pass);
  EXPECT_EQ(verdict("p50>0.9", x), Verdict::fail);
  EXPECT_EQ(verdict("p50<=0.9", x), Verdict::pass);
  EXPECT_EQ(verdict("p50<0.9", x), Verdict::fail);
  EXPECT_EQ(verdict("mean>=0.9", x), Verdict::pass);
}

TEST(StatsRequirement, ArmPrefixDoesNotChangeTheVerdict) {
  const auto x = ramp();
  const Evaluation e = evaluate(parse_requirement("adc6: p05>=0.85"), x, 0.95);
  EXPECT_EQ(e.verdict, Verdict::pass);
  EXPECT_EQ(e.explanation.rfind("adc6: p05 = ", 0), 0u) << e.explanation;
}

TEST(StatsRequirement, EvaluateChecksItsInput) {
  EXPECT_THROW(evaluate(parse_requirement("mean_drop<=0.01"), ramp(), std::nan("")), Error);
  EXPECT_NO_THROW(evaluate(parse_requirement("mean<=0.99"), ramp(), std::nan("")));  // no drop: not needed
  EXPECT_THROW(evaluate(parse_requirement("mean<=0.99"), {}, 0.95), Error);
  EXPECT_THROW(evaluate(parse_requirement("mean<=0.99"), {0.5, std::nan("")}, 0.95), Error);
  EXPECT_THROW(evaluate(parse_requirement("mean<=0.99"), ramp(), 0.95, 1.5), InvalidConfig);
}

TEST(StatsRequirement, CombineAndNames) {
  EXPECT_EQ(combine({}), Verdict::pass);
  EXPECT_EQ(combine({Verdict::pass, Verdict::pass}), Verdict::pass);
  EXPECT_EQ(combine({Verdict::pass, Verdict::undecided}), Verdict::undecided);
  EXPECT_EQ(combine({Verdict::undecided, Verdict::fail, Verdict::pass}), Verdict::fail);
  EXPECT_EQ(to_string(Verdict::pass), "pass");
  EXPECT_EQ(to_string(Verdict::fail), "fail");
  EXPECT_EQ(to_string(Verdict::undecided), "undecided");
}
