// Publication through a remote store (an HTTP origin in the muxer): retries
// with capped backoff and their bound, refusals, and the order rules of the
// Playlist and the Publisher on top of it (a segment is listed only after its
// put, a lost or dropped one marks the next, deletions retried later, a
// resumed playlist read with get). The origin is a scriptable map of objects;
// the spool and the clock are a MemEnv's.
#include "store.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "playlist.h"
#include "publisher.h"
#include "test_util.h"

namespace hlsbridge {
namespace {

using testing::MemEnv;

// An origin in memory: what it holds, every request in order, and scripted
// answers (consumed one per request of that method) before the default.
class FakeOrigin {
 public:
  RemoteOps Ops() {
    RemoteOps ops;
    ops.put = [this](const std::string& path, std::string_view data, std::string* why) {
      std::unique_lock<std::mutex> l(mu_);
      gate_cv_.wait(l, [this] { return open_; });
      const RemoteResult r = Next("PUT", path, why);
      if (r == RemoteResult::kDone) objects_[path] = std::string(data);
      return r;
    };
    ops.remove = [this](const std::string& path, std::string* why) {
      std::lock_guard<std::mutex> l(mu_);
      const RemoteResult r = Next("DELETE", path, why);
      if (r == RemoteResult::kDone && objects_.erase(path) == 0) return RemoteResult::kNotFound;
      return r;
    };
    ops.get = [this](const std::string& path, std::string* data, std::string* why) {
      std::lock_guard<std::mutex> l(mu_);
      RemoteResult r = Next("GET", path, why);
      if (r != RemoteResult::kDone) return r;
      auto it = objects_.find(path);
      if (it == objects_.end()) return RemoteResult::kNotFound;
      *data = it->second;
      return r;
    };
    return ops;
  }

  // The next `n` requests of `method` answer `r`.
  void Script(const std::string& method, RemoteResult r, int n = 1) {
    std::lock_guard<std::mutex> l(mu_);
    for (int i = 0; i < n; i++) script_[method].push_back(r);
  }
  void ClearScript() {
    std::lock_guard<std::mutex> l(mu_);
    script_.clear();
  }
  // While closed, puts wait (a stalled origin).
  void SetOpen(bool open) {
    std::lock_guard<std::mutex> l(mu_);
    open_ = open;
    gate_cv_.notify_all();
  }
  std::string Object(const std::string& path) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = objects_.find(path);
    return it == objects_.end() ? "" : it->second;
  }
  bool Has(const std::string& path) {
    std::lock_guard<std::mutex> l(mu_);
    return objects_.count(path) > 0;
  }
  void Set(const std::string& path, const std::string& data) {
    std::lock_guard<std::mutex> l(mu_);
    objects_[path] = data;
  }
  std::vector<std::string> Log() {
    std::lock_guard<std::mutex> l(mu_);
    return log_;
  }

 private:
  RemoteResult Next(const std::string& method, const std::string& path, std::string* why) {
    log_.push_back(method + " " + path);
    std::deque<RemoteResult>& q = script_[method];
    if (q.empty()) return RemoteResult::kDone;
    const RemoteResult r = q.front();
    q.pop_front();
    *why = r == RemoteResult::kRefused ? "HTTP 403 Forbidden" : "HTTP 503 Service Unavailable";
    return r;
  }

  std::mutex mu_;
  std::condition_variable gate_cv_;
  bool open_ = true;
  std::map<std::string, std::string> objects_;
  std::map<std::string, std::deque<RemoteResult>> script_;
  std::vector<std::string> log_;
};

class StoreTest : public ::testing::Test {
 protected:
  std::shared_ptr<RemoteStore> NewStore(int64_t retry_us = 30'000'000) {
    RemoteStoreOptions o;
    o.retry_us = retry_us;
    return std::make_shared<RemoteStore>(
        &env_, origin_.Ops(), o, [this](bool, const std::string& m) {
          std::lock_guard<std::mutex> l(log_mu_);
          log_.push_back(m);
        });
  }
  std::unique_ptr<Playlist> Open(std::shared_ptr<Store> store, bool resume = false,
                                 bool delete_segments = false) {
    PlaylistOptions o;
    o.path = "/spool/live/index.m3u8";
    o.window_size = 2;
    o.target_duration = 1;
    o.env = &env_;
    o.store = std::move(store);
    o.resume = resume;
    o.delete_segments = delete_segments;
    o.log = [this](LogLevel, std::string_view m) {
      std::lock_guard<std::mutex> l(log_mu_);
      log_.emplace_back(m);
    };
    std::unique_ptr<Playlist> pl;
    Status s = Playlist::Open(o, &pl);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return pl;
  }
  SegmentFile Segment(int n) {
    SegmentFile f;
    f.file_path = "/spool/live/seg" + std::to_string(n) + ".ts";
    f.uri = "seg" + std::to_string(n) + ".ts";
    f.duration = 1;
    env_.Append(f.file_path, "media " + std::to_string(n));
    return f;
  }
  bool Logged(const std::string& part) {
    std::lock_guard<std::mutex> l(log_mu_);
    for (const std::string& m : log_) {
      if (m.find(part) != std::string::npos) return true;
    }
    return false;
  }

