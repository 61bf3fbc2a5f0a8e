// The stage profile of `xbarmc run --profile` (montecarlo::StageProfile).
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "xbarmc/montecarlo/profile.hpp"

namespace xbarmc::montecarlo {
namespace {

TEST(StageProfile, KeepsFirstAppearanceOrderAndSumsCallsAndSeconds) {
  StageProfile p;
  p.add("chips fc1", StageKind::chips, 0.0, 0);  // declared: listed first once it runs
  p.add("Gemm fc1", StageKind::crossbar, 0.5);
  p.add("never", StageKind::digital, 0.0, 0);
  p.add("chips fc1", StageKind::chips, 0.25, 2);
  p.add("Gemm fc1", StageKind::crossbar, 1.0, 3);
  const auto st = p.stages();
  ASSERT_EQ(st.size(), 2u);  // "never" ran no call
  EXPECT_EQ(st[0].name, "chips fc1");
  EXPECT_EQ(st[0].calls, 2);
  EXPECT_DOUBLE_EQ(st[0].seconds, 0.25);
  EXPECT_EQ(st[1].name, "Gemm fc1");
  EXPECT_EQ(st[1].kind, StageKind::crossbar);
  EXPECT_EQ(st[1].calls, 4);
  EXPECT_DOUBLE_EQ(st[1].seconds, 1.5);
  EXPECT_DOUBLE_EQ(p.total_seconds(), 1.75);
}

TEST(StageProfile, CsvQuotesNamesAndSharesSumToOne) {
  StageProfile p;
  p.add("Add a,b", StageKind::digital, 1.0);
  p.add("Mul \"x\"", StageKind::digital, 3.0);
  EXPECT_EQ(p.csv(),
            "stage,kind,calls,seconds,share\n"
            "\"Add a,b\",digital,1,1,0.250000\n"
            "\"Mul \"\"x\"\"\",digital,1,3,0.750000\n");
}

TEST(StageProfile, TableListsKindsThenTheLongestStages) {
  StageProfile p;
  p.set_clock("test clock");
  for (int i = 0; i < 12; ++i) p.add("stage " + std::to_string(i), StageKind::digital, 0.1 * (i + 1));
  p.add("chips x", StageKind::chips, 5.0);
  const std::string t = p.table(3);
  EXPECT_NE(t.find("test clock"), std::string::npos);
  EXPECT_NE(t.find("longest stages (3 of 13"), std::string::npos);
  const auto chips = t.find("chips x"), s11 = t.find("stage 11"), s10 = t.find("stage 10");
  ASSERT_NE(chips, std::string::npos);
  ASSERT_NE(s11, std::string::npos);
  ASSERT_NE(s10, std::string::npos);
  EXPECT_LT(chips, s11);
  EXPECT_LT(s11, s10);
  EXPECT_EQ(t.find("stage 9"), std::string::npos);
}

TEST(StageProfile, AddIsThreadSafe) {
  StageProfile p;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) p.add("s" + std::to_string(i % 7), StageKind::crossbar, 1.0);
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(p.stages().size(), 7u);
  EXPECT_DOUBLE_EQ(p.total_seconds(), 4000.0);
  std::int64_t calls = 0;
  for (const auto& s : p.stages()) calls += s.calls;
  EXPECT_EQ(calls, 4000);
}

}  // namespace
}  // namespace xbarmc::montecarlo
