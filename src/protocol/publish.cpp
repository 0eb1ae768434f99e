#include "protocol/publish.h"

#include <initializer_list>
#include <set>

#include "protocol/dam_path.h"

namespace portico::protocol {
namespace {

using nlohmann::json;

Status Bad(std::string message) { return InvalidArgument(std::move(message)); }

// Reads the fields of one JSON object, refusing unknown ones and wrong types.
class Fields {
 public:
  Fields(const json& j, std::string_view what, std::initializer_list<std::string_view> known)
      : j_(j), what_(what) {
    if (!j.is_object()) {
      status_ = Bad(std::string(what_) + " must be a JSON object");
      return;
    }
    for (const auto& [key, value] : j.items()) {
      bool ok = false;
      for (auto k : known) ok = ok || k == key;
      if (!ok) {
        status_ = Bad(std::string(what_) + " has an unknown field (only " + Join(known) + ")");
        return;
      }
    }
  }

  std::string String(std::string_view name, bool required, size_t max_bytes = 1024) {
    const json* v = Find(name, required);
    if (v == nullptr) return {};
    if (!v->is_string()) return Fail(name, "must be a string"), std::string();
    const auto& s = v->get_ref<const std::string&>();
    if (s.size() > max_bytes) return Fail(name, "is too long"), std::string();
    return s;
  }

  int64_t Int(std::string_view name, bool required, int64_t min, int64_t max) {
    const json* v = Find(name, required);
    if (v == nullptr) return 0;
    if (!v->is_number_integer()) return Fail(name, "must be an integer"), 0;
    int64_t n = v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)
                    ? INT64_MAX
                    : v->get<int64_t>();
    if (n < min || n > max) {
      return Fail(name, "must be between " + std::to_string(min) + " and " + std::to_string(max)),
             0;
    }
    return n;
  }

  bool Bool(std::string_view name) {
    const json* v = Find(name, false);
    if (v == nullptr) return false;
    if (!v->is_boolean()) return Fail(name, "must be true or false"), false;
    return v->get<bool>();
  }

  const json* Array(std::string_view name, size_t max_items) {
    const json* v = Find(name, true);
    if (v == nullptr) return nullptr;
    if (!v->is_array()) return Fail(name, "must be an array"), nullptr;
    if (v->size() > max_items) {
      return Fail(name, "has more than " + std::to_string(max_items) + " items"), nullptr;
    }
    return v;
  }

  void Fail(std::string_view name, const std::string& why) {
    if (status_.ok()) status_ = Bad(std::string(what_) + "." + std::string(name) + " " + why);
  }

  const Status& status() const { return status_; }

 private:
  const json* Find(std::string_view name, bool required) {
    if (!status_.ok()) return nullptr;
    auto it = j_.find(name);
    if (it == j_.end() || it->is_null()) {
      if (required) Fail(name, "is required");
      return nullptr;
    }
    return &*it;
  }

  static std::string Join(std::initializer_list<std::string_view> names) {
    std::string out;
    for (auto n : names) {
      if (!out.empty()) out += ", ";
      out += n;
    }
    return out;
  }

  const json& j_;
  std::string_view what_;
  Status status_;
};

constexpr int kMaxVersion = 1'000'000;
constexpr int64_t kMaxSeq = int64_t{1} << 62;
constexpr int64_t kMaxSize = int64_t{1} << 50;

StatusOr<std::vector<std::string>> DigestList(const json* array, std::string_view what) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& d : *array) {
    if (!d.is_string() || !IsSha256Hex(d.get_ref<const std::string&>())) {
      return Bad(std::string(what) + " items must be sha256 digests (64 lowercase hex)");
    }
    if (seen.insert(d.get<std::string>()).second) out.push_back(d.get<std::string>());
  }
  return out;
}

bool IsIdempotencyKey(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool IsPrintableId(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7F) return false;
  }
  return !s.empty();
}

