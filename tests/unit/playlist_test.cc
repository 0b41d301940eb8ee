// Playlist state rules (RFC 8216) and validation of input through an
// in-memory Env; opening, directories, faults, observability and segment
// deletion on real files through the file seam.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <limits>

#include "atomic_write.h"
#include "playlist.h"
#include "test_util.h"

namespace hlsbridge {
namespace {

using testing::FaultEnv;
using testing::MemEnv;
using testing::FaultStep;
using testing::ListDir;
using testing::ReadFileOrDie;
using testing::ScratchDir;
using testing::WriteFileOrDie;

class PlaylistTest : public ::testing::Test {
 protected:
  PlaylistOptions Options(unsigned window = 3) {
    PlaylistOptions o;
    o.path = dir_.File("index.m3u8");
    o.window_size = window;
    o.env = &env_;
    o.log = [this](LogLevel level, std::string_view msg) {
      logs_.emplace_back(level, std::string(msg));
    };
    return o;
  }
  std::unique_ptr<Playlist> Open(const PlaylistOptions& o) {
    std::unique_ptr<Playlist> pl;
    Status s = Playlist::Open(o, &pl);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return pl;
  }
  static Status Add(Playlist* pl, std::string_view uri, double d,
                    bool disc = false, std::string_view file = {}) {
    SegmentInput in;
    in.uri = uri;
    in.duration = d;
    in.discontinuity = disc;
    in.file_path = file;
    return pl->AddSegment(in);
  }

