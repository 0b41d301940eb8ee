"""Faults of a real HTTP origin while the custom ffmpeg publishes to it (the
origin tests' harness, tests/lib/origin.py: Debian's nginx with its WebDAV
module on 127.0.0.1). They exercise the core's retry, loss and bound rules,
which do not depend on the FFmpeg series around the muxer, so they run once,
with the default series, as the other fault tests do (the HTTP code of each
series is covered by tests/e2e/test_origin.py):
- nginx stopped for 10 s, or answering 503 for 4 s: ffmpeg keeps encoding,
  nothing listed is missing, the media sequence seen over HTTP never goes
  back, no segment is lost;
- an outage longer than -http_retry_time: the segments not uploaded in time
  are left out, each gap marked with EXT-X-DISCONTINUITY;
- slow uploads through a proxy: the upload queue, the spool and ffmpeg's
  memory stay bounded, and what is dropped leaves a discontinuity; in a
  ladder, a segment dropped for one variant is dropped in all.

Run: FFMPEG=build/ffmpeg/bin/ffmpeg python3 -m unittest -v tests/faults/test_origin_faults.py
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from origin import (LADDER, HttpPlaylistWatcher, OriginTest, Sampler,  # noqa: E402
                    count_files, number, source, vm_hwm_kib)


class OutageTest(OriginTest):
    """The origin goes away mid-stream and comes back; ffmpeg keeps
    encoding meanwhile and exits 0 at the end of its input."""

    def outage(self, seconds, stream_seconds, down, up, extra=()):
        """Streams `stream_seconds` to /live/ (the whole history listed);
        once 3 segments are listed calls down(), waits `seconds`, calls
        up(). Returns (watcher, spool sampler, last media sequence number +
        1 listed before, monotonic times down and up, ffmpeg)."""
        url = self.origin.url("/live/index.m3u8")
        with HttpPlaylistWatcher(url, fetch_segments=True) as w, \
                Sampler(lambda: count_files(self.spool), 0.05) as spool:
            ff = self.ffmpeg([*source(stream_seconds), *self.out(*extra, list_size=0)])
            before = self.wait_segments(w, ff, 3)
            t_down = time.monotonic()
            down()
            time.sleep(seconds)
            self.assertTrue(ff.alive(), "ffmpeg exited during the outage:\n" + ff.stderr_tail(30))
            t_up = time.monotonic()
            up()
            self.finish(ff, stream_seconds + 60)
        self.check_watch(w)
        return w, spool, before.media_sequence + len(before.segments), t_down, t_up, ff

    def test_origin_stopped_10s(self):
        """(c) nginx stopped for 10 s: segments wait in the spool (ffmpeg
        goes on encoding), are uploaded when it is back and listed in
        order; none is lost (10 s is within the default retry time and
        queue)."""
        w, spool, listed, t_down, t_up, _ = self.outage(
            10, 22, self.origin.stop, self.origin.start)
        self.assertGreaterEqual(spool.max_between(t_down, t_up), 5,
                                "segments made during the outage were not staged")
        self.assertTrue(w.versions_since(t_up), "no new playlist after the outage")
        pl = self.check_final(self.origin.url("/live/index.m3u8"))
        self.assertGreaterEqual(len(pl.segments), listed + 12, pl.text)
        self.check_no_loss(pl)
        self.check_spool_empty()

    def test_origin_answers_503(self):
        """(d) /live/ answering 503 to writes for 4 s: the playlist stays
        as it was meanwhile, then the stream goes on with every segment."""
        w, _, listed, t_down, t_up, _ = self.outage(
            4, 14, lambda: self.origin.set_unavailable(True),
            lambda: self.origin.set_unavailable(False))
        failed = [r for r in self.origin.requests() if r[0] == "PUT" and r[2] == 503]
        self.assertTrue(failed, "ffmpeg made no request while the origin answered 503")
        during = w.versions_since(t_down + 0.5, until=t_up)
        self.assertEqual(during, [], "the playlist changed while writes answered 503")
        self.assertTrue(w.versions_since(t_up), "no new playlist after the 503s")
        pl = self.check_final(self.origin.url("/live/index.m3u8"))
        self.assertGreaterEqual(len(pl.segments), listed + 6, pl.text)
        self.check_no_loss(pl)
        self.check_spool_empty()

    def test_outage_longer_than_retry_time(self):
        """(e) nginx stopped for 6 s with -http_retry_time 2: some segments
        cannot be uploaded in time and are not listed; the next listed one
        carries EXT-X-DISCONTINUITY; everything listed is on the origin."""
        w, _, listed, _, t_up, ff = self.outage(
            6, 18, self.origin.stop, self.origin.start, extra=["-http_retry_time", "2"])
        pl = self.check_final(self.origin.url("/live/index.m3u8"))
        numbers = [number(s.uri) for s in pl.segments]
        self.assertEqual(numbers[:listed], list(range(listed)), pl.text)
        self.assertFalse(any(s.discontinuity for s in pl.segments[:listed]), pl.text)
        gaps = [i for i in range(1, len(numbers)) if numbers[i] > numbers[i - 1] + 1]
        self.assertTrue(gaps, "no segment was lost in a 6 s outage with a 2 s retry time:\n"
                        + pl.text)
        for i in gaps:
            self.assertTrue(pl.segments[i].discontinuity,
                            "%s follows a lost segment without EXT-X-DISCONTINUITY:\n%s"
                            % (pl.segments[i].uri, pl.text))
        self.assertEqual(sum(s.discontinuity for s in pl.segments), len(gaps), pl.text)
        self.assertEqual(numbers, sorted(numbers))
        self.assertGreater(numbers[-1], numbers[gaps[-1]], "nothing listed after the outage")
        self.check_spool_empty()


class SlowOriginTest(OriginTest):
    """(g) Uploads through the slow proxy (one request every 2 s, far
    slower than the stream): ffmpeg stays alive and bounded, drops what
    its queue cannot hold, and ends with a playlist that says so."""

    # At most 2 requests wait (4 s), less than the default I/O timeout (5 s):
    # the uploads are slow, not timed out.
    origin_options = {"slow_rate": "30r/m", "slow_burst": 2}
    QUEUE = 4
    PER_VARIANT = 3  # the segment being written, the one uploading, a playlist

    def test_slow_uploads(self):
        url = self.origin.proxy_url("/live/index.m3u8")
        args = [*source(16), *self.out("-http_queue_size", str(self.QUEUE), list_size=0,
                                       url=url)]
        with Sampler(lambda: count_files(self.spool), 0.05) as spool:
            ff = self.ffmpeg(args)
            with Sampler(lambda: vm_hwm_kib(ff.pid), 0.2) as memory:
                self.finish(ff, 120)
        self.assertTrue(memory.samples, "no memory sample of ffmpeg")
        self.assertLess(memory.max_value(), 400 * 1024, "peak RSS %d KiB" % memory.max_value())
        peak = spool.max_value()
        self.assertLessEqual(peak, self.QUEUE + self.PER_VARIANT,
                             "%d files in the spool directory with -http_queue_size %d"
                             % (peak, self.QUEUE))
        self.assertGreaterEqual(peak, self.QUEUE, "the upload queue never filled: the proxy "
                                "is not slow enough for this test")
        pl = self.check_final(self.origin.url("/live/index.m3u8"))
        self.assertTrue(any(s.discontinuity for s in pl.segments),
                        "no discontinuity, though segments had to be dropped:\n%s\n%s\n%s"
                        % (pl.text, self.origin.requests(timed=True), ff.stderr_tail(40)))
        numbers = [number(s.uri) for s in pl.segments]
        self.assertEqual(numbers, sorted(numbers))
        self.assertLess(len(numbers), numbers[-1] + 1, "no segment was dropped")
        self.check_spool_empty()

    def test_slow_ladder_drops_in_every_variant(self):
        """A two-variant ladder through the slow proxy: a segment that one
        variant's full queue would drop is dropped in both, so segment N of
        the video and of the audio playlist are the same interval."""
        base = self.origin.proxy_url("/live/")
        args = [*source(16), *self.out("-http_queue_size", str(self.QUEUE), *LADDER,
                                       list_size=0, url=base + "%v/index.m3u8")]
        ff = self.ffmpeg(args)
        self.finish(ff, 150)
        lists = {}
        for name, kinds in (("video", ("video",)), ("audio", ("audio",))):
            pl = self.check_final(self.origin.url("/live/%s/index.m3u8" % name), name,
                                  kinds=kinds)
            lists[name] = [(number(s.uri), s.discontinuity) for s in pl.segments]
        self.assertEqual(lists["video"], lists["audio"], ff.stderr_tail(40))
        numbers = [n for n, _ in lists["video"]]
        self.assertLess(len(numbers), numbers[-1] + 1, "no segment was dropped")
        self.assertIn("is dropped in every variant", ff.stderr())
        self.check_spool_empty()


if __name__ == "__main__":
    unittest.main()