  MemEnv env_;
  FakeOrigin origin_;
  std::mutex log_mu_;
  std::vector<std::string> log_;
};

TEST_F(StoreTest, RetriesWithCappedBackoffUntilDone) {
  auto store = NewStore();
  origin_.Script("PUT", RemoteResult::kRetry, 7);
  const int64_t t0 = env_.NowMicros();
  ASSERT_TRUE(store->Put("/spool/a", {"he", "llo"}).ok());
  // Waits 0.1 0.2 0.4 0.8 1.6 2 2 s between the eight tries.
  EXPECT_EQ(env_.NowMicros() - t0, 7'100'000);
  EXPECT_EQ(origin_.Object("/spool/a"), "hello");
  EXPECT_EQ(origin_.Log().size(), 8u);
  EXPECT_TRUE(Logged("retrying for up to 30000 ms"));
  EXPECT_TRUE(Logged("went through after 8 tries"));
}

TEST_F(StoreTest, GivesUpWithinTheRetryTime) {
  auto store = NewStore(5'000'000);
  origin_.Script("PUT", RemoteResult::kRetry, 100);
  const int64_t t0 = env_.NowMicros();
  Status s = store->Put("/spool/a", {"x"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.os_errno(), ETIMEDOUT);
  EXPECT_LE(env_.NowMicros() - t0, 5'000'000);
  EXPECT_NE(s.message().find("/spool/a: PUT: HTTP 503"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("gave up after"), std::string::npos) << s.message();
  EXPECT_FALSE(origin_.Has("/spool/a"));
}

TEST_F(StoreTest, AfterGivingUpEachObjectIsTriedOnceUntilOneGoesThrough) {
  auto store = NewStore(5'000'000);
  origin_.Script("PUT", RemoteResult::kRetry, 100);
  EXPECT_EQ(store->Put("/spool/a", {"x"}).os_errno(), ETIMEDOUT);
  const size_t tries = origin_.Log().size();
  EXPECT_GT(tries, 3u);
  // The origin is down: the objects queued behind do not wait 5 s each.
  const int64_t t0 = env_.NowMicros();
  EXPECT_EQ(store->Put("/spool/b", {"x"}).os_errno(), ETIMEDOUT);
  EXPECT_EQ(origin_.Log().size(), tries + 1);
  EXPECT_EQ(env_.NowMicros(), t0);
  // Back: the first success ends the outage, and retries are whole again.
  origin_.ClearScript();
  ASSERT_TRUE(store->Put("/spool/c", {"x"}).ok());
  EXPECT_TRUE(Logged("went through again"));
  origin_.Script("PUT", RemoteResult::kRetry, 2);
  ASSERT_TRUE(store->Put("/spool/d", {"x"}).ok());
  EXPECT_EQ(origin_.Object("/spool/d"), "x");
}

TEST_F(StoreTest, PutOnceMakesOneAttempt) {
  auto store = NewStore();
  origin_.Script("PUT", RemoteResult::kRetry);
  EXPECT_EQ(store->PutOnce("/spool/m", {"a", "b"}).os_errno(), ETIMEDOUT);
  EXPECT_EQ(origin_.Log().size(), 1u);
  ASSERT_TRUE(store->PutOnce("/spool/m", {"a", "b"}).ok());
  EXPECT_EQ(origin_.Object("/spool/m"), "ab");
}

TEST_F(StoreTest, RefusalIsNotRetried) {
  auto store = NewStore();
  origin_.Script("PUT", RemoteResult::kRefused);
  Status s = store->Put("/spool/a", {"x"});
  EXPECT_EQ(s.os_errno(), EREMOTEIO);
  EXPECT_EQ(s.ToNegativeErrno(), -EREMOTEIO);
  EXPECT_NE(s.message().find("403"), std::string::npos);
  EXPECT_EQ(origin_.Log().size(), 1u);
}

TEST_F(StoreTest, GetOfNothingIsNotFound) {
  auto store = NewStore();
  std::string text;
  EXPECT_EQ(store->Get("/spool/none", &text).os_errno(), ENOENT);
  origin_.Set("/spool/x", "abc");
  ASSERT_TRUE(store->Get("/spool/x", &text).ok());
  EXPECT_EQ(text, "abc");
}

TEST_F(StoreTest, PlaylistIsPutNotWrittenLocally) {
  auto pl = Open(NewStore());
  SegmentInput seg;
  seg.uri = "seg0.ts";
  seg.duration = 1;
  ASSERT_TRUE(pl->AddSegment(seg).ok());
  ASSERT_TRUE(pl->Write().ok());
  EXPECT_EQ(origin_.Object("/spool/live/index.m3u8"), pl->RenderNow());
  EXPECT_FALSE(env_.FileExists("/spool/live/index.m3u8"));
  // A refused put keeps the object the origin has, and says so.
  const std::string before = origin_.Object("/spool/live/index.m3u8");
  seg.uri = "seg1.ts";
  ASSERT_TRUE(pl->AddSegment(seg).ok());
  origin_.Script("PUT", RemoteResult::kRefused);
  Status s = pl->Write();
  EXPECT_EQ(s.os_errno(), EREMOTEIO);
  EXPECT_EQ(origin_.Object("/spool/live/index.m3u8"), before);
  EXPECT_EQ(pl->GetStats().writes_failed, 1u);
}

TEST_F(StoreTest, SegmentIsListedOnlyAfterItsPut) {
  auto pl = Open(NewStore());
  {
    PublisherOptions po;
    po.drop_when_full = true;
    Publisher pub(pl.get(), &env_, po);
    ASSERT_TRUE(pub.Submit(Segment(0)).ok());
    ASSERT_TRUE(pub.Submit(Segment(1)).ok());
    pub.Drain();
    ASSERT_TRUE(pub.TakeError().ok());
  }
  const std::vector<std::string> log = origin_.Log();
  // Each segment's put comes before the first playlist put that lists it.
  auto index = [&](const std::string& what) {
    for (size_t i = 0; i < log.size(); i++) {
      if (log[i] == what) return static_cast<int>(i);
    }
    return -1;
  };
  ASSERT_GE(index("PUT /spool/live/seg0.ts"), 0);
  EXPECT_LT(index("PUT /spool/live/seg0.ts"), index("PUT /spool/live/index.m3u8"));
  EXPECT_EQ(origin_.Object("/spool/live/seg1.ts"), "media 1");
  EXPECT_NE(origin_.Object("/spool/live/index.m3u8").find("seg1.ts"), std::string::npos);
  // The spool keeps no media once it is put.
  EXPECT_FALSE(env_.FileExists("/spool/live/seg0.ts"));
  EXPECT_FALSE(env_.FileExists("/spool/live/seg1.ts"));
}

TEST_F(StoreTest, SegmentNotPutInTimeIsLostAndMarksTheNext) {
  auto pl = Open(NewStore(3'000'000));
  Publisher pub(pl.get(), &env_, PublisherOptions{});
  ASSERT_TRUE(pub.Submit(Segment(0)).ok());
  pub.Drain();
  origin_.Script("PUT", RemoteResult::kRetry, 50);  // seg1 never goes through
  ASSERT_TRUE(pub.Submit(Segment(1)).ok());
  pub.Drain();
  EXPECT_EQ(pub.TakeError().os_errno(), ETIMEDOUT);
  origin_.ClearScript();
  ASSERT_TRUE(pub.Submit(Segment(2)).ok());
  pub.Drain();
  const std::string text = origin_.Object("/spool/live/index.m3u8");
  EXPECT_EQ(text.find("seg1.ts"), std::string::npos) << text;
  EXPECT_NE(text.find("#EXT-X-DISCONTINUITY\n#EXTINF:1.000,\nseg2.ts"), std::string::npos) << text;
  EXPECT_FALSE(env_.FileExists("/spool/live/seg1.ts"));
  EXPECT_EQ(pub.GetStats().segments_lost, 1u);
}

TEST_F(StoreTest, FullQueueDropsInsteadOfBlocking) {
  auto pl = Open(NewStore());
  PublisherOptions po;
  po.max_queued = 2;
  po.drop_when_full = true;
  Publisher pub(pl.get(), &env_, po);
  origin_.SetOpen(false);  // the worker stalls in the put of seg0
  ASSERT_TRUE(pub.Submit(Segment(0)).ok());
  EXPECT_FALSE(pub.WouldDrop());
  ASSERT_TRUE(pub.Submit(Segment(1)).ok());
  EXPECT_TRUE(pub.WouldDrop());
  Status s = pub.Submit(Segment(2));  // returns at once: dropped
  EXPECT_EQ(s.os_errno(), EAGAIN);
  EXPECT_NE(s.message().find("seg2.ts"), std::string::npos) << s.message();
  EXPECT_FALSE(env_.FileExists("/spool/live/seg2.ts"));
  // A discarded file (another variant dropped this segment) goes at once
  // too, and marks the next segment the same way.
  SegmentFile discarded = Segment(9);
  ASSERT_TRUE(pub.Discard(discarded.file_path).ok());
  EXPECT_FALSE(env_.FileExists(discarded.file_path));
  origin_.SetOpen(true);
  pub.Drain();
  EXPECT_FALSE(pub.WouldDrop());
  ASSERT_TRUE(pub.Submit(Segment(3)).ok());
  pub.Drain();
  const std::string text = origin_.Object("/spool/live/index.m3u8");
  EXPECT_NE(text.find("seg1.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:1.000,\nseg3.ts"),
            std::string::npos)
      << text;
  EXPECT_EQ(pub.GetStats().segments_lost, 1u);
}

TEST_F(StoreTest, FailedDeleteIsRetriedLaterAndNeverBlocks) {
  auto pl = Open(NewStore(), false, /*delete_segments=*/true);
  Publisher pub(pl.get(), &env_, PublisherOptions{});
  origin_.Script("DELETE", RemoteResult::kRetry, 2);
  for (int n = 0; n < 6; n++) {
    ASSERT_TRUE(pub.Submit(Segment(n)).ok());
    pub.Drain();
    env_.Advance(1'000'000);
  }
  // The window keeps 3 segments (three target durations); seg0..seg2 left
  // it. The first DELETE fails twice and is tried again later.
  for (int i = 0; i < 40 && pl->DeleteExpired(true) > 0; i++) {
  }
  EXPECT_TRUE(Logged("DELETE: HTTP 503"));
  EXPECT_TRUE(Logged("tried again later"));
  EXPECT_FALSE(origin_.Has("/spool/live/seg0.ts"));
  EXPECT_FALSE(origin_.Has("/spool/live/seg1.ts"));
  EXPECT_TRUE(origin_.Has("/spool/live/seg5.ts"));
  EXPECT_EQ(pl->GetStats().pending_deletions, 0u);
}

TEST_F(StoreTest, RefusedDeleteIsGivenUp) {
  auto pl = Open(NewStore(), false, true);
  Publisher pub(pl.get(), &env_, PublisherOptions{});
  origin_.Script("DELETE", RemoteResult::kRefused, 100);
  for (int n = 0; n < 6; n++) {
    ASSERT_TRUE(pub.Submit(Segment(n)).ok());
    pub.Drain();
    env_.Advance(1'000'000);
  }
  for (int i = 0; i < 40 && pl->DeleteExpired(true) > 0; i++) {
  }
  EXPECT_TRUE(Logged("left in place"));
  EXPECT_TRUE(origin_.Has("/spool/live/seg0.ts"));
  EXPECT_EQ(pl->GetStats().pending_deletions, 0u);
}

TEST_F(StoreTest, ResumeReadsThePlaylistWithGet) {
  {
    auto pl = Open(NewStore());
    Publisher pub(pl.get(), &env_, PublisherOptions{});
    ASSERT_TRUE(pub.Submit(Segment(0)).ok());
    ASSERT_TRUE(pub.Submit(Segment(1)).ok());
    pub.Drain();
  }
  auto pl = Open(NewStore(), /*resume=*/true);
  ASSERT_TRUE(pl);
  EXPECT_TRUE(pl->resume_info().resumed);
  EXPECT_EQ(pl->resume_info().next_media_sequence, 2u);
  EXPECT_EQ(pl->resume_info().last_uri, "seg1.ts");
  // Nothing there: a new stream.
  origin_.Script("GET", RemoteResult::kNotFound);
  auto fresh = Open(NewStore(), true);
  ASSERT_TRUE(fresh);
  EXPECT_FALSE(fresh->resume_info().resumed);
}

}  // namespace
}  // namespace hlsbridge
