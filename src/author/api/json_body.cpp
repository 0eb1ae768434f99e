#include "author/api/json_body.h"

#include "core/json.h"

namespace portico::author {

StatusOr<nlohmann::json> ReadJsonObject(http::Request& req, size_t limit) {
  if (req.MediaType() != "application/json") {
    return Status(Code::kUnsupportedMedia, "expected a body of application/json");
  }
  PORTICO_ASSIGN_OR_RETURN(std::string text, req.body->ReadAll(limit));
  PORTICO_ASSIGN_OR_RETURN(nlohmann::json body,
                           ParseStrictJson(text, {.max_bytes = limit, .max_depth = 8}));
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  return body;
}

StatusOr<std::string> StringMember(const nlohmann::json& body, const char* name, bool required) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required) return InvalidArgument(std::string("'") + name + "' is required");
    return std::string();
  }
  if (!it->is_string()) return InvalidArgument(std::string("'") + name + "' must be a string");
  return it->get<std::string>();
}

StatusOr<bool> BoolQuery(const http::Request& req, std::string_view name) {
  auto v = req.QueryParam(name);
  if (!v) return false;
  if (*v == "true" || *v == "1") return true;
  if (*v == "false" || *v == "0" || v->empty()) return false;
  return InvalidArgument(std::string(name) + " must be true or false");
}

}  // namespace portico::author
