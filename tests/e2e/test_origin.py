"""End-to-end tests of publication to an HTTP origin: the custom ffmpeg's
hlsbridge muxer PUTs segments, init sections and playlists to nginx's WebDAV
module (tests/lib/origin.py, the configuration of examples/nginx-origin.conf)
and DELETEs old segments, while the tests read the stream back over HTTP as
a player would. Live streams with real-time sources of a few seconds to
about twenty, 1 s segments:
- a plain stream, an fMP4 ladder: what is listed was uploaded, decodes and
  is on the origin's disk byte for byte; the spool directory ends empty;
- the origin stopped for 10 s, answering 503 for 4 s, or stopped for longer
  than -http_retry_time: ffmpeg keeps going, the stream recovers, nothing
  listed is missing, a lost segment leaves a discontinuity;
- 403 (a location that refuses everything, or wants a token header) fails
  the stream at once, naming the URL and the status;
- a slow origin: the upload queue stays bounded, on disk and in memory;
- delete_segments over HTTP, after the RFC 8216 6.2.2 hold;
- append_list over HTTP after a kill -9.
Throughout, a watcher polls the playlist over HTTP every 50 ms: the media
sequence never goes back, no URI changes meaning, every listed segment GETs
200 when it first appears.

Skipped only when nginx is not installed (scripts/test.sh installs it).

Run: FFMPEG=build/ffmpeg/bin/ffmpeg python3 -m unittest -v tests/e2e/test_origin.py
"""
import os
import re
import signal
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from hlstest import (FPS, FFmpeg, TempDirTest, check_listed_segments,  # noqa: E402
                     hlsbridge_args, lavfi_source, parse_multivariant_playlist, read_init)
from origin import (HttpPlaylistWatcher, Origin, Sampler, clean_env,  # noqa: E402
                    count_files, fetch, fetch_playlist, mirror_playlist, nginx_path,
                    vm_hwm_kib)

LADDER = ["-var_stream_map", "v:0,agroup:aud,name:video a:0,agroup:aud,name:audio",
          "-master_pl_name", "master.m3u8"]
SEGMENT_NUMBER = re.compile(r"(\d+)\.(?:ts|m4s)$")


def source(seconds, realtime=True):
    """The standard input, 1 s GOPs, `seconds` long, read in real time."""
    return [*lavfi_source(realtime=realtime, gop=FPS), "-t", str(seconds)]


def number(uri):
    m = SEGMENT_NUMBER.search(uri)
    if not m:
        raise AssertionError("segment URI %r has no number" % uri)
    return int(m.group(1))


