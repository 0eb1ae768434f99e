#include <cctype>

#include <nlohmann/json.hpp>

#include "author/api/author_api.h"
#include "author/api/json_body.h"

namespace portico::author {
namespace {

using http::Request;
using http::Response;
using nlohmann::json;

json AssetJson(const AssetRecord& a) {
  return {{"path", a.path},
          {"name", std::string(a.path.substr(a.path.rfind('/') + 1))},
          {"type", "asset"},
          {"size", a.size},
          {"sha256", a.sha256},
          {"content_type", a.content_type},
          {"version", a.version},
          {"seq", a.seq},
          {"created_at", a.created_at},
          {"modified_at", a.modified_at}};
}

json FolderJson(const FolderRecord& f) {
  return {{"path", f.path},
          {"name", std::string(f.path.substr(f.path.rfind('/') + 1))},
          {"type", "folder"},
          {"seq", f.seq},
          {"created_at", f.created_at},
          {"modified_at", f.modified_at}};
}

json ChildJson(const ChildRecord& c) {
  json j = {{"path", c.path},
            {"name", c.name},
            {"type", c.is_folder ? "folder" : "asset"},
            {"seq", c.seq},
            {"modified_at", c.modified_at}};
  if (!c.is_folder) {
    j["size"] = c.size;
    j["sha256"] = c.sha256;
    j["version"] = c.version;
  }
  return j;
}

// The DAM path named by the tail of the URL.
std::string TailPath(const Request& req) { return "/" + std::string(req.PathParam("path")); }

// Streams an original to the client in pieces.
class BlobBodySource final : public http::BodySource {
 public:
  explicit BlobBodySource(std::unique_ptr<store::BlobReader> reader) : reader_(std::move(reader)) {}
  StatusOr<size_t> Read(std::span<char> buf) override {
    return reader_->Read(buf.data(), buf.size());
  }

 private:
  std::unique_ptr<store::BlobReader> reader_;
};

// A filename for Content-Disposition: ASCII fallback plus RFC 5987 UTF-8.
std::string Disposition(std::string_view name) {
  std::string ascii, encoded;
  static const char* kHex = "0123456789ABCDEF";
  for (unsigned char c : name) {
    bool plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
    ascii += plain ? static_cast<char>(c) : '_';
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_') {
      encoded += static_cast<char>(c);
    } else {
      encoded += '%';
      encoded += kHex[c >> 4];
      encoded += kHex[c & 15];
    }
  }
  return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + encoded;
}

}  // namespace

void AddAssetRoutes(http::Router& router, const AuthorApiDeps& d) {
  auto authed = [d](auto fn) {
    return [d, fn](Request& req) -> Response {
      auto who = d.guard->Check(req);
      if (!who.ok()) return Response::Error(who.status());
      return fn(req);
    };
  };
  const http::RouteOptions small{.max_body_bytes = 64 * 1024, .auth = "bearer"};
  auto opts = [&](const char* summary) {
    http::RouteOptions o = small;
    o.summary = summary;
    return o;
  };

  router.Add("POST", "/api/v1/folders/{path*}", authed([d](Request& req) {
               auto parents = BoolQuery(req, "parents");
               if (!parents.ok()) return Response::Error(parents.status());
               auto f = d.assets->CreateFolder(TailPath(req), *parents);
               if (!f.ok()) return Response::Error(f.status());
               return Response::Json(201, FolderJson(*f));
             }),
             opts("Create a folder (parents=true creates missing ancestors, like mkdir -p)"));

  router.Add("GET", "/api/v1/folders/{path*}", authed([d](Request& req) {
               int limit = AssetService::kDefaultPageSize;
               if (auto l = req.QueryParam("limit")) {
                 try {
                   size_t used = 0;
                   limit = std::stoi(std::string(*l), &used);
                   if (used != l->size()) throw std::invalid_argument("limit");
                 } catch (...) {
                   return Response::Error(InvalidArgument("limit must be a number"));
                 }
               }
               auto page = d.assets->ListFolder(TailPath(req), limit,
                                                req.QueryParam("cursor").value_or(""));
               if (!page.ok()) return Response::Error(page.status());
               json children = json::array();
               for (const auto& c : page->children) children.push_back(ChildJson(c));
               json body = {{"path", page->path}, {"children", children}};
               body["next_cursor"] =
                   page->next_cursor.empty() ? json(nullptr) : json(page->next_cursor);
               return Response::Json(200, body);
             }),
             opts("List a folder's children: folders first, then assets, by name (limit, cursor)"));

  http::RouteOptions upload{.max_body_bytes = d.max_upload_bytes,
                            .stream_body = true,
                            .summary =
                                "Upload an original (raw body, streamed); a re-upload "
                                "makes a new version; parents=true creates folders",
                            .auth = "bearer"};
  router.Add("PUT", "/api/v1/assets/{path*}", authed([d](Request& req) {
               auto parents = BoolQuery(req, "parents");
               if (!parents.ok()) return Response::Error(parents.status());
               // Refuse on the headers when we can, before any byte is uploaded.
               auto target = d.assets->CheckUploadTarget(TailPath(req), *parents);
               if (!target.ok()) return Response::Error(target.status());
               if (req.content_length && *req.content_length == 0) {
                 return Response::Error(Status(Code::kInvalidArgument, "empty_file",
                                               "the file is empty: a zero-byte file is not an "
                                               "asset"));
               }
               http::BodyReader* body = req.body;
               auto asset = d.assets->Upload(
                   *target, *parents, [body](std::span<char> buf) { return body->Read(buf); });
               if (!asset.ok()) return Response::Error(asset.status());
               return Response::Json(asset->version == 1 ? 201 : 200, AssetJson(*asset));
             }),
             upload);

  router.Add("GET", "/api/v1/assets/{path*}", authed([d](Request& req) {
               auto v = d.assets->GetVersions(TailPath(req));
               if (!v.ok()) return Response::Error(v.status());
               json body = AssetJson(v->asset);
               json versions = json::array();
               for (const auto& x : v->versions) {
                 versions.push_back({{"version", x.version},
                                     {"sha256", x.sha256},
                                     {"size", x.size},
                                     {"seq", x.seq},
                                     {"created_at", x.created_at}});
               }
               body["versions"] = versions;
               return Response::Json(200, body);
             }),
             opts("An asset's metadata and versions"));

  router.Add("GET", "/api/v1/download/{path*}", authed([d](Request& req) {
               auto asset = d.assets->GetAsset(TailPath(req));
               if (!asset.ok()) return Response::Error(asset.status());
               auto reader = d.assets->OpenOriginal(*asset);
               if (!reader.ok()) return Response::Error(reader.status());
               Response r;
               r.status = 200;
               r.headers.Set("Content-Type", asset->content_type);
               r.headers.Set("ETag", "\"" + asset->sha256 + "\"");
               r.headers.Set("X-Portico-Sha256", asset->sha256);
               r.headers.Set("Content-Disposition",
                             Disposition(asset->path.substr(asset->path.rfind('/') + 1)));
               r.stream_length = static_cast<uint64_t>((*reader)->size());
               r.stream = std::make_unique<BlobBodySource>(std::move(*reader));
               return r;
             }),
             opts("Download an asset's original (current version)"));
}

}  // namespace portico::author
