#include "xbarmc/config/command_line.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <boost/program_options.hpp>

#include "xbarmc/errors.hpp"

namespace po = boost::program_options;

namespace xbarmc::config {

namespace {

std::string flag_name(const std::string& key) {
  std::string f = key;
  std::replace(f.begin(), f.end(), '_', '-');
  return f;
}

// `--adc_bits=6` and `--adc-bits=6` are the same option: rewrite the name part.
std::vector<std::string> normalize_args(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  out.reserve(args.size());
  for (const auto& a : args) {
    if (a.size() > 2 && a[0] == '-' && a[1] == '-') {
      auto eq = a.find('=');
      std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      std::replace(name.begin(), name.end(), '_', '-');
      out.push_back("--" + name + (eq == std::string::npos ? "" : a.substr(eq)));
    } else {
      out.push_back(a);
    }
  }
  return out;
}

std::string value_hint(const KeyDef& k) {
  switch (k.kind) {
    case Kind::integer:
      return "N";
    case Kind::real:
      return "X";
    case Kind::boolean:
      return k.flag ? "" : "BOOL";
    case Kind::choice: {
      std::string s;
      for (const auto& c : k.choices) s += (s.empty() ? "" : "|") + c;
      return s;
    }
    case Kind::path:
      return "PATH";
    case Kind::text:
      return "TEXT";
  }
  return "";
}

}  // namespace

ParsedCommand parse_command(const CommandSpec& spec, const std::vector<std::string>& raw_args) {
  ParsedCommand result(spec.schema);
  const std::string where = fmt::format("see 'xbarmc {} --help'", spec.name);

  po::options_description desc;
  desc.add_options()("help,h", "")("config", po::value<std::string>(), "");
  for (const auto& k : spec.schema.keys()) {
    const std::string name = flag_name(k.name);
    if (k.repeatable) {
      desc.add_options()(name.c_str(), po::value<std::vector<std::string>>(), "");
    } else if (k.flag) {
      desc.add_options()(name.c_str(), po::value<std::string>()->implicit_value("true"), "");
    } else {
      desc.add_options()(name.c_str(), po::value<std::string>(), "");
    }
  }

  po::variables_map vm;
  const po::positional_options_description no_positionals;
  try {
    auto parsed = po::command_line_parser(normalize_args(raw_args))
                      .options(desc)
                      .positional(no_positionals)
                      .style(po::command_line_style::unix_style & ~po::command_line_style::allow_guessing)
                      .run();
    po::store(parsed, vm);
  } catch (const po::unknown_option& e) {
    throw InvalidConfig(fmt::format("unknown option '{}' for 'xbarmc {}'; {}", e.get_option_name(), spec.name, where));
  } catch (const po::multiple_occurrences& e) {
    throw InvalidConfig(fmt::format("option '{}' given more than once; {}", e.get_option_name(), where));
  } catch (const po::too_many_positional_options_error&) {
    std::string stray;
    for (const auto& a : raw_args) {
      if (!a.empty() && a[0] != '-') {
        stray = a;
        break;
      }
    }
    throw InvalidConfig(
        fmt::format("unexpected argument '{}' for 'xbarmc {}' (every value belongs to an option, "
                    "e.g. --model FILE); {}",
                    stray, spec.name, where));
  } catch (const po::error& e) {
    throw InvalidConfig(fmt::format("{}; {}", e.what(), where));
  }

  if (vm.count("help")) {
    result.help = true;
    return result;
  }

  // Config file first, then the command line overrides it.
  if (vm.count("config")) {
    result.config_file = vm["config"].as<std::string>();
    IniDocument doc = read_ini_file(result.config_file);
    std::set<std::string> cleared;
    for (const auto& e : doc.sections.front().entries) {
      const std::string source = fmt::format("{}:{}", doc.path, e.line);
      const KeyDef* def = spec.schema.find(e.key);
      if (!def || !def->in_config) {
        throw InvalidConfig(fmt::format("{}: unknown key '{}' for 'xbarmc {}'; {}", source, e.key, spec.name, where));
      }
      // A relative path in a config file is relative to the file, not to where xbarmc runs.
      std::string value = e.value;
      if (def->kind == Kind::path && !value.empty() && value.front() != '/') {
        const auto dir = std::filesystem::path(doc.path).parent_path();
        if (!dir.empty()) value = (dir / value).lexically_normal().string();
      }
      if (def->repeatable) {
        if (cleared.insert(def->name).second) result.settings.clear(def->name);
        result.settings.append(def->name, value, source);
      } else {
        result.settings.set(def->name, value, source);
      }
    }
    for (std::size_t i = 1; i < doc.sections.size(); ++i) {
      const auto& s = doc.sections[i];
      if (std::find(spec.section_kinds.begin(), spec.section_kinds.end(), s.kind) == spec.section_kinds.end()) {
        std::string allowed;
        for (const auto& k : spec.section_kinds) allowed += (allowed.empty() ? "" : ", ") + ("[" + k + " NAME]");
        throw InvalidConfig(fmt::format("{}:{}: unknown section [{}] for 'xbarmc {}'; {}", doc.path, s.line, s.kind,
                                        spec.name,
                                        allowed.empty() ? "this command takes no sections" : "allowed: " + allowed));
      }
      result.sections.push_back(s);
    }
  }

  for (const auto& k : spec.schema.keys()) {
    const std::string name = flag_name(k.name);
    if (!vm.count(name)) continue;
    if (k.repeatable) {
      result.settings.clear(k.name);
      for (const auto& v : vm[name].as<std::vector<std::string>>()) result.settings.append(k.name, v, "command line");
    } else {
      result.settings.set(k.name, vm[name].as<std::string>(), "command line");
    }
  }
  return result;
}

std::string format_help(const CommandSpec& spec) {
  std::ostringstream os;
  os << spec.summary << "\n\nUsage: " << spec.usage << "\n";
  std::vector<std::string> groups;
  for (const auto& k : spec.schema.keys()) {
    if (std::find(groups.begin(), groups.end(), k.group) == groups.end()) groups.push_back(k.group);
  }
  auto line = [&](const std::string& left, const std::string& right) {
    constexpr std::size_t col = 34;
    os << "  " << left;
    if (left.size() + 2 >= col) {
      os << "\n" << std::string(col, ' ');
    } else {
      os << std::string(col - left.size() - 2, ' ');
    }
    os << right << "\n";
  };
  os << "\nGeneral:\n";
  line("-h, --help", "show this help and exit");
  line("--config FILE", "read options from an INI file (same keys as the flags; flags override it)");
  for (const auto& g : groups) {
    os << "\n" << g << ":\n";
    for (const auto& k : spec.schema.keys()) {
      if (k.group != g) continue;
      std::string left = "--" + flag_name(k.name);
      std::string hint = value_hint(k);
      if (!hint.empty()) left += " " + hint;
      std::string right = k.help;
      if (!k.default_value.empty() && !k.flag) right += " [" + k.default_value + "]";
      if (k.repeatable) right += " (repeatable)";
      line(left, right);
    }
  }
  if (!spec.details.empty()) os << "\n" << spec.details << "\n";
  return os.str();
}

}  // namespace xbarmc::config
