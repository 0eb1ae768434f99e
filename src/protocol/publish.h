// The publish protocol (author → portal), compiled by both ends. See docs/decisions.md
// "Publish protocol" for the rules; in short:
//
// Every URL is relative to the tenant's base URL, `<portal>/t/<tenant>`:
//   POST /api/v1/ingest/handshake       HandshakeRequest  → HandshakeResponse
//   POST /api/v1/ingest/check           CheckRequest      → CheckResponse (the missing digests)
//   PUT  /api/v1/ingest/blobs/{sha256}  the raw bytes     → BlobReceipt (201 new, 200 had it)
//   POST /api/v1/ingest/commit          CommitRequest     → CommitResponse
// Each needs a bearer token of the tenant's org holding the scope kPortalScope and, after the
// handshake bound an author, the header `X-Portico-Author: <author_id>` of that author.
//
// A commit is applied in one transaction, once per idempotency key (a replay answers the first
// result with `applied: false`). Operations on one path apply in `seq` order: an operation whose
// seq is not greater than the last one applied to that path (deletes included) is skipped, so
// commits reordered across agents converge on the author's latest state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace portico::protocol {

// The version this build speaks, and the oldest author version a portal of this build accepts.
inline constexpr int kPublishProtocolVersion = 1;
inline constexpr int kMinAuthorProtocolVersion = 1;

// The scope an ingest token must hold (the portal API's metascope at the identity service).
inline constexpr std::string_view kPortalScope = "ent_portal_sdk";
inline constexpr std::string_view kAuthorHeader = "X-Portico-Author";

inline constexpr size_t kMaxCheckDigests = 1000;
inline constexpr size_t kMaxCommitOperations = 1000;
inline constexpr size_t kMaxCommitBytes = 4u << 20;

// The bytes of the test package's one asset, committed as a dry run (validated and applied in a
// transaction that is then rolled back), so a test connection leaves nothing visible.
inline constexpr std::string_view kTestPackageBytes = "Portico test package, protocol 1\n";
inline constexpr std::string_view kTestPackagePath = "/content/dam/.portico-test/package.txt";

struct HandshakeRequest {
  std::string author_id;   // stable id of the author instance (made once, kept in its database)
  std::string author_url;  // for people reading the portal's settings
  int protocol_version = kPublishProtocolVersion;
  int min_protocol_version = kPublishProtocolVersion;  // the oldest portal version it can talk to
  bool bind = false;  // true: bind this author to the tenant if none is bound yet
};

struct HandshakeResponse {
  std::string tenant;
  std::string org;
  int protocol_version = kPublishProtocolVersion;
  int min_author_version = kMinAuthorProtocolVersion;
  std::string bound_author_id;  // "" when no author is bound
};

struct CheckRequest {
  std::vector<std::string> digests;  // sha256, 64 lowercase hex; at most kMaxCheckDigests
};

struct CheckResponse {
  std::vector<std::string> missing;
};

struct BlobReceipt {
  std::string sha256;
  int64_t size = 0;
};

enum class OpKind { kUpsertFolder, kUpsertAsset, kDelete };
std::string_view OpKindName(OpKind kind);

struct Operation {
  OpKind kind = OpKind::kUpsertAsset;
  std::string path;  // canonical DAM path (dam_path.h)
  int64_t seq = 0;   // > 0; increases with every change the author makes
  // kUpsertFolder and kUpsertAsset:
  std::string title;
  int64_t modified_at = 0;  // Unix seconds on the author
  // kUpsertAsset only:
  std::string sha256;
  int64_t size = 0;
  std::string content_type;
  int64_t version = 0;  // the author's version number of the asset
};

struct CommitRequest {
  std::string idempotency_key;        // 1–128 of [A-Za-z0-9._:-]
  bool dry_run = false;               // validate and apply, then roll back (test packages)
  std::vector<Operation> operations;  // 1..kMaxCommitOperations
};

struct CommitResponse {
  std::string idempotency_key;
  bool applied = true;     // false: this key was applied before; nothing changed now
  int64_t operations = 0;  // how many operations changed something
  int64_t skipped = 0;     // stale by seq
};

// True for 64 lowercase hex characters.
bool IsSha256Hex(std::string_view s);

// JSON forms. The parsers validate everything (types, unknown fields refused, paths canonical,
// digests, limits) and fail with InvalidArgument naming the field.
nlohmann::json ToJson(const HandshakeRequest& v);
nlohmann::json ToJson(const HandshakeResponse& v);
nlohmann::json ToJson(const CheckRequest& v);
nlohmann::json ToJson(const CheckResponse& v);
nlohmann::json ToJson(const BlobReceipt& v);
nlohmann::json ToJson(const Operation& v);
nlohmann::json ToJson(const CommitRequest& v);
nlohmann::json ToJson(const CommitResponse& v);

StatusOr<HandshakeRequest> ParseHandshakeRequest(const nlohmann::json& j);
StatusOr<HandshakeResponse> ParseHandshakeResponse(const nlohmann::json& j);
StatusOr<CheckRequest> ParseCheckRequest(const nlohmann::json& j);
StatusOr<CheckResponse> ParseCheckResponse(const nlohmann::json& j);
StatusOr<BlobReceipt> ParseBlobReceipt(const nlohmann::json& j);
StatusOr<CommitRequest> ParseCommitRequest(const nlohmann::json& j);
StatusOr<CommitResponse> ParseCommitResponse(const nlohmann::json& j);

// The message for an author whose version the portal does not support (A8), and the reverse.
std::string AuthorTooOldMessage(int author_version, int min_author_version);
std::string PortalTooOldMessage(int portal_version, int min_portal_version);

}  // namespace portico::protocol
