// SHA-256 (streaming and one-shot) and constant-time comparison.
#pragma once

#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX, kept out of this header

namespace portico::crypto {

// Incremental SHA-256. Not thread-safe: one instance belongs to one thread at a time.
// Movable but not copyable; a moved-from instance may only be destroyed or assigned to.
class Sha256 {
 public:
  Sha256();  // aborts if OpenSSL cannot allocate a digest context
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  // Appends `data` to the message.
  void Update(std::string_view data);

  // The 32-byte digest of everything passed to Update since construction or the last Final.
  // Resets the instance, so it can hash a new message afterwards.
  std::string Final();

  // As Final, but as 64 lowercase hex characters.
  std::string FinalHex();

 private:
  struct ContextDeleter {
    void operator()(evp_md_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_md_ctx_st, ContextDeleter> ctx_;
};

// The SHA-256 of `data` as 64 lowercase hex characters. Thread-safe.
std::string Sha256Hex(std::string_view data);

// The SHA-256 of `data` as 32 raw bytes. Thread-safe.
std::string Sha256Raw(std::string_view data);

// True if `a` and `b` are equal. For equal sizes the time taken does not depend on the contents,
// so comparing a secret (or its hash) leaks nothing; different sizes return false at once.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace portico::crypto
