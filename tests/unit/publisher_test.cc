// The publisher thread: order (a segment is listed only after its file and
// directory are durable, playlists in submission order), lost segments,
// back-pressure, draining, and a stress run for ThreadSanitizer. Real files
// in a scratch directory, failures injected through the Env.
#include "publisher.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "test_util.h"

namespace hlsbridge {
namespace {

using testing::FaultEnv;
using testing::FaultStep;
using testing::ReadFileOrDie;
using testing::ScratchDir;
using testing::WriteFileOrDie;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// URIs listed by a playlist text, in order.
std::vector<std::string> ListedUris(const std::string& text) {
  std::vector<std::string> uris;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != '#') uris.push_back(line);
  }
  return uris;
}

// Records, in order, every segment fsync, directory fsync and the URIs of
// every playlist at the moment it is renamed into place.
class RecordingEnv : public FaultEnv {
 public:
  // Sync() of a file or directory opened through OpenForSync.
  virtual Status SyncOpened(const std::string& path, bool directory,
                            SyncableFile* base) {
    Status s = base->Sync();
    Record(s, (directory ? "dir " : "file ") + path);
    return s;
  }
  Status OpenForSync(const std::string& path, bool directory,
                     std::unique_ptr<SyncableFile>* result) override {
    std::unique_ptr<SyncableFile> base;
    Status s = FaultEnv::OpenForSync(path, directory, &base);
    if (!s.ok()) return s;
    *result = std::make_unique<Opened>(this, path, directory, std::move(base));
    return s;
  }
  Status SyncDir(const std::string& dir) override {
    Status s = FaultEnv::SyncDir(dir);
    Record(s, "dir " + dir);
    return s;
  }
  Status RenameFile(const std::string& from, const std::string& to) override {
    const std::string text = Slurp(from);
    Status s = FaultEnv::RenameFile(from, to);
    std::lock_guard<std::mutex> l(mu_);
    if (s.ok() && to.size() > 5 && to.substr(to.size() - 5) == ".m3u8") {
      events.push_back("publish");
      published.push_back(ListedUris(text));
      texts.push_back(text);
    }
    return s;
  }
  std::vector<std::string> events;
  std::vector<std::vector<std::string>> published;
  std::vector<std::string> texts;

 private:
  class Opened : public SyncableFile {
   public:
    Opened(RecordingEnv* env, std::string path, bool directory,
           std::unique_ptr<SyncableFile> base)
        : env_(env), path_(std::move(path)), directory_(directory), base_(std::move(base)) {}
    void StartWriteback() override { base_->StartWriteback(); }
    Status Sync() override { return env_->SyncOpened(path_, directory_, base_.get()); }

   private:
    RecordingEnv* env_;
    std::string path_;
    bool directory_;
    std::unique_ptr<SyncableFile> base_;
  };
  void Record(const Status& s, const std::string& event) {
    std::lock_guard<std::mutex> l(mu_);
    if (s.ok()) events.push_back(event);
  }
  std::mutex mu_;
};

class PublisherTest : public ::testing::Test {
 protected:
  void Open(unsigned window = 0, PlaylistType type = PlaylistType::kEvent,
            PublisherOptions po = {}) {
    PlaylistOptions o;
    o.path = dir_.File("index.m3u8");
    o.window_size = window;
    o.type = type;
    o.env = &env_;
    o.log = [this](LogLevel level, std::string_view msg) {
      std::lock_guard<std::mutex> l(log_mu_);
      logs_.emplace_back(level, std::string(msg));
    };
    ASSERT_TRUE(Playlist::Open(o, &playlist_).ok());
    publisher_ = std::make_unique<Publisher>(playlist_.get(), &env_, po);
  }
  // A segment file on disk, and its SegmentFile.
  SegmentFile Segment(int i, const std::string& subdir = "") {
    const std::string name = "seg" + std::to_string(i) + ".ts";
    SegmentFile f;
    f.uri = subdir.empty() ? name : subdir + "/" + name;
    f.duration = 2.0;
    f.file_path = dir_.File(f.uri);
    WriteFileOrDie(f.file_path, "media " + std::to_string(i));
    return f;
  }
  std::string Playlist() { return ReadFileOrDie(dir_.File("index.m3u8")); }

