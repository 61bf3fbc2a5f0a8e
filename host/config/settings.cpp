#include "xbarmc/config/settings.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "xbarmc/errors.hpp"

namespace xbarmc::config {

std::string normalize_key(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    out.push_back(c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

Schema& Schema::add(KeyDef def) {
  def.name = normalize_key(def.name);
  if (index_.count(def.name)) {
    throw std::logic_error("configuration key declared twice: " + def.name);
  }
  if (def.flag && def.kind != Kind::boolean) {
    throw std::logic_error("flag key must be boolean: " + def.name);
  }
  index_[def.name] = keys_.size();
  keys_.push_back(std::move(def));
  return *this;
}

Schema& Schema::merge(const Schema& other) {
  for (const auto& k : other.keys()) {
    if (!find(k.name)) add(k);
  }
  return *this;
}

const KeyDef* Schema::find(std::string_view name) const {
  auto it = index_.find(normalize_key(name));
  return it == index_.end() ? nullptr : &keys_[it->second];
}

std::optional<bool> parse_bool(std::string_view text) {
  std::string t = normalize_key(text);
  if (t == "true" || t == "yes" || t == "on" || t == "1") return true;
  if (t == "false" || t == "no" || t == "off" || t == "0") return false;
  return std::nullopt;
}

namespace {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string from_where(const std::string& source) { return source.empty() ? "" : " (from " + source + ")"; }

std::string format_bound(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<long long>(v));
  return fmt::format("{}", v);
}

void check_range(const KeyDef& def, double v, const std::string& text, const std::string& source) {
  if (v < def.min || v > def.max) {
    std::string allowed;
    if (std::isfinite(def.min) && std::isfinite(def.max)) {
      allowed = fmt::format("between {} and {}", format_bound(def.min), format_bound(def.max));
    } else if (std::isfinite(def.min)) {
      allowed = fmt::format(">= {}", format_bound(def.min));
    } else {
      allowed = fmt::format("<= {}", format_bound(def.max));
    }
    throw InvalidConfig(fmt::format("{}: must be {}, got {}{}", def.name, allowed, text, from_where(source)));
  }
}

}  // namespace

std::string validate_value(const KeyDef& def, const std::string& raw, const std::string& source) {
  const std::string value = trim(raw);
  switch (def.kind) {
    case Kind::integer: {
      errno = 0;
      char* end = nullptr;
      long long v = std::strtoll(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || errno == ERANGE) {
        throw InvalidConfig(fmt::format("{}: expected an integer, got '{}'{}", def.name, value, from_where(source)));
      }
      check_range(def, static_cast<double>(v), value, source);
      return std::to_string(v);
    }
    case Kind::real: {
      errno = 0;
      char* end = nullptr;
      double v = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v)) {
        throw InvalidConfig(
            fmt::format("{}: expected a finite number, got '{}'{}", def.name, value, from_where(source)));
      }
      check_range(def, v, value, source);
      return value;
    }
    case Kind::boolean: {
      auto b = parse_bool(value);
      if (!b) {
        throw InvalidConfig(fmt::format("{}: expected true or false, got '{}'{}", def.name, value, from_where(source)));
      }
      return *b ? "true" : "false";
    }
    case Kind::choice: {
      if (std::find(def.choices.begin(), def.choices.end(), value) == def.choices.end()) {
        std::string list;
        for (const auto& c : def.choices) list += (list.empty() ? "" : ", ") + c;
        throw InvalidConfig(
            fmt::format("{}: '{}' is not allowed; choose one of: {}{}", def.name, value, list, from_where(source)));
      }
      return value;
    }
    case Kind::path:
    case Kind::text:
      if (value.empty() && def.kind == Kind::path) {
        throw InvalidConfig(fmt::format("{}: expected a path, got an empty value{}", def.name, from_where(source)));
      }
      return value;
  }
  return value;
}

Settings::Settings(const Schema& schema) : schema_(&schema) {
  for (const auto& k : schema.keys()) {
    if (!k.default_value.empty()) values_[k.name] = Value{{k.default_value}, "default"};
  }
}

const KeyDef& Settings::def(std::string_view key) const {
  const KeyDef* d = schema_->find(key);
  if (!d) throw InvalidConfig(fmt::format("unknown key '{}'", normalize_key(key)));
  return *d;
}

void Settings::set(std::string_view key, const std::string& value, const std::string& source) {
  const KeyDef* d = schema_->find(key);
  if (!d) {
    throw InvalidConfig(fmt::format("unknown key '{}'{}; see --help for the keys this command accepts",
                                    normalize_key(key), from_where(source)));
  }
  values_[d->name] = Value{{validate_value(*d, value, source)}, source};
}

void Settings::append(std::string_view key, const std::string& value, const std::string& source) {
  const KeyDef& d = def(key);
  if (!d.repeatable) {
    set(key, value, source);
    return;
  }
  auto& slot = values_[d.name];
  if (slot.source == "default") slot.values.clear();
  slot.values.push_back(validate_value(d, value, source));
  slot.source = source;
}

void Settings::clear(std::string_view key) { values_.erase(def(key).name); }

bool Settings::has(std::string_view key) const { return values_.count(def(key).name) > 0; }

const std::string& Settings::get_text(std::string_view key) const {
  const KeyDef& d = def(key);
  auto it = values_.find(d.name);
  if (it == values_.end() || it->second.values.empty()) {
    throw InvalidConfig(fmt::format(
        "{}: a value is required (set --{} or '{} = ...' in the config file)", d.name,
        [&] {
          std::string f = d.name;
          std::replace(f.begin(), f.end(), '_', '-');
          return f;
        }(),
        d.name));
  }
  return it->second.values.back();
}

std::int64_t Settings::get_int(std::string_view key) const { return std::stoll(get_text(key)); }
double Settings::get_real(std::string_view key) const { return std::stod(get_text(key)); }
bool Settings::get_bool(std::string_view key) const { return *parse_bool(get_text(key)); }

std::vector<std::string> Settings::get_list(std::string_view key) const {
  auto it = values_.find(def(key).name);
  return it == values_.end() ? std::vector<std::string>{} : it->second.values;
}

std::string Settings::source(std::string_view key) const {
  auto it = values_.find(def(key).name);
  return it == values_.end() ? "unset" : it->second.source;
}

std::string Settings::to_ini(const std::string& header_comment) const {
  std::ostringstream os;
  if (!header_comment.empty()) {
    std::istringstream in(header_comment);
    std::string line;
    while (std::getline(in, line)) os << "# " << line << "\n";
  }
  std::string group;
  for (const auto& k : schema_->keys()) {
    if (!k.in_config) continue;
    auto it = values_.find(k.name);
    if (it == values_.end()) continue;
    if (k.group != group) {
      group = k.group;
      os << "\n# " << group << "\n";
    }
    for (const auto& v : it->second.values) os << k.name << " = " << v << "\n";
  }
  return os.str();
}

}  // namespace xbarmc::config
