#include "portal/api/portal_api.h"

#include <nlohmann/json.hpp>

#include "core/json.h"
#include "portal/service/byte_range.h"
#include "protocol/publish.h"

namespace portico::portal {
namespace {

using http::Request;
using http::Response;
using http::RouteOptions;
using nlohmann::json;

constexpr size_t kJsonBodyLimit = 64 * 1024;
constexpr size_t kDownloadPiece = 256 * 1024;

Response ErrorResponse(const Status& st) {
  Response r = Response::Error(st);
  if (st.code() == Code::kUnauthenticated) {
    r.headers.Set("WWW-Authenticate", "Bearer realm=\"portico-portal\", error=\"invalid_token\"");
  }
  return r;
}

// The verified caller of a request: its bearer token checked offline. The token itself stays
// here: services see only the caller's org and scopes.
StatusOr<Caller> Authenticate(const PortalApiDeps& d, const Request& req) {
  if (req.headers.Count("Authorization") > 1) {
    return Status(Code::kUnauthenticated, "invalid_token", "send one Authorization header");
  }
  auto token = req.BearerToken();
  if (!token) {
    return Status(Code::kUnauthenticated, "invalid_token",
                  "an identity service access token is required (Authorization: Bearer)");
  }
  PORTICO_ASSIGN_OR_RETURN(ims::TokenClaims claims, d.verifier->Verify(*token));
  return Caller{claims.org, claims.subject, claims.scopes};
}

StatusOr<json> ReadJsonBody(Request& req, size_t limit) {
  if (req.MediaType() != "application/json") {
    return Status(Code::kUnsupportedMedia, "expected a body of application/json");
  }
  PORTICO_ASSIGN_OR_RETURN(std::string text, req.body->ReadAll(limit));
  PORTICO_ASSIGN_OR_RETURN(json body, ParseStrictJson(text, {.max_bytes = limit, .max_depth = 8}));
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  return body;
}

std::string AuthorHeader(const Request& req) {
  if (req.headers.Count(protocol::kAuthorHeader) != 1) return "";
  return std::string(*req.headers.Get(protocol::kAuthorHeader));
}

json TenantJson(const TenantRecord& t, const TenantService& s) {
  json j = {
      {"tenant", t.id},
      {"org", t.org},
      {"url", s.TenantUrl(t)},
      {"created_at", t.created_at},
      {"bound_author_id", t.bound_author_id.empty() ? json(nullptr) : json(t.bound_author_id)},
      {"bound_author_url", t.bound_author_url.empty() ? json(nullptr) : json(t.bound_author_url)}};
  j["alias"] = t.alias.empty() ? json(nullptr) : json(t.alias);
  j["alias_url"] = t.alias.empty() ? json(nullptr) : json(s.AliasUrl(t));
  return j;
}

json EntryJson(const EntryRecord& e) {
  json j = {{"path", e.path},
            {"name", e.name},
            {"type", EntryTypeName(e.type)},
            {"title", e.title},
            {"modified_at", e.modified_at},
            {"published_at", e.published_at}};
  if (e.type == EntryType::kAsset) {
    j["size"] = e.size;
    j["sha256"] = e.sha256;
    j["content_type"] = e.content_type;
    j["version"] = e.version;
  } else {
    j["size"] = nullptr;
    j["sha256"] = nullptr;
    j["content_type"] = nullptr;
  }
  return j;
}

// A media type safe to echo in Content-Type (type/subtype of token characters), else binary.
std::string SafeContentType(const std::string& ct) {
  auto is_token = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$&-^_.+").find(c) != std::string_view::npos;
  };
  size_t slash = ct.find('/');
  if (ct.empty() || ct.size() > 127 || slash == std::string::npos || slash == 0 ||
      slash + 1 == ct.size())
    return "application/octet-stream";
  for (size_t i = 0; i < ct.size(); ++i) {
    if (i != slash && !is_token(ct[i])) return "application/octet-stream";
  }
  return ct;
}

// Content-Disposition: attachment with an ASCII fallback and the RFC 6266/8187 UTF-8 name.
std::string ContentDisposition(const std::string& name) {
  std::string ascii, encoded;
  static const char* kHex = "0123456789ABCDEF";
  for (unsigned char c : name) {
    bool plain =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        std::string_view("!#$&+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    if (plain) {
      encoded += static_cast<char>(c);
    } else {
      encoded += '%';
      encoded += kHex[c >> 4];
      encoded += kHex[c & 15];
    }
    ascii +=
        (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '%') ? static_cast<char>(c) : '_';
  }
  return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + encoded;
}

// Streams [offset, offset + remaining) of a blob in pieces of at most kDownloadPiece.
class BlobBodySource final : public http::BodySource {
 public:
  BlobBodySource(std::unique_ptr<store::BlobReader> reader, int64_t offset, int64_t length)
      : reader_(std::move(reader)), offset_(offset), remaining_(length) {}

