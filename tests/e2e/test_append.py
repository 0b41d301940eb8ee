"""End-to-end tests of -hls_flags append_list with the real custom ffmpeg:
a stream continued by a second run (sequences, numbering, discontinuity,
window, fMP4 init files), the rules of what may be continued (an ended
playlist, a VOD, a longer hls_time, a foreign or damaged playlist, variants
that disagree), each refused by name before anything changes, and the
warning a run without the flag gives over an existing playlist. The kill -9
runs are in tests/faults/test_append.py.

Run: FFMPEG=build/ffmpeg/bin/ffmpeg python3 -m unittest -v tests/e2e/test_append.py
"""
import hashlib
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from hlstest import (FPS, TempDirTest, check_listed_segments, lavfi_source,  # noqa: E402
                     read_multivariant_playlist, read_playlist, run_ffmpeg)


def stream(seconds, *muxer):
    """A short stream (1 s GOPs) to the hlsbridge muxer with `muxer` options
    (the output last)."""
    return [*lavfi_source(gop=FPS), "-t", str(seconds), "-f", "hlsbridge", "-hls_time", "1",
            *muxer]


def digests(directory):
    out = {}
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), "rb") as f:
            out[name] = hashlib.sha256(f.read()).hexdigest()
    return out


class AppendTest(TempDirTest):
    def test_live_stream_continues(self):
        out = self.path("index.m3u8")
        run_ffmpeg(stream(4, "-hls_list_size", "3", "-hls_flags", "omit_endlist", out))
        first = read_playlist(out)
        before = digests(self.dir)
        _, err = run_ffmpeg(stream(3, "-hls_list_size", "3", "-hls_flags",
                                   "append_list+omit_endlist", out))
        self.assertIn("append_list: continuing '%s' at media sequence %d (3 segments listed)"
                      % (out, first.media_sequence + 3), err)
        pl = read_playlist(out)
        self.assertEqual(pl.media_sequence, first.media_sequence + 3)
        self.assertEqual([s.uri for s in pl.segments], ["index4.ts", "index5.ts", "index6.ts"])
        self.assertTrue(pl.segments[0].discontinuity)
        self.assertFalse(any(s.discontinuity for s in pl.segments[1:]))
        check_listed_segments(out, pl)
        after = digests(self.dir)
        for name, digest in before.items():
            if name.endswith(".ts"):
                self.assertEqual(after[name], digest, name + " was rewritten")

    def test_event_keeps_everything_and_ends(self):
        out = self.path("index.m3u8")
        args = ["-hls_playlist_type", "event"]
        run_ffmpeg(stream(2, *args, "-hls_flags", "omit_endlist+program_date_time", out))
        run_ffmpeg(stream(2, *args, "-hls_flags", "append_list+program_date_time", out))
        pl = read_playlist(out)
        self.assertEqual([s.uri for s in pl.segments],
                         ["index0.ts", "index1.ts", "index2.ts", "index3.ts"])
        self.assertEqual([s.discontinuity for s in pl.segments], [False, False, True, False])
        self.assertTrue(pl.endlist)
        pdts = [s.pdt for s in pl.segments]
        self.assertNotIn(None, pdts)
        self.assertEqual(pdts, sorted(pdts))

    def test_unlisted_files_are_never_overwritten(self):
        out = self.path("index.m3u8")
        run_ffmpeg(stream(2, "-hls_list_size", "0", "-hls_flags", "omit_endlist", out))
        with open(self.path("index2.ts"), "wb") as f:
            f.write(b"left by a killed run")
        _, err = run_ffmpeg(stream(2, "-hls_list_size", "0", "-hls_flags", "append_list", out))
        self.assertRegex(err, r"'.*index2\.ts' is not listed by the playlist .* left in place")
        with open(self.path("index2.ts"), "rb") as f:
            self.assertEqual(f.read(), b"left by a killed run")
        self.assertEqual([s.uri for s in read_playlist(out).segments],
                         ["index0.ts", "index1.ts", "index3.ts", "index4.ts"])
        # With delete_segments the core removes such a file instead.
        with open(self.path("index5.ts"), "wb") as f:
            f.write(b"x")
        run_ffmpeg(stream(1, "-hls_list_size", "0", "-hls_flags",
                          "append_list+delete_segments", "-append_ended", "1", out))
        self.assertFalse(os.path.exists(self.path("index5.ts")))
        self.assertEqual(read_playlist(out).segments[-1].uri, "index6.ts")

    def test_fmp4_init_is_new_unless_identical(self):
        out = self.path("index.m3u8")
        args = ["-hls_segment_type", "fmp4", "-hls_playlist_type", "event"]
        run_ffmpeg(stream(2, *args, "-hls_flags", "omit_endlist", out))
        with open(self.path("init.mp4"), "rb") as f:
            init = f.read()
        run_ffmpeg(stream(2, *args, "-hls_flags", "append_list", out))
        pl = read_playlist(out)
        with open(self.path("init.mp4"), "rb") as f:
            self.assertEqual(f.read(), init, "init.mp4 was rewritten")
        self.assertFalse(os.path.exists(self.path("init_1.mp4")), "identical init kept")
        self.assertEqual({s.map_uri for s in pl.segments}, {"init.mp4"})
        check_listed_segments(out, pl)
        # Other codec parameters: a new init file, a new EXT-X-MAP.
        run_ffmpeg([*lavfi_source(gop=FPS), "-t", "2", "-s", "160x120", "-f", "hlsbridge",
                    "-hls_time", "1", *args, "-hls_flags", "append_list",
                    "-append_ended", "1", out])
        pl = read_playlist(out)
        self.assertEqual([s.map_uri for s in pl.segments][-2:], ["init_1.mp4"] * 2)
        self.assertEqual(pl.text.count("#EXT-X-MAP:"), 2)

    def test_ladder_continues_together(self):
        vsm = ["-var_stream_map", "v:0,agroup:aud,name:video a:0,agroup:aud,name:audio",
               "-master_pl_name", "master.m3u8", "-hls_segment_type", "fmp4"]
        out = self.path("%v", "index.m3u8")
        run_ffmpeg(stream(3, *vsm, "-hls_list_size", "0", "-hls_flags", "omit_endlist", out))
        run_ffmpeg(stream(2, *vsm, "-hls_list_size", "0", "-hls_flags",
                          "append_list+omit_endlist", out))
        lists = {n: read_playlist(self.path(n, "index.m3u8")) for n in ("video", "audio")}
        for name, pl in lists.items():
            self.assertEqual(len(pl.segments), 5, name)
            self.assertEqual([s.discontinuity for s in pl.segments].index(True), 3, name)
        self.assertEqual(read_multivariant_playlist(self.path("master.m3u8")).uris(),
                         ["video/index.m3u8"])
        # A variant whose playlist is gone cannot continue with the others.
        os.remove(self.path("audio", "index.m3u8"))
        rc, err = run_ffmpeg(stream(1, *vsm, "-hls_flags", "append_list", out), check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("append_list: the playlist of variant 'audio' does not exist, that "
                      "of variant 'video' exists; the variants cannot continue together", err)


class AppendNamesTest(TempDirTest):
    """The numbering goes on from names as the playlist prints them
    (percent-encoded), and the key of the old run does not cover new
    segments in the clear."""

    def test_name_with_a_space(self):
        out = self.path("index.m3u8")
        args = ["-hls_list_size", "0", "-hls_segment_filename", self.path("seg a%d.ts")]
        run_ffmpeg(stream(2, *args, "-hls_flags", "omit_endlist", out))
        before = digests(self.dir)
        run_ffmpeg(stream(2, *args, "-hls_flags", "append_list", out))
        pl = read_playlist(out)
        self.assertEqual([s.uri for s in pl.segments],
                         ["seg%20a0.ts", "seg%20a1.ts", "seg%20a2.ts", "seg%20a3.ts"])
        after = digests(self.dir)
        self.assertEqual(after["seg a0.ts"], before["seg a0.ts"])
        self.assertEqual(after["seg a1.ts"], before["seg a1.ts"])

    def test_other_names_are_refused(self):
        out = self.path("index.m3u8")
        run_ffmpeg(stream(1, "-hls_flags", "omit_endlist", out))
        rc, err = run_ffmpeg(stream(1, "-hls_flags", "append_list", "-hls_segment_filename",
                                    self.path("other%d.ts"), out), check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("append_list: the last segment of '%s', 'index0.ts', is not named by "
                      "hls_segment_filename" % out, err)

    def test_clear_segments_after_encrypted_ones(self):
        out = self.path("index.m3u8")
        with open(self.path("k.key"), "wb") as f:
            f.write(bytes(range(16)))
        with open(self.path("k.keyinfo"), "w") as f:
            f.write("k.key\n%s\n" % self.path("k.key"))
        args = ["-hls_list_size", "0", "-hls_playlist_type", "event"]
        run_ffmpeg(stream(1, *args, "-hls_key_info_file", self.path("k.keyinfo"),
                          "-hls_flags", "omit_endlist", out))
        run_ffmpeg(stream(1, *args, "-hls_flags", "append_list", out))
        pl = read_playlist(out)
        self.assertIsNotNone(pl.segments[0].key)
        self.assertIsNone(pl.segments[-1].key)
        self.assertIn("#EXT-X-KEY:METHOD=NONE\n", pl.text)

    def test_other_segment_type_is_refused(self):
        out = self.path("index.m3u8")
        run_ffmpeg(stream(1, "-hls_segment_type", "fmp4", "-hls_flags", "omit_endlist", out))
        rc, err = run_ffmpeg(stream(1, "-hls_flags", "append_list", out), check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("lists fmp4 segments, this stream writes mpegts ones", err)


class AppendRefusalTest(TempDirTest):
    """What cannot be continued fails at init, naming why, and changes
    nothing on disk."""

    def refused(self, args, text):
        before = digests(self.dir)
        rc, err = run_ffmpeg(args, check=False)
        self.assertNotEqual(rc, 0, err[-1500:])
        self.assertIn(text, err)
        self.assertEqual(digests(self.dir), before)

    def test_ended_playlist_needs_append_ended(self):
        out = self.path("index.m3u8")
        run_ffmpeg(stream(2, "-hls_list_size", "3", out))
        self.refused(stream(1, "-hls_flags", "append_list", out),
                     "append_list: '%s' has EXT-X-ENDLIST" % out)
        run_ffmpeg(stream(1, "-hls_flags", "append_list", "-append_ended", "1", out))
        pl = read_playlist(out)
        self.assertTrue(pl.segments[-1].discontinuity)

    def test_vod_cannot_be_continued(self):
        self.refused(stream(1, "-hls_playlist_type", "vod", "-hls_flags", "append_list",
                            self.path("index.m3u8")),
                     "hls_flags append_list: a vod playlist is complete")

    def test_target_duration_does_not_change(self):
        out = self.path("index.m3u8")
        run_ffmpeg(stream(2, "-hls_flags", "omit_endlist", out))
        self.refused([*lavfi_source(gop=FPS), "-t", "2", "-f", "hlsbridge", "-hls_time", "3",
                      "-hls_flags", "append_list", out],
                     "this stream's segments need EXT-X-TARGETDURATION:3, the existing "
                     "playlist has 1")

    def test_foreign_playlist_is_refused(self):
        out = self.path("index.m3u8")
        with open(out, "w") as f:
            f.write("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n"
                    "#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2.0,\na.ts\n")
        self.refused(stream(1, "-hls_flags", "append_list", out),
                     "%s:3: expected #EXT-X-MEDIA-SEQUENCE:<number>" % out)

    def test_append_ended_needs_append_list(self):
        self.refused(stream(1, "-append_ended", "1", self.path("index.m3u8")),
                     "append_ended needs -hls_flags append_list")

    def test_hls_enc_is_refused(self):
        self.refused(stream(1, "-hls_enc", "1", "-hls_flags", "append_list",
                            self.path("index.m3u8")),
                     "hls_flags append_list with hls_enc")


class OverwriteWarningTest(TempDirTest):
    def test_restart_without_append_list_warns(self):
        out = self.path("index.m3u8")
        run_ffmpeg(stream(3, "-hls_list_size", "3", "-hls_flags", "omit_endlist", out))
        _, err = run_ffmpeg(stream(1, "-hls_list_size", "3", out))
        self.assertIn("Playlist '%s' exists and reaches media sequence 3; this stream "
                      "replaces it from 0, so players still watching it see the sequence "
                      "go back: -hls_flags append_list continues it instead" % out, err)


if __name__ == "__main__":
    unittest.main()