StatusOr<Operation> ParseOperation(const json& j) {
  Fields f(
      j, "operation",
      {"op", "path", "seq", "title", "modified_at", "sha256", "size", "content_type", "version"});
  Operation op;
  std::string kind = f.String("op", true, 32);
  std::string path = f.String("path", true, kMaxPathBytes);
  op.seq = f.Int("seq", true, 1, kMaxSeq);
  op.title = f.String("title", false, 1024);
  op.modified_at = f.Int("modified_at", false, 0, kMaxSeq);
  op.sha256 = f.String("sha256", false, 64);
  op.size = f.Int("size", false, 0, kMaxSize);
  op.content_type = f.String("content_type", false, 255);
  op.version = f.Int("version", false, 0, kMaxSeq);
  PORTICO_RETURN_IF_ERROR(f.status());
  if (kind == "upsert_folder") {
    op.kind = OpKind::kUpsertFolder;
  } else if (kind == "upsert_asset") {
    op.kind = OpKind::kUpsertAsset;
  } else if (kind == "delete") {
    op.kind = OpKind::kDelete;
  } else {
    return Bad("operation.op must be upsert_folder, upsert_asset or delete");
  }
  auto canonical = NormalizeDamPath(path);
  if (!canonical.ok()) return canonical.status();
  if (*canonical != path) return Bad("operation.path must be canonical (no trailing slash)");
  op.path = std::move(*canonical);
  if (op.kind == OpKind::kUpsertAsset) {
    if (op.path == kDamRoot) return Bad("operation.path: the DAM root is a folder, not an asset");
    if (!IsSha256Hex(op.sha256)) return Bad("operation.sha256 must be 64 lowercase hex");
    if (j.find("size") == j.end()) return Bad("operation.size is required for upsert_asset");
  } else if (!op.sha256.empty() || !op.content_type.empty() || op.size != 0 || op.version != 0) {
    return Bad("operation." + std::string(OpKindName(op.kind)) +
               " takes no sha256, size, content_type or version");
  }
  return op;
}

}  // namespace

std::string_view OpKindName(OpKind kind) {
  switch (kind) {
    case OpKind::kUpsertFolder:
      return "upsert_folder";
    case OpKind::kUpsertAsset:
      return "upsert_asset";
    case OpKind::kDelete:
      return "delete";
  }
  return "delete";
}

bool IsSha256Hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

json ToJson(const HandshakeRequest& v) {
  return {{"author_id", v.author_id},
          {"author_url", v.author_url},
          {"protocol_version", v.protocol_version},
          {"min_protocol_version", v.min_protocol_version},
          {"bind", v.bind}};
}

json ToJson(const HandshakeResponse& v) {
  return {{"tenant", v.tenant},
          {"org", v.org},
          {"protocol_version", v.protocol_version},
          {"min_author_version", v.min_author_version},
          {"bound_author_id", v.bound_author_id}};
}

json ToJson(const CheckRequest& v) { return {{"digests", v.digests}}; }
json ToJson(const CheckResponse& v) { return {{"missing", v.missing}}; }
json ToJson(const BlobReceipt& v) { return {{"sha256", v.sha256}, {"size", v.size}}; }

json ToJson(const Operation& v) {
  json j = {{"op", OpKindName(v.kind)}, {"path", v.path}, {"seq", v.seq}};
  if (v.kind != OpKind::kDelete) {
    if (!v.title.empty()) j["title"] = v.title;
    j["modified_at"] = v.modified_at;
  }
  if (v.kind == OpKind::kUpsertAsset) {
    j["sha256"] = v.sha256;
    j["size"] = v.size;
    if (!v.content_type.empty()) j["content_type"] = v.content_type;
    j["version"] = v.version;
  }
  return j;
}

json ToJson(const CommitRequest& v) {
  json ops = json::array();
  for (const auto& op : v.operations) ops.push_back(ToJson(op));
  return {{"idempotency_key", v.idempotency_key}, {"dry_run", v.dry_run}, {"operations", ops}};
}

json ToJson(const CommitResponse& v) {
  return {{"idempotency_key", v.idempotency_key},
          {"applied", v.applied},
          {"operations", v.operations},
          {"skipped", v.skipped}};
}

StatusOr<HandshakeRequest> ParseHandshakeRequest(const json& j) {
  Fields f(j, "handshake",
           {"author_id", "author_url", "protocol_version", "min_protocol_version", "bind"});
  HandshakeRequest v;
  v.author_id = f.String("author_id", true, 128);
  v.author_url = f.String("author_url", false, 2048);
  v.protocol_version = static_cast<int>(f.Int("protocol_version", true, 1, kMaxVersion));
  v.min_protocol_version = static_cast<int>(f.Int("min_protocol_version", false, 1, kMaxVersion));
  if (v.min_protocol_version == 0) v.min_protocol_version = v.protocol_version;
  v.bind = f.Bool("bind");
  PORTICO_RETURN_IF_ERROR(f.status());
  if (!IsPrintableId(v.author_id)) return Bad("handshake.author_id must be printable ASCII");
  if (v.min_protocol_version > v.protocol_version) {
    return Bad("handshake.min_protocol_version is above protocol_version");
  }
  return v;
}

