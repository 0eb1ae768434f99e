// Authenticated encryption of secrets at rest (signing keys, upstream client secrets) with
// AES-256-GCM under one master key kept in a file outside the database.
//
// Sealed format: 0x01 (version) || 12-byte random nonce || ciphertext || 16-byte tag.
// The associated data is authenticated but not stored: pass what the secret belongs to (for
// example "signing_key:<kid>"), so a sealed value copied to another row fails to open.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/status.h"

namespace portico::crypto {

// Immutable after construction; Seal and Open may be called from several threads at once.
class SecretBox {
 public:
  // Reads the 32-byte master key from `key_file`, or creates that file with 32 random bytes and
  // mode 0600 if it does not exist (never overwriting one that appears meanwhile). Refuses, with
  // InvalidArgument, a file that is not a regular file, whose mode grants any group or other
  // access ("master key file X must be mode 0600"), or whose size is not 32 bytes; fails with
  // Internal on I/O errors. Meant for start-up.
  static StatusOr<SecretBox> LoadOrCreate(const std::filesystem::path& key_file);

  // Uses `key32` as the master key. It must be exactly 32 bytes: anything else aborts, since
  // it can only be a programming error (keys come from LoadOrCreate or from tests).
  explicit SecretBox(std::string key32);
  ~SecretBox();  // wipes the key
  SecretBox(const SecretBox&) = default;
  SecretBox& operator=(const SecretBox&) = default;
  SecretBox(SecretBox&&) noexcept = default;
  SecretBox& operator=(SecretBox&&) noexcept = default;

  // Encrypts `plaintext` bound to `associated_data`, with a fresh random nonce: sealing the
  // same plaintext twice gives different outputs. Cannot fail (aborts if OpenSSL does).
  std::string Seal(std::string_view plaintext, std::string_view associated_data) const;

  // Decrypts what Seal produced with the same key and associated data. Fails with Internal
  // ("secret cannot be decrypted: wrong master key or corrupted data") if the data is too short,
  // has an unknown version, was altered, or was sealed with another key or associated data.
  StatusOr<std::string> Open(std::string_view sealed, std::string_view associated_data) const;

 private:
  std::string key_;
};

}  // namespace portico::crypto
