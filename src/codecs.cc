#include "codecs.h"

#include <algorithm>
#include <array>
#include <span>
#include <string_view>
#include <utility>

namespace hlsbridge {

namespace {

using Bytes = std::span<const uint8_t>;

constexpr char kHex[] = "0123456789ABCDEF";

Status Refuse(std::string_view codec, std::string_view cause) {
  std::string message(codec);
  message += ": ";
  message += cause;
  return Status::InvalidArgument(std::move(message));
}

// Two uppercase hexadecimal digits: 0x1E is "1E", 0x08 is "08".
void AppendHexByte(uint8_t b, std::string* out) {
  out->push_back(kHex[b >> 4]);
  out->push_back(kHex[b & 15]);
}

// Uppercase hexadecimal without leading zeros; "0" for 0.
void AppendHex(uint32_t v, std::string* out) {
  int shift = 28;
  while (shift > 0 && (v >> shift) == 0) shift -= 4;
  for (; shift >= 0; shift -= 4) out->push_back(kHex[(v >> shift) & 15]);
}

// At least two decimal digits: 4 is "04".
std::string TwoDigits(int v) { return (v < 10 ? "0" : "") + std::to_string(v); }

uint32_t ReverseBits(uint32_t v) {
  uint32_t reversed = 0;
  for (int i = 0; i < 32; ++i, v >>= 1) reversed = reversed << 1 | (v & 1);
  return reversed;
}

uint32_t ReadBigEndian32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 |
         p[3];
}

// Big-endian bit fields, first bit the most significant of byte 0.
class BitReader {
 public:
  explicit BitReader(Bytes data) : data_(data) {}

  // False, and *value unchanged, when fewer than `bits` (at most 32) remain.
  bool Read(int bits, uint32_t* value) {
    if (static_cast<size_t>(bits) > data_.size() * 8 - pos_) return false;
    uint32_t v = 0;
    for (int i = 0; i < bits; ++i, ++pos_) {
      v = v << 1 | ((data_[pos_ / 8] >> (7 - pos_ % 8)) & 1);
    }
    *value = v;
    return true;
  }

