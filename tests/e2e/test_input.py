"""Unusual input through the real custom ffmpeg: hostile segment names read
back over HTTP by ffprobe, and timestamp jumps that must become
EXT-X-DISCONTINUITY.

Run: FFMPEG=build/ffmpeg/bin/ffmpeg python3 -m unittest -v tests/e2e/test_input.py
"""
import functools
import http.server
import os
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from hlstest import (TempDirTest, decode_frames, lavfi_source, read_playlist,  # noqa: E402
                     run_ffmpeg)


class HttpDir:
    """Serves a directory on 127.0.0.1 (an ephemeral port) from a thread.
    Python's handler percent-decodes request paths, as a web server does."""

    def __init__(self, directory):
        handler = functools.partial(_QuietHandler, directory=directory)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.requests = handler.func.requests = []
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests = []

    def log_message(self, fmt, *args):
        type(self).requests.append((self.path, args[1] if len(args) > 1 else ""))


class HostileNamesTest(TempDirTest):
    def test_names_are_percent_encoded_and_resolve_over_http(self):
        # A space, '#', '%' (written %% in the pattern), ',', '"', '?', UTF-8.
        pattern = 'seg #1 %%, "q"? caf\u00e9-%d.ts'
        out = self.path("index.m3u8")
        run_ffmpeg([*lavfi_source(), "-t", "4", "-f", "hlsbridge",
                    "-hls_time", "2", "-hls_playlist_type", "vod",
                    "-hls_segment_filename", self.path(pattern), out])
        pl = read_playlist(out)  # also checks each URI line is a URI reference
        names = sorted(os.listdir(self.dir))
        expected_files = sorted(['seg #1 %, "q"? caf\u00e9-0.ts',
                                 'seg #1 %, "q"? caf\u00e9-1.ts', "index.m3u8"])
        self.assertEqual(names, expected_files)
        self.assertEqual(pl.uris()[0],
                         "seg%20%231%20%25,%20%22q%22%3F%20caf%C3%A9-0.ts")
        for uri in pl.uris():
            self.assertEqual(urllib.parse.unquote(uri) in names, True, uri)
        with HttpDir(self.dir) as srv:
            frames = decode_frames(srv.url + "index.m3u8")
            self.assertEqual(frames["video"], 100)
            statuses = [s for _, s in srv.requests]
        self.assertTrue(statuses and all(s == "200" for s in statuses), srv.requests)

    def test_segment_in_subdirectory_keeps_slash(self):
        os.makedirs(self.path("media"))
        out = self.path("index.m3u8")
        run_ffmpeg([*lavfi_source(audio=False), "-t", "2", "-f", "hlsbridge", "-hls_time", "2",
                    "-hls_playlist_type", "vod",
                    "-hls_segment_filename", self.path("media", "s%d.ts"), out])
        pl = read_playlist(out)
        self.assertEqual(pl.uris(), ["media/s0.ts"])
        decode_frames(out)

    def test_base_url_prefix(self):
        out = self.path("index.m3u8")
        run_ffmpeg([*lavfi_source(audio=False), "-t", "2", "-f", "hlsbridge", "-hls_time", "2",
                    "-hls_base_url", "https://cdn.example/live/", out])
        self.assertEqual(read_playlist(out).uris(), ["https://cdn.example/live/index0.ts"])


class TimestampJumpTest(TempDirTest):
    """Two 4 s MPEG-TS recordings joined byte for byte (as `cat` would) and
    remuxed with -copyts: the reference timestamps jump at the join."""

    def joined_input(self, first_offset, second_offset, gop=25):
        joined = self.path("joined.ts")
        with open(joined, "wb") as out:
            for name, offset in (("a.ts", first_offset), ("b.ts", second_offset)):
                part = self.path(name)
                run_ffmpeg([*lavfi_source(gop=gop), "-t", "4",
                            "-output_ts_offset", str(offset), "-f", "mpegts", part])
                with open(part, "rb") as f:
                    out.write(f.read())
        return joined

    def remux(self, joined, name, *opts):
        os.makedirs(self.path("out"), exist_ok=True)
        out = self.path("out", name)
        _, err = run_ffmpeg(["-copyts", "-i", joined, "-map", "0", "-c", "copy",
                             "-f", "hlsbridge", "-hls_time", "1", *opts, out])
        self.assertIn("Timestamp jump", err)
        return read_playlist(out)

    def check_marked_at_join(self, joined):
        pl = self.remux(joined, "event.m3u8", "-hls_playlist_type", "event")
        marked = [i for i, s in enumerate(pl.segments) if s.discontinuity]
        self.assertEqual(len(marked), 1, pl.uris())
        # Segments before the mark cover the first recording, after it the
        # second; the gap itself belongs to no segment.
        before = sum(s.duration for s in pl.segments[:marked[0]])
        self.assertAlmostEqual(before, 4.0, delta=0.05)
        self.assertAlmostEqual(pl.total_duration(), 8.0, delta=0.1)
        for uri in pl.uris():
            decode_frames(self.path("out", uri))

    def check_sequence_after_slide(self, joined):
        pl = self.remux(joined, "live.m3u8", "-hls_list_size", "2")
        self.assertTrue(pl.endlist)
        # The window has slid past the discontinuity: it is counted.
        self.assertEqual(pl.discontinuity_sequence, 1)
        self.assertFalse(any(s.discontinuity for s in pl.segments))

    def check_durations_after_jump(self, joined, gop):
        # A GOP shorter than hls_time: segment.c's cut schedule (first pts +
        # n * hls_time) must start again at the jump, or every key frame
        # after it is past the schedule and cuts a one-GOP segment.
        pl = self.remux(joined, "short-gop.m3u8", "-hls_playlist_type", "event")
        marked = [i for i, s in enumerate(pl.segments) if s.discontinuity]
        self.assertEqual(len(marked), 1, pl.uris())
        gop_s = gop / 25
        for part in (pl.segments[:marked[0]], pl.segments[marked[0]:]):
            durations = [s.duration for s in part]
            self.assertEqual(len(durations), 4, durations)
            for d in durations[:-1]:
                self.assertGreaterEqual(d, 1.0 - 0.002, durations)
                self.assertLessEqual(d, 1.0 + gop_s + 0.002, durations)
            self.assertAlmostEqual(sum(durations), 4.0, delta=0.05)
        for uri in pl.uris():
            decode_frames(self.path("out", uri))

    def test_forward_jump_restarts_cut_schedule(self):
        self.check_durations_after_jump(self.joined_input(0, 100, gop=5), gop=5)

    def test_backward_jump_restarts_cut_schedule(self):
        self.check_durations_after_jump(self.joined_input(100, 0, gop=5), gop=5)

    def test_forward_jump_is_marked_at_the_join(self):
        self.check_marked_at_join(self.joined_input(0, 100))

    def test_forward_jump_counted_once_it_slides_out(self):
        self.check_sequence_after_slide(self.joined_input(0, 100))

    def test_backward_jump_is_marked_at_the_join(self):
        # ffmpeg's MPEG-TS demuxer reads a backward step as a 33-bit wrap, so
        # the muxer sees it as a jump forward; either way it is a
        # discontinuity at the join.
        self.check_marked_at_join(self.joined_input(100, 0))

    def test_backward_jump_counted_once_it_slides_out(self):
        self.check_sequence_after_slide(self.joined_input(100, 0))


if __name__ == "__main__":
    import unittest
    unittest.main()
