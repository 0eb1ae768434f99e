#include "core/crypto/secret_box.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "core/crypto/random.h"

namespace portico::crypto {
namespace {

namespace fs = std::filesystem;

class SecretBoxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "portico-secret-box-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  static void WriteFile(const fs::path& path, const std::string& content, fs::perms mode) {
    std::ofstream(path, std::ios::binary) << content;
    fs::permissions(path, mode);
  }

  fs::path dir_;
};

TEST_F(SecretBoxTest, SealOpenRoundTrip) {
  SecretBox box(RandomBytes(32));
  for (const std::string& plaintext :
       {std::string(), std::string("s3cr3t"), std::string(10000, 'x'), std::string("\0\1\2", 3)}) {
    const std::string sealed = box.Seal(plaintext, "signing_key:k1");
    EXPECT_EQ(sealed.size(), 1 + 12 + plaintext.size() + 16);
    EXPECT_EQ(sealed[0], '\x01');
    if (plaintext.size() > 4) {
      EXPECT_EQ(sealed.find(plaintext), std::string::npos);
    }
    auto opened = box.Open(sealed, "signing_key:k1");
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(*opened, plaintext);
  }
}

TEST_F(SecretBoxTest, SealingTwiceGivesDifferentOutputs) {
  SecretBox box(RandomBytes(32));
  EXPECT_NE(box.Seal("same", "ad"), box.Seal("same", "ad"));
}

TEST_F(SecretBoxTest, WrongAssociatedDataFails) {
  SecretBox box(RandomBytes(32));
  const std::string sealed = box.Seal("secret", "row:1");
  auto opened = box.Open(sealed, "row:2");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kInternal);
  EXPECT_EQ(opened.status().message(),
            "secret cannot be decrypted: wrong master key or corrupted data");
  EXPECT_FALSE(box.Open(sealed, "").ok());
}

TEST_F(SecretBoxTest, AnyFlippedByteFails) {
  SecretBox box(RandomBytes(32));
  const std::string sealed = box.Seal("secret value", "ad");
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string tampered = sealed;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x80);
    EXPECT_FALSE(box.Open(tampered, "ad").ok()) << "byte " << i;
  }
  EXPECT_FALSE(box.Open(sealed.substr(0, sealed.size() - 1), "ad").ok());
  EXPECT_FALSE(box.Open(sealed + "x", "ad").ok());
  EXPECT_FALSE(box.Open("", "ad").ok());
  EXPECT_FALSE(box.Open(sealed.substr(0, 28), "ad").ok());
}

TEST_F(SecretBoxTest, OtherKeyFails) {
  SecretBox box(RandomBytes(32));
  SecretBox other(RandomBytes(32));
  EXPECT_FALSE(other.Open(box.Seal("secret", "ad"), "ad").ok());
}

TEST_F(SecretBoxTest, CopiesAndMovesKeepTheKey) {
  SecretBox box(RandomBytes(32));
  const std::string sealed = box.Seal("secret", "ad");
  SecretBox copy = box;
  SecretBox moved = std::move(box);
  EXPECT_EQ(*copy.Open(sealed, "ad"), "secret");
  EXPECT_EQ(*moved.Open(sealed, "ad"), "secret");
}

TEST_F(SecretBoxTest, LoadOrCreateCreatesA0600FileAndReloadsTheSameKey) {
  const fs::path key_file = dir_ / "master.key";
  const mode_t old_umask = umask(0);  // the file must be 0600 whatever the umask
  auto created = SecretBox::LoadOrCreate(key_file);
  umask(old_umask);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  struct stat st = {};
  ASSERT_EQ(stat(key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);

  const std::string sealed = created->Seal("secret", "ad");
  auto reloaded = SecretBox::LoadOrCreate(key_file);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().ToString();
  auto opened = reloaded->Open(sealed, "ad");
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, "secret");
  EXPECT_EQ(fs::file_size(key_file), 32u);  // not rewritten
}

TEST_F(SecretBoxTest, LoadRefusesAGroupOrWorldReadableFile) {
  const fs::path key_file = dir_ / "master.key";
  WriteFile(key_file, RandomBytes(32),
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                fs::perms::others_read);
  auto box = SecretBox::LoadOrCreate(key_file);
  ASSERT_FALSE(box.ok());
  EXPECT_EQ(box.status().message(), "master key file " + key_file.string() + " must be mode 0600");

  fs::permissions(key_file, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  EXPECT_FALSE(SecretBox::LoadOrCreate(key_file).ok());
  fs::permissions(key_file, fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_TRUE(SecretBox::LoadOrCreate(key_file).ok());
}

TEST_F(SecretBoxTest, LoadRefusesAFileOfTheWrongSize) {
  const fs::path key_file = dir_ / "master.key";
  const auto owner_only = fs::perms::owner_read | fs::perms::owner_write;
  WriteFile(key_file, RandomBytes(31), owner_only);
  EXPECT_FALSE(SecretBox::LoadOrCreate(key_file).ok());
  WriteFile(key_file, RandomBytes(33), owner_only);
  EXPECT_FALSE(SecretBox::LoadOrCreate(key_file).ok());
  WriteFile(key_file, "", owner_only);
  EXPECT_FALSE(SecretBox::LoadOrCreate(key_file).ok());
  EXPECT_EQ(fs::file_size(key_file), 0u);  // never overwritten
}

TEST_F(SecretBoxTest, LoadRefusesADirectoryAndReportsIoErrors) {
  const fs::path sub = dir_ / "sub";
  fs::create_directory(sub);
  fs::permissions(sub, fs::perms::owner_all);
  EXPECT_FALSE(SecretBox::LoadOrCreate(sub).ok());
  EXPECT_FALSE(SecretBox::LoadOrCreate(dir_ / "missing-dir" / "master.key").ok());
}

}  // namespace
}  // namespace portico::crypto