 private:
  Bytes data_;
  size_t pos_ = 0;  // in bits
};

// ---- Annex B byte streams (H.264 and HEVC) ----

// data[i], data[i + 1] are zero and data[i + 2] is 0 or 1: a start code, or
// the zero byte of a four-byte one, or trailing zeros; either way the end of
// the NAL unit before it.
bool NalUnitEndsAt(Bytes data, size_t i) {
  return i + 2 < data.size() && data[i] == 0 && data[i + 1] == 0 &&
         data[i + 2] <= 1;
}

bool StartCodeAt(Bytes data, size_t i) {
  return NalUnitEndsAt(data, i) && data[i + 2] == 1;
}

bool IsAnnexB(Bytes data) {
  return StartCodeAt(data, 0) ||
         (!data.empty() && data[0] == 0 && StartCodeAt(data, 1));
}

// Finds the next start code at or after *pos and sets *unit to the NAL unit
// after it (possibly empty) and *pos to the unit's end. False when no start
// code is left.
bool NextNalUnit(Bytes data, size_t* pos, Bytes* unit) {
  size_t begin = *pos;
  while (begin + 2 < data.size() && !StartCodeAt(data, begin)) ++begin;
  if (begin + 2 >= data.size()) return false;
  begin += 3;
  size_t end = begin;
  while (end < data.size() && !NalUnitEndsAt(data, end)) ++end;
  *unit = data.subspan(begin, end - begin);
  *pos = end;
  return true;
}

// The first NAL unit of an Annex B stream that `wanted` accepts; empty when
// there is none (`wanted` never accepts an empty unit).
Bytes FindNalUnit(Bytes data, bool (*wanted)(Bytes unit)) {
  size_t pos = 0;
  Bytes unit;
  while (NextNalUnit(data, &pos, &unit)) {
    if (!unit.empty() && wanted(unit)) return unit;
  }
  return {};
}

// Copies the start of a NAL unit to `out` without its emulation-prevention
// bytes (the 03 of each 00 00 03). Returns how many bytes it wrote, fewer
// than out.size() when the unit is too short.
size_t UnescapePrefix(Bytes unit, std::span<uint8_t> out) {
  size_t written = 0;
  int zeros = 0;
  for (size_t i = 0; i < unit.size() && written < out.size(); ++i) {
    if (zeros >= 2 && unit[i] == 3) {
      zeros = 0;
      continue;
    }
    zeros = unit[i] == 0 ? zeros + 1 : 0;
    out[written++] = unit[i];
  }
  return written;
}

// ---- ISO/IEC 14496-15 configuration records (avcC, hvcC) ----

// Steps *pos over `count` NAL units that each follow a 16-bit length. False
// when one runs past the end.
bool SkipNalUnits(Bytes record, size_t count, size_t* pos) {
  for (; count > 0; --count) {
    if (record.size() - *pos < 2) return false;
    const size_t length = size_t{record[*pos]} << 8 | record[*pos + 1];
    *pos += 2;
    if (record.size() - *pos < length) return false;
    *pos += length;
  }
  return true;
}

// avcC: version, profile, compatibility, level, length size, then a count
// of SPS (low 5 bits), the SPS, a count of PPS and the PPS. Bytes after the
// PPS (the high-profile fields) are not checked.
bool IsCompleteAvcc(Bytes record) {
  if (record.size() < 6) return false;
  size_t pos = 6;
  if (!SkipNalUnits(record, record[5] & 0x1f, &pos)) return false;
  if (pos >= record.size()) return false;
  const size_t pps_count = record[pos++];
  return SkipNalUnits(record, pps_count, &pos);
}

// hvcC: 22 bytes of fixed fields, a count of arrays, then each array: NAL
// unit type, a 16-bit count of units, the units.
bool IsCompleteHvcc(Bytes record) {
  constexpr size_t kFixedSize = 23;
  if (record.size() < kFixedSize) return false;
  size_t pos = kFixedSize;
  for (size_t arrays = record[kFixedSize - 1]; arrays > 0; --arrays) {
    if (record.size() - pos < 3) return false;
    const size_t count = size_t{record[pos + 1]} << 8 | record[pos + 2];
    pos += 3;
    if (!SkipNalUnits(record, count, &pos)) return false;
  }
  return true;
}

// ---- H.264 ----

bool IsAvcSps(Bytes unit) { return (unit[0] & 0x1f) == 7; }

// profile_idc, the constraint flags and level_idc, from either form.
Status AvcProfileBytes(Bytes extradata, std::array<uint8_t, 3>* ptl) {
  if (extradata.empty()) return Refuse("H.264", "no extradata");
  if (extradata[0] == 1) {
    if (!IsCompleteAvcc(extradata)) return Refuse("H.264", "avcC is truncated");
    std::copy_n(extradata.begin() + 1, 3, ptl->begin());
    return Status::OK();
  }
  if (!IsAnnexB(extradata)) {
    return Refuse("H.264", "extradata is neither avcC nor Annex B");
  }
  const Bytes sps = FindNalUnit(extradata, IsAvcSps);
  if (sps.empty()) return Refuse("H.264", "no SPS in the extradata");
  std::array<uint8_t, 4> head;  // the NAL header, then the three bytes
  if (UnescapePrefix(sps, head) < 4) return Refuse("H.264", "SPS is truncated");
  std::copy_n(head.begin() + 1, 3, ptl->begin());
  return Status::OK();
}

Status AvcCodecString(Bytes extradata, std::string* out) {
  std::array<uint8_t, 3> ptl;
  Status s = AvcProfileBytes(extradata, &ptl);
  if (!s.ok()) return s;
  *out = "avc1.";
  for (uint8_t b : ptl) AppendHexByte(b, out);
  return Status::OK();
}

// ---- HEVC ----

// The general part of profile_tier_level, as hvcC and the SPS both lay it
// out: profile space, tier and profile (1 byte), compatibility flags (4),
// constraint indicator flags (6), level_idc (1).
using HevcPtl = std::array<uint8_t, 12>;

// An SPS of the base layer (nuh_layer_id 0): another layer's SPS may have
// no profile_tier_level. A one-byte unit is let through to be refused as
// truncated.
bool IsHevcSps(Bytes unit) {
  if (((unit[0] >> 1) & 0x3f) != 33) return false;
  return unit.size() < 2 || ((unit[0] & 1) == 0 && (unit[1] >> 3) == 0);
}

Status HevcPtlFromAnnexB(Bytes extradata, HevcPtl* ptl) {
  const Bytes sps = FindNalUnit(extradata, IsHevcSps);
  if (sps.empty()) return Refuse("HEVC", "no SPS in the extradata");
  // The 2-byte NAL header; VPS id, sub-layer count and nesting flag in one
  // byte; then the profile_tier_level.
  std::array<uint8_t, 15> head;
  if (UnescapePrefix(sps, head) < 15) return Refuse("HEVC", "SPS is truncated");
  std::copy_n(head.begin() + 3, 12, ptl->begin());
  return Status::OK();
}

Status HevcPtlFromExtradata(Bytes extradata, HevcPtl* ptl) {
  if (extradata.empty()) return Refuse("HEVC", "no extradata");
  if (extradata[0] == 1) {
    if (!IsCompleteHvcc(extradata)) return Refuse("HEVC", "hvcC is truncated");
    std::copy_n(extradata.begin() + 1, 12, ptl->begin());
    return Status::OK();
  }
  if (!IsAnnexB(extradata)) {
    return Refuse("HEVC", "extradata is neither hvcC nor Annex B");
  }
  return HevcPtlFromAnnexB(extradata, ptl);
}

// ISO/IEC 14496-15 Annex E. Each constraint byte is printed as two digits;
// zero bytes at the end are left out.
std::string FormatHevc(const HevcPtl& ptl) {
  std::string text = "hvc1.";
  const int space = ptl[0] >> 6;
  if (space > 0) text.push_back(static_cast<char>('A' + space - 1));
  text += std::to_string(ptl[0] & 0x1f);
  text.push_back('.');
  AppendHex(ReverseBits(ReadBigEndian32(&ptl[1])), &text);
  text.push_back('.');
  text.push_back((ptl[0] & 0x20) != 0 ? 'H' : 'L');
  text += std::to_string(ptl[11]);
  const uint8_t* constraints = &ptl[5];
  size_t count = 6;
  while (count > 0 && constraints[count - 1] == 0) --count;
  for (size_t i = 0; i < count; ++i) {
    text.push_back('.');
    AppendHexByte(constraints[i], &text);
  }
  return text;
}

Status HevcCodecString(Bytes extradata, std::string* out) {
  HevcPtl ptl;
  Status s = HevcPtlFromExtradata(extradata, &ptl);
  if (!s.ok()) return s;
  *out = FormatHevc(ptl);
  return Status::OK();
}

// ---- AV1 ----

// From an av1C record (AV1 Codec ISO Media File Format Binding 2.3): marker
// and version (0x81); seq_profile (3 bits) and seq_level_idx_0 (5); then
// seq_tier_0, high_bitdepth, twelve_bit and the chroma fields; then one
// byte about the presentation delay; then optional config OBUs.
Status Av1CodecString(Bytes extradata, std::string* out) {
  if (extradata.empty()) return Refuse("AV1", "no extradata");
  if (extradata[0] != 0x81) {
    std::string cause = "extradata is not an av1C record (first byte 0x";
    AppendHexByte(extradata[0], &cause);
    return Refuse("AV1", cause + ", not 0x81)");
  }
  if (extradata.size() < 4) return Refuse("AV1", "av1C is truncated");
  const int profile = extradata[1] >> 5;
  const int level = extradata[1] & 0x1f;
  if (profile > 2) {
    return Refuse("AV1",
                  "seq_profile " + std::to_string(profile) + " is reserved");
  }
  const bool high_tier = (extradata[2] & 0x80) != 0;
  const bool high_bitdepth = (extradata[2] & 0x40) != 0;
  const bool twelve_bit = (extradata[2] & 0x20) != 0;
  const int depth = !high_bitdepth ? 8 : (profile == 2 && twelve_bit) ? 12 : 10;
  *out = "av01." + std::to_string(profile) + "." + TwoDigits(level) +
         (high_tier ? "H." : "M.") + TwoDigits(depth);
  return Status::OK();
}

// ---- AAC ----

// The audio object type from the fields every AudioSpecificConfig starts
// with (ISO/IEC 14496-3 1.6.2.1): audioObjectType (5 bits, 31 escaping to
// 32 + 6 more), samplingFrequencyIndex (4, 15 followed by a 24-bit rate),
// channelConfiguration (4). False when those are cut short.
bool ReadAudioObjectType(Bytes asc, uint32_t* object_type) {
  BitReader reader(asc);
  uint32_t type = 0, escaped = 0, frequency_index = 0, unused = 0;
  if (!reader.Read(5, &type)) return false;
  if (type == 31) {
    if (!reader.Read(6, &escaped)) return false;
    type = 32 + escaped;
  }
  if (!reader.Read(4, &frequency_index)) return false;
  if (frequency_index == 15 && !reader.Read(24, &unused)) return false;
  if (!reader.Read(4, &unused)) return false;
  *object_type = type;
  return true;
}

// An ADTS header (syncword 0xFFF) where an AudioSpecificConfig belongs.
bool IsAdtsHeader(Bytes data) {
  return data.size() >= 2 && data[0] == 0xff && (data[1] & 0xf0) == 0xf0;
}

// HE-AAC with explicit SBR signalling keeps its type (5 or 29) rather than
// the core's that follows it, as players expect.
Status AacCodecString(Bytes extradata, int fallback_type, std::string* out) {
  if (IsAdtsHeader(extradata)) {
    return Refuse("AAC",
                  "extradata is an ADTS header, not an AudioSpecificConfig");
  }
  int type = fallback_type;
  if (!extradata.empty()) {
    uint32_t read = 0;
    if (!ReadAudioObjectType(extradata, &read)) {
      return Refuse("AAC", "AudioSpecificConfig is truncated");
    }
    type = static_cast<int>(read);
  } else if (type == 0) {
    return Refuse("AAC", "no AudioSpecificConfig and no object type");
  }
  if (type < 1 || type > 95) {
    return Refuse(
        "AAC", "audio object type " + std::to_string(type) + " is not valid");
  }
  *out = "mp4a.40." + std::to_string(type);
  return Status::OK();
}

Status Derive(const CodecInfo& codec, Bytes extradata, std::string* out) {
  switch (codec.id) {
    case CodecId::kH264:
      return AvcCodecString(extradata, out);
    case CodecId::kHevc:
      return HevcCodecString(extradata, out);
    case CodecId::kAv1:
      return Av1CodecString(extradata, out);
    case CodecId::kAac:
      return AacCodecString(extradata, codec.aac_object_type, out);
    case CodecId::kOpus:
      *out = "Opus";
      return Status::OK();
    case CodecId::kMp3:
      *out = "mp4a.40.34";
      return Status::OK();
    case CodecId::kAc3:
      *out = "ac-3";
      return Status::OK();
    case CodecId::kEac3:
      *out = "ec-3";
      return Status::OK();
    case CodecId::kOther:
      break;
  }
  return Status::InvalidArgument("no RFC 6381 name for this codec");
}

}  // namespace

Status CodecString(const CodecInfo& codec, std::string* out) {
  Bytes extradata;
  if (codec.extradata != nullptr) {
    extradata = Bytes(codec.extradata, codec.extradata_size);
  }
  std::string text;
  Status s = Derive(codec, extradata, &text);
  if (s.ok()) *out = std::move(text);
  return s;
}

}  // namespace hlsbridge