  ScratchDir dir_;
  FaultEnv env_;
  std::vector<std::pair<LogLevel, std::string>> logs_;
};

TEST_F(PlaylistTest, MissingDirectoryIsCreated) {
  PlaylistOptions o = Options();
  o.path = dir_.File("a/b/c/index.m3u8");
  auto pl = Open(o);
  ASSERT_TRUE(Add(pl.get(), "s.ts", 2).ok());
  ASSERT_TRUE(pl->Write().ok());
  EXPECT_EQ(ListDir(dir_.File("a/b/c")), std::vector<std::string>{"index.m3u8"});
}

TEST_F(PlaylistTest, OpenRejectsBadOptionsNamingThem) {
  std::unique_ptr<Playlist> pl;
  PlaylistOptions o = Options();
  o.path = "";
  EXPECT_EQ(Playlist::Open(o, &pl).ToNegativeErrno(), -EINVAL);
  o = Options();
  o.path = dir_.path() + "/";
  EXPECT_NE(Playlist::Open(o, &pl).message().find("names a directory"),
            std::string::npos);
  o = Options();
  o.target_duration = -1;
  EXPECT_NE(Playlist::Open(o, &pl).message().find("target duration -1"),
            std::string::npos);
  o.target_duration = std::nan("");
  EXPECT_FALSE(Playlist::Open(o, &pl).ok());
  o = Options();
  o.pdt_utc_offset_minutes = 1440;
  EXPECT_NE(Playlist::Open(o, &pl).message().find("UTC offset 1440"),
            std::string::npos);
  o = Options();
  o.base_url = "http://x/\r\n#EXT";
  EXPECT_NE(Playlist::Open(o, &pl).message().find("base URL"), std::string::npos);
  o.base_url = "[";
  EXPECT_NE(Playlist::Open(o, &pl).message().find("base URL contains 0x5B"),
            std::string::npos);
  o.base_url = "http://[::1]:8080/live/";
  EXPECT_TRUE(Playlist::Open(o, &pl).ok());
  pl.reset();
  o.base_url = "http://x/live?token=1&p=";
  EXPECT_NE(Playlist::Open(o, &pl).message().find("base URL contains 0x3F"),
            std::string::npos);
  EXPECT_EQ(pl, nullptr);
}

TEST_F(PlaylistTest, OpenFailsWhenDirectoryIsUnwritable) {
  env_.Fail(FaultStep::kOpen, EROFS);
  std::unique_ptr<Playlist> pl;
  Status s = Playlist::Open(Options(), &pl);
  EXPECT_EQ(s.ToNegativeErrno(), -EROFS);
  EXPECT_EQ(s.message(), dir_.File("index.m3u8") + ": open: Read-only file system");
  EXPECT_TRUE(ListDir(dir_.path()).empty());
}

TEST_F(PlaylistTest, OpenFailsWhenParentIsAFile) {
  WriteFileOrDie(dir_.File("file"), "x");
  PlaylistOptions o = Options();
  o.path = dir_.File("file/index.m3u8");
  std::unique_ptr<Playlist> pl;
  Status s = Playlist::Open(o, &pl);
  EXPECT_EQ(s.ToNegativeErrno(), -ENOTDIR);
  EXPECT_NE(s.message().find("mkdir"), std::string::npos) << s.message();
}

TEST_F(PlaylistTest, PrepareDirectoryCreatesItOrSaysWhyNot) {
  auto pl = Open(Options());
  ASSERT_TRUE(pl->PrepareDirectory(dir_.File("seg/deep/s0.ts")).ok());
  EXPECT_TRUE(env_.FileExists(dir_.File("seg/deep")));
  EXPECT_TRUE(ListDir(dir_.File("seg/deep")).empty()) << "the probe file stays";

  Status s = pl->PrepareDirectory(dir_.File("seg/a\nb0.ts"));
  EXPECT_EQ(s.ToNegativeErrno(), -EINVAL);
  EXPECT_NE(s.message().find("control character"), std::string::npos) << s.message();
  EXPECT_EQ(pl->PrepareDirectory("").ToNegativeErrno(), -EINVAL);

  WriteFileOrDie(dir_.File("file"), "x");
  EXPECT_EQ(pl->PrepareDirectory(dir_.File("file/s0.ts")).ToNegativeErrno(), -ENOTDIR);

  env_.Fail(FaultStep::kOpen, EROFS);
  s = pl->PrepareDirectory(dir_.File("ro/s0.ts"));
  EXPECT_EQ(s.ToNegativeErrno(), -EROFS);
  EXPECT_EQ(s.message(), dir_.File("ro") + ": create a file: Read-only file system");
}

TEST_F(PlaylistTest, UriForFileIsRelativeToThePlaylistDirectory) {
  PlaylistOptions o = Options();
  o.path = dir_.File("out/index.m3u8");
  auto pl = Open(o);
  ASSERT_TRUE(env_.CreateDir(dir_.File("out/seg")).ok());
  ASSERT_TRUE(env_.CreateDir(dir_.File("other")).ok());
  ASSERT_EQ(::symlink(dir_.File("out").c_str(), dir_.File("link").c_str()), 0);
  std::string uri;
  ASSERT_TRUE(pl->UriForFile(dir_.File("out/s0.ts"), &uri).ok());
  EXPECT_EQ(uri, "s0.ts");
  ASSERT_TRUE(pl->UriForFile(dir_.File("out/seg/s 1.ts"), &uri).ok());
  EXPECT_EQ(uri, "seg/s 1.ts");
  ASSERT_TRUE(pl->UriForFile(dir_.File("other/s2.ts"), &uri).ok());
  EXPECT_EQ(uri, "../other/s2.ts");
  ASSERT_TRUE(pl->UriForFile(dir_.File("link/s3.ts"), &uri).ok());
  EXPECT_EQ(uri, "s3.ts") << "a link to the playlist's directory is that directory";
  Status s = pl->UriForFile(dir_.File("missing/s4.ts"), &uri);
  EXPECT_EQ(s.ToNegativeErrno(), -ENOENT);
}

TEST_F(PlaylistTest, OpenRemovesOurStaleTempFiles) {
  WriteFileOrDie(dir_.File(".playlist-index.m3u8-abcdef.tmp"), "#EXTM3U\n#EXTI");
  WriteFileOrDie(dir_.File(".playlist-other.m3u8-abcdef.tmp"), "someone else's");
  auto pl = Open(Options());
  EXPECT_EQ(ListDir(dir_.path()),
            std::vector<std::string>{".playlist-other.m3u8-abcdef.tmp"});
  ASSERT_FALSE(logs_.empty());
  EXPECT_NE(logs_.back().second.find("removed 1 stale temp file"), std::string::npos);
}

// The playlist's rules (validation, target duration, sequences, window,
// drift), through an in-memory Env: no disk needed to decide them.
class PlaylistRulesTest : public PlaylistTest {
 protected:
  PlaylistOptions MemOptions(unsigned window = 3) {
    PlaylistOptions o = Options(window);
    o.path = "/live/index.m3u8";
    o.env = &mem_;
    return o;
  }
  MemEnv mem_;
};

TEST_F(PlaylistRulesTest, InvalidSegmentsAreRefusedAndChangeNothing) {
  auto pl = Open(MemOptions());
  ASSERT_TRUE(Add(pl.get(), "ok.ts", 2).ok());
  const std::string before = pl->RenderNow();
  const double bad[] = {0,
                        -1,
                        0.0004,
                        std::numeric_limits<double>::quiet_NaN(),
                        std::numeric_limits<double>::infinity(),
                        -std::numeric_limits<double>::infinity(),
                        1e7,
                        std::numeric_limits<double>::max()};
  for (double d : bad) {
    Status s = Add(pl.get(), "x.ts", d);
    EXPECT_EQ(s.ToNegativeErrno(), -EINVAL) << d;
    EXPECT_NE(s.message().find("segment \"x.ts\": duration"), std::string::npos)
        << s.message();
  }
  Status s = Add(pl.get(), "x.ts\r\n#EXT-X-ENDLIST", 2);
  EXPECT_EQ(s.ToNegativeErrno(), -EINVAL);
  EXPECT_NE(s.message().find("control character"), std::string::npos);
  EXPECT_FALSE(Add(pl.get(), "", 2).ok());
  SegmentInput in;
  in.uri = "p.ts";
  in.duration = 2;
  in.program_date_time_ms = std::numeric_limits<int64_t>::max();
  EXPECT_FALSE(pl->AddSegment(in).ok());
  EXPECT_EQ(pl->RenderNow(), before);
}

TEST_F(PlaylistRulesTest, SegmentAfterFinishIsRefused) {
  auto pl = Open(MemOptions());
  ASSERT_TRUE(Add(pl.get(), "a.ts", 2).ok());
  ASSERT_TRUE(pl->Finish().ok());
  Status s = Add(pl.get(), "b.ts", 2);
  EXPECT_EQ(s.ToNegativeErrno(), -EINVAL);
  EXPECT_NE(s.message().find("finished"), std::string::npos);
  EXPECT_TRUE(pl->GetStats().finished);
}

TEST_F(PlaylistRulesTest, TargetDurationIsCeilOfPrintedDuration) {
  auto pl = Open(MemOptions(0));
  ASSERT_TRUE(Add(pl.get(), "a.ts", 6.0000004).ok());
  EXPECT_EQ(pl->GetStats().target_duration, 6u);
  ASSERT_TRUE(Add(pl.get(), "b.ts", 6.0004).ok());
  EXPECT_EQ(pl->GetStats().target_duration, 6u);
  ASSERT_TRUE(Add(pl.get(), "c.ts", 6.0006).ok());
  EXPECT_EQ(pl->GetStats().target_duration, 7u);
}

TEST_F(PlaylistRulesTest, TargetDurationNeverDecreasesWhenLongSegmentSlidesOut) {
  auto pl = Open(MemOptions(16));
  ASSERT_TRUE(Add(pl.get(), "long.ts", 9.5).ok());
  for (int i = 0; i < 16; ++i) ASSERT_TRUE(Add(pl.get(), "s.ts", 2).ok());
  const std::string text = pl->RenderNow();
  EXPECT_EQ(text.find("long.ts"), std::string::npos);
  EXPECT_NE(text.find("#EXT-X-TARGETDURATION:10\n"), std::string::npos);
}

TEST_F(PlaylistRulesTest, TargetDurationFloorFromConfiguredSegmentDuration) {
  PlaylistOptions o = MemOptions();
  o.target_duration = 4;
  auto pl = Open(o);
  ASSERT_TRUE(pl->Write().ok());
  EXPECT_NE(mem_.Contents(o.path).find("#EXT-X-TARGETDURATION:4\n"), std::string::npos);
  ASSERT_TRUE(Add(pl.get(), "a.ts", 1.5).ok());
  EXPECT_EQ(pl->GetStats().target_duration, 4u);
  EXPECT_TRUE(logs_.empty() || logs_.back().first != LogLevel::kWarning);
}

TEST_F(PlaylistRulesTest, TargetDurationGrowthIsWarned) {
  PlaylistOptions o = MemOptions();
  o.target_duration = 2;
  auto pl = Open(o);
  ASSERT_TRUE(Add(pl.get(), "a.ts", 2.0).ok());
  ASSERT_TRUE(pl->Write().ok());
  ASSERT_TRUE(Add(pl.get(), "late-keyframe.ts", 2.5).ok());
  EXPECT_EQ(pl->GetStats().target_duration, 3u);
  ASSERT_FALSE(logs_.empty());
  EXPECT_EQ(logs_.back().first, LogLevel::kWarning);
  EXPECT_NE(logs_.back().second.find("target duration grows from 2 to 3"),
            std::string::npos)
      << logs_.back().second;
  EXPECT_NE(logs_.back().second.find("late-keyframe.ts"), std::string::npos);
}

TEST_F(PlaylistRulesTest, TargetDurationSetBeforeFirstPublishIsNotAWarning) {
  PlaylistOptions o = MemOptions();
  o.target_duration = 2;
  auto pl = Open(o);
  ASSERT_TRUE(Add(pl.get(), "first.ts", 2.002).ok());
  EXPECT_EQ(pl->GetStats().target_duration, 3u);
  ASSERT_FALSE(logs_.empty());
  EXPECT_EQ(logs_.back().first, LogLevel::kInfo) << logs_.back().second;
}

TEST_F(PlaylistRulesTest, MediaSequenceAdvancesByOnePerRemovedSegment) {
  PlaylistOptions o = MemOptions(3);
  o.start_sequence = 100;
  auto pl = Open(o);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(Add(pl.get(), "s" + std::to_string(i) + ".ts", 2).ok());
    const uint64_t removed = i >= 3 ? i - 2 : 0;
    EXPECT_EQ(pl->GetStats().media_sequence, 100 + removed);
    EXPECT_EQ(pl->GetStats().segment_count, std::min(i + 1, 3));
  }
}

TEST_F(PlaylistRulesTest, DiscontinuitySequenceCountsEachRemovedDiscontinuity) {
  auto pl = Open(MemOptions(3));
  ASSERT_TRUE(Add(pl.get(), "a.ts", 2, /*disc=*/true).ok());
  ASSERT_TRUE(Add(pl.get(), "b.ts", 2, /*disc=*/true).ok());
  ASSERT_TRUE(Add(pl.get(), "c.ts", 2).ok());
  ASSERT_TRUE(Add(pl.get(), "d.ts", 2).ok());
  EXPECT_EQ(pl->GetStats().discontinuity_sequence, 1u);
  ASSERT_TRUE(Add(pl.get(), "e.ts", 2).ok());
  EXPECT_EQ(pl->GetStats().discontinuity_sequence, 2u);
  ASSERT_TRUE(Add(pl.get(), "f.ts", 2).ok());
  EXPECT_EQ(pl->GetStats().discontinuity_sequence, 2u);
}

TEST_F(PlaylistRulesTest, ShortWindowKeepsThreeTargetDurationsAndSaysSo) {
  PlaylistOptions o = MemOptions(1);
  o.target_duration = 2;
  auto pl = Open(o);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(Add(pl.get(), "s.ts", 2).ok());
  EXPECT_EQ(pl->GetStats().segment_count, 3u);
  EXPECT_EQ(pl->GetStats().media_sequence, 3u);
  int notices = 0;
  for (const auto& [level, line] : logs_) {
    if (line.find("RFC 8216 6.2.2") != std::string::npos) ++notices;
  }
  EXPECT_EQ(notices, 1);
  // The target duration only grows (here to 6 s), and the minimum with it.
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(Add(pl.get(), "long.ts", 6).ok());
  EXPECT_EQ(pl->GetStats().target_duration, 6u);
  EXPECT_EQ(pl->GetStats().segment_count, 3u);
  EXPECT_EQ(pl->RenderNow().find("s.ts"), std::string::npos);
}

TEST_F(PlaylistRulesTest, LogCallbackMayCallBackIntoThePlaylist) {
  PlaylistOptions o = MemOptions();
  Playlist* self = nullptr;
  int reentered = 0;
  o.log = [&](LogLevel, std::string_view msg) {
    // Would deadlock if the callback ran under the write lock.
    if (self != nullptr && msg.substr(0, 6) == "wrote ") {
      (void)self->DeleteExpired(false);
      (void)self->GetStats();
      ++reentered;
    }
  };
  auto pl = Open(o);
  self = pl.get();
  ASSERT_TRUE(Add(pl.get(), "a.ts", 2).ok());
  ASSERT_TRUE(pl->Write().ok());
  ASSERT_TRUE(pl->Finish().ok());
  EXPECT_EQ(reentered, 2);
}

TEST_F(PlaylistRulesTest, BaseUrlIsPrefixedToEncodedUri) {
  PlaylistOptions o = MemOptions();
  o.base_url = "https://cdn.example/live/";
  auto pl = Open(o);
  ASSERT_TRUE(Add(pl.get(), "a b.ts", 2).ok());
  EXPECT_NE(pl->RenderNow().find("\nhttps://cdn.example/live/a%20b.ts\n"),
            std::string::npos);
}

TEST_F(PlaylistRulesTest, LongStreamDoesNotDrift) {
  auto pl = Open(MemOptions(0));
  const double d = 1001.0 / 30000.0 * 60;  // 60 frames at 29.97 fps
  for (int i = 0; i < 5000; ++i) ASSERT_TRUE(Add(pl.get(), "s.ts", d).ok());
  const std::string text = pl->RenderNow();
  int64_t sum_ms = 0;
  for (size_t pos = text.find("#EXTINF:"); pos != std::string::npos;
       pos = text.find("#EXTINF:", pos + 1)) {
    const double v = std::stod(text.substr(pos + 8));
    sum_ms += std::llround(v * 1000);
  }
  EXPECT_LE(std::llabs(sum_ms - std::llround(5000 * d * 1000)), 1);
}

// Event and VOD playlists keep the lines of printed segments between writes
// and render only new ones: after every write, through failed writes, a
// target duration that grows and the finish, the file is exactly what
// Render() of the whole state gives.
TEST_F(PlaylistTest, AppendOnlyPlaylistsWrittenIncrementallyMatchAFullRender) {
  for (PlaylistType type : {PlaylistType::kEvent, PlaylistType::kVod}) {
    PlaylistOptions o = Options(0);
    o.type = type;
    o.target_duration = 2;
    auto pl = Open(o);
    const std::string path = dir_.File("index.m3u8");
    for (int i = 0; i < 40; ++i) {
      SegmentInput in;
      const std::string uri = "s " + std::to_string(i) + ".ts";
      in.uri = uri;
      in.duration = i == 25 ? 3.5 : 2.002;  // the header changes at 25
      in.discontinuity = i % 7 == 3;
      if (i % 2) in.program_date_time_ms = int64_t{1795498910284} + i * 2002;
      ASSERT_TRUE(pl->AddSegment(in).ok());
      if (i % 3 == 2) continue;  // some writes cover several segments
      if (i % 11 == 5) {
        env_.Fail(FaultStep::kRename, EIO);
        EXPECT_FALSE(pl->Write().ok());
        env_.Fail(FaultStep::kNone, 0);
        continue;
      }
      ASSERT_TRUE(pl->Write().ok());
      ASSERT_EQ(ReadFileOrDie(path), pl->RenderNow()) << "after segment " << i;
    }
    ASSERT_TRUE(pl->Finish().ok());
    EXPECT_EQ(ReadFileOrDie(path), pl->RenderNow());
    EXPECT_NE(pl->RenderNow().find("#EXT-X-TARGETDURATION:4\n"), std::string::npos);
  }
}

// fMP4: EXT-X-MAP before the first segment and after a change of init
// section, version 6, EXT-X-INDEPENDENT-SEGMENTS; the same text whether an
// append-only playlist is written in parts or at once.
TEST_F(PlaylistTest, Fmp4PlaylistsGolden) {
  const std::string live =
      "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n"
      "#EXT-X-MEDIA-SEQUENCE:2\n#EXT-X-TARGETDURATION:2\n"
      "#EXT-X-MAP:URI=\"init.mp4\"\n"
      "#EXTINF:2.000,\ns2.m4s\n#EXTINF:2.000,\ns3.m4s\n"
      "#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init_1.mp4\"\n"
      "#EXTINF:2.000,\ns4.m4s\n";
  const std::string all =
      "#EXT-X-MAP:URI=\"init.mp4\"\n"
      "#EXTINF:2.000,\ns0.m4s\n#EXTINF:2.000,\ns1.m4s\n"
      "#EXTINF:2.000,\ns2.m4s\n#EXTINF:2.000,\ns3.m4s\n"
      "#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init_1.mp4\"\n"
      "#EXTINF:2.000,\ns4.m4s\n";
  const std::string head =
      "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n"
      "#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-TARGETDURATION:2\n";
  const struct {
    PlaylistType type;
    std::string want;
  } cases[] = {
      {PlaylistType::kLive, live},
      {PlaylistType::kEvent, head + "#EXT-X-PLAYLIST-TYPE:EVENT\n" + all},
      {PlaylistType::kVod, head + all + "#EXT-X-ENDLIST\n"},
  };
  for (const auto& c : cases) {
    PlaylistOptions o = Options(3);
    o.type = c.type;
    o.independent_segments = true;
    auto pl = Open(o);
    ASSERT_TRUE(pl->SetMap("init.mp4", "").ok());
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE(Add(pl.get(), "s" + std::to_string(i) + ".m4s", 2).ok());
      // Written in parts: the map in force carries over between writes.
      ASSERT_TRUE(pl->Write().ok());
    }
    ASSERT_TRUE(pl->SetMap("init_1.mp4", "").ok());
    ASSERT_TRUE(Add(pl.get(), "s4.m4s", 2, true).ok());
    ASSERT_TRUE(pl->Write().ok());
    EXPECT_EQ(ReadFileOrDie(o.path), c.want);
    EXPECT_EQ(pl->RenderNow(), c.want);
  }
}