  StatusOr<size_t> Read(std::span<char> buf) override {
    if (remaining_ <= 0) return size_t{0};
    size_t want = std::min<size_t>({buf.size(), kDownloadPiece, static_cast<size_t>(remaining_)});
    PORTICO_ASSIGN_OR_RETURN(size_t n, reader_->ReadAt(offset_, buf.data(), want));
    if (n == 0) return Internal("the blob ended early");
    offset_ += static_cast<int64_t>(n);
    remaining_ -= static_cast<int64_t>(n);
    return n;
  }

 private:
  std::unique_ptr<store::BlobReader> reader_;
  int64_t offset_;
  int64_t remaining_;
};

std::string TenantParam(const Request& req) { return std::string(req.PathParam("tenant")); }

}  // namespace

void AddPortalRoutes(http::Router& router, const PortalApiDeps& d) {
  auto opts = [](std::string summary, uint64_t max_body = kJsonBodyLimit) {
    RouteOptions o;
    o.max_body_bytes = max_body;
    o.summary = std::move(summary);
    o.auth = "bearer";
    return o;
  };

  // --- Tenants.
  router.Add(
      "POST", "/api/v1/tenants",
      [d](Request& req) {
        auto caller = Authenticate(d, req);
        if (!caller.ok()) return ErrorResponse(caller.status());
        auto body = ReadJsonBody(req, kJsonBodyLimit);
        if (!body.ok()) return ErrorResponse(body.status());
        for (const auto& [k, v] : body->items()) {
          if (k != "tenant" && k != "alias") {
            return ErrorResponse(InvalidArgument("unknown field '" + k.substr(0, 64) + "'"));
          }
        }
        auto tenant = body->find("tenant");
        if (tenant == body->end() || !tenant->is_string()) {
          return ErrorResponse(InvalidArgument("'tenant' is required and must be a string"));
        }
        std::string alias;
        if (auto a = body->find("alias"); a != body->end() && !a->is_null()) {
          if (!a->is_string()) return ErrorResponse(InvalidArgument("'alias' must be a string"));
          alias = a->get<std::string>();
        }
        auto t = d.tenants->Create(*caller, tenant->get<std::string>(), alias);
        if (!t.ok()) return ErrorResponse(t.status());
        return Response::Json(201, TenantJson(*t, *d.tenants));
      },
      opts("Create the tenant of the caller's org (an org admin's token)"));
  router.Add(
      "GET", "/api/v1/tenants/{tenant}",
      [d](Request& req) {
        auto caller = Authenticate(d, req);
        if (!caller.ok()) return ErrorResponse(caller.status());
        auto t = d.tenants->GetForAdmin(*caller, TenantParam(req));
        if (!t.ok()) return ErrorResponse(t.status());
        return Response::Json(200, TenantJson(*t, *d.tenants));
      },
      opts("A tenant's settings and bound author (its org's admins)"));

  // --- Ingest (protocol/publish.h).
  router.Add(
      "POST", "/t/{tenant}/api/v1/ingest/handshake",
      [d](Request& req) {
        auto caller = Authenticate(d, req);
        if (!caller.ok()) return ErrorResponse(caller.status());
        auto body = ReadJsonBody(req, kJsonBodyLimit);
        if (!body.ok()) return ErrorResponse(body.status());
        auto hs = protocol::ParseHandshakeRequest(*body);
        if (!hs.ok()) return ErrorResponse(hs.status());
        auto r = d.ingest->Handshake(*caller, TenantParam(req), *hs);
        if (!r.ok()) return ErrorResponse(r.status());
        return Response::Json(200, protocol::ToJson(*r));
      },
      opts("Publish handshake: exchange protocol versions and bind the author"));
  router.Add(
      "POST", "/t/{tenant}/api/v1/ingest/check",
      [d](Request& req) {
        auto caller = Authenticate(d, req);
        if (!caller.ok()) return ErrorResponse(caller.status());
        auto body = ReadJsonBody(req, 256 * 1024);
        if (!body.ok()) return ErrorResponse(body.status());
        auto check = protocol::ParseCheckRequest(*body);
        if (!check.ok()) return ErrorResponse(check.status());
        auto r = d.ingest->Check(*caller, TenantParam(req), AuthorHeader(req), *check);
        if (!r.ok()) return ErrorResponse(r.status());
        return Response::Json(200, protocol::ToJson(*r));
      },
      opts("Which of these blob digests the tenant is missing", 256 * 1024));
  RouteOptions blob = opts("Upload one blob (raw bytes, named by their sha256)", kMaxBlobBytes);
  blob.stream_body = true;
  router.Add(
      "PUT", "/t/{tenant}/api/v1/ingest/blobs/{sha256}",
      [d](Request& req) {
        auto caller = Authenticate(d, req);
        if (!caller.ok()) return ErrorResponse(caller.status());
        std::optional<int64_t> length;
        if (req.content_length) length = static_cast<int64_t>(*req.content_length);
        auto r = d.ingest->PutBlob(*caller, TenantParam(req), AuthorHeader(req),
                                   std::string(req.PathParam("sha256")), length,
                                   [&req](std::span<char> buf) { return req.body->Read(buf); });
        // A refused upload's unread rest is drained or the connection closed by the server.
        if (!r.ok()) return ErrorResponse(r.status());
        return Response::Json(r->created ? 201 : 200, protocol::ToJson(r->receipt));
      },
      blob);
  router.Add(
      "POST", "/t/{tenant}/api/v1/ingest/commit",
      [d](Request& req) {
        auto caller = Authenticate(d, req);
        if (!caller.ok()) return ErrorResponse(caller.status());
        auto body = ReadJsonBody(req, protocol::kMaxCommitBytes);
        if (!body.ok()) return ErrorResponse(body.status());
        auto commit = protocol::ParseCommitRequest(*body);
        if (!commit.ok()) return ErrorResponse(commit.status());
        auto r = d.ingest->Commit(*caller, TenantParam(req), AuthorHeader(req), *commit);
        if (!r.ok()) return ErrorResponse(r.status());
        return Response::Json(200, protocol::ToJson(*r));
      },
      opts("Apply a manifest of operations once per idempotency key", protocol::kMaxCommitBytes));

  // --- Reading.
  router.Add(
      "GET", "/t/{tenant}/api/v1/children/{path*}",
      [d](Request& req) {
        auto caller = Authenticate(d, req);
        if (!caller.ok()) return ErrorResponse(caller.status());
        std::optional<int> limit;
        if (auto l = req.QueryParam("limit")) {
          int v = 0;
          bool ok = !l->empty() && l->size() <= 5;
          for (char c : *l) ok = ok && c >= '0' && c <= '9';
          if (ok) v = std::stoi(std::string(*l));
          if (!ok) {
            return ErrorResponse(Status(Code::kInvalidArgument, "invalid_limit",
                                        "limit must be a number from 1 to 1000"));
          }
          limit = v;
        }
        std::string cursor(req.QueryParam("cursor").value_or(""));
        auto page = d.catalog->ListChildren(*caller, TenantParam(req),
                                            std::string(req.PathParam("path")), limit, cursor);
        if (!page.ok()) return ErrorResponse(page.status());
        json entries = json::array();
        for (const auto& e : page->entries) entries.push_back(EntryJson(e));
        json out = {
            {"folder", EntryJson(page->folder)},
            {"entries", entries},
            {"next_cursor", page->next_cursor.empty() ? json(nullptr) : json(page->next_cursor)}};
        return Response::Json(200, out);
      },
      opts("List a published folder: folders first, then by name; paged with limit and cursor"));
  router.Add(
      "GET", "/t/{tenant}/api/v1/assets/{path*}",
      [d](Request& req) {
        auto caller = Authenticate(d, req);
        if (!caller.ok()) return ErrorResponse(caller.status());
        auto e = d.catalog->GetEntry(*caller, TenantParam(req), std::string(req.PathParam("path")));
        if (!e.ok()) return ErrorResponse(e.status());
        return Response::Json(200, EntryJson(*e));
      },
      opts("One published folder or asset"));
  router.Add(
      "GET", "/t/{tenant}/api/v1/download/{path*}",
      [d](Request& req) {
        auto caller = Authenticate(d, req);
        if (!caller.ok()) return ErrorResponse(caller.status());
        auto a =
            d.catalog->OpenAsset(*caller, TenantParam(req), std::string(req.PathParam("path")));
        if (!a.ok()) return ErrorResponse(a.status());
        const int64_t size = a->reader->size();
        const std::string etag = "\"" + a->entry.sha256 + "\"";
        auto range = SelectRange(req.headers.Get("Range"), req.headers.Count("Range"),
                                 req.headers.Get("If-Range"), etag, size);
        if (!range.ok()) {
          Response e = ErrorResponse(range.status());
          e.headers.Set("Content-Range", "bytes */" + std::to_string(size));
          return e;
        }
        Response r;
        int64_t first = 0, length = size;
        if (*range) {
          first = (*range)->first;
          length = (*range)->length();
          r.status = 206;
          r.headers.Set("Content-Range", "bytes " + std::to_string(first) + "-" +
                                             std::to_string((*range)->last) + "/" +
                                             std::to_string(size));
        }
        r.headers.Set("Content-Type", SafeContentType(a->entry.content_type));
        r.headers.Set("ETag", etag);
        r.headers.Set("Accept-Ranges", "bytes");
        r.headers.Set("Content-Disposition", ContentDisposition(a->entry.name));
        r.headers.Set("X-Content-Type-Options", "nosniff");
        r.headers.Set("Cache-Control", "private, no-cache");
        r.stream = std::make_unique<BlobBodySource>(std::move(a->reader), first, length);
        r.stream_length = static_cast<uint64_t>(length);
        return r;
      },
      opts("Download a published asset (single byte Range supported)"));
}

}  // namespace portico::portal