class OriginTest(TempDirTest):
    """A test with its own nginx origin (self.origin) and an empty spool
    directory (self.spool)."""

    origin_options = {}

    def setUp(self):
        if nginx_path() is None:
            self.skipTest("nginx is not installed (apt-get install nginx)")
        super().setUp()
        self.origin = Origin(**self.origin_options)
        self.addCleanup(self.origin.close)
        self.origin.start()
        self.spool = self.path("spool")
        os.makedirs(self.spool)

    def ffmpeg(self, args):
        """ffmpeg in the background, killed at the end of the test."""
        ff = FFmpeg(args, env=clean_env())
        self.addCleanup(ff.kill)
        return ff

    def finish(self, ff, timeout, ok=True):
        """Waits for ffmpeg's exit (failing the test after `timeout` s);
        with `ok`, asserts the exit status is 0. Returns the status."""
        try:
            rc = ff.wait(timeout)
        except subprocess.TimeoutExpired:
            self.fail("ffmpeg still runs after %d s:\n%s" % (timeout, ff.stderr_tail(40)))
        if ok:
            self.assertEqual(rc, 0, "ffmpeg failed:\n%s" % ff.stderr_tail(40))
        return rc

    def out(self, *extra, list_size=6, url=None):
        """hlsbridge output arguments to /live/index.m3u8 (or `url`),
        spooling in self.spool."""
        return hlsbridge_args(url or self.origin.url("/live/index.m3u8"), list_size=list_size,
                              extra=["-http_spool_dir", self.spool, *extra])

    def wait_segments(self, watcher, ff, count, timeout=30):
        """Waits until the playlist over HTTP lists `count` segments."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and ff.alive():
            pl = watcher.wait_for(lambda p: len(p.segments) >= count, 0.5)
            if pl is not None:
                return pl
        self.fail("no playlist with %d segments over HTTP (ffmpeg %s):\n%s\n%s"
                  % (count, "running" if ff.alive() else "exited", watcher.problem_text(),
                     ff.stderr_tail(30)))

    def check_watch(self, watcher, min_versions=3):
        """What the watcher saw: no problem, the stream followed live."""
        watcher.stop()
        self.assertEqual(watcher.problem_text(), "")
        self.assertGreaterEqual(len(watcher.versions), min_versions,
                                "the playlist was seen in %d versions only" % len(watcher.versions))
        self.assertEqual(watcher.check_contents(), [])

    def check_final(self, url, name="final", kinds=("video", "audio"), headers=None):
        """The final media playlist at `url`: it has EXT-X-ENDLIST, every
        segment and init section it lists GETs 200, decodes whole, and is
        on nginx's disk with the same bytes. Returns the MediaPlaylist."""
        local, pl = mirror_playlist(url, self.path("mirror", name), headers=headers)
        self.assertTrue(pl.endlist, "no EXT-X-ENDLIST at the end:\n" + pl.text)
        self.assertTrue(pl.segments, pl.text)
        check_listed_segments(local, pl, kinds=kinds)
        uris = [s.uri for s in pl.segments] + [s.map_uri for s in pl.segments if s.map_uri]
        for uri in set(uris):
            path = urllib.parse.urlsplit(urllib.parse.urljoin(url, uri)).path
            with open(self.origin.disk_path(path), "rb") as f, \
                    open(os.path.join(os.path.dirname(local), urllib.parse.unquote(uri)),
                         "rb") as g:
                self.assertTrue(f.read() == g.read(), "%s: served bytes differ from disk" % uri)
        return pl

    def check_spool_empty(self):
        self.assertEqual(os.listdir(self.spool), [], "left in the spool directory")

    def check_no_loss(self, pl):
        """Every segment of the stream is listed: numbers 0, 1, 2... in
        order, no discontinuity."""
        self.assertEqual([number(s.uri) for s in pl.segments], list(range(len(pl.segments))),
                         pl.text)
        self.assertFalse(any(s.discontinuity for s in pl.segments), pl.text)