TEST_F(PlaylistTest, MapUriIsEncodedOrRefusedLikeASegmentUri) {
  auto pl = Open(Options(3));
  ASSERT_TRUE(pl->SetMap("in\"it 1.mp4", "").ok());
  ASSERT_TRUE(Add(pl.get(), "s0.m4s", 2).ok());
  EXPECT_NE(pl->RenderNow().find("#EXT-X-MAP:URI=\"in%22it%201.mp4\"\n"),
            std::string::npos)
      << pl->RenderNow();
  for (const char* bad : {"", "init\n#EXT-X-ENDLIST", "init\r.mp4"}) {
    Status s = pl->SetMap(bad, "");
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.message().find("init section"), std::string::npos) << s.message();
  }
  // A refused map changed nothing: the next segment keeps the one in force.
  ASSERT_TRUE(Add(pl.get(), "s1.m4s", 2).ok());
  EXPECT_EQ(pl->RenderNow().find("#EXT-X-MAP", pl->RenderNow().find("s0.m4s")),
            std::string::npos);
  ASSERT_TRUE(pl->Finish().ok());
  EXPECT_FALSE(pl->SetMap("late.mp4", "").ok());
}

TEST_F(PlaylistTest, TsPlaylistHasNoMapAndVersion3) {
  auto pl = Open(Options(3));
  ASSERT_TRUE(Add(pl.get(), "s0.ts", 2).ok());
  const std::string text = pl->RenderNow();
  EXPECT_EQ(text.rfind("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:0\n", 0), 0u)
      << text;
  EXPECT_EQ(text.find("MAP"), std::string::npos);
  EXPECT_EQ(text.find("INDEPENDENT"), std::string::npos);
}

