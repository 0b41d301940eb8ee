// Speed of the hot path: rendering a snapshot, adding a segment, and a whole
// durable publication on the real file system (with and without fsync).
//   cmake -DHLSBRIDGE_BUILD_BENCHMARKS=ON ... && build/bench/hlsbridge_bench
#include <benchmark/benchmark.h>
#include <string>

#include "playlist.h"
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
BENCHMARK(BM_Render)->ArgsProduct({{6, 100, 10000}, {0, 1}});

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

}  // namespace
}  // namespace hlsbridge
