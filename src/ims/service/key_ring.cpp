#include "ims/service/key_ring.h"

#include "core/crypto/jws.h"
#include "core/json.h"
#include "core/log.h"

namespace portico::ims {
namespace {
constexpr std::string_view kKeyAad = "portico-ims-signing-key:";
}

StatusOr<std::unique_ptr<KeyRing>> KeyRing::Load(ImsStore& store, const crypto::SecretBox& box,
                                                 const Clock& clock, int64_t max_token_seconds) {
  std::unique_ptr<KeyRing> ring(new KeyRing(store, box, clock, max_token_seconds));
  std::unique_lock lock(ring->mu_);
  PORTICO_RETURN_IF_ERROR(ring->Reload());
  bool has_active = !ring->keys_.empty() && !ring->keys_.back().retired_at;
  if (!has_active) {
    PORTICO_RETURN_IF_ERROR(ring->CreateKey());
    PORTICO_RETURN_IF_ERROR(ring->Reload());
  }
  return ring;
}

Status KeyRing::CreateKey() {
  PORTICO_ASSIGN_OR_RETURN(auto key, crypto::PrivateKey::GenerateEcP256());
  std::string kid = key.public_key().Thumbprint().substr(0, 16);
  SigningKeyRecord rec;
  rec.kid = kid;
  rec.sealed_private_key = box_.Seal(key.ToPem(), std::string(kKeyAad) + kid);
  rec.public_jwk = JsonDump(key.public_key().ToJwk(kid));
  rec.created_at = clock_.NowSeconds();
  PORTICO_RETURN_IF_ERROR(store_.InsertSigningKey(rec));
  log::Info("signing_key_created", {{"kid", kid}});
  return Status::Ok();
}

Status KeyRing::Reload() {
  PORTICO_ASSIGN_OR_RETURN(auto records, store_.ListSigningKeys());
  const int64_t now = clock_.NowSeconds();
  std::vector<Entry> keys;
  nlohmann::json jwks = {{"keys", nlohmann::json::array()}};
  for (const auto& r : records) {
    if (r.retired_at && *r.retired_at + max_token_seconds_ + 60 < now) {
      PORTICO_RETURN_IF_ERROR(store_.DeleteSigningKey(r.kid));  // every token it signed has expired
      continue;
    }
    PORTICO_ASSIGN_OR_RETURN(auto jwk, ParseStrictJson(r.public_jwk));
    PORTICO_ASSIGN_OR_RETURN(auto pub, crypto::PublicKey::FromJwk(jwk));
    Entry e{r.kid, nullptr, {}, pub, r.created_at, r.retired_at};
    if (!r.retired_at) {
      PORTICO_ASSIGN_OR_RETURN(std::string pem,
                               box_.Open(r.sealed_private_key, std::string(kKeyAad) + r.kid));
      PORTICO_ASSIGN_OR_RETURN(auto priv, crypto::PrivateKey::FromPem(pem));
      e.private_key = std::make_shared<crypto::PrivateKey>(std::move(priv));
      e.encoded_header =
          crypto::EncodeJwsHeader({{"kid", r.kid}, {"typ", "JWT"}}, crypto::JwsAlgorithm::kES256);
    }
    jwks["keys"].push_back(pub.ToJwk(r.kid));
    keys.push_back(std::move(e));
  }
  // The active key (not retired, newest) goes last.
  std::stable_partition(keys.begin(), keys.end(),
                        [](const Entry& e) { return e.retired_at.has_value(); });
  keys_ = std::move(keys);
  jwks_json_ = JsonDump(jwks);
  return Status::Ok();
}

StatusOr<std::string> KeyRing::Sign(std::string_view claims_json) const {
  std::shared_lock lock(mu_);
  const Entry& active = keys_.back();
  return crypto::SignJwsEncoded(active.encoded_header, claims_json, *active.private_key,
                                crypto::JwsAlgorithm::kES256);
}

StatusOr<nlohmann::json> KeyRing::Verify(std::string_view token) const {
  PORTICO_ASSIGN_OR_RETURN(auto jws, crypto::ParseJws(token));
  if (jws.kid.empty()) return InvalidArgument("token has no kid");
  std::shared_lock lock(mu_);
  for (const auto& k : keys_) {
    if (k.kid != jws.kid) continue;
    PORTICO_RETURN_IF_ERROR(crypto::VerifyJws(jws, k.public_key));
    return std::move(jws.payload);
  }
  return InvalidArgument("token kid names no key of this service");
}

std::string KeyRing::JwksJson() const {
  std::shared_lock lock(mu_);
  return jwks_json_;
}

std::string KeyRing::active_kid() const {
  std::shared_lock lock(mu_);
  return keys_.back().kid;
}

Status KeyRing::Rotate() {
  std::unique_lock lock(mu_);
  PORTICO_RETURN_IF_ERROR(store_.RetireSigningKeys(clock_.NowSeconds()));
  PORTICO_RETURN_IF_ERROR(CreateKey());
  return Reload();
}

}  // namespace portico::ims