StatusOr<HandshakeResponse> ParseHandshakeResponse(const json& j) {
  Fields f(j, "handshake response",
           {"tenant", "org", "protocol_version", "min_author_version", "bound_author_id"});
  HandshakeResponse v;
  v.tenant = f.String("tenant", true, 128);
  v.org = f.String("org", true, 128);
  v.protocol_version = static_cast<int>(f.Int("protocol_version", true, 1, kMaxVersion));
  v.min_author_version = static_cast<int>(f.Int("min_author_version", true, 1, kMaxVersion));
  v.bound_author_id = f.String("bound_author_id", false, 128);
  PORTICO_RETURN_IF_ERROR(f.status());
  return v;
}

StatusOr<CheckRequest> ParseCheckRequest(const json& j) {
  Fields f(j, "check", {"digests"});
  const json* digests = f.Array("digests", kMaxCheckDigests);
  PORTICO_RETURN_IF_ERROR(f.status());
  PORTICO_ASSIGN_OR_RETURN(auto list, DigestList(digests, "check.digests"));
  return CheckRequest{std::move(list)};
}

StatusOr<CheckResponse> ParseCheckResponse(const json& j) {
  Fields f(j, "check response", {"missing"});
  const json* missing = f.Array("missing", kMaxCheckDigests);
  PORTICO_RETURN_IF_ERROR(f.status());
  PORTICO_ASSIGN_OR_RETURN(auto list, DigestList(missing, "check response.missing"));
  return CheckResponse{std::move(list)};
}

StatusOr<BlobReceipt> ParseBlobReceipt(const json& j) {
  Fields f(j, "blob receipt", {"sha256", "size"});
  BlobReceipt v;
  v.sha256 = f.String("sha256", true, 64);
  v.size = f.Int("size", true, 0, kMaxSize);
  PORTICO_RETURN_IF_ERROR(f.status());
  if (!IsSha256Hex(v.sha256)) return Bad("blob receipt.sha256 must be 64 lowercase hex");
  return v;
}

StatusOr<CommitRequest> ParseCommitRequest(const json& j) {
  Fields f(j, "commit", {"idempotency_key", "dry_run", "operations"});
  CommitRequest v;
  v.idempotency_key = f.String("idempotency_key", true, 128);
  v.dry_run = f.Bool("dry_run");
  const json* ops = f.Array("operations", kMaxCommitOperations);
  PORTICO_RETURN_IF_ERROR(f.status());
  if (!IsIdempotencyKey(v.idempotency_key)) {
    return Bad("commit.idempotency_key must be 1 to 128 of A-Z a-z 0-9 . _ : -");
  }
  if (ops->empty()) return Bad("commit.operations is empty");
  v.operations.reserve(ops->size());
  for (const auto& op : *ops) {
    PORTICO_ASSIGN_OR_RETURN(auto parsed, ParseOperation(op));
    v.operations.push_back(std::move(parsed));
  }
  return v;
}

StatusOr<CommitResponse> ParseCommitResponse(const json& j) {
  Fields f(j, "commit response", {"idempotency_key", "applied", "operations", "skipped"});
  CommitResponse v;
  v.idempotency_key = f.String("idempotency_key", true, 128);
  v.applied = f.Bool("applied");
  v.operations = f.Int("operations", false, 0, kMaxSeq);
  v.skipped = f.Int("skipped", false, 0, kMaxSeq);
  PORTICO_RETURN_IF_ERROR(f.status());
  return v;
}

std::string AuthorTooOldMessage(int author_version, int min_author_version) {
  return "author protocol version " + std::to_string(author_version) +
         " is not supported by this portal (minimum " + std::to_string(min_author_version) +
         "); upgrade the author";
}

std::string PortalTooOldMessage(int portal_version, int min_portal_version) {
  return "portal protocol version " + std::to_string(portal_version) +
         " is not supported by this author (minimum " + std::to_string(min_portal_version) +
         "); upgrade the portal";
}

}  // namespace portico::protocol
