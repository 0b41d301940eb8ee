// Speed of the hot path: rendering a snapshot, adding a segment, a whole
// durable publication on the real file system (with and without fsync), and
// publications of 6 / 1,000 / 100,000-segment EVENT playlists against a raw
// durable write of the same bytes.
//   cmake -DHLSBRIDGE_BUILD_BENCHMARKS=ON ... && build/bench/hlsbridge_bench
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "atomic_write.h"
#include "playlist.h"
#include "publisher.h"
#include "render.h"
#include "test_util.h"

namespace hlsbridge {
namespace {

Snapshot MakeSnapshot(int segments, bool pdt) {
  Snapshot snap;
  snap.target_duration = 2;
  snap.media_sequence = 123456;
  for (int i = 0; i < segments; ++i) {
    RenderedSegment seg;
    seg.uri = "index" + std::to_string(123456 + i) + ".ts";
    seg.start_ms = int64_t{i} * 2002;
    seg.end_ms = seg.start_ms + 2002;
    if (pdt) seg.program_date_time_ms = 1795498910284 + seg.start_ms;
    snap.segments.push_back(std::move(seg));
  }
  return snap;
}

void BM_Render(benchmark::State& state) {
  const Snapshot snap = MakeSnapshot(static_cast<int>(state.range(0)), state.range(1) != 0);
  size_t bytes = 0;
  for (auto _ : state) {
    std::string text = Render(snap);
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_Render)->ArgsProduct({{6, 1000, 100000}, {0, 1}});

// A 6-segment live playlist in `dir`, or null (and the benchmark skipped).
std::unique_ptr<Playlist> OpenLive(benchmark::State& state,
                                   const testing::ScratchDir& dir,
                                   bool fsync) {
  PlaylistOptions o;
  o.path = dir.path() + "/index.m3u8";
  o.window_size = 6;
  o.fsync_file = fsync;
  o.fsync_dir = fsync;
  std::unique_ptr<Playlist> pl;
  if (!Playlist::Open(o, &pl).ok()) state.SkipWithError("open failed");
  return pl;
}

void BM_AddSegmentLiveWindow(benchmark::State& state) {
  testing::ScratchDir dir;
  std::unique_ptr<Playlist> pl = OpenLive(state, dir, true);
  if (!pl) return;
  SegmentInput in;
  in.uri = "index123456.ts";
  in.duration = 2.002;
  for (auto _ : state) {
    benchmark::DoNotOptimize(pl->AddSegment(in).ok());
  }
}
BENCHMARK(BM_AddSegmentLiveWindow);

void BM_AddAndWrite(benchmark::State& state) {
  testing::ScratchDir dir;
  std::unique_ptr<Playlist> pl = OpenLive(state, dir, state.range(0) != 0);
  if (!pl) return;
  SegmentInput in;
  in.uri = "index123456.ts";
  in.duration = 2.002;
  for (auto _ : state) {
    if (!pl->AddSegment(in).ok() || !pl->Write().ok()) {
      state.SkipWithError("write failed");
      break;
    }
  }
  state.counters["last_latency_us"] =
      static_cast<double>(pl->GetStats().last_write_latency_us);
}
BENCHMARK(BM_AddAndWrite)->Arg(0)->Arg(1)->UseRealTime();

// An EVENT playlist with program date-times holding `segments` segments.
std::unique_ptr<Playlist> OpenEvent(benchmark::State& state,
                                    const testing::ScratchDir& dir,
                                    int64_t segments) {
  PlaylistOptions o;
  o.path = dir.path() + "/index.m3u8";
  o.type = PlaylistType::kEvent;
  o.target_duration = 2;
  std::unique_ptr<Playlist> pl;
  if (!Playlist::Open(o, &pl).ok()) {
    state.SkipWithError("open failed");
    return nullptr;
  }
  for (int64_t i = 0; i < segments; ++i) {
    const std::string uri = "index" + std::to_string(i) + ".ts";
    SegmentInput in;
    in.uri = uri;
    in.duration = 2.002;
    in.program_date_time_ms = 1795498910284 + i * 2002;
    (void)pl->AddSegment(in);
  }
  return pl;
}

// What a publication costs at the least: temp file, write, fdatasync, close,
// rename, directory fsync, with no error handling beyond the return codes.
bool RawDurableWrite(const std::string& dir, const std::string& data) {
  const std::string tmp = dir + "/raw.tmp", dst = dir + "/raw.m3u8";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  ok = ::fdatasync(fd) == 0 && ok;
  ok = ::close(fd) == 0 && ok;
  ok = ok && ::rename(tmp.c_str(), dst.c_str()) == 0;
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return false;
  ok = ::fsync(dfd) == 0 && ok;
  ::close(dfd);
  return ok;
}

// One more segment and its durable publication in an EVENT playlist of
// range(0) segments (rendered incrementally), timed against a raw durable
// write of the same number of bytes in the same directory, interleaved so
// that both see the same disk. Counter "x_raw" is the ratio of the two.
void BM_PublishEventVsRawWrite(benchmark::State& state) {
  testing::ScratchDir dir;
  std::unique_ptr<Playlist> pl = OpenEvent(state, dir, state.range(0));
  if (!pl || !pl->Write().ok()) return;
  const std::string same_size(pl->RenderNow().size(), 'x');
  int64_t i = state.range(0);
  double publish_s = 0, raw_s = 0;
  for (auto _ : state) {
    const std::string uri = "index" + std::to_string(i) + ".ts";
    SegmentInput in;
    in.uri = uri;
    in.duration = 2.002;
    in.program_date_time_ms = 1795498910284 + i++ * 2002;
    auto t0 = std::chrono::steady_clock::now();
    if (!pl->AddSegment(in).ok() || !pl->Write().ok()) {
      state.SkipWithError("publish failed");
      break;
    }
    auto t1 = std::chrono::steady_clock::now();
    if (!RawDurableWrite(dir.path(), same_size)) {
      state.SkipWithError("raw write failed");
      break;
    }
    auto t2 = std::chrono::steady_clock::now();
    const double p = std::chrono::duration<double>(t1 - t0).count();
    publish_s += p;
    raw_s += std::chrono::duration<double>(t2 - t1).count();
    state.SetIterationTime(p);
  }
  state.counters["raw_us"] = benchmark::Counter(raw_s * 1e6 / static_cast<double>(state.iterations()));
  state.counters["x_raw"] = raw_s > 0 ? publish_s / raw_s : 0;
  state.counters["bytes"] = static_cast<double>(same_size.size());
}
BENCHMARK(BM_PublishEventVsRawWrite)->Arg(6)->Arg(1000)->Arg(100000)
    ->UseManualTime()->Unit(benchmark::kMicrosecond);

// The same publication rendered from scratch (what every write did before
// incremental rendering): Render() of the whole state, then the atomic write.
void BM_PublishEventFullRender(benchmark::State& state) {
  testing::ScratchDir dir;
  std::unique_ptr<Playlist> pl = OpenEvent(state, dir, state.range(0));
  if (!pl) return;
  for (auto _ : state) {
    const std::string text = pl->RenderNow();
    if (!WriteFileAtomically(Env::Default(), pl->path(), text, {}).ok()) {
      state.SkipWithError("write failed");
      break;
    }
  }
}
BENCHMARK(BM_PublishEventFullRender)->Arg(6)->Arg(1000)->Arg(100000)
    ->UseRealTime()->Unit(benchmark::kMicrosecond);

// Submit() as the muxer calls it, per segment of a live window, with the
// publisher thread doing the file and playlist fsyncs: the time the caller
// spends per segment (it never waits for a disk unless the queue is full).
void BM_SubmitLive(benchmark::State& state) {
  testing::ScratchDir dir;
  std::unique_ptr<Playlist> pl = OpenLive(state, dir, true);
  if (!pl) return;
  PublisherOptions po;
  po.max_queued = 1 << 20;  // measure the caller's side, not back-pressure
  Publisher pub(pl.get(), Env::Default(), po);
  for (auto _ : state) {
    SegmentFile seg;
    seg.uri = "seg.ts";
    seg.duration = 2.002;
    if (!pub.Submit(std::move(seg)).ok()) {
      state.SkipWithError("submit failed");
      break;
    }
  }
  pub.Drain();  // not timed: the loop has ended
}
BENCHMARK(BM_SubmitLive)->Iterations(2000)->UseRealTime();

}  // namespace
}  // namespace hlsbridge
