#include "core/http/router.h"

#include <cstdlib>
#include <iostream>

namespace portico::http {
namespace {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    out.push_back(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

bool IsParam(std::string_view s) { return s.size() > 2 && s.front() == '{' && s.back() == '}'; }
bool IsRest(std::string_view s) { return IsParam(s) && s[s.size() - 2] == '*'; }

// Matches one route; literal-segment count is the tie-break score (higher is more specific).
bool MatchSegments(const Route& route, const std::vector<std::string_view>& parts,
                   std::vector<std::pair<std::string, std::string>>* params, int* score) {
  params->clear();
  *score = 0;
  const auto& segs = route.segments;
  for (size_t i = 0; i < segs.size(); ++i) {
    const std::string& seg = segs[i];
    if (IsRest(seg)) {
      std::string rest;
      for (size_t j = i; j < parts.size(); ++j) {
        if (j > i) rest += '/';
        rest += parts[j];
      }
      params->emplace_back(seg.substr(1, seg.size() - 3), std::move(rest));
      return true;
    }
    if (i >= parts.size()) return false;
    if (IsParam(seg)) {
      if (parts[i].empty()) return false;
      params->emplace_back(seg.substr(1, seg.size() - 2), std::string(parts[i]));
    } else {
      if (seg != parts[i]) return false;
      ++*score;
    }
  }
  return segs.size() == parts.size();
}

}  // namespace

void Router::Add(std::string method, std::string pattern, Handler handler, RouteOptions options) {
  if (pattern.empty() || pattern.front() != '/') {
    std::cerr << "route pattern must start with '/': " << pattern << "\n";
    std::abort();
  }
  if (options.run_inline && options.stream_body) {
    std::cerr << "a streaming route cannot run inline: " << pattern << "\n";
    std::abort();
  }
  Route r;
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  for (auto s : SplitPath(r.pattern)) r.segments.emplace_back(s);
  for (size_t i = 0; i < r.segments.size(); ++i) {
    if (IsRest(r.segments[i]) && i + 1 != r.segments.size()) {
      std::cerr << "a {name*} segment must be last: " << r.pattern << "\n";
      std::abort();
    }
  }
  for (const auto& other : *routes_) {
    if (other.method == r.method && other.pattern == r.pattern) {
      std::cerr << "duplicate route " << r.method << " " << r.pattern << "\n";
      std::abort();
    }
  }
  if (options.name.empty()) options.name = r.pattern;
  r.handler = std::move(handler);
  r.options = std::move(options);
  routes_->push_back(std::move(r));
}

RouteMatch Router::Match(std::string_view method, std::string_view path) const {
  RouteMatch best;
  int best_score = -1;
  std::vector<std::pair<std::string, std::string>> params;
  auto parts = SplitPath(path);
  auto try_method = [&](std::string_view m) {
    for (const auto& route : *routes_) {
      int score = 0;
      if (!MatchSegments(route, parts, &params, &score)) continue;
      if (route.method != m) continue;
      if (score > best_score) {
        best_score = score;
        best.route = &route;
        best.params = params;
      }
    }
  };
  try_method(method);
  if (!best.route && method == "HEAD") try_method("GET");
  if (best.route) return best;
  for (const auto& route : *routes_) {
    int score = 0;
    if (MatchSegments(route, parts, &params, &score)) {
      bool seen = false;
      for (const auto& m : best.allowed_methods) seen |= (m == route.method);
      if (!seen) best.allowed_methods.push_back(route.method);
    }
  }
  return best;
}

}  // namespace portico::http
