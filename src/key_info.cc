#include "key_info.h"

#include <algorithm>
#include <vector>

#include "render.h"

namespace hlsbridge {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The file's lines without their LF or CRLF.
std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

}  // namespace

void Wipe(void* data, size_t size) {
  volatile uint8_t* p = static_cast<volatile uint8_t*>(data);
  while (size-- > 0) *p++ = 0;
}

bool ParseHex16(std::string_view text, uint8_t (&out)[16]) {
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
  }
  if (text.size() != 32) return false;
  uint8_t bytes[16];
  for (size_t i = 0; i < 16; ++i) {
    const int hi = HexValue(text[2 * i]), lo = HexValue(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  std::copy(bytes, bytes + 16, out);
  return true;
}

Status ReadKeyInfo(Env* env, const std::string& path, KeyInfo* info) {
  auto bad = [&](int line, const std::string& why) {
    return Status::InvalidArgument(path + ": line " + std::to_string(line) + ": " + why);
  };
  std::string text;
  Status s = env->ReadFile(path, &text);
  if (!s.ok()) return s;
  const std::vector<std::string_view> lines = Lines(text);
  if (lines.empty() || lines[0].empty()) return bad(1, "no key URI");
  s = ValidateKeyUri(lines[0]);
  if (!s.ok()) return bad(1, s.message());
  if (lines.size() < 2 || lines[1].empty()) return bad(2, "no key file path");
  KeyInfo out;
  out.uri = lines[0];
  out.key_file = lines[1];
  if (lines.size() > 2 && !lines[2].empty()) {
    if (!ParseHex16(lines[2], out.iv)) return bad(3, "IV is not 32 hexadecimal digits");
    out.has_iv = true;
  }
  for (size_t i = 3; i < lines.size(); ++i) {
    if (!lines[i].empty()) return bad(static_cast<int>(i + 1), "unexpected line after the IV");
  }
  std::string key;
  s = env->ReadFile(out.key_file, &key);
  if (!s.ok()) return bad(2, s.message());
  if (key.size() != 16) {
    Wipe(key.data(), key.size());
    return Status::InvalidArgument(out.key_file + ": holds " + std::to_string(key.size()) +
                                   " bytes, an AES-128 key is 16 (named by " + path +
                                   ", line 2)");
  }
  std::copy(key.begin(), key.end(), out.key);
  Wipe(key.data(), key.size());
  *info = std::move(out);
  Wipe(out.key, sizeof(out.key));
  return Status::OK();
}

}  // namespace hlsbridge