class PublishTest(OriginTest):
    def test_live_stream(self):
        """(a) A live stream: followed over HTTP while it grows; at the end
        every segment it ever listed is on the origin, exactly those, and
        nothing is left in the spool or nginx's temp directory."""
        url = self.origin.url("/live/index.m3u8")
        with HttpPlaylistWatcher(url, fetch_segments=True) as w, \
                Sampler(lambda: count_files(self.spool), 0.05) as spool:
            ff = self.ffmpeg([*source(8), *self.out()])
            self.finish(ff, 60)
        self.check_watch(w, min_versions=5)
        pl = self.check_final(url)
        total = pl.media_sequence + len(pl.segments)
        self.assertGreaterEqual(total, 7, pl.text)
        self.assertEqual(len(pl.segments), 6, pl.text)
        self.assertEqual(pl.uris(), ["index%d.ts" % n for n in range(total - 6, total)])
        self.assertEqual(sorted(w.listed()), list(range(total)))
        self.assertEqual(sorted(self.origin.files("/live/")),
                         sorted(["index.m3u8"] + ["index%d.ts" % n for n in range(total)]))
        self.assertGreater(spool.max_value(), 0, "nothing was ever staged in the spool directory")
        self.check_spool_empty()
        self.assertEqual(self.origin.body_temp_files(), [])
        methods = {m for m, _, _ in self.origin.requests()}
        self.assertNotIn("DELETE", methods)
        self.assertTrue(all(200 <= s < 300 for m, _, s in self.origin.requests() if m == "PUT"),
                        self.origin.requests())

    def test_fmp4_ladder(self):
        """(b) A two-variant fMP4 ladder (video, and an audio group): the
        multivariant playlist, both media playlists and their init sections
        over HTTP, every segment decoding with its init section."""
        base = self.origin.url("/live/")
        with HttpPlaylistWatcher(base + "video/index.m3u8", fetch_segments=True) as w:
            ff = self.ffmpeg([*source(6), *self.out("-hls_segment_type", "fmp4", *LADDER,
                                                   url=base + "%v/index.m3u8")])
            self.finish(ff, 60)
        self.check_watch(w)
        master = parse_multivariant_playlist(fetch(base + "master.m3u8"))
        self.assertEqual(master.uris(), ["video/index.m3u8"])
        self.assertEqual([(r.type, r.group_id, r.uri) for r in master.renditions],
                         [("AUDIO", "aud", "audio/index.m3u8")])
        self.assertEqual(master.variants[0].attributes.get("AUDIO"), "aud")
        lists = {}
        for name, kind, handler in (("video", "video", "vide"), ("audio", "audio", "soun")):
            pl = self.check_final(base + name + "/index.m3u8", name, kinds=(kind,))
            self.assertEqual({s.map_uri for s in pl.segments}, {"init.mp4"}, name)
            tracks = read_init(fetch(base + name + "/init.mp4"))
            self.assertEqual([t.handler for t in tracks.values()], [handler], name)
            lists[name] = pl
        self.assertEqual([(s.sequence, s.uri) for s in lists["video"].segments],
                         [(s.sequence, s.uri) for s in lists["audio"].segments])
        self.assertGreaterEqual(len(lists["video"].segments), 5)
        self.check_spool_empty()


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


class RefusalTest(OriginTest):
    """A 4xx that will not heal fails the stream at once, by name."""

    def refused(self, url, extra=(), stream_seconds=30):
        ff = self.ffmpeg([*source(stream_seconds), *self.out(*extra, url=url)])
        rc = self.finish(ff, 25, ok=False)
        self.assertNotEqual(rc, 0, ff.stderr_tail(30))
        self.assertLess(time.monotonic() - ff.started, 20)
        return ff.stderr()

    def test_forbidden(self):
        """(f) 403 to everything: ffmpeg exits non-zero long before the end
        of its 30 s input; stderr names the URL and the status."""
        url = self.origin.url("/forbidden/index.m3u8")
        err = self.refused(url)
        self.assertIn("403", err)
        self.assertTrue(self.origin.url("/forbidden/index0.ts") in err or url in err, err[-3000:])
        self.assertEqual(self.origin.files("/forbidden/"), [])
        self.check_spool_empty()

    def test_token(self):
        """(f) A location that wants "X-Token: secret": with -headers every
        request carries it and the stream is published; without, 403."""
        url = self.origin.url("/token/index.m3u8")
        headers = {"X-Token": "secret"}
        ff = self.ffmpeg([*source(3), *self.out("-headers", "X-Token: secret\r\n", url=url)])
        self.finish(ff, 60)
        # Every request carried the token (none got 403); every PUT went
        # through (a GET of the playlist before it exists may get 404).
        statuses = [(m, p, s) for m, p, s in self.origin.requests() if p.startswith("/token/")]
        self.assertTrue(statuses)
        self.assertFalse([r for r in statuses if r[2] == 403], statuses)
        self.assertTrue(all(200 <= s < 300 for m, _, s in statuses if m == "PUT"), statuses)
        pl = self.check_final(url, headers=headers)
        self.assertGreaterEqual(len(pl.segments), 3)
        self.check_spool_empty()

        url2 = self.origin.url("/token/other/index.m3u8")
        err = self.refused(url2)
        self.assertIn("403", err)
        self.assertTrue(self.origin.url("/token/other/index0.ts") in err or url2 in err,
                        err[-3000:])
        self.assertEqual(self.origin.files("/token/other/"), [])


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


