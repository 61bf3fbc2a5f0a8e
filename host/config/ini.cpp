#include "xbarmc/config/ini.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "xbarmc/errors.hpp"

namespace xbarmc::config {

namespace {
std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}
}  // namespace

IniDocument parse_ini(const std::string& text, const std::string& path) {
  IniDocument doc;
  doc.path = path;
  doc.sections.push_back(IniSection{});
  std::istringstream in(text);
  std::string raw;
  int line_no = 0;
  while (std::getline(in, raw)) {
    ++line_no;
    std::string line = trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']') {
        throw InvalidInput(path, fmt::format("line {}: section header '{}' lacks a closing ']'", line_no, line));
      }
      std::string inner = trim(line.substr(1, line.size() - 2));
      if (inner.empty()) throw InvalidInput(path, fmt::format("line {}: empty section header", line_no));
      IniSection s;
      s.line = line_no;
      auto sp = inner.find_first_of(" \t");
      s.kind = sp == std::string::npos ? inner : inner.substr(0, sp);
      s.name = sp == std::string::npos ? "" : trim(inner.substr(sp + 1));
      if (s.name.size() >= 2 && s.name.front() == '"' && s.name.back() == '"') {
        s.name = s.name.substr(1, s.name.size() - 2);
      }
      doc.sections.push_back(std::move(s));
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string::npos) {
      throw InvalidInput(path, fmt::format("line {}: expected 'key = value', got '{}'", line_no, line));
    }
    IniEntry e;
    e.key = trim(line.substr(0, eq));
    e.value = trim(line.substr(eq + 1));
    e.line = line_no;
    if (e.key.empty()) throw InvalidInput(path, fmt::format("line {}: missing key before '='", line_no));
    // Strip an inline comment introduced by " #" or " ;" (values never contain them).
    for (const char* marker : {" #", " ;", "\t#", "\t;"}) {
      auto c = e.value.find(marker);
      if (c != std::string::npos) e.value = trim(e.value.substr(0, c));
    }
    if (e.value.size() >= 2 && e.value.front() == '"' && e.value.back() == '"') {
      e.value = e.value.substr(1, e.value.size() - 2);
    }
    doc.sections.back().entries.push_back(std::move(e));
  }
  return doc;
}

IniDocument read_ini_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InvalidInput(path, "cannot open the config file (does it exist and is it readable?)");
  std::ostringstream ss;
  ss << f.rdbuf();
  return parse_ini(ss.str(), path);
}

}  // namespace xbarmc::config
