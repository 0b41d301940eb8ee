// RFC 6381 codec strings for the CODECS attribute of a multivariant
// playlist's EXT-X-STREAM-INF, derived from a stream's codec and its
// extradata (the decoder configuration FFmpeg hands the muxer). Pure
// parsing: no I/O, and every read of the extradata is bounds-checked.
#ifndef HLSBRIDGE_SRC_CODECS_H_
#define HLSBRIDGE_SRC_CODECS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "status.h"

namespace hlsbridge {

enum class CodecId {
  kH264,
  kHevc,
  kAv1,
  kAac,
  kOpus,
  kMp3,
  kAc3,
  kEac3,
  kOther
};

// A stream as the muxer sees it. Nothing here is owned.
struct CodecInfo {
  CodecId id = CodecId::kOther;
  const uint8_t* extradata = nullptr;  // may be null
  size_t extradata_size = 0;
  // AAC only, used when extradata is missing: MPEG-4 audio object type
  // (2 = AAC LC, 5 = HE-AAC, 29 = HE-AACv2); 0 unknown.
  int aac_object_type = 0;
};

// Writes the RFC 6381 string of `codec` to *out:
//   H.264  "avc1.PPCCLL" from an avcC record or Annex B SPS ("avc1.64001E")
//   HEVC   "hvc1.<space><profile>.<compat>.<tier><level>[.<constraints>]"
//          from an hvcC record or Annex B SPS (ISO/IEC 14496-15 Annex E;
//          "hvc1.1.6.L120.90")
//   AV1    "av01.<profile>.<level><tier>.<depth>" from an av1C record
//          ("av01.0.08M.10"); raw OBUs are refused
//   AAC    "mp4a.40.<object type>" from the AudioSpecificConfig, or from
//          aac_object_type when there is no extradata ("mp4a.40.2")
//   Opus "Opus", MP3 "mp4a.40.34", AC-3 "ac-3", E-AC-3 "ec-3" (extradata
//   not read).
// Extradata is empty when extradata is null or extradata_size is 0.
// InvalidArgument, naming the codec and the cause ("H.264: no SPS in the
// extradata"), when the string cannot be derived: missing, truncated or
// malformed extradata, or a codec with no RFC 6381 name. *out is left
// unchanged on error.
Status CodecString(const CodecInfo& codec, std::string* out);

}  // namespace hlsbridge

#endif  // HLSBRIDGE_SRC_CODECS_H_
