// Multivariant playlists: golden texts (a video-only ladder, a ladder with
// an audio group, an audio-only variant), and when Multivariant publishes:
// not before every media playlist exists, again when a measured peak
// passes the published BANDWIDTH by 10%, finally with the measured values.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "multivariant.h"
#include "test_util.h"

namespace hlsbridge {
namespace {

using testing::ReadFileOrDie;
using testing::ScratchDir;

Rendition Variant(std::string uri, std::string codecs, uint64_t bandwidth,
                  uint64_t average, int w, int h, double fps,
                  std::string audio = "") {
  Rendition r;
  r.uri = std::move(uri);
  r.codecs = std::move(codecs);
  r.bandwidth = bandwidth;
  r.average_bandwidth = average;
  r.width = w;
  r.height = h;
  r.frame_rate = fps;
  r.audio_group = std::move(audio);
  return r;
}

Rendition Audio(std::string uri, std::string group, std::string name,
                std::string language, bool is_default, uint64_t bandwidth,
                uint64_t average) {
  Rendition r;
  r.kind = Rendition::Kind::kAudio;
  r.uri = std::move(uri);
  r.codecs = "mp4a.40.2";
  r.group_id = std::move(group);
  r.name = std::move(name);
  r.language = std::move(language);
  r.is_default = is_default;
  r.bandwidth = bandwidth;
  r.average_bandwidth = average;
  return r;
}

TEST(MultivariantRenderTest, VideoOnlyLadder) {
  std::vector<Rendition> ladder = {
      Variant("1080p/index.m3u8", "avc1.640028", 5500000, 5000000, 1920, 1080, 30),
      Variant("720p/index.m3u8", "avc1.64001F", 3300000, 3000000, 1280, 720, 30),
      Variant("480p/index.m3u8", "avc1.64001E", 1100000, 0, 854, 480, 29.97),
  };
  EXPECT_EQ(RenderMultivariant(ladder, true),
            "#EXTM3U\n"
            "#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=5500000,AVERAGE-BANDWIDTH=5000000,"
            "CODECS=\"avc1.640028\",RESOLUTION=1920x1080,FRAME-RATE=30.000\n"
            "1080p/index.m3u8\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=3300000,AVERAGE-BANDWIDTH=3000000,"
            "CODECS=\"avc1.64001F\",RESOLUTION=1280x720,FRAME-RATE=30.000\n"
            "720p/index.m3u8\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=1100000,CODECS=\"avc1.64001E\","
            "RESOLUTION=854x480,FRAME-RATE=29.970\n"
            "480p/index.m3u8\n");
}

TEST(MultivariantRenderTest, LadderWithAudioGroup) {
  // The group's largest rendition adds to each variant's rates, and its
  // codecs to the variant's CODECS.
  std::vector<Rendition> ladder = {
      Variant("v0.m3u8", "avc1.64001F", 3000000, 2500000, 1280, 720, 25, "aud"),
      Variant("v1.m3u8", "avc1.64001E", 1000000, 800000, 640, 360, 25, "aud"),
      Audio("en.m3u8", "aud", "English", "en", true, 130000, 128000),
      Audio("fr.m3u8", "aud", "Fran\xc3\xa7" "ais", "fr", false, 100000, 96000),
  };
  EXPECT_EQ(RenderMultivariant(ladder, false),
            "#EXTM3U\n"
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"English\","
            "DEFAULT=YES,AUTOSELECT=YES,LANGUAGE=\"en\",URI=\"en.m3u8\"\n"
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"Fran\xc3\xa7" "ais\","
            "DEFAULT=NO,AUTOSELECT=YES,LANGUAGE=\"fr\",URI=\"fr.m3u8\"\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=3130000,AVERAGE-BANDWIDTH=2628000,"
            "CODECS=\"avc1.64001F,mp4a.40.2\",RESOLUTION=1280x720,"
            "FRAME-RATE=25.000,AUDIO=\"aud\"\n"
            "v0.m3u8\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=1130000,AVERAGE-BANDWIDTH=928000,"
            "CODECS=\"avc1.64001E,mp4a.40.2\",RESOLUTION=640x360,"
            "FRAME-RATE=25.000,AUDIO=\"aud\"\n"
            "v1.m3u8\n");
}

TEST(MultivariantRenderTest, AudioOnlyVariant) {
  std::vector<Rendition> ladder = {
      Variant("av.m3u8", "avc1.42C01E,mp4a.40.2", 900000, 850000, 640, 360, 30),
      Variant("audio.m3u8", "mp4a.40.5", 64000, 64000, 0, 0, 0),
  };
  EXPECT_EQ(RenderMultivariant(ladder, true),
            "#EXTM3U\n"
            "#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=850000,"
            "CODECS=\"avc1.42C01E,mp4a.40.2\",RESOLUTION=640x360,"
            "FRAME-RATE=30.000\n"
            "av.m3u8\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=64000,AVERAGE-BANDWIDTH=64000,"
            "CODECS=\"mp4a.40.5\"\n"
            "audio.m3u8\n");
}

TEST(MultivariantRenderTest, ValidateQuoted) {
  EXPECT_TRUE(ValidateQuoted("NAME", "English (UK)").ok());
  EXPECT_EQ(ValidateQuoted("NAME", "a\"b").message(),
            "NAME \"a\"b\" contains 0x22, which cannot be in a quoted string");
  EXPECT_EQ(ValidateQuoted("NAME", "a\nb").message(),
            "NAME \"\" contains 0x0A, which cannot be in a quoted string");
}

// What a fake media playlist has measured; the test moves it along.
struct FakeRates {
  MeasuredRates rates;
};

class MultivariantTest : public ::testing::Test {
 protected:
  void Open() {
    MultivariantOptions o;
    o.path = dir_.File("master.m3u8");
    ASSERT_TRUE(Multivariant::Open(o, &mv_).ok());
  }
  void AddVariant(const std::string& name, uint64_t declared, FakeRates* f) {
    RenditionInput in;
    in.rendition.codecs = "avc1.64001F";
    in.rendition.width = 1280;
    in.rendition.height = 720;
    in.declared_bandwidth = declared;
    in.playlist_path = dir_.File(name);
    in.measure = [f] { return f->rates; };
    Status s = mv_->Add(std::move(in));
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  bool Update(Multivariant::Mode mode = Multivariant::Mode::kIfNeeded) {
    bool written = false;
    Status s = mv_->Update(mode, &written);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return written;
  }
  std::string Text() { return ReadFileOrDie(dir_.File("master.m3u8")); }

  ScratchDir dir_;
  std::unique_ptr<Multivariant> mv_;
};

TEST_F(MultivariantTest, WaitsForEveryPlaylistThenFollowsThePeak) {
  Open();
  FakeRates a, b;
  AddVariant("a.m3u8", 1000000, &a);
  AddVariant("b.m3u8", 500000, &b);

  a.rates = {true, 900000, 800000};
  EXPECT_FALSE(Update());  // b does not exist yet
  EXPECT_EQ(mv_->Published(), "");
  EXPECT_NE(::access(dir_.File("master.m3u8").c_str(), F_OK), 0);

  b.rates = {true, 450000, 400000};
  EXPECT_TRUE(Update());  // declared rates win while they are higher
  EXPECT_EQ(Text(),
            "#EXTM3U\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=1000000,AVERAGE-BANDWIDTH=800000,"
            "CODECS=\"avc1.64001F\",RESOLUTION=1280x720\na.m3u8\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=500000,AVERAGE-BANDWIDTH=400000,"
            "CODECS=\"avc1.64001F\",RESOLUTION=1280x720\nb.m3u8\n");

  a.rates.peak = 1100000;  // exactly 10% above: not yet
  EXPECT_FALSE(Update());
  a.rates.peak = 1100001;
  EXPECT_TRUE(Update());
  EXPECT_NE(Text().find("BANDWIDTH=1100001,"), std::string::npos);
  EXPECT_FALSE(Update());

  // A refresh writes the current values even when nothing grew.
  EXPECT_TRUE(Update(Multivariant::Mode::kRefresh));

  // At the end the measured peaks replace the declared rates.
  EXPECT_TRUE(Update(Multivariant::Mode::kFinal));
  EXPECT_NE(Text().find("BANDWIDTH=450000,AVERAGE-BANDWIDTH=400000"),
            std::string::npos);
  EXPECT_FALSE(Update(Multivariant::Mode::kFinal));  // written once
}

TEST_F(MultivariantTest, UrisRelativeToTheMultivariantDirectory) {
  Open();
  FakeRates a;
  a.rates = {true, 1, 1};
  ASSERT_EQ(::mkdir(dir_.File("720p").c_str(), 0755), 0);
  AddVariant("720p/in dex.m3u8", 0, &a);
  EXPECT_FALSE(mv_->Add(RenditionInput{}).ok());  // no playlist to measure
  EXPECT_TRUE(Update());
  EXPECT_NE(Text().find("\n720p/in%20dex.m3u8\n"), std::string::npos);
}

TEST_F(MultivariantTest, RefusesWhatCannotBePrinted) {
  Open();
  FakeRates a;
  RenditionInput in;
  in.rendition.uri = "v.m3u8";
  in.rendition.audio_group = "a\"b";
  in.measure = [&a] { return a.rates; };
  Status s = mv_->Add(in);
  EXPECT_EQ(s.message(), dir_.File("master.m3u8") +
                             ": AUDIO group \"a\"b\" contains 0x22, which "
                             "cannot be in a quoted string");
  in.rendition.audio_group = "aud";
  ASSERT_TRUE(mv_->Add(in).ok());
  a.rates = {true, 1000, 1000};
  bool written = true;
  s = mv_->Update(Multivariant::Mode::kIfNeeded, &written);
  EXPECT_FALSE(written);
  EXPECT_EQ(s.message(), dir_.File("master.m3u8") +
                             ": variant \"v.m3u8\" names audio group \"aud\", "
                             "which has no audio rendition");
}

TEST_F(MultivariantTest, FailedWriteKeepsThePreviousFile) {
  testing::FaultEnv env;
  MultivariantOptions o;
  o.path = dir_.File("master.m3u8");
  o.env = &env;
  ASSERT_TRUE(Multivariant::Open(o, &mv_).ok());
  FakeRates a;
  AddVariant("a.m3u8", 1000, &a);
  a.rates = {true, 1000, 1000};
  EXPECT_TRUE(Update());
  const std::string before = Text();
  env.Fail(testing::FaultStep::kFsync, ENOSPC);
  a.rates.peak = 5000;
  bool written = true;
  Status s = mv_->Update(Multivariant::Mode::kIfNeeded, &written);
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(written);
  EXPECT_NE(s.message().find("master.m3u8: fsync"), std::string::npos);
  EXPECT_EQ(Text(), before);
  EXPECT_EQ(testing::ListDir(dir_.path()),
            (std::vector<std::string>{"master.m3u8"}));
  env.Fail(testing::FaultStep::kNone, 0);
  EXPECT_TRUE(Update());  // still due
  EXPECT_NE(Text().find("BANDWIDTH=5000,"), std::string::npos);
}

}  // namespace
}  // namespace hlsbridge