TEST_F(PlaylistTest, LastSuccessfulWriteUpdatedOnlyOnSuccess) {
  auto pl = Open(Options());
  EXPECT_EQ(pl->GetStats().last_success_unix_ms, 0);
  env_.Fail(FaultStep::kRename, EIO);
  EXPECT_FALSE(pl->Write().ok());
  EXPECT_EQ(pl->GetStats().last_success_unix_ms, 0);
  env_.Fail(FaultStep::kNone, 0);
  ASSERT_TRUE(pl->Write().ok());
  const int64_t t = pl->GetStats().last_success_unix_ms;
  EXPECT_GT(t, int64_t{1600000000000});
  env_.Fail(FaultStep::kFsync, EIO);
  EXPECT_FALSE(pl->Write().ok());
  EXPECT_EQ(pl->GetStats().last_success_unix_ms, t);
}

TEST_F(PlaylistTest, EachWriteLogsPathBytesSequenceWindowAndLatency) {
  auto pl = Open(Options(3));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Add(pl.get(), "s.ts", 2).ok());
  ASSERT_TRUE(pl->Write().ok());
  const std::string text = ReadFileOrDie(dir_.File("index.m3u8"));
  ASSERT_FALSE(logs_.empty());
  EXPECT_EQ(logs_.back().first, LogLevel::kInfo);
  const std::string& line = logs_.back().second;
  const std::string want = "wrote " + dir_.File("index.m3u8") + ": " +
                           std::to_string(text.size()) +
                           " bytes, media sequence 2, window 3, 3 segments, ";
  EXPECT_EQ(line.substr(0, want.size()), want) << line;
  EXPECT_EQ(line.substr(line.size() - 3), " us");
  EXPECT_EQ(pl->GetStats().last_write_latency_us >= 0, true);

  env_.Fail(FaultStep::kWrite, ENOSPC);
  EXPECT_FALSE(pl->Write().ok());
  EXPECT_EQ(logs_.back().first, LogLevel::kError);
  EXPECT_EQ(logs_.back().second,
            dir_.File("index.m3u8") + ": write: No space left on device");
}

