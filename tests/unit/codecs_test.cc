// RFC 6381 codec strings from extradata as encoders produce it (x264, x265,
// libaom, the AAC encoders), and refusal of everything truncated or
// malformed without reading past the end.
#include "codecs.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace hlsbridge {
namespace {

using ByteVector = std::vector<uint8_t>;

// ---- Parameter sets as x264 and x265 write them (NAL header first) ----

// x264, High profile, level 3.0.
const ByteVector kAvcHighSps = {0x67, 0x64, 0x00, 0x1E, 0xAC, 0xD9, 0x40,
                                0xA0, 0x2F, 0xF9, 0x70, 0x11, 0x00, 0x00,
                                0x03, 0x00, 0x01, 0x00, 0x00, 0x03, 0x00,
                                0x32, 0x0F, 0x16, 0x2D, 0x96};
const ByteVector kAvcHighPps = {0x68, 0xEB, 0xE3, 0xCB, 0x22, 0xC0};
// x264, Constrained Baseline (constraint_set1), level 3.0.
const ByteVector kAvcBaselineSps = {0x67, 0x42, 0xC0, 0x1E, 0xDA, 0x02, 0x80,
                                    0xBF, 0xE5, 0xC0, 0x44, 0x00, 0x00, 0x03,
                                    0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xF2,
                                    0x3C, 0x58, 0xBA, 0x80};
const ByteVector kAvcBaselinePps = {0x68, 0xCE, 0x3C, 0x80};
const ByteVector kAvcAud = {0x09, 0xF0};
const ByteVector kAvcSei = {0x06, 0x05, 0x02, 0xDC, 0x45, 0x80};

// x265, Main profile, Main tier, level 4.0 (level_idc 120).
const ByteVector kHevcVps = {0x40, 0x01, 0x0C, 0x01, 0xFF, 0xFF, 0x01, 0x60,
                             0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03,
                             0x00, 0x00, 0x03, 0x00, 0x78, 0x95, 0x98, 0x09};
// The compatibility flags 60 00 00 00 and constraint flags 90 00 00 00 00 00
// carry three emulation-prevention bytes, all before level_idc (0x78).
const ByteVector kHevcMainSps = {
    0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00,
    0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x78, 0xA0, 0x03, 0xC0, 0x80,
    0x10, 0xE5, 0x96, 0x56, 0x69, 0x24, 0xCA, 0xE0, 0x10, 0x00, 0x00,
    0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x01, 0xE0, 0x80};
// The same for Main 10: profile_idc 2, compatibility flags 20 00 00 00.
const ByteVector kHevcMain10Sps = {
    0x42, 0x01, 0x01, 0x02, 0x20, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00,
    0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x78, 0xA0, 0x03, 0xC0, 0x80,
    0x10, 0xE5, 0x96, 0x56, 0x69, 0x24, 0xCA, 0xE0, 0x10, 0x00, 0x00};
// Main 10, High tier, level 5.1 (level_idc 153).
const ByteVector kHevcMain10HighSps = {
    0x42, 0x01, 0x01, 0x22, 0x20, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00,
    0x03, 0x00, 0x00, 0x03, 0x00, 0x99, 0xA0, 0x01, 0xE0, 0x20, 0x02, 0x1C};
const ByteVector kHevcPps = {0x44, 0x01, 0xC1, 0x72, 0xB4, 0x62, 0x40};
// A prefix SEI (user data unregistered), as libx265 adds its version.
const ByteVector kHevcSei = {0x4E, 0x01, 0x05, 0x04, 0x2C, 0xA2, 0xDE, 0x09};

// hvcC fixed fields 1..12 (general profile_tier_level) for x265 Main L4.0.
const ByteVector kHevcMainPtl = {0x01, 0x60, 0x00, 0x00, 0x00, 0x90,
                                 0x00, 0x00, 0x00, 0x00, 0x00, 0x78};

// ---- Builders ----

// Annex B: each unit after a start code of `start_code_size` (3 or 4).
ByteVector AnnexB(std::initializer_list<ByteVector> units,
                  size_t start_code_size = 4) {
  ByteVector out;
  for (const ByteVector& unit : units) {
    if (start_code_size == 4) out.push_back(0);
    out.insert(out.end(), {0, 0, 1});
    out.insert(out.end(), unit.begin(), unit.end());
  }
  return out;
}

void AppendLengthPrefixed(const ByteVector& unit, ByteVector* out) {
  out->push_back(static_cast<uint8_t>(unit.size() >> 8));
  out->push_back(static_cast<uint8_t>(unit.size()));
  out->insert(out->end(), unit.begin(), unit.end());
}

// avcC with one SPS and one PPS; the header repeats the SPS's bytes 1..3.
ByteVector Avcc(const ByteVector& sps, const ByteVector& pps) {
  ByteVector out = {0x01, sps[1], sps[2], sps[3], 0xFF, 0xE1};
  AppendLengthPrefixed(sps, &out);
  out.push_back(1);
  AppendLengthPrefixed(pps, &out);
  return out;
}

// hvcC with `ptl` as fields 1..12 and one array of one unit per NAL unit.
ByteVector Hvcc(const ByteVector& ptl,
                std::initializer_list<ByteVector> units) {
  ByteVector out = {0x01};
  out.insert(out.end(), ptl.begin(), ptl.end());
  // min_spatial_segmentation, parallelism, 4:2:0, 8-bit, frame rate, then
  // one temporal layer, nested, 4-byte lengths; the count of arrays.
  out.insert(out.end(), {0xF0, 0x00, 0xFC, 0xFD, 0xF8, 0xF8, 0x00, 0x00, 0x0F,
                         static_cast<uint8_t>(units.size())});
  for (const ByteVector& unit : units) {
    out.push_back(0x80 | ((unit[0] >> 1) & 0x3F));  // array_completeness
    out.insert(out.end(), {0x00, 0x01});
    AppendLengthPrefixed(unit, &out);
  }
  return out;
}

// ---- Calls ----

CodecInfo Info(CodecId id, const ByteVector& extradata) {
  CodecInfo info;
  info.id = id;
  info.extradata = extradata.data();
  info.extradata_size = extradata.size();
  return info;
}

// The codec string, or "error: <message>".
std::string Codec(CodecId id, const ByteVector& extradata) {
  std::string out;
  Status s = CodecString(Info(id, extradata), &out);
  return s.ok() ? out : "error: " + s.message();
}

// CodecString of the first `size` bytes, copied so that ASan catches any
// read past them.
Status CodecOfPrefix(CodecId id, const ByteVector& extradata, size_t size) {
  const ByteVector prefix(extradata.begin(), extradata.begin() + size);
  std::string out;
  return CodecString(Info(id, prefix), &out);
}

// ---- H.264 ----

TEST(CodecStringTest, H264FromAvcc) {
  // Written out as x264 through FFmpeg's mp4 path lays it out.
  const ByteVector avcc = {0x01, 0x64, 0x00, 0x1E, 0xFF, 0xE1, 0x00, 0x1A, 0x67,
                           0x64, 0x00, 0x1E, 0xAC, 0xD9, 0x40, 0xA0, 0x2F, 0xF9,
                           0x70, 0x11, 0x00, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00,
                           0x03, 0x00, 0x32, 0x0F, 0x16, 0x2D, 0x96, 0x01, 0x00,
                           0x06, 0x68, 0xEB, 0xE3, 0xCB, 0x22, 0xC0};
  ASSERT_EQ(avcc, Avcc(kAvcHighSps, kAvcHighPps));
  EXPECT_EQ(Codec(CodecId::kH264, avcc), "avc1.64001E");
  EXPECT_EQ(Codec(CodecId::kH264, Avcc(kAvcBaselineSps, kAvcBaselinePps)),
            "avc1.42C01E");
}

TEST(CodecStringTest, H264AvccWithHighProfileTrailerIsAccepted) {
  ByteVector avcc = Avcc(kAvcHighSps, kAvcHighPps);
  // chroma_format_idc, bit depths and a count of 0 SPS extensions.
  avcc.insert(avcc.end(), {0xFD, 0xF8, 0xF8, 0x00});
  EXPECT_EQ(Codec(CodecId::kH264, avcc), "avc1.64001E");
}

TEST(CodecStringTest, H264FromAnnexBWithFourByteStartCodes) {
  EXPECT_EQ(Codec(CodecId::kH264, AnnexB({kAvcHighSps, kAvcHighPps})),
            "avc1.64001E");
  EXPECT_EQ(Codec(CodecId::kH264, AnnexB({kAvcBaselineSps, kAvcBaselinePps})),
            "avc1.42C01E");
}

TEST(CodecStringTest, H264FromAnnexBFindsSpsAfterOtherUnits) {
  EXPECT_EQ(
      Codec(CodecId::kH264,
            AnnexB({kAvcAud, kAvcSei, kAvcBaselineSps, kAvcBaselinePps}, 3)),
      "avc1.42C01E");
  // Mixed start codes and trailing zero bytes before the next one.
  ByteVector mixed = AnnexB({kAvcSei}, 3);
  mixed.insert(mixed.end(), {0x00, 0x00});
  const ByteVector rest = AnnexB({kAvcHighSps, kAvcHighPps}, 4);
  mixed.insert(mixed.end(), rest.begin(), rest.end());
  EXPECT_EQ(Codec(CodecId::kH264, mixed), "avc1.64001E");
}

TEST(CodecStringTest, H264Refusals) {
  EXPECT_EQ(Codec(CodecId::kH264, {}), "error: H.264: no extradata");
  EXPECT_EQ(Codec(CodecId::kH264, AnnexB({kAvcAud, kAvcHighPps})),
            "error: H.264: no SPS in the extradata");
  EXPECT_EQ(Codec(CodecId::kH264, {0x00, 0x00, 0x01}),
            "error: H.264: no SPS in the extradata");
  EXPECT_EQ(Codec(CodecId::kH264, AnnexB({{0x67, 0x64, 0x00}, kAvcHighPps})),
            "error: H.264: SPS is truncated");
  EXPECT_EQ(Codec(CodecId::kH264, {0xFF, 0x64, 0x00, 0x1E}),
            "error: H.264: extradata is neither avcC nor Annex B");
  EXPECT_EQ(Codec(CodecId::kH264, {0x00, 0x00, 0x00, 0x00, 0x67}),
            "error: H.264: extradata is neither avcC nor Annex B");
}

TEST(CodecStringTest, H264AvccTruncatedAnywhereIsRefused) {
  const ByteVector avcc = Avcc(kAvcHighSps, kAvcHighPps);
  for (size_t size = 1; size < avcc.size(); ++size) {
    Status s = CodecOfPrefix(CodecId::kH264, avcc, size);
    EXPECT_EQ(s.message(), "H.264: avcC is truncated") << "size " << size;
  }
  EXPECT_TRUE(CodecOfPrefix(CodecId::kH264, avcc, avcc.size()).ok());
}

TEST(CodecStringTest, H264AnnexBTruncatedAnywhereIsSafe) {
  const ByteVector stream = AnnexB({kAvcAud, kAvcHighSps, kAvcHighPps});
  const size_t sps_start = 4 + kAvcAud.size() + 4;
  for (size_t size = 1; size <= stream.size(); ++size) {
    Status s = CodecOfPrefix(CodecId::kH264, stream, size);
    // Complete once the three bytes after the SPS's NAL header are in.
    EXPECT_EQ(s.ok(), size >= sps_start + 4)
        << "size " << size << ": " << s.message();
  }
}

// ---- HEVC ----

TEST(CodecStringTest, HevcFromHvcc) {
  EXPECT_EQ(Codec(CodecId::kHevc,
                  Hvcc(kHevcMainPtl, {kHevcVps, kHevcMainSps, kHevcPps})),
            "hvc1.1.6.L120.90");
  const ByteVector main10 = {0x02, 0x20, 0x00, 0x00, 0x00, 0x90,
                             0x00, 0x00, 0x00, 0x00, 0x00, 0x78};
  EXPECT_EQ(Codec(CodecId::kHevc, Hvcc(main10, {kHevcMain10Sps})),
            "hvc1.2.4.L120.90");
  // An hvcC with no arrays still has the fields.
  EXPECT_EQ(Codec(CodecId::kHevc, Hvcc(kHevcMainPtl, {})), "hvc1.1.6.L120.90");
}

TEST(CodecStringTest, HevcProfileSpaceCompatibilityAndConstraintBytes) {
  // Profile space 1, RExt (profile 4, compatibility bit 4), Main tier, level
  // 4.0; a non-trailing constraint byte below 0x10 keeps two digits.
  const ByteVector rext = {0x44, 0x08, 0x00, 0x00, 0x00, 0x9E,
                           0x08, 0x00, 0x00, 0x00, 0x00, 0x78};
  EXPECT_EQ(Codec(CodecId::kHevc, Hvcc(rext, {})), "hvc1.A4.10.L120.9E.08");
  // Space 3, high tier; zero bytes inside are kept, zero bytes at the end
  // are dropped.
  const ByteVector inner_zero = {0xE1, 0x60, 0x00, 0x00, 0x00, 0x80,
                                 0x00, 0x01, 0x00, 0x00, 0x00, 0x5D};
  EXPECT_EQ(Codec(CodecId::kHevc, Hvcc(inner_zero, {})),
            "hvc1.C1.6.H93.80.00.01");
  // All constraint bytes zero: no constraint part; no compatibility flag: 0.
  const ByteVector bare = {0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
                           0x00, 0x00, 0x00, 0x00, 0x00, 0x5D};
  EXPECT_EQ(Codec(CodecId::kHevc, Hvcc(bare, {})), "hvc1.1.0.L93");
  // Every compatibility flag set, and the last constraint byte non-zero.
  const ByteVector full = {0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x90,
                           0x00, 0x00, 0x00, 0x00, 0x01, 0xBA};
  EXPECT_EQ(Codec(CodecId::kHevc, Hvcc(full, {})),
            "hvc1.1.FFFFFFFF.L186.90.00.00.00.00.01");
}

TEST(CodecStringTest, HevcFromAnnexBRemovesEmulationPrevention) {
  // What libx265 gives FFmpeg as extradata: VPS, SPS, PPS, SEI.
  EXPECT_EQ(Codec(CodecId::kHevc,
                  AnnexB({kHevcVps, kHevcMainSps, kHevcPps, kHevcSei})),
            "hvc1.1.6.L120.90");
  EXPECT_EQ(Codec(CodecId::kHevc, AnnexB({kHevcVps, kHevcMain10Sps, kHevcPps})),
            "hvc1.2.4.L120.90");
  EXPECT_EQ(Codec(CodecId::kHevc,
                  AnnexB({kHevcVps, kHevcMain10HighSps, kHevcPps}, 3)),
            "hvc1.2.4.H153.90");
}

TEST(CodecStringTest, HevcAnnexBSkipsSpsOfOtherLayers) {
  // nuh_layer_id 1 (byte 1 = 0x09): its fields would give profile 7.
  const ByteVector layer1_sps = {0x42, 0x09, 0x0F, 0xFF, 0xFF};
  EXPECT_EQ(Codec(CodecId::kHevc,
                  AnnexB({kHevcVps, layer1_sps, kHevcMainSps, kHevcPps})),
            "hvc1.1.6.L120.90");
}

TEST(CodecStringTest, HevcRefusals) {
  EXPECT_EQ(Codec(CodecId::kHevc, {}), "error: HEVC: no extradata");
  EXPECT_EQ(Codec(CodecId::kHevc, AnnexB({kHevcVps, kHevcPps})),
            "error: HEVC: no SPS in the extradata");
  // The SPS ends inside the constraint flags.
  const ByteVector cut(kHevcMainSps.begin(), kHevcMainSps.begin() + 14);
  EXPECT_EQ(Codec(CodecId::kHevc, AnnexB({kHevcVps, cut, kHevcPps})),
            "error: HEVC: SPS is truncated");
  EXPECT_EQ(Codec(CodecId::kHevc, AnnexB({{0x42}, kHevcPps})),
            "error: HEVC: SPS is truncated");
  EXPECT_EQ(Codec(CodecId::kHevc, {0x02, 0x01, 0x60}),
            "error: HEVC: extradata is neither hvcC nor Annex B");
  // An array that claims two units but holds one.
  ByteVector short_array = Hvcc(kHevcMainPtl, {kHevcMainSps});
  short_array[25] = 2;
  EXPECT_EQ(Codec(CodecId::kHevc, short_array),
            "error: HEVC: hvcC is truncated");
  // A unit whose length runs past the end.
  ByteVector long_unit = Hvcc(kHevcMainPtl, {kHevcMainSps});
  long_unit[27] = 0xFF;
  EXPECT_EQ(Codec(CodecId::kHevc, long_unit), "error: HEVC: hvcC is truncated");
}

TEST(CodecStringTest, HevcHvccTruncatedAnywhereIsRefused) {
  const ByteVector hvcc =
      Hvcc(kHevcMainPtl, {kHevcVps, kHevcMainSps, kHevcPps});
  for (size_t size = 1; size < hvcc.size(); ++size) {
    Status s = CodecOfPrefix(CodecId::kHevc, hvcc, size);
    EXPECT_EQ(s.message(), "HEVC: hvcC is truncated") << "size " << size;
  }
  EXPECT_TRUE(CodecOfPrefix(CodecId::kHevc, hvcc, hvcc.size()).ok());
}

TEST(CodecStringTest, HevcAnnexBTruncatedAnywhereIsSafe) {
  const ByteVector stream = AnnexB({kHevcVps, kHevcMainSps, kHevcPps});
  // 15 bytes of the SPS once three emulation-prevention bytes are out.
  const size_t sps_fields_end = 4 + kHevcVps.size() + 4 + 18;
  for (size_t size = 1; size <= stream.size(); ++size) {
    Status s = CodecOfPrefix(CodecId::kHevc, stream, size);
    EXPECT_EQ(s.ok(), size >= sps_fields_end)
        << "size " << size << ": " << s.message();
  }
}

// ---- AV1 ----

TEST(CodecStringTest, Av1FromAv1c) {
  // libaom: 8-bit 4:2:0, level 3.0 (index 4), then a sequence header OBU.
  const ByteVector main8 = {0x81, 0x04, 0x0C, 0x00, 0x0A, 0x0B, 0x00, 0x00,
                            0x00, 0x24, 0xCF, 0x7F, 0x0D, 0xBF, 0xFF, 0x30};
  EXPECT_EQ(Codec(CodecId::kAv1, main8), "av01.0.04M.08");
  // 10-bit, level 4.0 (index 8), no config OBUs.
  EXPECT_EQ(Codec(CodecId::kAv1, {0x81, 0x08, 0x4C, 0x00}), "av01.0.08M.10");
  // Professional, 12-bit, high tier, level 5.1 (index 13).
  EXPECT_EQ(Codec(CodecId::kAv1, {0x81, 0x4D, 0xEC, 0x00}), "av01.2.13H.12");
  // Professional without twelve_bit: 10; without high_bitdepth: 8.
  EXPECT_EQ(Codec(CodecId::kAv1, {0x81, 0x4D, 0x4C, 0x00}), "av01.2.13M.10");
  EXPECT_EQ(Codec(CodecId::kAv1, {0x81, 0x4D, 0x2C, 0x00}), "av01.2.13M.08");
  // twelve_bit counts only in the Professional profile.
  EXPECT_EQ(Codec(CodecId::kAv1, {0x81, 0x08, 0x6C, 0x00}), "av01.0.08M.10");
  // High, 4:4:4 10-bit; and the unconstrained level 31.
  EXPECT_EQ(Codec(CodecId::kAv1, {0x81, 0x28, 0x40, 0x00}), "av01.1.08M.10");
  EXPECT_EQ(Codec(CodecId::kAv1, {0x81, 0x1F, 0x0C, 0x00}), "av01.0.31M.08");
}

TEST(CodecStringTest, Av1Refusals) {
  EXPECT_EQ(Codec(CodecId::kAv1, {}), "error: AV1: no extradata");
  // A raw sequence header OBU instead of av1C.
  EXPECT_EQ(Codec(CodecId::kAv1, {0x0A, 0x0B, 0x00, 0x00, 0x00, 0x24}),
            "error: AV1: extradata is not an av1C record (first byte 0x0A, "
            "not 0x81)");
  EXPECT_EQ(Codec(CodecId::kAv1, {0x81, 0xA8, 0x0C, 0x00}),
            "error: AV1: seq_profile 5 is reserved");
  const ByteVector av1c = {0x81, 0x08, 0x4C, 0x00};
  for (size_t size = 1; size < av1c.size(); ++size) {
    Status s = CodecOfPrefix(CodecId::kAv1, av1c, size);
    EXPECT_EQ(s.message(), "AV1: av1C is truncated") << "size " << size;
  }
}

// ---- AAC ----

TEST(CodecStringTest, AacFromAudioSpecificConfig) {
  EXPECT_EQ(Codec(CodecId::kAac, {0x12, 0x10}), "mp4a.40.2");  // LC 44.1k
  EXPECT_EQ(Codec(CodecId::kAac, {0x11, 0x90}), "mp4a.40.2");  // LC 48k
  // Explicit SBR (HE-AAC) and PS (HE-AACv2) keep their own type.
  EXPECT_EQ(Codec(CodecId::kAac, {0x2B, 0x11, 0x88, 0x00}), "mp4a.40.5");
  EXPECT_EQ(Codec(CodecId::kAac, {0xEB, 0x09, 0x88, 0x00}), "mp4a.40.29");
  // Escaped type: USAC (xHE-AAC) is 32 + 10.
  EXPECT_EQ(Codec(CodecId::kAac, {0xF9, 0x46, 0x40}), "mp4a.40.42");
  // Escaped sampling frequency (a 24-bit rate) before the channels.
  EXPECT_EQ(Codec(CodecId::kAac, {0x17, 0x80, 0x56, 0x22, 0x10}), "mp4a.40.2");
}

TEST(CodecStringTest, AacExtradataWinsOverObjectType) {
  const ByteVector asc = {0x12, 0x10};
  CodecInfo info = Info(CodecId::kAac, asc);
  info.aac_object_type = 5;
  std::string out;
  ASSERT_TRUE(CodecString(info, &out).ok());
  EXPECT_EQ(out, "mp4a.40.2");
}

TEST(CodecStringTest, AacWithoutExtradataUsesObjectType) {
  for (int type : {2, 5, 29}) {
    CodecInfo info;
    info.id = CodecId::kAac;
    info.aac_object_type = type;
    std::string out;
    ASSERT_TRUE(CodecString(info, &out).ok()) << type;
    EXPECT_EQ(out, "mp4a.40." + std::to_string(type));
  }
}

TEST(CodecStringTest, AacRefusals) {
  EXPECT_EQ(Codec(CodecId::kAac, {}),
            "error: AAC: no AudioSpecificConfig and no object type");
  CodecInfo info;
  info.id = CodecId::kAac;
  info.aac_object_type = 96;
  std::string out;
  EXPECT_EQ(CodecString(info, &out).message(),
            "AAC: audio object type 96 is not valid");
  info.aac_object_type = -1;
  EXPECT_EQ(CodecString(info, &out).message(),
            "AAC: audio object type -1 is not valid");
  EXPECT_EQ(Codec(CodecId::kAac, {0x02, 0x10}),
            "error: AAC: audio object type 0 is not valid");
  EXPECT_EQ(Codec(CodecId::kAac, {0xFF, 0xF1, 0x50, 0x80, 0x02, 0x1F, 0xFC}),
            "error: AAC: extradata is an ADTS header, not an "
            "AudioSpecificConfig");
}

TEST(CodecStringTest, AacTruncatedConfigsAreRefused) {
  for (const ByteVector& asc :
       {ByteVector{0x12, 0x10}, ByteVector{0xF9, 0x46, 0x40},
        ByteVector{0x17, 0x80, 0x56, 0x22, 0x10}}) {
    for (size_t size = 1; size < asc.size(); ++size) {
      Status s = CodecOfPrefix(CodecId::kAac, asc, size);
      EXPECT_EQ(s.message(), "AAC: AudioSpecificConfig is truncated")
          << "size " << size;
    }
  }
}

// ---- Fixed names and the rest ----

TEST(CodecStringTest, FixedNamesIgnoreExtradata) {
  const ByteVector opus_head = {'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, 2};
  EXPECT_EQ(Codec(CodecId::kOpus, opus_head), "Opus");
  EXPECT_EQ(Codec(CodecId::kOpus, {}), "Opus");
  EXPECT_EQ(Codec(CodecId::kMp3, {}), "mp4a.40.34");
  EXPECT_EQ(Codec(CodecId::kAc3, {}), "ac-3");
  EXPECT_EQ(Codec(CodecId::kEac3, {0xFF}), "ec-3");
}

TEST(CodecStringTest, OtherCodecsHaveNoName) {
  EXPECT_EQ(Codec(CodecId::kOther, {}),
            "error: no RFC 6381 name for this codec");
  EXPECT_EQ(Codec(static_cast<CodecId>(99), {}),
            "error: no RFC 6381 name for this codec");
}

TEST(CodecStringTest, NullExtradataIsEmpty) {
  CodecInfo info;
  info.id = CodecId::kH264;
  info.extradata_size = 40;  // with a null pointer: nothing to read
  std::string out;
  EXPECT_EQ(CodecString(info, &out).message(), "H.264: no extradata");
}

TEST(CodecStringTest, ErrorLeavesOutputUnchanged) {
  std::string out = "avc1.640028";
  EXPECT_FALSE(CodecString(Info(CodecId::kH264, {0x01, 0x64}), &out).ok());
  EXPECT_EQ(out, "avc1.640028");
  EXPECT_FALSE(CodecString(Info(CodecId::kOther, {}), &out).ok());
  EXPECT_EQ(out, "avc1.640028");
}

// Pseudo-random extradata, some of it dressed as each format's opening, for
// ASan and UBSan to watch: every answer is a name or an error naming the
// codec.
TEST(CodecStringTest, GarbageNeverCrashes) {
  uint32_t state = 12345;
  auto next = [&state] {
    state = state * 1664525u + 1013904223u;
    return static_cast<uint8_t>(state >> 24);
  };
  const ByteVector openings[] = {
      {}, {0x00, 0x00, 0x01}, {0x00, 0x00, 0x00, 0x01}, {0x01}, {0x81}};
  const CodecId ids[] = {CodecId::kH264, CodecId::kHevc, CodecId::kAv1,
                         CodecId::kAac};
  const char* names[] = {"H.264: ", "HEVC: ", "AV1: ", "AAC: "};
  for (int round = 0; round < 4000; ++round) {
    ByteVector data = openings[round % 5];
    const size_t size = next() % 48;
    // Mostly zeros and small values, to make start codes and escapes likely.
    for (size_t i = 0; i < size; ++i) {
      const uint8_t b = next();
      data.push_back(b < 96 ? 0 : b < 128 ? b % 4 : b);
    }
    for (size_t i = 0; i < 4; ++i) {
      std::string out;
      Status s = CodecString(Info(ids[i], data), &out);
      if (s.ok()) {
        EXPECT_FALSE(out.empty());
      } else {
        EXPECT_EQ(s.message().rfind(names[i], 0), 0u) << s.message();
      }
    }
  }
}

}  // namespace
}  // namespace hlsbridge