  ScratchDir dir_;
  RecordingEnv env_;
  std::mutex log_mu_;
  std::vector<std::pair<LogLevel, std::string>> logs_;
  std::unique_ptr<hlsbridge::Playlist> playlist_;
  std::unique_ptr<Publisher> publisher_;
};

TEST_F(PublisherTest, SegmentIsListedOnlyAfterItsFileAndDirectoryAreSynced) {
  Open();
  ASSERT_EQ(::mkdir(dir_.File("sub").c_str(), 0755), 0);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(publisher_->Submit(Segment(i, i % 2 ? "sub" : "")).ok());
  }
  publisher_->Drain();
  EXPECT_TRUE(publisher_->TakeError().ok());

  // Every playlist lists a prefix of the submitted segments, each longer
  // than the one before, and each segment it lists was synced (file, then
  // its directory) before that playlist was renamed into place.
  std::vector<std::string> synced_files, synced_dirs;
  size_t publication = 0, last_count = 0;
  for (const std::string& e : env_.events) {
    if (e.rfind("file ", 0) == 0) synced_files.push_back(e.substr(5));
    if (e.rfind("dir ", 0) == 0) synced_dirs.push_back(e.substr(4));
    if (e != "publish") continue;
    const std::vector<std::string>& uris = env_.published[publication++];
    EXPECT_GT(uris.size(), last_count);
    last_count = uris.size();
    for (size_t i = 0; i < uris.size(); ++i) {
      const std::string expected = (i % 2 ? "sub/seg" : "seg") + std::to_string(i) + ".ts";
      ASSERT_EQ(uris[i], expected);
      const std::string path = dir_.File(uris[i]);
      const std::string dir = DirName(path);
      auto file_at = std::find(synced_files.begin(), synced_files.end(), path);
      ASSERT_NE(file_at, synced_files.end()) << path << " listed before its fsync";
      ASSERT_NE(std::find(synced_dirs.begin(), synced_dirs.end(), dir), synced_dirs.end())
          << dir << " not synced before " << path << " was listed";
    }
  }
  EXPECT_EQ(last_count, 20u);
  const PublisherStats st = publisher_->GetStats();
  EXPECT_EQ(st.segments_listed, 20u);
  EXPECT_EQ(st.segments_lost, 0u);
  EXPECT_EQ(st.queued, 0u);
}

TEST_F(PublisherTest, SegmentWhoseFsyncFailsIsRemovedAndNextStartsDiscontinuity) {
  Open();
  ASSERT_TRUE(publisher_->Submit(Segment(0)).ok());
  publisher_->Drain();
  env_.Fail(FaultStep::kSyncFile, ENOSPC);
  SegmentFile lost = Segment(1);
  ASSERT_TRUE(publisher_->Submit(lost).ok());
  publisher_->Drain();
  env_.Fail(FaultStep::kNone, 0);
  ASSERT_TRUE(publisher_->Submit(Segment(2)).ok());
  publisher_->Drain();

  EXPECT_EQ(Playlist(),
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:EVENT\n"
            "#EXTINF:2.000,\nseg0.ts\n"
            "#EXT-X-DISCONTINUITY\n#EXTINF:2.000,\nseg2.ts\n");
  EXPECT_FALSE(env_.FileExists(lost.file_path)) << "a lost segment keeps its space";
  Status err = publisher_->TakeError();
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.os_errno(), ENOSPC);
  EXPECT_NE(err.message().find(lost.file_path + ": fsync"), std::string::npos)
      << err.message();
  EXPECT_TRUE(publisher_->TakeError().ok()) << "an error is reported once";
  EXPECT_EQ(publisher_->GetStats().segments_lost, 1u);
  bool logged = false;
  for (const auto& [level, msg] : logs_) {
    logged |= level == LogLevel::kError && msg.find("seg1.ts") != std::string::npos &&
              msg.find("discontinuity") != std::string::npos;
  }
  EXPECT_TRUE(logged);
}