class DeleteSegmentsTest : public PlaylistTest {
 protected:
  void SetUp() override { env_.UseManualClock(1'000'000'000); }
  std::string Seg(int i) {
    std::string p = dir_.File("s" + std::to_string(i) + ".ts");
    WriteFileOrDie(p, "media");
    return p;
  }
};

TEST_F(DeleteSegmentsTest, FileKeptForDurationPlusLongestPlaylist) {
  PlaylistOptions o = Options(3);
  o.delete_segments = true;
  auto pl = Open(o);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Add(pl.get(), "s" + std::to_string(i) + ".ts", 2, false, Seg(i)).ok());
    ASSERT_TRUE(pl->Write().ok());  // the last of these lists s0 in 6 s
  }
  ASSERT_TRUE(Add(pl.get(), "s3.ts", 2, false, Seg(3)).ok());
  ASSERT_TRUE(pl->Write().ok());  // s0 leaves: hold 2 + 6 = 8 s from now
  EXPECT_EQ(pl->GetStats().pending_deletions, 1u);

  env_.Advance(7'999'999);
  ASSERT_TRUE(pl->Write().ok());
  EXPECT_TRUE(env_.FileExists(dir_.File("s0.ts")));
  env_.Advance(1);
  ASSERT_TRUE(pl->Write().ok());
  EXPECT_FALSE(env_.FileExists(dir_.File("s0.ts")));
  EXPECT_TRUE(env_.FileExists(dir_.File("s1.ts")));
  EXPECT_EQ(pl->GetStats().files_deleted, 1u);
  EXPECT_EQ(pl->GetStats().pending_deletions, 0u);
}

