"""End-to-end tests of publication to an HTTP origin: the custom ffmpeg's
hlsbridge muxer PUTs segments, init sections and playlists to nginx's WebDAV
module (tests/lib/origin.py, the configuration of examples/nginx-origin.conf)
and DELETEs old segments, while the tests read the stream back over HTTP as
a player would. Live streams with real-time sources of a few seconds to
about twenty, 1 s segments:
- a plain stream, an fMP4 ladder: what is listed was uploaded, decodes and
  is on the origin's disk byte for byte; the spool directory ends empty;
- 403 (a location that refuses everything, or wants a token header) fails
  the stream at once, naming the URL and the status;
- delete_segments over HTTP, after the RFC 8216 6.2.2 hold;
- append_list over HTTP after a kill -9.
(The origin stopped, answering 503, or slow: tests/faults/test_origin_faults.py.)
Throughout, a watcher polls the playlist over HTTP every 50 ms: the media
sequence never goes back, no URI changes meaning, every listed segment GETs
200 when it first appears.

Skipped only when nginx is not installed (scripts/test.sh installs it).

Run: FFMPEG=build/ffmpeg/bin/ffmpeg python3 -m unittest -v tests/e2e/test_origin.py
"""
import os
import signal
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from hlstest import parse_multivariant_playlist, read_init  # noqa: E402
from origin import (LADDER, HttpPlaylistWatcher, OriginTest, Sampler,  # noqa: E402
                    count_files, fetch, fetch_playlist, source)

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