TEST_F(PublisherTest, FailedDirectoryFsyncLosesTheSegmentsInIt) {
  Open();
  env_.Fail(FaultStep::kSyncDir, EIO);  // the first dir fsync: the segment's
  SegmentFile s0 = Segment(0);
  ASSERT_TRUE(publisher_->Submit(s0).ok());
  publisher_->Drain();
  env_.Fail(FaultStep::kNone, 0);
  ASSERT_TRUE(publisher_->Submit(Segment(1)).ok());
  publisher_->Drain();
  EXPECT_FALSE(env_.FileExists(s0.file_path));
  EXPECT_EQ(ListedUris(Playlist()), std::vector<std::string>{"seg1.ts"});
  EXPECT_NE(Playlist().find("#EXT-X-DISCONTINUITY\n#EXTINF:2.000,\nseg1.ts"),
            std::string::npos);
  EXPECT_EQ(publisher_->TakeError().os_errno(), EIO);
}

TEST_F(PublisherTest, RefusedSegmentIsReportedNowAndItsFileRemoved) {
  Open();
  SegmentFile bad = Segment(0);
  bad.duration = 0;
  Status s = publisher_->Submit(bad);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("seg0.ts"), std::string::npos) << s.message();
  ASSERT_TRUE(publisher_->Submit(Segment(1)).ok());
  publisher_->Drain();
  EXPECT_FALSE(env_.FileExists(bad.file_path));
  EXPECT_EQ(ListedUris(Playlist()), std::vector<std::string>{"seg1.ts"});
  EXPECT_NE(Playlist().find("#EXT-X-DISCONTINUITY\n"), std::string::npos);
}

TEST_F(PublisherTest, DiscardedFileIsRemovedInOrderAndNextStartsDiscontinuity) {
  Open();
  ASSERT_TRUE(publisher_->Submit(Segment(0)).ok());
  SegmentFile partial = Segment(1);
  ASSERT_TRUE(publisher_->Discard(partial.file_path).ok());
  ASSERT_TRUE(publisher_->Submit(Segment(2)).ok());
  publisher_->Drain();
  EXPECT_FALSE(env_.FileExists(partial.file_path));
  EXPECT_EQ(ListedUris(Playlist()), (std::vector<std::string>{"seg0.ts", "seg2.ts"}));
  EXPECT_NE(Playlist().find("seg0.ts\n#EXT-X-DISCONTINUITY\n"), std::string::npos);
  EXPECT_TRUE(publisher_->TakeError().ok()) << "a discard is not a failure";
}

// fMP4: an init section is durable before a playlist names it; one with the
// bytes of the map in force is removed and changes nothing; one that cannot
// be made durable takes the segments after it along until the next.
SegmentFile Init(const ScratchDir& dir, const std::string& name,
                 const std::string& bytes) {
  SegmentFile f;
  f.uri = name;
  f.file_path = dir.File(name);
  WriteFileOrDie(f.file_path, bytes);
  return f;
}

TEST_F(PublisherTest, MapIsDurableBeforeAPlaylistNamesIt) {
  Open();
  SegmentFile init = Init(dir_, "init.mp4", "ftyp moov");
  ASSERT_TRUE(publisher_->SubmitMap(init).ok());
  ASSERT_TRUE(publisher_->Submit(Segment(0)).ok());
  publisher_->Drain();
  const auto synced = std::find(env_.events.begin(), env_.events.end(),
                                "file " + init.file_path);
  const auto published = std::find(env_.events.begin(), env_.events.end(), "publish");
  ASSERT_NE(synced, env_.events.end());
  EXPECT_LT(synced, published);
  EXPECT_EQ(Playlist(),
            "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:EVENT\n"
            "#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2.000,\nseg0.ts\n");
}

TEST_F(PublisherTest, IdenticalMapIsRemovedAndADifferentOneListed) {
  Open();
  ASSERT_TRUE(publisher_->SubmitMap(Init(dir_, "init.mp4", "moov A")).ok());
  ASSERT_TRUE(publisher_->Submit(Segment(0)).ok());
  SegmentFile same = Init(dir_, "init_1.mp4", "moov A");
  ASSERT_TRUE(publisher_->SubmitMap(same).ok());
  ASSERT_TRUE(publisher_->Submit(Segment(1)).ok());
  ASSERT_TRUE(publisher_->SubmitMap(Init(dir_, "init_2.mp4", "moov B")).ok());
  SegmentFile s2 = Segment(2);
  s2.discontinuity = true;
  ASSERT_TRUE(publisher_->Submit(s2).ok());
  publisher_->Drain();
  EXPECT_FALSE(env_.FileExists(same.file_path));
  EXPECT_TRUE(env_.FileExists(dir_.File("init.mp4")));
  EXPECT_EQ(Playlist(),
            "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:EVENT\n"
            "#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2.000,\nseg0.ts\n"
            "#EXTINF:2.000,\nseg1.ts\n"
            "#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init_2.mp4\"\n"
            "#EXTINF:2.000,\nseg2.ts\n");
  EXPECT_TRUE(publisher_->TakeError().ok());
}