TEST_F(DeleteSegmentsTest, HoldStartsOnlyWhenRemovalIsPublished) {
  PlaylistOptions o = Options(3);
  o.delete_segments = true;
  auto pl = Open(o);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Add(pl.get(), "s" + std::to_string(i) + ".ts", 2, false, Seg(i)).ok());
  }
  ASSERT_TRUE(pl->Write().ok());
  ASSERT_TRUE(Add(pl.get(), "s3.ts", 2, false, Seg(3)).ok());
  env_.Fail(FaultStep::kRename, ENOSPC);
  EXPECT_FALSE(pl->Write().ok());  // the published playlist still lists s0
  env_.Advance(3600'000'000);
  EXPECT_EQ(pl->DeleteExpired(false), 1);
  EXPECT_TRUE(env_.FileExists(dir_.File("s0.ts")));
  env_.Fail(FaultStep::kNone, 0);
  ASSERT_TRUE(pl->Write().ok());
  EXPECT_TRUE(env_.FileExists(dir_.File("s0.ts")));
  // Waiting sleeps (manual clock) until the 2 + 6 s hold has passed.
  const int64_t before = env_.NowMicros();
  EXPECT_EQ(pl->DeleteExpired(true), 0);
  EXPECT_EQ(env_.NowMicros() - before, 8'000'000);
  EXPECT_FALSE(env_.FileExists(dir_.File("s0.ts")));
}

