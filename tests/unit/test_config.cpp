// Configuration keys, INI files and command lines.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "../common/error_message.hpp"
#include "xbarmc/config/command_line.hpp"
#include "xbarmc/config/ini.hpp"
#include "xbarmc/errors.hpp"

using namespace xbarmc;
using namespace xbarmc::config;

namespace {

using xbarmc::testing::message_or_empty;

CommandSpec demo_spec() {
  CommandSpec spec;
  spec.name = "demo";
  spec.usage = "xbarmc demo";
  spec.schema.add(KeyDef("adc_bits", Kind::integer, "8", "ADC resolution (bits)", "Hardware").range(1, 16));
  spec.schema.add(KeyDef("sigma", Kind::real, "0.05", "programming variation", "Hardware").at_least(0));
  spec.schema.add(KeyDef("ir_drop", Kind::choice, "none", "IR-drop model", "Hardware")
                      .one_of({"none", "static", "iterative", "exact"}));
  spec.schema.add(KeyDef("arm", Kind::text, "", "an arm", "Study").repeat());
  spec.schema.add(KeyDef("overwrite", Kind::boolean, "false", "replace the output", "Output").as_flag());
  spec.section_kinds = {"arm"};
  return spec;
}

std::string write_temp(const std::string& text) {
  char name[] = "/tmp/xbarmc_test_XXXXXX.ini";
  int fd = mkstemps(name, 4);
  EXPECT_GE(fd, 0);
  FILE* f = fdopen(fd, "w");
  std::fputs(text.c_str(), f);
  std::fclose(f);
  return name;
}

}  // namespace

TEST(Settings, DefaultsAndTypedValues) {
  auto spec = demo_spec();
  auto p = parse_command(spec, {});
  EXPECT_EQ(p.settings.get_int("adc_bits"), 8);
  EXPECT_DOUBLE_EQ(p.settings.get_real("sigma"), 0.05);
  EXPECT_EQ(p.settings.get_text("ir-drop"), "none");
  EXPECT_FALSE(p.settings.get_bool("overwrite"));
  EXPECT_EQ(p.settings.source("adc_bits"), "default");
}

TEST(CommandLine, DashesAndUnderscoresAndFlags) {
  auto spec = demo_spec();
  auto p = parse_command(spec, {"--adc_bits=6", "--ir-drop", "static", "--overwrite", "--arm", "a", "--arm", "b"});
  EXPECT_EQ(p.settings.get_int("adc_bits"), 6);
  EXPECT_EQ(p.settings.get_text("ir_drop"), "static");
  EXPECT_TRUE(p.settings.get_bool("overwrite"));
  EXPECT_EQ(p.settings.get_list("arm"), (std::vector<std::string>{"a", "b"}));
}

TEST(CommandLine, ErrorsNameTheOptionAndTheAllowedValues) {
  auto spec = demo_spec();
  EXPECT_NE(message_or_empty<InvalidConfig>([&] { parse_command(spec, {"--no-such-flag"}); }).find("no-such-flag"),
            std::string::npos);
  EXPECT_NE(message_or_empty<InvalidConfig>([&] {
              parse_command(spec, {"--adc-bits", "0"});
            }).find("adc_bits: must be between 1 and 16"),
            std::string::npos);
  EXPECT_NE(message_or_empty<InvalidConfig>([&] {
              parse_command(spec, {"--adc-bits", "x"});
            }).find("expected an integer"),
            std::string::npos);
  EXPECT_NE(message_or_empty<InvalidConfig>([&] {
              parse_command(spec, {"--ir-drop", "fast"});
            }).find("none, static, iterative, exact"),
            std::string::npos);
  EXPECT_NE(message_or_empty<InvalidConfig>([&] {
              parse_command(spec, {"--sigma", "-1"});
            }).find("sigma: must be >= 0"),
            std::string::npos);
  EXPECT_NE(message_or_empty<InvalidConfig>([&] { parse_command(spec, {"stray"}); }).find("stray"), std::string::npos);
}

