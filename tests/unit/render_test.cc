// Golden tests: the whole playlist text per scenario, written to a real file
// by Playlist::Write() and read back (they follow the test plan of the
// playlist's original specification); then Render(Snapshot) itself against
// text, with no disk.
#include <gtest/gtest.h>

#include "playlist.h"
#include "reader.h"
#include "render.h"
#include "test_util.h"

namespace hlsbridge {
namespace {

using testing::ReadFileOrDie;
using testing::ScratchDir;

class RenderGoldenTest : public ::testing::Test {
 protected:
  std::unique_ptr<Playlist> OpenPlaylist(unsigned window,
                                         std::optional<PlaylistType> type = {},
                                         double target = 0) {
    PlaylistOptions o;
    o.path = dir_.File("index.m3u8");
    o.window_size = window;
    o.type = type;
    o.target_duration = target;
    options_ = o;
    std::unique_ptr<Playlist> pl;
    Status s = Playlist::Open(o, &pl);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return pl;
  }
  void Add(Playlist* pl, const std::string& uri, double d,
           std::optional<int64_t> pdt = {}, bool disc = false) {
    SegmentInput in;
    in.uri = uri;
    in.duration = d;
    in.program_date_time_ms = pdt;
    in.discontinuity = disc;
    Status s = pl->AddSegment(in);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  std::string WriteAndRead(Playlist* pl) {
    Status s = pl->Write();
    EXPECT_TRUE(s.ok()) << s.ToString();
    const std::string text = ReadFileOrDie(pl->path());
    ExpectRoundTrip(text);
    return text;
  }

  // Every golden text reads back (ReadOwnPlaylist), and one that has not
  // ended, continued by a playlist of the same options (resume), is written
  // again byte for byte.
  void ExpectRoundTrip(const std::string& text) {
    ReadPlaylist read;
    Status s = ReadOwnPlaylist(text, "golden", &read);
    ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << text;
    if (read.ended) return;
    PlaylistOptions o = options_;
    o.path = dir_.File("continued.m3u8");
    o.resume = true;
    testing::WriteFileOrDie(o.path, text);
    std::unique_ptr<Playlist> pl;
    s = Playlist::Open(o, &pl);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_TRUE(pl->Write().ok());
    EXPECT_EQ(ReadFileOrDie(o.path), text);
  }

  ScratchDir dir_;
  PlaylistOptions options_;  // of the last OpenPlaylist()
};

TEST_F(RenderGoldenTest, EmptyLivePlaylist) {
  auto pl = OpenPlaylist(5);
  EXPECT_EQ(WriteAndRead(pl.get()),
            "#EXTM3U\n"
            "#EXT-X-VERSION:3\n"
            "#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-TARGETDURATION:1\n");
}

TEST_F(RenderGoldenTest, EmptyVodPlaylistHasEndlist) {
  auto pl = OpenPlaylist(0);
  EXPECT_EQ(WriteAndRead(pl.get()),
            "#EXTM3U\n"
            "#EXT-X-VERSION:3\n"
            "#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-TARGETDURATION:1\n"
            "#EXT-X-ENDLIST\n");
}

TEST_F(RenderGoldenTest, SingleSegment) {
  auto pl = OpenPlaylist(5);
  Add(pl.get(), "segment0.ts", 6.0);
  EXPECT_EQ(WriteAndRead(pl.get()),
            "#EXTM3U\n"
            "#EXT-X-VERSION:3\n"
            "#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-TARGETDURATION:6\n"
            "#EXTINF:6.000,\n"
            "segment0.ts\n");
}

TEST_F(RenderGoldenTest, MultipleSegmentsThreeDecimals) {
  auto pl = OpenPlaylist(5);
  Add(pl.get(), "segment0.ts", 6.0);
  Add(pl.get(), "segment1.ts", 5.5);
  Add(pl.get(), "segment2.ts", 4.25);
  EXPECT_EQ(WriteAndRead(pl.get()),
            "#EXTM3U\n"
            "#EXT-X-VERSION:3\n"
            "#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-TARGETDURATION:6\n"
            "#EXTINF:6.000,\n"
            "segment0.ts\n"
            "#EXTINF:5.500,\n"
            "segment1.ts\n"
            "#EXTINF:4.250,\n"
            "segment2.ts\n");
}

TEST_F(RenderGoldenTest, ProgramDateTimeRfc3339WithMilliseconds) {
  auto pl = OpenPlaylist(5);
  // 2026-11-24T05:41:50.284Z
  Add(pl.get(), "segment0.ts", 2.0, int64_t{1795498910284});
  Add(pl.get(), "segment1.ts", 2.0, int64_t{1795498912284});
  EXPECT_EQ(WriteAndRead(pl.get()),
            "#EXTM3U\n"
            "#EXT-X-VERSION:3\n"
            "#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-TARGETDURATION:2\n"
            "#EXT-X-PROGRAM-DATE-TIME:2026-11-24T05:41:50.284Z\n"
            "#EXTINF:2.000,\n"
            "segment0.ts\n"
            "#EXT-X-PROGRAM-DATE-TIME:2026-11-24T05:41:52.284Z\n"
            "#EXTINF:2.000,\n"
            "segment1.ts\n");
}

TEST_F(RenderGoldenTest, DiscontinuityBeforeProgramDateTime) {
  auto pl = OpenPlaylist(5);
  Add(pl.get(), "a.ts", 2.0);
  Add(pl.get(), "b.ts", 2.0, int64_t{0}, /*disc=*/true);
  EXPECT_EQ(WriteAndRead(pl.get()),
            "#EXTM3U\n"
            "#EXT-X-VERSION:3\n"
            "#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-TARGETDURATION:2\n"
            "#EXTINF:2.000,\n"
            "a.ts\n"
            "#EXT-X-DISCONTINUITY\n"
            "#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:00:00.000Z\n"
            "#EXTINF:2.000,\n"
            "b.ts\n");
}

TEST_F(RenderGoldenTest, VodModeWritesEndlistEveryTime) {
  auto pl = OpenPlaylist(0);
  Add(pl.get(), "s0.ts", 4.0);
  EXPECT_EQ(WriteAndRead(pl.get()),
            "#EXTM3U\n"
            "#EXT-X-VERSION:3\n"
            "#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-TARGETDURATION:4\n"
            "#EXTINF:4.000,\n"
            "s0.ts\n"
            "#EXT-X-ENDLIST\n");
  Add(pl.get(), "s1.ts", 3.0);
  EXPECT_EQ(WriteAndRead(pl.get()),
            "#EXTM3U\n"
            "#EXT-X-VERSION:3\n"
            "#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-TARGETDURATION:4\n"
            "#EXTINF:4.000,\n"
            "s0.ts\n"
            "#EXTINF:3.000,\n"
            "s1.ts\n"
            "#EXT-X-ENDLIST\n");
}

TEST_F(RenderGoldenTest, LiveModeHasNoEndlistUntilFinish) {
  auto pl = OpenPlaylist(3);
  Add(pl.get(), "s0.ts", 2.0);
  const std::string live = WriteAndRead(pl.get());
  EXPECT_EQ(live,
            "#EXTM3U\n"
            "#EXT-X-VERSION:3\n"
            "#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-TARGETDURATION:2\n"
            "#EXTINF:2.000,\n"
            "s0.ts\n");
  ASSERT_TRUE(pl->Finish().ok());
  EXPECT_EQ(ReadFileOrDie(pl->path()), live + "#EXT-X-ENDLIST\n");
}

TEST_F(RenderGoldenTest, EventPlaylistKeepsAllAndEndsAtFinish) {
  auto pl = OpenPlaylist(2, PlaylistType::kEvent, 2.0);
  Add(pl.get(), "s0.ts", 2.0);
  Add(pl.get(), "s1.ts", 2.0);
  Add(pl.get(), "s2.ts", 1.5);
  const std::string expected =
      "#EXTM3U\n"
      "#EXT-X-VERSION:3\n"
      "#EXT-X-MEDIA-SEQUENCE:0\n"
      "#EXT-X-TARGETDURATION:2\n"
      "#EXT-X-PLAYLIST-TYPE:EVENT\n"
      "#EXTINF:2.000,\n"
      "s0.ts\n"
      "#EXTINF:2.000,\n"
      "s1.ts\n"
      "#EXTINF:1.500,\n"
      "s2.ts\n";
  EXPECT_EQ(WriteAndRead(pl.get()), expected);
  ASSERT_TRUE(pl->Finish().ok());
  EXPECT_EQ(ReadFileOrDie(pl->path()), expected + "#EXT-X-ENDLIST\n");
}

TEST_F(RenderGoldenTest, SlidingWindowAdvancesMediaSequence) {
  auto pl = OpenPlaylist(3);
  for (int i = 0; i < 5; ++i) Add(pl.get(), "s" + std::to_string(i) + ".ts", 2.0);
  EXPECT_EQ(WriteAndRead(pl.get()),
            "#EXTM3U\n"
            "#EXT-X-VERSION:3\n"
            "#EXT-X-MEDIA-SEQUENCE:2\n"
            "#EXT-X-TARGETDURATION:2\n"
            "#EXTINF:2.000,\n"
            "s2.ts\n"
            "#EXTINF:2.000,\n"
            "s3.ts\n"
            "#EXTINF:2.000,\n"
            "s4.ts\n");
}

TEST_F(RenderGoldenTest, SlidingWindowIncrementsDiscontinuitySequence) {
  auto pl = OpenPlaylist(3);
  Add(pl.get(), "s0.ts", 2.0);
  Add(pl.get(), "s1.ts", 2.0, std::nullopt, /*disc=*/true);
  Add(pl.get(), "s2.ts", 2.0);
  Add(pl.get(), "s3.ts", 2.0);
  // s1 is still in the window: no DISCONTINUITY-SEQUENCE yet.
  EXPECT_EQ(WriteAndRead(pl.get()),
            "#EXTM3U\n"
            "#EXT-X-VERSION:3\n"
            "#EXT-X-MEDIA-SEQUENCE:1\n"
            "#EXT-X-TARGETDURATION:2\n"
            "#EXT-X-DISCONTINUITY\n"
            "#EXTINF:2.000,\n"
            "s1.ts\n"
            "#EXTINF:2.000,\n"
            "s2.ts\n"
            "#EXTINF:2.000,\n"
            "s3.ts\n");
  Add(pl.get(), "s4.ts", 2.0);
  EXPECT_EQ(WriteAndRead(pl.get()),
            "#EXTM3U\n"
            "#EXT-X-VERSION:3\n"
            "#EXT-X-MEDIA-SEQUENCE:2\n"
            "#EXT-X-TARGETDURATION:2\n"
            "#EXT-X-DISCONTINUITY-SEQUENCE:1\n"
            "#EXTINF:2.000,\n"
            "s2.ts\n"
            "#EXTINF:2.000,\n"
            "s3.ts\n"
            "#EXTINF:2.000,\n"
            "s4.ts\n");
}

TEST_F(RenderGoldenTest, LiveWindowNeverShorterThanThreeTargetDurations) {
  // Two segments would be 4 s, under 3 x 2 s: RFC 8216 6.2.2 keeps a third.
  auto pl = OpenPlaylist(2);
  for (int i = 0; i < 5; ++i) Add(pl.get(), "s" + std::to_string(i) + ".ts", 2.0);
  EXPECT_EQ(WriteAndRead(pl.get()),
            "#EXTM3U\n"
            "#EXT-X-VERSION:3\n"
            "#EXT-X-MEDIA-SEQUENCE:2\n"
            "#EXT-X-TARGETDURATION:2\n"
            "#EXTINF:2.000,\n"
            "s2.ts\n"
            "#EXTINF:2.000,\n"
            "s3.ts\n"
            "#EXTINF:2.000,\n"
            "s4.ts\n");
}

TEST_F(RenderGoldenTest, ExtinfPrintedFromCumulativeTimesDoesNotDrift) {
  auto pl = OpenPlaylist(0);
  // 1/3 s segments: printed 0.333 each would lose 1 ms per 3 segments.
  for (int i = 0; i < 3; ++i) Add(pl.get(), "s" + std::to_string(i) + ".ts", 1.0 / 3);
  EXPECT_EQ(WriteAndRead(pl.get()),
            "#EXTM3U\n"
            "#EXT-X-VERSION:3\n"
            "#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-TARGETDURATION:1\n"
            "#EXTINF:0.333,\n"
            "s0.ts\n"
            "#EXTINF:0.334,\n"
            "s1.ts\n"
            "#EXTINF:0.333,\n"
            "s2.ts\n"
            "#EXT-X-ENDLIST\n");
}

TEST_F(RenderGoldenTest, HostileNamesArePercentEncoded) {
  auto pl = OpenPlaylist(0);
  Add(pl.get(), "my seg#1%\"?.ts", 2.0);
  Add(pl.get(), "caf\xC3\xA9,x.ts", 2.0);
  Add(pl.get(), "a:b.ts", 2.0);
  Add(pl.get(), "http://cdn.example/live/a b.ts", 2.0);
  EXPECT_EQ(WriteAndRead(pl.get()),
            "#EXTM3U\n"
            "#EXT-X-VERSION:3\n"
            "#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-TARGETDURATION:2\n"
            "#EXTINF:2.000,\n"
            "my%20seg%231%25%22%3F.ts\n"
            "#EXTINF:2.000,\n"
            "caf%C3%A9,x.ts\n"
            "#EXTINF:2.000,\n"
            "a%3Ab.ts\n"
            "#EXTINF:2.000,\n"
            "http://cdn.example/live/a%20b.ts\n"
            "#EXT-X-ENDLIST\n");
}

TEST(RenderTest, ProgramDateTimeWithZoneOffsetHasColon) {
  EXPECT_EQ(FormatProgramDateTime(1795498910284, 60),
            "2026-11-24T06:41:50.284+01:00");
  EXPECT_EQ(FormatProgramDateTime(1795498910284, -330),
            "2026-11-24T00:11:50.284-05:30");
  EXPECT_EQ(FormatProgramDateTime(-1, 0), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatProgramDateTime(951782400000, 0), "2000-02-29T00:00:00.000Z");
}

TEST(RenderTest, ProgramDateTimeOutsideFourDigitYearsIsRejected) {
  EXPECT_TRUE(ValidateProgramDateTime(253402300799999, 0).ok());
  EXPECT_FALSE(ValidateProgramDateTime(253402300800000, 0).ok());
  EXPECT_FALSE(ValidateProgramDateTime(253402300799999, 60).ok());
  EXPECT_TRUE(ValidateProgramDateTime(-62167219200000, 0).ok());
  EXPECT_FALSE(ValidateProgramDateTime(-62167219200001, 0).ok());
  EXPECT_FALSE(ValidateProgramDateTime(INT64_MIN, 0).ok());
  EXPECT_FALSE(ValidateProgramDateTime(INT64_MAX, 0).ok());
  // Found by the fuzzer: the offset was added before the range check.
  EXPECT_FALSE(ValidateProgramDateTime(INT64_MAX - 1000, 255).ok());
  EXPECT_FALSE(ValidateProgramDateTime(INT64_MIN + 1000, -255).ok());
}

TEST(RenderTest, ControlCharactersInUriAreRefused) {
  std::string out;
  Status s = EncodeUri("evil.ts\n#EXT-X-ENDLIST", &out);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("0x0A"), std::string::npos) << s.message();
  EXPECT_FALSE(EncodeUri("a\rb.ts", &out).ok());
  EXPECT_FALSE(EncodeUri(std::string_view("a\0b", 3), &out).ok());
  EXPECT_FALSE(EncodeUri("a\x7f", &out).ok());
  EXPECT_FALSE(EncodeUri("", &out).ok());
}

TEST(RenderTest, SubDirectoryAndUnreservedCharactersAreKept) {
  std::string out;
  ASSERT_TRUE(EncodeUri("seg/2026-11-24/a_b~c.d!$&'()*+,;=@:x.ts", &out).ok());
  EXPECT_EQ(out, "seg/2026-11-24/a_b~c.d!$&'()*+,;=@:x.ts");
  ASSERT_TRUE(EncodeUri("[x]{y}|\\^`<>.ts", &out).ok());
  EXPECT_EQ(out, "%5Bx%5D%7By%7D%7C%5C%5E%60%3C%3E.ts");
}

// Render(Snapshot) itself against text: no Playlist, no disk. Each text
// must also read back (ReadOwnPlaylist).
std::string Rendered(const Snapshot& snap) {
  const std::string text = Render(snap);
  ReadPlaylist read;
  Status s = ReadOwnPlaylist(text, "golden", &read);
  EXPECT_TRUE(s.ok()) << s.ToString() << "\n" << text;
  EXPECT_EQ(read.segments.size(), snap.segments.size());
  return text;
}

RenderedSegment Seg(std::string uri, int64_t start_ms, int64_t end_ms,
                    std::optional<int64_t> pdt = {}, bool disc = false) {
  RenderedSegment s;
  s.uri = std::move(uri);
  s.start_ms = start_ms;
  s.end_ms = end_ms;
  s.program_date_time_ms = pdt;
  s.discontinuity = disc;
  return s;
}

TEST(RenderSnapshotTest, LiveWindowWithSequencesDiscontinuityAndZonedDateTime) {
  Snapshot snap;
  snap.type = PlaylistType::kLive;
  snap.media_sequence = 7;
  snap.discontinuity_sequence = 2;
  snap.target_duration = 4;
  snap.pdt_utc_offset_minutes = -330;
  snap.segments = {Seg("a.ts", 10000, 13999),
                   Seg("b%20c.ts", 13999, 17002, 1795498910284, true),
                   Seg("https://cdn/d.ts", 17002, 17003)};
  EXPECT_EQ(Rendered(snap),
            "#EXTM3U\n"
            "#EXT-X-VERSION:3\n"
            "#EXT-X-MEDIA-SEQUENCE:7\n"
            "#EXT-X-TARGETDURATION:4\n"
            "#EXT-X-DISCONTINUITY-SEQUENCE:2\n"
            "#EXTINF:3.999,\n"
            "a.ts\n"
            "#EXT-X-DISCONTINUITY\n"
            "#EXT-X-PROGRAM-DATE-TIME:2026-11-24T00:11:50.284-05:30\n"
            "#EXTINF:3.003,\n"
            "b%20c.ts\n"
            "#EXTINF:0.001,\n"
            "https://cdn/d.ts\n");
}

TEST(RenderSnapshotTest, EventAndVodHeadersAndEndlist) {
  Snapshot snap;
  snap.type = PlaylistType::kEvent;
  snap.target_duration = 2;
  snap.segments = {Seg("s0.ts", 0, 2000)};
  const std::string event =
      "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:0\n"
      "#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:EVENT\n"
      "#EXTINF:2.000,\ns0.ts\n";
  EXPECT_EQ(Rendered(snap), event);
  snap.ended = true;
  EXPECT_EQ(Rendered(snap), event + "#EXT-X-ENDLIST\n");
  // VOD carries no PLAYLIST-TYPE (it is rewritten after every segment).
  snap.type = PlaylistType::kVod;
  EXPECT_EQ(Rendered(snap),
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-TARGETDURATION:2\n#EXTINF:2.000,\ns0.ts\n#EXT-X-ENDLIST\n");
}

TEST(RenderSnapshotTest, PartsAddUpToTheWhole) {
  Snapshot snap;
  snap.type = PlaylistType::kEvent;
  snap.media_sequence = 3;
  snap.target_duration = 6;
  snap.ended = true;
  snap.pdt_utc_offset_minutes = 60;
  for (int i = 0; i < 50; ++i) {
    snap.segments.push_back(Seg("s" + std::to_string(i) + ".ts", i * 5005, (i + 1) * 5005,
                                i % 3 ? std::optional<int64_t>() : 1795498910284 + i * 5005,
                                i % 7 == 1));
    // fMP4 with a new init section after every 20 segments, and a key
    // that changes every 15.
    snap.segments.back().map_uri = "init" + std::to_string(i / 20) + ".mp4";
    snap.segments.back().key = "METHOD=AES-128,URI=\"k" + std::to_string(i / 15) + "\"";
  }
  snap.has_map = true;
  std::string parts = RenderHeader(snap);
  RenderState state;
  for (const RenderedSegment& seg : snap.segments) {
    AppendSegmentLines(seg, snap.pdt_utc_offset_minutes, &state, &parts);
  }
  parts.append(RenderFooter(snap));
  EXPECT_EQ(parts, Render(snap));
  EXPECT_EQ(RenderFooter(snap), "#EXT-X-ENDLIST\n");
  snap.ended = false;
  EXPECT_EQ(RenderFooter(snap), "");
}

// EXT-X-KEY where the key changes; an init section is never under a key:
// METHOD=NONE before a new EXT-X-MAP, and the key again after it.
TEST(RenderTest, KeysAndMapsGolden) {
  const uint8_t iv[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  const std::string k1 = KeyAttributes("k1.key", iv);
  EXPECT_EQ(k1, "METHOD=AES-128,URI=\"k1.key\",IV=0x000102030405060708090A0B0C0D0E0F");
  EXPECT_EQ(KeyAttributes("", iv), "METHOD=NONE");
  const std::string k2 = KeyAttributes("https://keys.example/k2?t=1", iv);
  Snapshot snap;
  snap.target_duration = 2;
  snap.has_map = true;
  for (int i = 0; i < 5; ++i) {
    RenderedSegment seg = Seg("s" + std::to_string(i) + ".m4s", i * 2000, (i + 1) * 2000);
    seg.map_uri = i < 3 ? "init.mp4" : "init_1.mp4";
    seg.key = i < 2 ? k1 : i < 4 ? k2 : "METHOD=NONE";
    seg.discontinuity = i == 3;
    snap.segments.push_back(seg);
  }
  EXPECT_EQ(Rendered(snap),
            "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-TARGETDURATION:2\n"
            "#EXT-X-MAP:URI=\"init.mp4\"\n"
            "#EXT-X-KEY:" + k1 + "\n#EXTINF:2.000,\ns0.m4s\n#EXTINF:2.000,\ns1.m4s\n"
            "#EXT-X-KEY:" + k2 + "\n#EXTINF:2.000,\ns2.m4s\n"
            "#EXT-X-DISCONTINUITY\n#EXT-X-KEY:METHOD=NONE\n#EXT-X-MAP:URI=\"init_1.mp4\"\n"
            "#EXT-X-KEY:" + k2 + "\n#EXTINF:2.000,\ns3.m4s\n"
            "#EXT-X-KEY:METHOD=NONE\n#EXTINF:2.000,\ns4.m4s\n");
}

TEST(RenderTest, KeyUriWithQuoteOrLineBreakIsRefused) {
  EXPECT_TRUE(ValidateKeyUri("https://k.example/a?b=c&d=%22").ok());
  for (const char* bad : {"", "k\"ey", "k\ney", "k\rey", "k ey", "k\xc9y", "k\x7fy"}) {
    Status s = ValidateKeyUri(bad);
    EXPECT_FALSE(s.ok()) << bad;
  }
}

}  // namespace
}  // namespace hlsbridge
