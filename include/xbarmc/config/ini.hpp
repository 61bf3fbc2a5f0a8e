#pragma once
/// \file
/// A small INI reader: `key = value` lines, `#` or `;` comments, `[section]` or
/// `[section name]` headers. Keys before the first header form the unnamed section.

#include <string>
#include <vector>

namespace xbarmc::config {

/// One `key = value` line.
struct IniEntry {
  std::string key;    ///< as written (normalize_key() it before lookup)
  std::string value;  ///< trimmed; surrounding double quotes removed
  int line = 0;       ///< 1-based line number
};

/// A section: `[kind name]` gives kind and name; `[kind]` gives kind only.
struct IniSection {
  std::string kind;
  std::string name;
  int line = 0;
  std::vector<IniEntry> entries;
};

/// A parsed INI file. sections[0] is always the unnamed top-level section.
struct IniDocument {
  std::string path;
  std::vector<IniSection> sections;
};

/// Reads and parses `path`; throws InvalidInput naming the file and line on a syntax error.
IniDocument read_ini_file(const std::string& path);
/// Parses INI text; `path` is used in messages only.
IniDocument parse_ini(const std::string& text, const std::string& path);

}  // namespace xbarmc::config