TEST_F(PublisherTest, LostMapLosesItsSegmentsUntilTheNextMap) {
  Open();
  ASSERT_TRUE(publisher_->SubmitMap(Init(dir_, "init.mp4", "moov A")).ok());
  ASSERT_TRUE(publisher_->Submit(Segment(0)).ok());
  publisher_->Drain();
  env_.Fail(FaultStep::kSyncFile, ENOSPC);
  SegmentFile lost_init = Init(dir_, "init_1.mp4", "moov B");
  ASSERT_TRUE(publisher_->SubmitMap(lost_init).ok());
  publisher_->Drain();
  env_.Fail(FaultStep::kNone, 0);
  SegmentFile orphan = Segment(1);
  ASSERT_TRUE(publisher_->Submit(orphan).ok());
  ASSERT_TRUE(publisher_->SubmitMap(Init(dir_, "init_2.mp4", "moov C")).ok());
  ASSERT_TRUE(publisher_->Submit(Segment(2)).ok());
  publisher_->Drain();
  EXPECT_FALSE(env_.FileExists(lost_init.file_path));
  EXPECT_FALSE(env_.FileExists(orphan.file_path));
  EXPECT_EQ(ListedUris(Playlist()), (std::vector<std::string>{"seg0.ts", "seg2.ts"}));
  EXPECT_NE(Playlist().find("seg0.ts\n#EXT-X-DISCONTINUITY\n"
                            "#EXT-X-MAP:URI=\"init_2.mp4\"\n"),
            std::string::npos)
      << Playlist();
  Status err = publisher_->TakeError();
  EXPECT_EQ(err.os_errno(), ENOSPC);
  EXPECT_NE(err.message().find("init_1.mp4"), std::string::npos) << err.message();
  EXPECT_EQ(publisher_->GetStats().segments_lost, 1u);
  EXPECT_EQ(publisher_->GetStats().maps_lost, 1u);
}

TEST_F(PublisherTest, MapRefusedBeforeSubmitLosesItsSegmentsButNotTheMapInForce) {
  Open();
  SegmentFile init = Init(dir_, "init.mp4", "moov A");
  ASSERT_TRUE(publisher_->SubmitMap(init).ok());
  ASSERT_TRUE(publisher_->Submit(Segment(0)).ok());
  publisher_->Drain();
  // The same file again, and its fsync fails: lost, but not removed, for
  // the published playlist names it.
  env_.Fail(FaultStep::kSyncFile, EIO);
  ASSERT_TRUE(publisher_->SubmitMap(init).ok());
  publisher_->Drain();
  env_.Fail(FaultStep::kNone, 0);
  EXPECT_TRUE(env_.FileExists(init.file_path));
  // A map whose URI could not even be derived.
  SegmentFile other = Init(dir_, "init_1.mp4", "moov B");
  publisher_->RefuseMap(other.file_path, Status::InvalidArgument("no URI"));
  SegmentFile orphan = Segment(1);
  ASSERT_TRUE(publisher_->Submit(orphan).ok());
  publisher_->Drain();
  EXPECT_FALSE(env_.FileExists(other.file_path));
  EXPECT_FALSE(env_.FileExists(orphan.file_path));
  EXPECT_EQ(ListedUris(Playlist()), std::vector<std::string>{"seg0.ts"});
  EXPECT_EQ(publisher_->GetStats().maps_lost, 2u);
}

TEST_F(PublisherTest, RefusedMapIsReportedNowAndItsSegmentsLost) {
  Open();
  SegmentFile bad = Init(dir_, "init.mp4", "moov");
  bad.uri = "init\n.mp4";
  Status s = publisher_->SubmitMap(bad);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("init section"), std::string::npos) << s.message();
  ASSERT_TRUE(publisher_->Submit(Segment(0)).ok());
  publisher_->Drain();
  EXPECT_FALSE(env_.FileExists(bad.file_path));
  EXPECT_FALSE(env_.FileExists(dir_.File("index.m3u8")))
      << "a segment that needs a refused map is not listed";
}

