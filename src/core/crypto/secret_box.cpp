#include "core/crypto/secret_box.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/crypto/openssl_handles.h"
#include "core/crypto/random.h"

namespace portico::crypto {
namespace {

using internal::EvpCipherCtxPtr;

constexpr size_t kKeyBytes = 32;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr char kVersion = '\x01';
constexpr size_t kOverheadBytes = 1 + kNonceBytes + kTagBytes;

const EVP_CIPHER* Aes256Gcm() {
  static const EVP_CIPHER* const kCipher = [] {
    EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    if (cipher == nullptr) std::abort();  // a broken OpenSSL installation
    return cipher;
  }();
  return kCipher;
}

Status DecryptionFailed() {
  internal::DiscardOpenSslErrors();
  return Internal("secret cannot be decrypted: wrong master key or corrupted data");
}

Status IoError(const std::string& what, const std::filesystem::path& path, int error) {
  return Internal(what + " master key file " + path.string() + ": " + std::strerror(error));
}

// Closes a file descriptor on scope exit.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  // Closes now and reports close's own error.
  int Close() {
    const int result = close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

// Creates `path` with a fresh key. Succeeds without writing if the file appeared meanwhile
// (another process won the race): the caller reads whatever is there.
Status CreateKeyFile(const std::filesystem::path& path) {
  const int fd = open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return {};
    return IoError("cannot create", path, errno);
  }
  FdCloser closer(fd);
  std::string key = RandomBytes(kKeyBytes);
  size_t written = 0;
  int error = 0;
  while (written < key.size() && error == 0) {
    const ssize_t n = write(fd, key.data() + written, key.size() - written);
    if (n > 0) {
      written += static_cast<size_t>(n);
    } else if (n < 0 && errno != EINTR) {
      error = errno;
    }
  }
  OPENSSL_cleanse(key.data(), key.size());
  if (error == 0 && fchmod(fd, 0600) != 0) error = errno;  // exactly 0600 whatever the umask
  if (error == 0 && fsync(fd) != 0) error = errno;
  if (error == 0 && closer.Close() != 0) error = errno;
  if (error != 0) {
    unlink(path.c_str());  // never leave a partial key behind for the next start to refuse
    return IoError("cannot write", path, error);
  }
  // Make the new directory entry durable too; failure here is not worth refusing to start.
  const std::filesystem::path parent = path.has_parent_path() ? path.parent_path() : ".";
  const int dir_fd = open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    fsync(dir_fd);
    close(dir_fd);
  }
  return {};
}

StatusOr<std::string> ReadKeyFile(const std::filesystem::path& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open", path, errno);
  FdCloser closer(fd);
  struct stat st = {};
  if (fstat(fd, &st) != 0) return IoError("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode)) {
    return InvalidArgument("master key file " + path.string() + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    return InvalidArgument("master key file " + path.string() + " must be mode 0600");
  }
  if (st.st_size != static_cast<off_t>(kKeyBytes)) {
    return InvalidArgument("master key file " + path.string() + " must hold exactly 32 bytes");
  }
  std::string key(kKeyBytes, '\0');
  size_t done = 0;
  while (done < key.size()) {
    const ssize_t n = read(fd, key.data() + done, key.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("cannot read", path, errno);
    if (n == 0) {
      return InvalidArgument("master key file " + path.string() + " must hold exactly 32 bytes");
    }
    done += static_cast<size_t>(n);
  }
  return key;
}

}  // namespace

StatusOr<SecretBox> SecretBox::LoadOrCreate(const std::filesystem::path& key_file) {
  struct stat st = {};
  if (stat(key_file.c_str(), &st) != 0) {
    if (errno != ENOENT) return IoError("cannot stat", key_file, errno);
    PORTICO_RETURN_IF_ERROR(CreateKeyFile(key_file));
  }
  // Even after creating it, read the key back: one code path checks what is on disk.
  PORTICO_ASSIGN_OR_RETURN(std::string key, ReadKeyFile(key_file));
  SecretBox box(std::move(key));
  return box;
}

SecretBox::SecretBox(std::string key32) : key_(std::move(key32)) {
  if (key_.size() != kKeyBytes) std::abort();
}

SecretBox::~SecretBox() { OPENSSL_cleanse(key_.data(), key_.size()); }

std::string SecretBox::Seal(std::string_view plaintext, std::string_view associated_data) const {
  if (plaintext.size() > static_cast<size_t>(INT_MAX) ||
      associated_data.size() > static_cast<size_t>(INT_MAX)) {
    std::abort();  // secrets are small; gigabytes here are a bug
  }
  const std::string nonce = RandomBytes(kNonceBytes);
  std::string sealed;
  sealed.resize(1 + kNonceBytes + plaintext.size() + kTagBytes);
  sealed[0] = kVersion;
  std::memcpy(sealed.data() + 1, nonce.data(), kNonceBytes);
  auto* out = reinterpret_cast<unsigned char*>(sealed.data() + 1 + kNonceBytes);

  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int length = 0;
  int final_length = 0;
  if (!ctx ||
      EVP_EncryptInit_ex2(ctx.get(), Aes256Gcm(),
                          reinterpret_cast<const unsigned char*>(key_.data()),
                          reinterpret_cast<const unsigned char*>(nonce.data()), nullptr) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &length,
                        reinterpret_cast<const unsigned char*>(associated_data.data()),
                        static_cast<int>(associated_data.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), out, &length,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), out + length, &final_length) != 1 ||
      static_cast<size_t>(length) + static_cast<size_t>(final_length) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, out + plaintext.size()) !=
          1) {
    std::abort();  // AES-GCM with a valid key and nonce cannot fail
  }
  return sealed;
}

StatusOr<std::string> SecretBox::Open(std::string_view sealed,
                                      std::string_view associated_data) const {
  if (sealed.size() < kOverheadBytes || sealed[0] != kVersion ||
      sealed.size() > static_cast<size_t>(INT_MAX) ||
      associated_data.size() > static_cast<size_t>(INT_MAX)) {
    return DecryptionFailed();
  }
  const auto* nonce = reinterpret_cast<const unsigned char*>(sealed.data() + 1);
  const std::string_view ciphertext =
      sealed.substr(1 + kNonceBytes, sealed.size() - kOverheadBytes);
  std::string tag(sealed.substr(sealed.size() - kTagBytes));  // set_tag takes a mutable pointer

  std::string plaintext(ciphertext.size(), '\0');
  auto* out = reinterpret_cast<unsigned char*>(plaintext.data());
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) std::abort();
  int length = 0;
  int final_length = 0;
  const bool ok =
      EVP_DecryptInit_ex2(ctx.get(), Aes256Gcm(),
                          reinterpret_cast<const unsigned char*>(key_.data()), nonce,
                          nullptr) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &length,
                        reinterpret_cast<const unsigned char*>(associated_data.data()),
                        static_cast<int>(associated_data.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), out, &length,
                        reinterpret_cast<const unsigned char*>(ciphertext.data()),
                        static_cast<int>(ciphertext.size())) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), out + length, &final_length) == 1;
  if (!ok) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());  // unauthenticated: never released
    return DecryptionFailed();
  }
  return plaintext;
}

}  // namespace portico::crypto
