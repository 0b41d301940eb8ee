// AES-128 keys as FFmpeg's hls muxer takes them: the key info file, and hex
// strings. No key byte ever reaches a message.
#ifndef HLSBRIDGE_SRC_KEY_INFO_H_
#define HLSBRIDGE_SRC_KEY_INFO_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "env.h"
#include "status.h"

namespace hlsbridge {

struct KeyInfo {
  std::string uri;       // line 1: the key URI, as the playlist gives it
  std::string key_file;  // line 2: the file holding the 16 key bytes
  uint8_t key[16] = {};
  bool has_iv = false;   // line 3, optional: the IV
  uint8_t iv[16] = {};
};

// Reads a key info file: the key URI, the key file's path, and an optional
// IV of 32 hexadecimal digits (an "0x" prefix allowed), one per line (LF or
// CRLF), and then the key file, which must hold exactly 16 bytes. Errors
// name the file and the line: "keys.info: line 3: IV is not 32 hexadecimal
// digits", "k.key: holds 15 bytes, an AES-128 key is 16".
Status ReadKeyInfo(Env* env, const std::string& path, KeyInfo* info);

// 32 hexadecimal digits (an "0x" prefix allowed) into 16 bytes; false, and
// *out unchanged, for anything else.
bool ParseHex16(std::string_view text, uint8_t (&out)[16]);

// Zeroes key material in a way the compiler does not leave out.
void Wipe(void* data, size_t size);

}  // namespace hlsbridge

#endif  // HLSBRIDGE_SRC_KEY_INFO_H_