// AES-128: a key file is durable before a playlist names its key; a lost
// key loses the segments after it until the next one, and is never removed.
KeyInput Key(const ScratchDir& dir, const std::string& name) {
  KeyInput k;
  k.uri = name;
  for (int i = 0; i < 16; ++i) k.iv[i] = static_cast<uint8_t>(i);
  k.file_path = dir.File(name);
  WriteFileOrDie(k.file_path, "0123456789abcdef");
  return k;
}

TEST_F(PublisherTest, KeyFileIsDurableBeforeAPlaylistNamesIt) {
  Open();
  KeyInput k = Key(dir_, "a.key");
  ASSERT_TRUE(publisher_->SubmitKey(k).ok());
  ASSERT_TRUE(publisher_->Submit(Segment(0)).ok());
  publisher_->Drain();
  const auto synced = std::find(env_.events.begin(), env_.events.end(), "file " + k.file_path);
  const auto published = std::find(env_.events.begin(), env_.events.end(), "publish");
  ASSERT_NE(synced, env_.events.end());
  EXPECT_LT(synced, published);
  EXPECT_NE(Playlist().find("#EXT-X-KEY:METHOD=AES-128,URI=\"a.key\","
                            "IV=0x000102030405060708090A0B0C0D0E0F\n#EXTINF:2.000,\nseg0.ts\n"),
            std::string::npos)
      << Playlist();
}

TEST_F(PublisherTest, LostKeyLosesItsSegmentsUntilTheNextKey) {
  Open();
  ASSERT_TRUE(publisher_->SubmitKey(Key(dir_, "a.key")).ok());
  ASSERT_TRUE(publisher_->Submit(Segment(0)).ok());
  publisher_->Drain();
  env_.Fail(FaultStep::kSyncFile, EIO);
  KeyInput lost = Key(dir_, "b.key");
  ASSERT_TRUE(publisher_->SubmitKey(lost).ok());
  publisher_->Drain();
  env_.Fail(FaultStep::kNone, 0);
  ASSERT_TRUE(publisher_->Submit(Segment(1)).ok());
  KeyInput bad = Key(dir_, "c.key");
  bad.uri = "c\".key";
  EXPECT_FALSE(publisher_->SubmitKey(bad).ok());
  ASSERT_TRUE(publisher_->Submit(Segment(2)).ok());
  ASSERT_TRUE(publisher_->SubmitKey(Key(dir_, "d.key")).ok());
  ASSERT_TRUE(publisher_->Submit(Segment(3)).ok());
  publisher_->Drain();
  EXPECT_EQ(ListedUris(Playlist()), (std::vector<std::string>{"seg0.ts", "seg3.ts"}));
  EXPECT_NE(Playlist().find("seg0.ts\n#EXT-X-DISCONTINUITY\n#EXT-X-KEY:METHOD=AES-128,"
                            "URI=\"d.key\""),
            std::string::npos)
      << Playlist();
  EXPECT_TRUE(env_.FileExists(lost.file_path)) << "a key file is never removed";
  EXPECT_EQ(publisher_->TakeError().os_errno(), EIO);
  EXPECT_EQ(publisher_->GetStats().keys_lost, 2u);
  EXPECT_EQ(publisher_->GetStats().segments_lost, 2u);
}

TEST_F(PublisherTest, FailedPlaylistWriteIsReportedAndTheNextWriteListsAll) {
  Open();
  env_.Fail(FaultStep::kRename, EROFS);
  ASSERT_TRUE(publisher_->Submit(Segment(0)).ok());
  publisher_->Drain();
  EXPECT_FALSE(env_.FileExists(dir_.File("index.m3u8")));
  Status err = publisher_->TakeError();
  EXPECT_EQ(err.os_errno(), EROFS);
  EXPECT_NE(err.message().find("index.m3u8: rename"), std::string::npos);
  env_.Fail(FaultStep::kNone, 0);
  ASSERT_TRUE(publisher_->Submit(Segment(1)).ok());
  publisher_->Drain();
  EXPECT_EQ(ListedUris(Playlist()), (std::vector<std::string>{"seg0.ts", "seg1.ts"}));
  EXPECT_EQ(publisher_->GetStats().latency_samples, 2u);
}

