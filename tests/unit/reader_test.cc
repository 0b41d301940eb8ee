// The reader of our own playlists: every playlist Render() prints reads
// back to the same state (round trip), and damaged or foreign inputs are
// refused with a message naming the file, the line and the cause.
#include <gtest/gtest.h>

#include "reader.h"
#include "render.h"

namespace hlsbridge {
namespace {

RenderedSegment Seg(std::string uri, int64_t start_ms, int64_t end_ms,
                    bool discontinuity = false) {
  RenderedSegment s;
  s.uri = std::move(uri);
  s.start_ms = start_ms;
  s.end_ms = end_ms;
  s.discontinuity = discontinuity;
  return s;
}

void ExpectRoundTrip(const Snapshot& snap) {
  const std::string text = Render(snap);
  ReadPlaylist pl;
  Status s = ReadOwnPlaylist(text, "index.m3u8", &pl);
  ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << text;
  EXPECT_EQ(pl.media_sequence, snap.media_sequence);
  EXPECT_EQ(pl.discontinuity_sequence, snap.discontinuity_sequence);
  EXPECT_EQ(pl.target_duration, snap.target_duration);
  EXPECT_EQ(pl.event, snap.type == PlaylistType::kEvent);
  EXPECT_EQ(pl.ended, snap.ended);
  EXPECT_EQ(pl.independent_segments, snap.independent_segments);
  EXPECT_EQ(pl.version, snap.has_map ? 6 : 3);
  ASSERT_EQ(pl.segments.size(), snap.segments.size());
  for (size_t i = 0; i < pl.segments.size(); i++) {
    const RenderedSegment& want = snap.segments[i];
    const ReadSegment& got = pl.segments[i];
    EXPECT_EQ(got.uri, want.uri) << i;
    EXPECT_EQ(got.duration_ms, want.end_ms - want.start_ms) << i;
    EXPECT_EQ(got.discontinuity, want.discontinuity) << i;
    EXPECT_EQ(got.program_date_time_ms, want.program_date_time_ms) << i;
    EXPECT_EQ(got.map_uri, want.map_uri) << i;
    EXPECT_EQ(got.key, want.key) << i;
  }
}

TEST(ReaderTest, RoundTripLiveWindowWithDiscontinuitySequence) {
  Snapshot snap;
  snap.media_sequence = 41;
  snap.discontinuity_sequence = 2;
  snap.target_duration = 6;
  snap.segments = {Seg("seg41.ts", 0, 6000), Seg("seg42.ts", 6000, 11999, true),
                   Seg("../x/seg%2043.ts", 11999, 12000)};
  ExpectRoundTrip(snap);
  snap.ended = true;
  ExpectRoundTrip(snap);
}

TEST(ReaderTest, RoundTripEventWithDateTimes) {
  Snapshot snap;
  snap.type = PlaylistType::kEvent;
  snap.target_duration = 2;
  snap.independent_segments = true;
  snap.segments = {Seg("https://cdn.example/a/0.ts", 0, 2000), Seg("1.ts", 2000, 4000, true)};
  snap.segments[0].program_date_time_ms = 1764740000123;
  snap.segments[1].program_date_time_ms = 1764740010000;
  ExpectRoundTrip(snap);
  snap.pdt_utc_offset_minutes = -330;  // printed as -05:30, read back as UTC
  ExpectRoundTrip(snap);
}

TEST(ReaderTest, RoundTripMapsAndKeys) {
  Snapshot snap;
  snap.has_map = true;
  snap.target_duration = 4;
  const uint8_t iv[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  snap.segments = {Seg("0.m4s", 0, 4000), Seg("1.m4s", 4000, 8000),
                   Seg("2.m4s", 8000, 12000, true)};
  snap.segments[0].map_uri = snap.segments[1].map_uri = "init.mp4";
  snap.segments[2].map_uri = "init_1.mp4";
  snap.segments[0].key = KeyAttributes("k0.key", iv);
  snap.segments[1].key = snap.segments[2].key = KeyAttributes("k1.key", iv);
  snap.ended = true;
  ExpectRoundTrip(snap);
}

TEST(ReaderTest, RoundTripEmpty) {
  Snapshot snap;
  snap.target_duration = 2;
  ExpectRoundTrip(snap);
  snap.ended = true;
  ExpectRoundTrip(snap);
}

TEST(ReaderTest, ProgramDateTimes) {
  EXPECT_EQ(ParseProgramDateTime("1970-01-01T00:00:00.000Z"), 0);
  EXPECT_EQ(ParseProgramDateTime("1970-01-01T01:00:00.000+01:00"), 0);
  EXPECT_EQ(ParseProgramDateTime("2024-02-29T23:59:59.999Z"), 1709251199999);
  EXPECT_EQ(ParseProgramDateTime("0000-01-01T00:00:00.000Z"), -62167219200000);
  EXPECT_FALSE(ParseProgramDateTime("2023-02-29T00:00:00.000Z"));
  EXPECT_FALSE(ParseProgramDateTime("2024-01-01T24:00:00.000Z"));
  EXPECT_FALSE(ParseProgramDateTime("2024-01-01T00:00:00Z"));
  EXPECT_FALSE(ParseProgramDateTime("2024-01-01T00:00:00.000+00:00"));
  EXPECT_FALSE(ParseProgramDateTime("2024-01-01 00:00:00.000Z"));
}

std::string Refused(const std::string& text) {
  ReadPlaylist pl;
  pl.media_sequence = 77;
  Status s = ReadOwnPlaylist(text, "out/index.m3u8", &pl);
  EXPECT_FALSE(s.ok()) << text;
  EXPECT_EQ(pl.media_sequence, 77u) << "changed on failure";
  return s.message();
}

const char kGood[] =
    "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:5\n#EXT-X-TARGETDURATION:2\n"
    "#EXTINF:2.000,\nindex5.ts\n#EXTINF:2.000,\nindex6.ts\n";

TEST(ReaderTest, DamagedInputsAreRefusedByLine) {
  ReadPlaylist pl;
  ASSERT_TRUE(ReadOwnPlaylist(kGood, "out/index.m3u8", &pl).ok());
  const std::string good = kGood;
  EXPECT_EQ(Refused(good.substr(0, good.size() - 1)),
            "out/index.m3u8: the last line has no newline (truncated file)");
  EXPECT_EQ(Refused(good.substr(0, good.find("index6.ts"))),
            "out/index.m3u8:8: EXTINF without its URI line (truncated file)");
  EXPECT_EQ(Refused("#EXTM3U\n#EXT-X-VERSION:3\n"),
            "out/index.m3u8:3: the header is incomplete (truncated file)");
  EXPECT_EQ(Refused(""), "out/index.m3u8:1: the header is incomplete (truncated file)");
  EXPECT_EQ(Refused("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:5\n"
                    "#EXT-X-TARGETDURATION:2\n#EXTINF:2.000,\n#EXTINF:2.000,\nx.ts\n"),
            "out/index.m3u8:6: expected the URI of the EXTINF before");
  EXPECT_EQ(Refused(good + "#EXT-X-MEDIA-SEQUENCE:4\n"),
            "out/index.m3u8:9: repeated EXT-X-MEDIA-SEQUENCE (the media sequence must not "
            "change within a playlist, let alone decrease)");
  EXPECT_EQ(Refused(good + "#EXT-X-BYTERANGE:100@0\n"),
            "out/index.m3u8:9: tag not written by hlsbridge: #EXT-X-BYTERANGE:100@0");
  EXPECT_EQ(Refused(good + "#EXT-X-ENDLIST\nindex7.ts\n"),
            "out/index.m3u8:10: text after EXT-X-ENDLIST");
  EXPECT_EQ(Refused(good + "index7.ts\n"), "out/index.m3u8:9: URI without EXTINF");
  EXPECT_EQ(Refused(good + "\n"), "out/index.m3u8:9: blank line");
  EXPECT_EQ(Refused(good + "#EXTINF:2.000,\nindex7.ts\r\n"),
            "out/index.m3u8:10: control character in the line");
  EXPECT_EQ(Refused(good + "#EXTINF:2.0,\nindex7.ts\n"),
            "out/index.m3u8:9: expected #EXTINF:<seconds>.<milliseconds>,");
  EXPECT_EQ(Refused(good + "#EXTINF:2.001,\nindex7.ts\n"),
            "out/index.m3u8:9: EXTINF longer than EXT-X-TARGETDURATION");
  EXPECT_EQ(Refused("#EXTM3U\n#EXT-X-VERSION:4\n"), "out/index.m3u8:2: expected "
            "#EXT-X-VERSION:3 or 6");
  EXPECT_EQ(Refused("#EXT3MU\n"),
            "out/index.m3u8:1: not a playlist: the first line is not #EXTM3U");
  EXPECT_EQ(Refused("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n"),
            "out/index.m3u8:3: expected #EXT-X-MEDIA-SEQUENCE:<number>");
  EXPECT_EQ(Refused("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:-1\n"),
            "out/index.m3u8:3: expected #EXT-X-MEDIA-SEQUENCE:<number>");
  EXPECT_EQ(Refused("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:0\n"
                    "#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n"),
            "out/index.m3u8:5: unexpected #EXT-X-PLAYLIST-TYPE:VOD (hlsbridge writes "
            "TYPE:EVENT only)");
  EXPECT_EQ(Refused(good + "#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2.000,\nindex7.m4s\n"),
            "out/index.m3u8:12: EXT-X-VERSION:3 with EXT-X-MAP (needs 6)");
  EXPECT_EQ(Refused(good + "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"k\"\n"),
            "out/index.m3u8:9: EXT-X-KEY not as hlsbridge writes it");
  EXPECT_EQ(Refused(good + "#EXT-X-PROGRAM-DATE-TIME:2024-13-01T00:00:00.000Z\n"),
            "out/index.m3u8:9: bad EXT-X-PROGRAM-DATE-TIME");
  EXPECT_EQ(Refused(good + "#EXT-X-DISCONTINUITY-SEQUENCE:3\n"),
            "out/index.m3u8:9: header tag after the first segment: "
            "#EXT-X-DISCONTINUITY-SEQUENCE:3");
}

}  // namespace
}  // namespace hlsbridge
