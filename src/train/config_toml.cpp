// TOML <-> JSON conversion for configs, `--set` overrides and "did you mean" suggestions.
#include <algorithm>
#include <cmath>
#include <sstream>
#include <toml++/toml.h>

#include "descent/core/error.hpp"
#include "descent/train/config.hpp"
#include "descent/train/safetensors.hpp"

namespace descent::train {

namespace {

json node_to_json(const toml::node& node, const std::string& path, const std::string& source) {
  switch (node.type()) {
    case toml::node_type::table: {
      json out = json::object();
      for (auto&& [key, value] : *node.as_table()) {
        const std::string name(key.str());
        out[name] = node_to_json(value, path.empty() ? name : path + "." + name, source);
      }
      return out;
    }
    case toml::node_type::array: {
      json out = json::array();
      std::size_t i = 0;
      for (const auto& element : *node.as_array())
        out.push_back(node_to_json(element, path + "[" + std::to_string(i++) + "]", source));
      return out;
    }
    case toml::node_type::string: return node.as_string()->get();
    case toml::node_type::integer: return node.as_integer()->get();
    case toml::node_type::floating_point: return node.as_floating_point()->get();
    case toml::node_type::boolean: return node.as_boolean()->get();
    default:
      throw Error(source + ": " + path + ": dates and times are not accepted in a config");
  }
}

bool is_bare_key(const std::string& key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

std::string toml_key(const std::string& key) { return is_bare_key(key) ? key : json(key).dump(); }

std::string toml_value(const json& value) {
  if (value.is_string()) return value.dump();  // JSON escapes are valid in TOML basic strings
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_number_float()) {
    const double x = value.get<double>();
    if (std::isnan(x)) return "nan";
    if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
    std::string text = value.dump();
    if (text.find_first_of(".eE") == std::string::npos) text += ".0";
    return text;
  }
  if (value.is_number()) return value.dump();
  if (value.is_array()) {
    std::string out = "[";
    for (std::size_t i = 0; i < value.size(); ++i) out += (i ? ", " : "") + toml_value(value[i]);
    return out + "]";
  }
  if (value.is_object()) {
    std::string out = "{";
    bool first = true;
    for (const auto& [key, element] : value.items()) {
      out += (first ? " " : ", ") + toml_key(key) + " = " + toml_value(element);
      first = false;
    }
    return out + (first ? "}" : " }");
  }
  throw Error("config: a null value cannot be written as TOML");
}

void emit_table(const json& table, const std::string& path, std::ostringstream& out) {
  for (const auto& [key, value] : table.items())
    if (!value.is_object()) out << toml_key(key) << " = " << toml_value(value) << "\n";
  for (const auto& [key, value] : table.items()) {
    if (!value.is_object()) continue;
    const std::string name = path.empty() ? toml_key(key) : path + "." + toml_key(key);
    out << "\n[" << name << "]\n";
    emit_table(value, name, out);
  }
}

}  // namespace

json parse_toml(std::string_view text, const std::string& source) {
  try {
    const toml::table table = toml::parse(text, source);
    return node_to_json(table, "", source);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    throw Error(source + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) +
                ": TOML syntax error: " + std::string(e.description()));
  }
}

void anchor_data_path(json& config, const std::filesystem::path& base) {
  if (!config.is_object() || !config.contains("data") || !config["data"].is_object()) return;
  json& data = config["data"];
  const auto it = data.find("path");
  if (it == data.end() || !it->is_string() || it->get<std::string>().empty()) return;
  const std::filesystem::path given = it->get<std::string>();
  if (given.is_relative()) *it = std::filesystem::absolute(base / given).lexically_normal().string();
}

json load_toml(const std::filesystem::path& path) {
  DESCENT_CHECK(std::filesystem::is_regular_file(path), "config file ", path.string(), " does not exist");
  json config = parse_toml(read_file_bytes(path), path.string());
  anchor_data_path(config, std::filesystem::absolute(path).parent_path());
  return config;
}

std::string to_toml(const json& config) {
  DESCENT_CHECK(config.is_object(), "config: expected a table at the top level");
  std::ostringstream out;
  emit_table(config, "", out);
  return out.str();
}

void apply_override(json& config, const std::string& assignment) {
  const auto equals = assignment.find('=');
  DESCENT_CHECK(equals != std::string::npos && equals > 0, "--set '", assignment,
                "': expected key.path=value, for example --set optimizer.lr=0.01");
  std::string path = assignment.substr(0, equals);
  const std::string text = assignment.substr(equals + 1);
  json value;
  try {
    value = parse_toml("value = " + text, "--set").at("value");
  } catch (const Error&) {
    value = text;  // a bare word: --set data.dataset=two_moons
  }
  json* node = &config;
  std::size_t start = 0;
  while (true) {
    const auto dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    DESCENT_CHECK(!key.empty(), "--set '", assignment, "': empty key in the path '", path, "'");
    if (dot == std::string::npos) {
      (*node)[key] = value;
      anchor_data_path(config, std::filesystem::current_path());  // --set data.path=... is typed in a shell
      return;
    }
    json& child = (*node)[key];
    if (child.is_null()) child = json::object();
    DESCENT_CHECK(child.is_object(), "--set '", assignment, "': ", path.substr(0, dot),
                  " is a value, not a table");
    node = &child;
    start = dot + 1;
  }
}

}  // namespace descent::train