class DeleteTest(OriginTest):
    def test_delete_segments(self):
        """(h) -hls_flags delete_segments: old segments are DELETEd, each
        after the hold of RFC 8216 6.2.2 (its duration plus the playlist's
        after it left the playlist); what stays on the origin is the window
        and the few held."""
        url = self.origin.url("/live/index.m3u8")
        with HttpPlaylistWatcher(url, fetch_segments=True) as w:
            ff = self.ffmpeg([*source(16), *self.out("-hls_flags", "delete_segments",
                                                     list_size=3)])
            self.finish(ff, 60)
        self.check_watch(w)
        pl = self.check_final(url)
        self.assertEqual(len(pl.segments), 3)
        deletes = [r for r in self.origin.requests(timed=True) if r[1] == "DELETE"]
        self.assertTrue(deletes, "no DELETE request")
        self.assertTrue(all(s == 204 for _, _, _, s in deletes), deletes)
        listed = {urllib.parse.urlsplit(urllib.parse.urljoin(url, s.uri)).path
                  for s in pl.segments}
        hold = 1 + 3 - 0.5  # a segment plus a 3-segment playlist, less polling slack
        for t, _, path, _ in deletes:
            self.assertNotIn(path, listed)
            uri = self.origin.url(path)
            self.assertIn(uri, w.removed, "%s deleted but never seen leaving the playlist" % path)
            self.assertGreaterEqual(t - w.removed[uri], hold,
                                    "%s deleted %.2f s after it left the playlist"
                                    % (path, t - w.removed[uri]))
        segments = [f for f in self.origin.files("/live/") if f.endswith(".ts")]
        total = pl.media_sequence + len(pl.segments)
        self.assertGreaterEqual(total, 14)
        self.assertLessEqual(len(segments), len(pl.segments) + 6,
                             "%d of %d segments still on the origin: %s"
                             % (len(segments), total, segments))
        self.check_spool_empty()


class AppendTest(OriginTest):
    def test_append_after_kill(self):
        """(i) A run killed with SIGKILL, then one with append_list: the
        second reads the playlist with GET and continues it: the media
        sequence goes on, EXT-X-DISCONTINUITY at the junction, no URI of the
        first run re-used, its segments untouched."""
        url = self.origin.url("/live/index.m3u8")
        with HttpPlaylistWatcher(url, fetch_segments=True) as w:
            first = self.ffmpeg([*source(60), *self.out()])
            self.wait_segments(w, first, 4)
            first.signal(signal.SIGKILL)
            first.wait(10)
            time.sleep(0.5)  # a request whose body was all sent still completes
            before = fetch_playlist(url)
            self.assertFalse(before.endlist)
            self.spool = self.path("spool2")  # the killed run's spool stays behind
            os.makedirs(self.spool)
            second = self.ffmpeg([*source(5), *self.out("-hls_flags", "append_list")])
            self.finish(second, 60)
        self.check_watch(w)
        pl = self.check_final(url)
        junction = before.media_sequence + len(before.segments)
        self.assertGreaterEqual(pl.media_sequence, before.media_sequence)
        new = [s for s in pl.segments if s.sequence >= junction]
        self.assertGreaterEqual(len(new), 3, pl.text)
        self.assertEqual(new[0].sequence, junction)
        self.assertTrue(new[0].discontinuity, "no EXT-X-DISCONTINUITY at the junction:\n"
                        + pl.text)
        self.assertFalse(any(s.discontinuity for s in new[1:]), pl.text)
        old_uris = set(before.uris())
        for s in pl.segments:
            if s.sequence < junction:
                self.assertIn(s.uri, old_uris)
            else:
                self.assertNotIn(s.uri, old_uris, "URI of the first run re-used")
        listed = w.listed()
        first_run = {u for n, u in listed.items() if n < junction}
        second_run = {u for n, u in listed.items() if n >= junction}
        self.assertFalse(first_run & second_run)
        self.check_spool_empty()


if __name__ == "__main__":
    unittest.main()