// A replaced init section is deleted with the last segment that needs it,
// never while a segment that a playlist may still name needs it.
TEST_F(DeleteSegmentsTest, ReplacedMapGoesWithItsLastSegment) {
  PlaylistOptions o = Options(3);
  o.delete_segments = true;
  auto pl = Open(o);
  const std::string m0 = dir_.File("init.mp4"), m1 = dir_.File("init_1.mp4");
  WriteFileOrDie(m0, "moov 0");
  WriteFileOrDie(m1, "moov 1");
  ASSERT_TRUE(pl->SetMap("init.mp4", m0).ok());
  for (int i = 0; i < 9; ++i) {
    if (i == 2) {
      ASSERT_TRUE(pl->SetMap("init_1.mp4", m1).ok());
    }
    ASSERT_TRUE(Add(pl.get(), "s" + std::to_string(i) + ".ts", 2, i == 2, Seg(i)).ok());
    ASSERT_TRUE(pl->Write().ok());
    EXPECT_TRUE(!env_.FileExists(dir_.File("s1.ts")) || env_.FileExists(m0))
        << "init.mp4 deleted while s1, which needs it, is kept (after s" << i << ")";
    env_.Advance(2'000'000);
  }
  env_.Advance(3600'000'000);
  EXPECT_EQ(pl->DeleteExpired(false), 0);
  EXPECT_FALSE(env_.FileExists(dir_.File("s1.ts")));
  EXPECT_FALSE(env_.FileExists(m0));
  EXPECT_TRUE(env_.FileExists(m1)) << "the map in force stays";
  EXPECT_TRUE(env_.FileExists(dir_.File("s6.ts")));
}

