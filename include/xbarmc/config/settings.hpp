#pragma once
/// \file
/// Configuration keys and resolved settings. Every option of every command is a
/// key declared once in a Schema (name, type, default, help with unit, allowed
/// values). The same key is a command-line flag (`--adc-bits 6` or `--adc_bits=6`)
/// and a line of an INI file (`adc_bits = 6`); flags override the file, the file
/// overrides the default. Keys are snake_case; '-' and '_' are interchangeable.

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xbarmc::config {

/// Value type of a key.
enum class Kind { integer, real, boolean, text, choice, path };

/// One configuration key. Built fluently:
///   KeyDef("adc_bits", Kind::integer, "8", "ADC resolution (bits)", "Hardware").range(1, 16)
struct KeyDef {
  KeyDef() = default;
  KeyDef(std::string name_, Kind kind_, std::string default_value_, std::string help_, std::string group_ = "Options")
      : name(std::move(name_)),
        kind(kind_),
        default_value(std::move(default_value_)),
        help(std::move(help_)),
        group(std::move(group_)) {}

  /// Inclusive bounds for numbers.
  KeyDef& range(double lo, double hi) {
    min = lo;
    max = hi;
    return *this;
  }
  KeyDef& at_least(double lo) {
    min = lo;
    return *this;
  }
  /// Allowed values of a choice.
  KeyDef& one_of(std::vector<std::string> values) {
    choices = std::move(values);
    return *this;
  }
  /// May be given several times; the values form a list.
  KeyDef& repeat() {
    repeatable = true;
    return *this;
  }
  /// A boolean switch: `--name` alone means true.
  KeyDef& as_flag() {
    flag = true;
    return *this;
  }
  /// Only on the command line, never written to or read from a config file.
  KeyDef& cli_only() {
    in_config = false;
    return *this;
  }

  std::string name;                                       ///< snake_case name, e.g. "adc_bits"
  Kind kind = Kind::text;                                 ///< value type
  std::string default_value;                              ///< "" = unset unless given
  std::string help;                                       ///< one line, with the unit
  std::string group = "Options";                          ///< heading in --help
  std::vector<std::string> choices;                       ///< allowed values for Kind::choice
  double min = -std::numeric_limits<double>::infinity();  ///< inclusive lower bound (numbers)
  double max = std::numeric_limits<double>::infinity();   ///< inclusive upper bound (numbers)
  bool repeatable = false;                                ///< may be given several times (collects a list)
  bool flag = false;                                      ///< boolean switch: `--overwrite` alone means true
  bool in_config = true;                                  ///< false for keys that only make sense on the command line
};

/// Canonical spelling of a key: lower case, '-' replaced by '_'.
std::string normalize_key(std::string_view key);

/// An ordered set of key definitions.
class Schema {
 public:
  /// Adds a key; throws std::logic_error on a duplicate name (a programming error).
  Schema& add(KeyDef def);
  /// Adds every key of `other` that is not already present.
  Schema& merge(const Schema& other);
  /// The definition of `name` (any spelling), or nullptr.
  const KeyDef* find(std::string_view name) const;
  const std::vector<KeyDef>& keys() const { return keys_; }

 private:
  std::vector<KeyDef> keys_;
  std::map<std::string, std::size_t> index_;
};

/// Resolved values of a schema's keys, with where each came from.
class Settings {
 public:
  explicit Settings(const Schema& schema);

  /// Sets `key` from `source` (e.g. "command line", "run.ini:12"). Validates the
  /// key and the value against the schema; throws InvalidConfig naming both.
  /// Replaces any earlier value (all values of a repeatable key).
  void set(std::string_view key, const std::string& value, const std::string& source);
  /// Adds one more value to a repeatable key (replaces a default); set() for others.
  void append(std::string_view key, const std::string& value, const std::string& source);
  /// Removes all values of a repeatable key (before a higher-priority source sets it).
  void clear(std::string_view key);

  bool has(std::string_view key) const;
  std::int64_t get_int(std::string_view key) const;
  double get_real(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  const std::string& get_text(std::string_view key) const;
  std::vector<std::string> get_list(std::string_view key) const;
  /// Where the value came from ("default", "command line", "FILE:LINE").
  std::string source(std::string_view key) const;

  const Schema& schema() const { return *schema_; }
  /// Every config key with a value as an INI document that reproduces these settings.
  std::string to_ini(const std::string& header_comment = "") const;

 private:
  const KeyDef& def(std::string_view key) const;
  const Schema* schema_;
  struct Value {
    std::vector<std::string> values;
    std::string source;
  };
  std::map<std::string, Value> values_;
};

/// Parses a value as the key's kind and checks its range; returns the canonical text.
/// Throws InvalidConfig("KEY: ...") on a bad value.
std::string validate_value(const KeyDef& def, const std::string& value, const std::string& source);

/// Parses "true/false/yes/no/on/off/1/0"; nullopt otherwise.
std::optional<bool> parse_bool(std::string_view text);

}  // namespace xbarmc::config
