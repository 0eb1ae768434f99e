#include "core/config.h"

#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/json.h"

extern char** environ;

namespace portico {
namespace {

void Flatten(const nlohmann::json& j, const std::string& prefix,
             std::map<std::string, std::string, std::less<>>& out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string key = prefix.empty() ? it.key() : prefix + "_" + it.key();
    if (it->is_object()) {
      Flatten(*it, key, out);
    } else if (it->is_string()) {
      out[key] = it->get<std::string>();
    } else {
      out[key] = it->dump();
    }
  }
}

std::string Normalize(std::string key) {
  for (char& c : key) {
    if (c == '-') c = '_';
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return key;
}

}  // namespace

StatusOr<Config> Config::Load(const std::filesystem::path& file,
                              const std::map<std::string, std::string>& flags,
                              const std::map<std::string, std::string>& defaults) {
  Config c;
  for (const auto& [k, v] : defaults) c.values_[Normalize(k)] = v;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) return InvalidArgument("cannot read config file " + file.string());
    std::stringstream ss;
    ss << in.rdbuf();
    PORTICO_ASSIGN_OR_RETURN(auto j, ParseStrictJson(ss.str()));
    if (!j.is_object())
      return InvalidArgument("config file " + file.string() + " must hold a JSON object");
    Flatten(j, "", c.values_);
  }
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    if (kv.substr(0, 8) != "PORTICO_") continue;
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    c.values_[Normalize(std::string(kv.substr(8, eq - 8)))] = std::string(kv.substr(eq + 1));
  }
  for (const auto& [k, v] : flags) c.values_[Normalize(k)] = v;
  return c;
}

std::optional<std::string> Config::Get(std::string_view key) const {
  auto it = values_.find(key);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Config::GetString(std::string_view key, std::string_view fallback) const {
  auto v = Get(key);
  return v ? *v : std::string(fallback);
}

StatusOr<int64_t> Config::GetInt(std::string_view key, int64_t fallback) const {
  auto v = Get(key);
  if (!v || v->empty()) return fallback;
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || p != v->data() + v->size()) {
    return InvalidArgument("setting '" + std::string(key) + "' must be an integer");
  }
  return out;
}

StatusOr<int64_t> Config::GetInt(std::string_view key, int64_t fallback, int64_t min,
                                 int64_t max) const {
  PORTICO_ASSIGN_OR_RETURN(int64_t v, GetInt(key, fallback));
  if (v >= min && v <= max) return v;
  std::string range = max == std::numeric_limits<int64_t>::max()
                          ? "at least " + std::to_string(min)
                          : std::to_string(min) + " to " + std::to_string(max);
  return InvalidArgument("setting '" + std::string(key) + "' must be " + range);
}

StatusOr<bool> Config::GetBool(std::string_view key, bool fallback) const {
  auto v = Get(key);
  if (!v || v->empty()) return fallback;
  if (*v == "true" || *v == "1" || *v == "yes" || *v == "on") return true;
  if (*v == "false" || *v == "0" || *v == "no" || *v == "off") return false;
  return InvalidArgument("setting '" + std::string(key) + "' must be true or false");
}

}  // namespace portico
