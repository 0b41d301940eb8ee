// FFmpeg's key info file and hex keys: every malformed input refused with
// the file and line named, and never a key byte in a message.
#include "key_info.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace hlsbridge {
namespace {

using testing::ScratchDir;
using testing::WriteFileOrDie;

class KeyInfoTest : public ::testing::Test {
 protected:
  // A key file of `key` and a key info file of `lines`; its path.
  std::string Write(const std::string& lines, const std::string& key = "0123456789abcdef") {
    WriteFileOrDie(dir_.File("k.key"), key);
    WriteFileOrDie(dir_.File("k.info"), lines);
    return dir_.File("k.info");
  }
  Status Read(const std::string& path) { return ReadKeyInfo(Env::Default(), path, &info_); }

  ScratchDir dir_;
  KeyInfo info_;
};

TEST_F(KeyInfoTest, ThreeLinesGiveUriKeyAndIv) {
  const std::string path =
      Write("https://keys.example/k?id=1\r\n" + dir_.File("k.key") +
            "\r\n000102030405060708090a0b0c0d0e0f\r\n");
  ASSERT_TRUE(Read(path).ok());
  EXPECT_EQ(info_.uri, "https://keys.example/k?id=1");
  EXPECT_EQ(info_.key_file, dir_.File("k.key"));
  EXPECT_EQ(std::string(reinterpret_cast<char*>(info_.key), 16), "0123456789abcdef");
  ASSERT_TRUE(info_.has_iv);
  EXPECT_EQ(info_.iv[0], 0);
  EXPECT_EQ(info_.iv[15], 15);
}

TEST_F(KeyInfoTest, IvIsOptional) {
  ASSERT_TRUE(Read(Write("k.key\n" + dir_.File("k.key") + "\n")).ok());
  EXPECT_FALSE(info_.has_iv);
  ASSERT_TRUE(Read(Write("k.key\n" + dir_.File("k.key"))).ok());
  EXPECT_FALSE(info_.has_iv);
}

TEST_F(KeyInfoTest, MalformedFilesAreRefusedNamingFileAndLine) {
  const std::string key = dir_.File("k.key");
  const struct {
    std::string text;
    std::string want;
  } cases[] = {
      {"", "k.info: line 1: no key URI"},
      {"\n" + key + "\n", "k.info: line 1: no key URI"},
      {"k\"ey\n" + key + "\n", "k.info: line 1: key URI"},
      {"key\n", "k.info: line 2: no key file path"},
      {"key\n" + key + "\n0x1234\n", "k.info: line 3: IV is not 32 hexadecimal digits"},
      {"key\n" + key + "\nzz0102030405060708090a0b0c0d0e0f\n", "k.info: line 3: IV"},
      {"key\n" + key + "\n000102030405060708090a0b0c0d0e0f\nmore\n", "k.info: line 4"},
      {"key\n" + dir_.File("none.key") + "\n", "k.info: line 2: " + dir_.File("none.key")},
  };
  for (const auto& c : cases) {
    Status s = Read(Write(c.text));
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_NE(s.message().find(c.want), std::string::npos) << s.message();
  }
  EXPECT_FALSE(Read(dir_.File("missing.info")).ok());
}

TEST_F(KeyInfoTest, KeyFileOfAnotherSizeIsRefusedWithoutItsBytes) {
  Status s = Read(Write("key\n" + dir_.File("k.key") + "\n", "SECRETSECRET123"));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("holds 15 bytes, an AES-128 key is 16"), std::string::npos)
      << s.message();
  EXPECT_EQ(s.message().find("SECRET"), std::string::npos);
}

TEST(ParseHex16Test, ThirtyTwoDigitsOnly) {
  uint8_t out[16] = {7};
  EXPECT_TRUE(ParseHex16("0X00112233445566778899AABBCCDDEEFF", out));
  EXPECT_EQ(out[1], 0x11);
  EXPECT_EQ(out[15], 0xFF);
  for (const char* bad : {"", "0x", "00112233445566778899aabbccddeef", "0011223344556677"
                          "8899aabbccddeeff00", "g0112233445566778899aabbccddeeff"}) {
    uint8_t keep[16] = {9};
    EXPECT_FALSE(ParseHex16(bad, keep)) << bad;
    EXPECT_EQ(keep[0], 9);
  }
}

}  // namespace
}  // namespace hlsbridge
