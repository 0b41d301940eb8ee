// Writers and segment producers on many threads at once, with a reader
// polling the real file: no torn playlist, no media sequence going backwards.
// Run under ThreadSanitizer by the test command.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "playlist.h"
#include "test_util.h"

namespace hlsbridge {
namespace {

using testing::ScratchDir;

// Media sequence of a complete playlist text, or -1 if it is not complete.
int64_t ParseMediaSequence(const std::string& text) {
  if (text.rfind("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:", 0) != 0) {
    return -1;
  }
  if (text.empty() || text.back() != '\n') return -1;
  return std::stoll(text.substr(text.find("SEQUENCE:") + 9));
}

TEST(ConcurrencyTest, ConcurrentWritesNeverPublishAnOlderState) {
  ScratchDir dir;
  // Every state that reaches the disk, in rename order.
  class Recorder : public EnvWrapper {
   public:
    Recorder() : EnvWrapper(Env::Default()) {}
    Status RenameFile(const std::string& from, const std::string& to) override {
      std::ifstream in(from);
      std::stringstream ss;
      ss << in.rdbuf();
      Status s = EnvWrapper::RenameFile(from, to);
      if (s.ok() && to.size() > 5 && to.substr(to.size() - 5) == ".m3u8") {
        published.push_back(ParseMediaSequence(ss.str()));
      }
      return s;
    }
    std::vector<int64_t> published;  // guarded by Playlist's write order
  } env;

  PlaylistOptions o;
  o.path = dir.File("index.m3u8");
  o.window_size = 4;
  o.fsync_file = false;  // the property under test does not need the disk
  o.fsync_dir = false;
  o.env = &env;
  std::unique_ptr<Playlist> pl;
  ASSERT_TRUE(Playlist::Open(o, &pl).ok());

  constexpr int kThreads = 4;
  constexpr int kSegmentsPerThread = 150;
  std::atomic<bool> done{false};
  std::atomic<int64_t> reads{0};
  std::atomic<int64_t> reader_errors{0};
  std::thread reader([&] {
    int64_t last = -1;
    while (!done.load()) {
      std::ifstream in(o.path);
      if (!in) continue;  // before the first publish
      std::stringstream ss;
      ss << in.rdbuf();
      const int64_t seq = ParseMediaSequence(ss.str());
      if (seq < last) ++reader_errors;  // torn (-1) or going backwards
      last = std::max(last, seq);
      ++reads;
    }
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < kSegmentsPerThread; ++i) {
        SegmentInput in;
        const std::string uri = "t" + std::to_string(t) + "-" + std::to_string(i) + ".ts";
        in.uri = uri;
        in.duration = 2;
        ASSERT_TRUE(pl->AddSegment(in).ok());
        ASSERT_TRUE(pl->Write().ok());
        (void)pl->GetStats();
      }
    });
  }
  for (auto& w : workers) w.join();
  done = true;
  reader.join();

  EXPECT_EQ(reader_errors.load(), 0);
  EXPECT_GT(reads.load(), 0);
  ASSERT_EQ(env.published.size(), static_cast<size_t>(kThreads * kSegmentsPerThread));
  for (size_t i = 1; i < env.published.size(); ++i) {
    ASSERT_LE(env.published[i - 1], env.published[i]) << "publish " << i;
  }
  EXPECT_EQ(env.published.back(), kThreads * kSegmentsPerThread - 4);
  EXPECT_EQ(pl->GetStats().writes_ok, static_cast<uint64_t>(kThreads * kSegmentsPerThread));
}

}  // namespace
}  // namespace hlsbridge
