#include "xbarmc/montecarlo/arms.hpp"

#include <set>
#include <sstream>

#include <fmt/format.h>

#include "xbarmc/errors.hpp"

namespace xbarmc::montecarlo {

namespace {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

void check_key(const config::Schema& allowed, const std::string& key, const std::string& where) {
  if (allowed.find(key)) return;
  std::string keys;
  for (const auto& k : allowed.keys()) keys += (keys.empty() ? "" : ", ") + k.name;
  throw InvalidConfig(
      fmt::format("{}: '{}' cannot vary between arms; an arm may set: {}", where, config::normalize_key(key), keys));
}

}  // namespace

std::vector<ArmSpec> parse_arms(const std::vector<std::string>& cli_arms,
                                const std::vector<config::IniSection>& sections, const config::Schema& allowed,
                                const std::string& config_path) {
  std::vector<ArmSpec> arms;
  for (const auto& s : sections) {
    if (s.kind != "arm") continue;
    const std::string where = fmt::format("{}:{}", config_path, s.line);
    if (s.name.empty()) throw InvalidConfig(fmt::format("{}: an arm section needs a name: [arm NAME]", where));
    ArmSpec a{s.name, {}, where};
    for (const auto& e : s.entries) {
      const std::string w = fmt::format("{}:{}", config_path, e.line);
      check_key(allowed, e.key, w);
      config::validate_value(*allowed.find(e.key), e.value, w);
      a.overrides.emplace_back(config::normalize_key(e.key), e.value);
    }
    arms.push_back(std::move(a));
  }
  for (const auto& text : cli_arms) {
    const std::string where = fmt::format("--arm \"{}\"", text);
    ArmSpec a{"", {}, "--arm"};
    std::string body = text;
    const auto colon = text.find(':');
    if (colon != std::string::npos && text.substr(0, colon).find('=') == std::string::npos) {
      a.name = trim(text.substr(0, colon));
      body = text.substr(colon + 1);
    }
    std::stringstream ss(body);
    std::string item;
    while (std::getline(ss, item, ',')) {
      item = trim(item);
      if (item.empty()) continue;
      const auto eq = item.find('=');
      if (eq == std::string::npos || eq == 0) {
        throw InvalidConfig(
            fmt::format("{}: expected key=value pairs separated by commas, e.g. "
                        "--arm \"adc6:adc_bits=6,sigma=0.1\"",
                        where));
      }
      const std::string key = trim(item.substr(0, eq)), value = trim(item.substr(eq + 1));
      check_key(allowed, key, where);
      config::validate_value(*allowed.find(key), value, where);
      a.overrides.emplace_back(config::normalize_key(key), value);
    }
    if (a.overrides.empty() && a.name.empty()) throw InvalidConfig(fmt::format("{}: the arm is empty", where));
    if (a.name.empty()) a.name = trim(body);
    arms.push_back(std::move(a));
  }
  if (arms.empty()) arms.push_back(ArmSpec{"base", {}, "default"});
  std::set<std::string> names;
  for (const auto& a : arms) {
    if (!names.insert(a.name).second) {
      throw InvalidConfig(
          fmt::format("arm name '{}' is used twice ({}); give each arm a distinct name", a.name, a.source));
    }
  }
  return arms;
}

config::Settings apply_arm(const config::Settings& base, const ArmSpec& arm) {
  config::Settings s = base;
  for (const auto& [k, v] : arm.overrides) s.set(k, v, "arm " + arm.name);
  return s;
}

std::string arms_to_ini(const std::vector<ArmSpec>& arms) {
  std::ostringstream os;
  for (const auto& a : arms) {
    if (a.source == "default") continue;
    os << "\n[arm " << a.name << "]\n";
    for (const auto& [k, v] : a.overrides) os << k << " = " << v << "\n";
  }
  return os.str();
}

}  // namespace xbarmc::montecarlo