TEST_F(DeleteSegmentsTest, NewestRemovedFilesKeptPastTheirHold) {
  PlaylistOptions o = Options(3);
  o.delete_segments = true;
  o.keep_removed_segments = 2;
  auto pl = Open(o);
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(Add(pl.get(), "s" + std::to_string(i) + ".ts", 2, false, Seg(i)).ok());
    ASSERT_TRUE(pl->Write().ok());
  }
  // s0..s3 left the window; every hold passes, the newest two stay.
  env_.Advance(3600'000'000);
  EXPECT_EQ(pl->DeleteExpired(false), 2);
  EXPECT_FALSE(env_.FileExists(dir_.File("s0.ts")));
  EXPECT_FALSE(env_.FileExists(dir_.File("s1.ts")));
  EXPECT_TRUE(env_.FileExists(dir_.File("s2.ts")));
  EXPECT_TRUE(env_.FileExists(dir_.File("s3.ts")));
  ASSERT_TRUE(Add(pl.get(), "s7.ts", 2, false, Seg(7)).ok());
  ASSERT_TRUE(pl->Write().ok());
  env_.Advance(3600'000'000);
  EXPECT_EQ(pl->DeleteExpired(false), 2);
  EXPECT_FALSE(env_.FileExists(dir_.File("s2.ts")));
  EXPECT_TRUE(env_.FileExists(dir_.File("s3.ts")));
}

TEST_F(PlaylistTest, OmitEndlistFinishesWithoutEndlistButNotForVod) {
  PlaylistOptions o = Options(3);
  o.omit_endlist = true;
  auto pl = Open(o);
  ASSERT_TRUE(Add(pl.get(), "s0.ts", 2).ok());
  ASSERT_TRUE(pl->Finish().ok());
  EXPECT_EQ(ReadFileOrDie(o.path).find("ENDLIST"), std::string::npos);
  EXPECT_FALSE(Add(pl.get(), "s1.ts", 2).ok()) << "finished all the same";
  o.type = PlaylistType::kVod;
  std::unique_ptr<Playlist> vod;
  Status s = Playlist::Open(o, &vod);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("omit_endlist"), std::string::npos) << s.message();
}

TEST_F(DeleteSegmentsTest, OffByDefault) {
  auto pl = Open(Options(3));
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(Add(pl.get(), "s" + std::to_string(i) + ".ts", 2, false, Seg(i)).ok());
  }
  ASSERT_EQ(pl->GetStats().media_sequence, 1u);
  ASSERT_TRUE(pl->Write().ok());
  env_.Advance(3600'000'000);
  EXPECT_EQ(pl->DeleteExpired(true), 0);
  EXPECT_TRUE(env_.FileExists(dir_.File("s0.ts")));
}

}  // namespace
}  // namespace hlsbridge