// An Env whose segment fsync waits at a gate: a disk that stalls. The fsync
// of fail_path (if set) fails with EIO.
class StallingEnv : public RecordingEnv {
 public:
  Status SyncOpened(const std::string& path, bool directory,
                    SyncableFile* base) override {
    if (directory) return RecordingEnv::SyncOpened(path, directory, base);
    if (path == fail_path) return Status::IOError(path, "fsync", EIO);
    std::unique_lock<std::mutex> l(mu_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait(l, [this] { return open_; });
    l.unlock();
    return RecordingEnv::SyncOpened(path, directory, base);
  }
  void Open() {
    std::lock_guard<std::mutex> l(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void WaitForStall() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [this] { return waiting_ > 0; });
  }
  std::string fail_path;  // set before the worker reaches it

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int waiting_ = 0;
};

// An EVENT playlist on a disk whose segment fsyncs stall until Open().
class StalledDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PlaylistOptions o;
    o.path = dir_.File("index.m3u8");
    o.type = PlaylistType::kEvent;
    o.env = &env_;
    ASSERT_TRUE(Playlist::Open(o, &playlist_).ok());
  }
  SegmentFile File(int i) {
    SegmentFile f;
    f.uri = "s" + std::to_string(i) + ".ts";
    f.duration = 1;
    f.file_path = dir_.File(f.uri);
    WriteFileOrDie(f.file_path, "x");
    return f;
  }

  ScratchDir dir_;
  StallingEnv env_;
  std::unique_ptr<hlsbridge::Playlist> playlist_;
};

TEST_F(StalledDiskTest, CallerBlocksAfterTheBound) {
  PublisherOptions po;
  po.max_queued = 3;
  Publisher pub(playlist_.get(), &env_, po);
  // The worker takes the first one and stalls in its fsync; two more wait.
  ASSERT_TRUE(pub.Submit(File(0)).ok());
  env_.WaitForStall();
  ASSERT_TRUE(pub.Submit(File(1)).ok());
  ASSERT_TRUE(pub.Submit(File(2)).ok());
  EXPECT_EQ(pub.GetStats().queued, 3u);

  std::atomic<bool> returned{false};
  std::thread producer([&] {
    EXPECT_TRUE(pub.Submit(File(3)).ok());
    returned = true;
  });
  // The fourth waits for the disk, however long it stalls.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(returned.load()) << "submit went past the queue bound";
  EXPECT_LE(pub.GetStats().queued, 3u);
  env_.Open();
  producer.join();
  EXPECT_TRUE(returned.load());
  pub.Drain();
  EXPECT_EQ(ListedUris(ReadFileOrDie(dir_.File("index.m3u8"))),
            (std::vector<std::string>{"s0.ts", "s1.ts", "s2.ts", "s3.ts"}));
}

