// Continuing a playlist after a restart (PlaylistOptions::resume): the state
// read back from the file goes on as if the process had never stopped, and
// a playlist that cannot be continued is refused before anything changes.
#include <gtest/gtest.h>
#include <unistd.h>

#include "playlist.h"
#include "test_util.h"

namespace hlsbridge {
namespace {

using testing::ReadFileOrDie;
using testing::ScratchDir;
using testing::WriteFileOrDie;

class ResumeTest : public ::testing::Test {
 protected:
  PlaylistOptions Options(PlaylistType type, unsigned window = 0) {
    PlaylistOptions o;
    o.path = dir_.File("index.m3u8");
    o.type = type;
    o.window_size = window;
    o.target_duration = 2;
    o.fsync_file = o.fsync_dir = false;
    return o;
  }
  std::unique_ptr<Playlist> Open(const PlaylistOptions& o) {
    std::unique_ptr<Playlist> pl;
    Status s = Playlist::Open(o, &pl);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return pl;
  }
  std::string Refused(const PlaylistOptions& o) {
    std::unique_ptr<Playlist> pl;
    Status s = Playlist::Open(o, &pl);
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(pl, nullptr);
    return s.message();
  }
  void Add(Playlist* pl, const std::string& name, bool discontinuity = false,
           std::optional<int64_t> pdt = {}) {
    const std::string file = dir_.File(name);
    WriteFileOrDie(file, "x");
    SegmentInput in;
    in.uri = name;
    in.duration = 2.0;
    in.discontinuity = discontinuity;
    in.program_date_time_ms = pdt;
    in.file_path = file;
    Status s = pl->AddSegment(in);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  std::string Text() { return ReadFileOrDie(dir_.File("index.m3u8")); }

  ScratchDir dir_;
};

TEST_F(ResumeTest, LiveWindowGoesOn) {
  {
    auto pl = Open(Options(PlaylistType::kLive, 3));
    for (int i = 0; i < 5; i++) Add(pl.get(), "s" + std::to_string(i) + ".ts", i == 1);
    ASSERT_TRUE(pl->Write().ok());
  }  // the process "dies": no Finish(), no ENDLIST
  const std::string before = Text();
  PlaylistOptions o = Options(PlaylistType::kLive, 3);
  o.resume = true;
  o.start_sequence = 0;  // not used when there is a playlist
  auto pl = Open(o);
  const ResumeInfo& r = pl->resume_info();
  EXPECT_TRUE(r.resumed);
  EXPECT_EQ(r.segments, 3u);
  EXPECT_EQ(r.next_media_sequence, 5u);
  EXPECT_EQ(r.last_uri, "s4.ts");
  EXPECT_EQ(Text(), before);  // open writes nothing
  Add(pl.get(), "t5.ts", true);
  ASSERT_TRUE(pl->Write().ok());
  EXPECT_EQ(Text(),
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:3\n#EXT-X-TARGETDURATION:2\n"
            "#EXT-X-DISCONTINUITY-SEQUENCE:1\n"
            "#EXTINF:2.000,\ns3.ts\n#EXTINF:2.000,\ns4.ts\n"
            "#EXT-X-DISCONTINUITY\n#EXTINF:2.000,\nt5.ts\n");
  const PlaylistStats st = pl->GetStats();
  EXPECT_EQ(st.media_sequence, 3u);
  EXPECT_EQ(st.discontinuity_sequence, 1u);
}

TEST_F(ResumeTest, EventKeepsEverythingAndDeletesNothingListed) {
  {
    auto pl = Open(Options(PlaylistType::kEvent));
    Add(pl.get(), "a0.ts", false, 1764740000000);
    Add(pl.get(), "a1.ts", false, 1764740002000);
    ASSERT_TRUE(pl->Write().ok());
  }
  PlaylistOptions o = Options(PlaylistType::kEvent);
  o.resume = true;
  o.delete_segments = true;
  auto pl = Open(o);
  Add(pl.get(), "b2.ts", true, 1764740100000);
  ASSERT_TRUE(pl->Finish().ok());
  EXPECT_EQ(Text(),
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-TARGETDURATION:2\n"
            "#EXT-X-PLAYLIST-TYPE:EVENT\n"
            "#EXT-X-PROGRAM-DATE-TIME:2025-12-03T05:33:20.000Z\n#EXTINF:2.000,\na0.ts\n"
            "#EXT-X-PROGRAM-DATE-TIME:2025-12-03T05:33:22.000Z\n#EXTINF:2.000,\na1.ts\n"
            "#EXT-X-DISCONTINUITY\n"
            "#EXT-X-PROGRAM-DATE-TIME:2025-12-03T05:35:00.000Z\n#EXTINF:2.000,\nb2.ts\n"
            "#EXT-X-ENDLIST\n");
}

TEST_F(ResumeTest, ResumedSegmentsLeaveTheWindowAndTheirFilesGo) {
  testing::FaultEnv env;
  env.UseManualClock(1000000);
  {
    PlaylistOptions o = Options(PlaylistType::kLive, 3);
    o.env = &env;
    auto pl = Open(o);
    for (int i = 0; i < 3; i++) Add(pl.get(), "s" + std::to_string(i) + ".ts");
    ASSERT_TRUE(pl->Write().ok());
  }
  PlaylistOptions o = Options(PlaylistType::kLive, 3);
  o.env = &env;
  o.resume = true;
  o.delete_segments = true;
  auto pl = Open(o);
  for (int i = 3; i < 6; i++) {
    Add(pl.get(), "s" + std::to_string(i) + ".ts");
    ASSERT_TRUE(pl->Write().ok());
  }
  env.SleepForMicros(60 * 1000000);
  EXPECT_EQ(pl->DeleteExpired(false), 0);
  for (int i = 0; i < 3; i++) {
    EXPECT_NE(::access(dir_.File("s" + std::to_string(i) + ".ts").c_str(), F_OK), 0) << i;
  }
  EXPECT_EQ(::access(dir_.File("s5.ts").c_str(), F_OK), 0);
}

TEST_F(ResumeTest, MapAndKeyInForceCarryOn) {
  const char text[] =
      "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MEDIA-SEQUENCE:7\n"
      "#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:EVENT\n"
      "#EXT-X-MAP:URI=\"init.mp4\"\n"
      "#EXT-X-KEY:METHOD=AES-128,URI=\"k.key\",IV=0x00000000000000000000000000000007\n"
      "#EXTINF:2.000,\n7.m4s\n";
  WriteFileOrDie(dir_.File("index.m3u8"), text);
  PlaylistOptions o = Options(PlaylistType::kEvent);
  o.resume = true;
  o.independent_segments = true;
  auto pl = Open(o);
  EXPECT_EQ(pl->resume_info().map_uri, "init.mp4");
  Add(pl.get(), "8.m4s", true);
  ASSERT_TRUE(pl->Write().ok());
  EXPECT_EQ(Text(), std::string(text) + "#EXT-X-DISCONTINUITY\n#EXTINF:2.000,\n8.m4s\n");
}

TEST_F(ResumeTest, WhatCannotBeContinuedIsRefused) {
  const std::string path = dir_.File("index.m3u8");
  WriteFileOrDie(path,
                 "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-TARGETDURATION:2\n"
                 "#EXTINF:2.000,\na.ts\n#EXT-X-ENDLIST\n");
  PlaylistOptions o = Options(PlaylistType::kLive, 3);
  o.resume = true;
  EXPECT_EQ(Refused(o), path + ": the existing playlist has EXT-X-ENDLIST (its stream "
                               "ended); continuing it must be asked for explicitly");
  o.resume_ended = true;
  {
    auto pl = Open(o);
    EXPECT_TRUE(pl->resume_info().was_ended);
    Add(pl.get(), "b.ts", true);
    ASSERT_TRUE(pl->Write().ok());
    EXPECT_EQ(Text().find("ENDLIST"), std::string::npos);
  }
  o.target_duration = 2.5;
  EXPECT_EQ(Refused(o), path + ": this stream's segments need EXT-X-TARGETDURATION:3, the "
                               "existing playlist has 2, which must not change (RFC 8216 "
                               "6.2.1): make segments at most 2 s long to continue it");
  o = Options(PlaylistType::kEvent);
  o.resume = true;
  EXPECT_EQ(Refused(o), path + ": the existing playlist is not an EVENT playlist, this "
                               "stream is one; continue it with the same playlist type");
  o = Options(PlaylistType::kVod);
  o.resume = true;
  EXPECT_EQ(Refused(o), path + ": a VOD playlist is written whole at every segment; it "
                               "cannot continue an existing one");
  WriteFileOrDie(path, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:0\n"
                       "#EXT-X-TARGETDURATION:2\n#EXT-X-CUE-OUT:30\n");
  o = Options(PlaylistType::kLive, 3);
  o.resume = true;
  EXPECT_EQ(Refused(o), path + ":5: tag not written by hlsbridge: #EXT-X-CUE-OUT:30");
  EXPECT_EQ(ReadFileOrDie(path).find("CUE-OUT") != std::string::npos, true);
}

TEST_F(ResumeTest, NoPlaylistYetStartsFresh) {
  PlaylistOptions o = Options(PlaylistType::kLive, 3);
  o.resume = true;
  o.start_sequence = 9;
  auto pl = Open(o);
  EXPECT_FALSE(pl->resume_info().resumed);
  Add(pl.get(), "a.ts");
  ASSERT_TRUE(pl->Write().ok());
  EXPECT_NE(Text().find("#EXT-X-MEDIA-SEQUENCE:9\n"), std::string::npos);
}

}  // namespace
}  // namespace hlsbridge