TEST(ConfigFile, FlagsOverrideTheFileWhichOverridesDefaults) {
  auto spec = demo_spec();
  const std::string path = write_temp(
      "# comment\nadc_bits = 5\nsigma = 0.1 ; inline\nir-drop = exact\n"
      "[arm low]\nadc_bits = 4\n");
  auto p = parse_command(spec, {"--config", path, "--sigma", "0.2"});
  EXPECT_EQ(p.settings.get_int("adc_bits"), 5);
  EXPECT_EQ(p.settings.source("adc_bits"), path + ":2");
  EXPECT_DOUBLE_EQ(p.settings.get_real("sigma"), 0.2);
  EXPECT_EQ(p.settings.get_text("ir_drop"), "exact");
  ASSERT_EQ(p.sections.size(), 1u);
  EXPECT_EQ(p.sections[0].kind, "arm");
  EXPECT_EQ(p.sections[0].name, "low");
  EXPECT_EQ(p.sections[0].entries[0].key, "adc_bits");
  std::remove(path.c_str());
}

TEST(ConfigFile, RelativePathsAreRelativeToTheFile) {
  CommandSpec spec = demo_spec();
  spec.schema.add(KeyDef("model", Kind::path, "", "a file", "Study"));
  const std::string path = write_temp("model = models/m.onnx\n");
  auto p = parse_command(spec, {"--config", path});
  EXPECT_EQ(p.settings.get_text("model"), "/tmp/models/m.onnx");
  auto q = parse_command(spec, {"--config", path, "--model", "rel/x.onnx"});
  EXPECT_EQ(q.settings.get_text("model"), "rel/x.onnx");  // flags stay relative to the working directory
  std::remove(path.c_str());
}

TEST(ConfigFile, UnknownKeyAndSectionAreNamed) {
  auto spec = demo_spec();
  const std::string path = write_temp("adc_bits = 5\nbogus_key = 1\n");
  const std::string msg = message_or_empty<InvalidConfig>([&] { parse_command(spec, {"--config", path}); });
  EXPECT_NE(msg.find("bogus_key"), std::string::npos);
  EXPECT_NE(msg.find(":2"), std::string::npos);
  std::remove(path.c_str());
  const std::string path2 = write_temp("[sweep x]\n");
  EXPECT_NE(message_or_empty<InvalidConfig>([&] {
              parse_command(spec, {"--config", path2});
            }).find("[sweep]"),
            std::string::npos);
  std::remove(path2.c_str());
}

TEST(ConfigFile, MissingFileAndSyntaxErrors) {
  auto spec = demo_spec();
  EXPECT_THROW(parse_command(spec, {"--config", "/nonexistent/x.ini"}), InvalidInput);
  EXPECT_THROW(parse_ini("[arm\n", "f.ini"), InvalidInput);
  EXPECT_THROW(parse_ini("just words\n", "f.ini"), InvalidInput);
}

TEST(Settings, ToIniRoundTrips) {
  auto spec = demo_spec();
  auto p = parse_command(spec, {"--adc-bits", "7", "--arm", "x=1", "--arm", "y=2"});
  const std::string ini = p.settings.to_ini("resolved");
  const std::string path = write_temp(ini);
  auto q = parse_command(spec, {"--config", path});
  EXPECT_EQ(q.settings.get_int("adc_bits"), 7);
  EXPECT_EQ(q.settings.get_list("arm"), (std::vector<std::string>{"x=1", "y=2"}));
  EXPECT_EQ(q.settings.to_ini("resolved"), ini);
  std::remove(path.c_str());
}

TEST(Help, ListsKeysWithDefaults) {
  const std::string h = format_help(demo_spec());
  EXPECT_NE(h.find("--adc-bits N"), std::string::npos);
  EXPECT_NE(h.find("[8]"), std::string::npos);
  EXPECT_NE(h.find("none|static|iterative|exact"), std::string::npos);
}