// Three segments wait in the queue; Finish() lists them and ends the
// playlist in one publication, never one without the other.
TEST_F(StalledDiskTest, FinishListsTheQueueAndEndsInOnePublication) {
  Publisher pub(playlist_.get(), &env_, {});
  ASSERT_TRUE(pub.Submit(File(0)).ok());
  env_.WaitForStall();  // s1, s2 queue up behind s0
  ASSERT_TRUE(pub.Submit(File(1)).ok());
  ASSERT_TRUE(pub.Submit(File(2)).ok());
  std::thread finisher([&] { EXPECT_TRUE(pub.Finish().ok()); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (pub.GetStats().queued < 4 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_EQ(pub.GetStats().queued, 4u) << "the finish job did not queue up";
  env_.Open();
  finisher.join();
  ASSERT_EQ(env_.texts.size(), 2u) << "s0; then s1, s2 and ENDLIST together";
  EXPECT_EQ(ListedUris(env_.texts[0]), std::vector<std::string>{"s0.ts"});
  EXPECT_EQ(env_.texts[1].find("#EXT-X-ENDLIST"), env_.texts[1].size() - 15);
  EXPECT_EQ(ListedUris(env_.texts[1]).size(), 3u);
  EXPECT_FALSE(pub.Submit(SegmentFile{"late.ts", 1, {}, false, ""}).ok());
}

// In one batch, the segment after a lost one carries the discontinuity, not
// the one before it.
TEST_F(StalledDiskTest, LostSegmentInABatchMarksTheNextOne) {
  Publisher pub(playlist_.get(), &env_, {});
  ASSERT_TRUE(pub.Submit(File(0)).ok());
  env_.WaitForStall();  // s1, s2, s3 queue up behind s0: one batch
  ASSERT_TRUE(pub.Submit(File(1)).ok());
  SegmentFile lost = File(2);
  env_.fail_path = lost.file_path;
  ASSERT_TRUE(pub.Submit(lost).ok());
  ASSERT_TRUE(pub.Submit(File(3)).ok());
  env_.Open();
  pub.Drain();
  EXPECT_EQ(ReadFileOrDie(dir_.File("index.m3u8")),
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-TARGETDURATION:1\n#EXT-X-PLAYLIST-TYPE:EVENT\n"
            "#EXTINF:1.000,\ns0.ts\n#EXTINF:1.000,\ns1.ts\n"
            "#EXT-X-DISCONTINUITY\n#EXTINF:1.000,\ns3.ts\n");
  EXPECT_FALSE(env_.FileExists(lost.file_path));
  EXPECT_EQ(pub.TakeError().os_errno(), EIO);
}

TEST_F(PublisherTest, DestructionListsEverySubmittedSegment) {
  Open();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(publisher_->Submit(Segment(i)).ok());
  publisher_.reset();
  EXPECT_EQ(ListedUris(Playlist()).size(), 10u);
}

TEST_F(PublisherTest, LatencyFiguresCoverEveryListedSegment) {
  Open();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(publisher_->Submit(Segment(i)).ok());
  publisher_->Drain();
  const PublisherStats st = publisher_->GetStats();
  EXPECT_EQ(st.latency_samples, 5u);
  EXPECT_GT(st.latency_p50_us, 0);
  EXPECT_LE(st.latency_p50_us, st.latency_p99_us);
  EXPECT_LE(st.latency_p99_us, st.latency_max_us);
}

TEST_F(PublisherTest, SegmentWithoutFileIsListedWithoutSync) {
  Open();
  SegmentFile f;
  f.uri = "remote0.ts";
  f.duration = 2;
  ASSERT_TRUE(publisher_->Submit(f).ok());
  publisher_->Drain();
  EXPECT_EQ(ListedUris(Playlist()), std::vector<std::string>{"remote0.ts"});
  for (const std::string& e : env_.events) EXPECT_NE(e.rfind("file ", 0), 0u) << e;
}

// A producer submitting as fast as it can into a small queue of a live
// window, a thread reading stats and errors, and a reader of the real file:
// every playlist read is whole and its media sequence never goes back.
TEST_F(PublisherTest, StressLiveWindowUnderConcurrentReaders) {
  PublisherOptions po;
  po.max_queued = 4;
  po.sync_files = false;
  Open(5, PlaylistType::kLive, po);
  constexpr int kSegments = 400;
  std::atomic<bool> done{false};
  std::atomic<int> torn{0}, backwards{0};
  std::thread reader([&] {
    int64_t last = -1;
    while (!done) {
      const std::string text = Slurp(dir_.File("index.m3u8"));
      if (text.empty()) continue;  // not published yet
      if (text.rfind("#EXTM3U\n", 0) != 0 || text.back() != '\n') {
        ++torn;
        continue;
      }
      const size_t at = text.find("#EXT-X-MEDIA-SEQUENCE:");
      const int64_t seq = std::stoll(text.substr(at + 22));
      if (seq < last) ++backwards;
      last = seq;
    }
  });
  std::thread observer([&] {
    while (!done) {
      (void)publisher_->GetStats();
      (void)publisher_->TakeError();
    }
  });
  for (int i = 0; i < kSegments; ++i) {
    SegmentFile f;
    f.uri = "s" + std::to_string(i) + ".ts";
    f.duration = 1;
    ASSERT_TRUE(publisher_->Submit(std::move(f)).ok());
  }
  publisher_->Drain();
  done = true;
  reader.join();
  observer.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(backwards.load(), 0);
  const std::vector<std::string> uris = ListedUris(Playlist());
  ASSERT_FALSE(uris.empty());
  EXPECT_EQ(uris.back(), "s" + std::to_string(kSegments - 1) + ".ts");
  EXPECT_EQ(publisher_->GetStats().segments_listed, static_cast<uint64_t>(kSegments));
}

}  // namespace
}  // namespace hlsbridge
