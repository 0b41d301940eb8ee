"""End-to-end tests of fMP4 (CMAF) segments: -hls_segment_type fmp4 in the
real custom ffmpeg, for H.264 + AAC, HEVC + AAC and AV1 + Opus, read back at
box level (tests/lib/hlstest.py) and with ffprobe.

Run: FFMPEG=build/ffmpeg/bin/ffmpeg python3 -m unittest -v tests/e2e/test_fmp4.py
"""
import glob
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from hlstest import (FPS, TempDirTest, check_fmp4_stream, check_listed_segments,  # noqa: E402
                     decode_frames, ffprobe_json, h264_aac, lavfi_inputs, lavfi_source,
                     read_init, read_playlist, run_ffmpeg, segment_path, splice_flv)

GOP = FPS  # a key frame every second

# codec name: (encoder arguments, video and audio sample entries, the codec
# names ffprobe reports)
CODECS = {
    "h264_aac": (h264_aac(gop=GOP), ("avc1", "mp4a"), ("h264", "aac")),
    "hevc_aac": (["-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                  "-x265-params", "keyint=%d:min-keyint=%d:scenecut=0:log-level=error"
                  % (GOP, GOP), "-c:a", "aac"], ("hvc1", "mp4a"), ("hevc", "aac")),
    "av1_opus": (["-c:v", "libsvtav1", "-preset", "12", "-pix_fmt", "yuv420p",
                  "-g", str(GOP), "-svtav1-params", "keyint=%d:scd=0" % GOP,
                  "-c:a", "libopus", "-b:a", "64k"], ("av01", "Opus"), ("av1", "opus")),
}
SECONDS = 5


def segment_files(directory, ext="m4s"):
    """Every segment file of a run, in number order (listed or not)."""
    files = glob.glob(os.path.join(directory, "*." + ext))
    return sorted(files, key=lambda p: int(re.search(r"(\d+)\.%s$" % ext, p).group(1)))


class CodecTest(TempDirTest):
    """Each codec pair, live, event and vod: a strict playlist with EXT-X-MAP
    and version 6, the sample entries HLS players expect, every segment one
    moof that starts with a key frame and continues the one before, decoded
    whole; ffprobe reads the playlist as a whole with the right duration."""

    def run_codec(self, codec, playlist_type):
        encoder, entries, names = CODECS[codec]
        out = self.path("index.m3u8")
        args = [*lavfi_inputs(), "-t", str(SECONDS), *encoder, "-f", "hlsbridge",
                "-hls_time", "1", "-hls_segment_type", "fmp4"]
        args += (["-hls_list_size", "3"] if playlist_type == "live"
                 else ["-hls_playlist_type", playlist_type])
        run_ffmpeg([*args, out])
        pl = read_playlist(out)

        self.assertEqual(pl.version, 6)
        self.assertTrue(pl.independent_segments)
        self.assertTrue(pl.endlist)
        self.assertEqual({s.map_uri for s in pl.segments}, {"init.mp4"}, pl.text)
        self.assertEqual(pl.text.count("#EXT-X-MAP:"), 1, pl.text)
        if playlist_type == "live":
            self.assertEqual(len(pl.segments), 3, pl.text)
        else:
            self.assertEqual(pl.playlist_type, "EVENT" if playlist_type == "event" else None)
            self.assertAlmostEqual(pl.total_duration(), SECONDS, delta=0.05)

        # Box level, every segment written, in order: tfdt continuity.
        files = segment_files(self.dir)
        self.assertEqual(len(files), SECONDS, files)
        tracks, frags = check_fmp4_stream(self.path("init.mp4"), files)
        kinds = {t.handler: t.sample_entry for t in tracks.values()}
        self.assertEqual((kinds.get("vide"), kinds.get("soun")), entries)
        video = next(t for t in tracks.values() if t.handler == "vide")
        self.assertEqual((video.width, video.height), (320, 240))
        # Each listed segment's EXTINF is the media time of its video
        # fragment, within a frame.
        by_name = dict(zip([os.path.basename(f) for f in files], frags))
        for seg in pl.segments:
            frag = by_name[seg.uri][video.track_id]
            self.assertAlmostEqual(sum(frag.durations) / video.timescale, seg.duration,
                                   delta=1.0 / FPS, msg=seg.uri)
        check_listed_segments(out, pl)

        info = ffprobe_json(["-count_frames", "-show_entries",
                             "stream=codec_name,nb_read_frames:format=duration", out])
        self.assertEqual(sorted(s["codec_name"] for s in info["streams"]), sorted(names))
        self.assertAlmostEqual(float(info["format"]["duration"]), pl.total_duration(),
                               delta=0.1)
        video_frames = [int(s["nb_read_frames"]) for s in info["streams"]
                        if s["codec_name"] == names[0]]
        self.assertAlmostEqual(video_frames[0], pl.total_duration() * FPS, delta=1)
        return pl


def _add_codec_tests():
    for codec in CODECS:
        for playlist_type in ("live", "event", "vod"):
            def test(self, codec=codec, playlist_type=playlist_type):
                self.run_codec(codec, playlist_type)
            setattr(CodecTest, "test_%s_%s" % (codec, playlist_type), test)


_add_codec_tests()


class NamingTest(TempDirTest):
    def test_default_names_beside_the_playlist(self):
        os.makedirs(self.path("out"))
        out = self.path("out", "live.m3u8")
        run_ffmpeg([*lavfi_source(gop=GOP), "-t", "2", "-f", "hlsbridge", "-hls_time", "1",
                    "-hls_segment_type", "fmp4", out])
        self.assertEqual(sorted(os.listdir(self.path("out"))),
                         ["init.mp4", "live.m3u8", "live0.m4s", "live1.m4s"])
        self.assertEqual(read_playlist(out).segments[0].map_uri, "init.mp4")

    def test_init_file_name_and_directory_of_its_own(self):
        out = self.path("index.m3u8")
        run_ffmpeg([*lavfi_source(gop=GOP), "-t", "2", "-f", "hlsbridge", "-hls_time", "1",
                    "-hls_segment_type", "fmp4",
                    "-hls_fmp4_init_filename", self.path("maps", "head.mp4"),
                    "-hls_segment_filename", self.path("media", "s%03d.m4s"), out])
        pl = read_playlist(out)
        self.assertEqual(pl.segments[0].map_uri, "maps/head.mp4")
        self.assertEqual(pl.uris(), ["media/s000.m4s", "media/s001.m4s"])
        check_listed_segments(out, pl)

    def test_map_uri_is_percent_encoded_and_base_url_prefixed(self):
        out = self.path("index.m3u8")
        run_ffmpeg([*lavfi_source(gop=GOP), "-t", "1", "-f", "hlsbridge", "-hls_time", "1",
                    "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename",
                    'in it #1 "q".mp4', out])
        pl = read_playlist(out)
        self.assertEqual(pl.segments[0].map_uri, "in%20it%20%231%20%22q%22.mp4")
        self.assertTrue(os.path.isfile(segment_path(out, pl.segments[0].map_uri)))
        check_listed_segments(out, pl)
        run_ffmpeg([*lavfi_source(gop=GOP), "-t", "1", "-f", "hlsbridge", "-hls_time", "1",
                    "-hls_segment_type", "fmp4", "-hls_base_url", "https://cdn.example/v/",
                    self.path("b.m3u8")])
        seg = read_playlist(self.path("b.m3u8")).segments[0]
        self.assertEqual((seg.map_uri, seg.uri),
                         ("https://cdn.example/v/init.mp4", "https://cdn.example/v/b0.m4s"))


class RefusalTest(TempDirTest):
    """What cannot make fMP4 segments fails at init, naming the option, and
    writes nothing."""

    def check_refused(self, opts, *words):
        out = self.path("out", "index.m3u8")
        rc, err = run_ffmpeg([*lavfi_source(gop=GOP), "-t", "1", "-f", "hlsbridge",
                              "-hls_segment_type", "fmp4", *opts, out], check=False)
        self.assertNotEqual(rc, 0, err)
        for w in words:
            self.assertIn(w, err)
        self.assertFalse(os.path.exists(out))
        self.assertFalse(glob.glob(self.path("out", "*.m4s")) + glob.glob(self.path("out", "*.mp4")))

    def test_other_segment_format(self):
        self.check_refused(["-segment_format", "flv"], "segment_format 'flv'",
                           "hls_segment_type fmp4")

    def test_movflags_are_ours(self):
        self.check_refused(["-segment_format_options", "movflags=+faststart"], "movflags")

    def test_init_name_with_variant_placeholder(self):
        """%v is the variant's name; without var_stream_map, its index 0."""
        out = self.path("index.m3u8")
        run_ffmpeg([*lavfi_source(gop=GOP), "-t", "2", "-f", "hlsbridge", "-hls_time", "1",
                    "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init_%v.mp4", out])
        self.assertEqual({s.map_uri for s in read_playlist(out).segments}, {"init_0.mp4"})

    def test_init_name_with_line_break(self):
        self.check_refused(["-hls_fmp4_init_filename", "in\nit.mp4"],
                           "hls_fmp4_init_filename", "control character")

    def test_mp4_segments_need_fmp4(self):
        out = self.path("index.m3u8")
        rc, err = run_ffmpeg([*lavfi_source(gop=GOP), "-t", "1", "-f", "hlsbridge",
                              "-segment_format", "mp4", out], check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("-hls_segment_type fmp4", err)

    def test_cuts_between_key_frames_are_refused(self):
        self.check_refused(["-segment_options", "break_non_keyframes=1"],
                           "break_non_keyframes", "EXT-X-INDEPENDENT-SEGMENTS")

    def test_init_resend_is_refused_by_name(self):
        self.check_refused(["-hls_fmp4_init_resend", "1"], "hls_fmp4_init_resend")


class CopyTest(TempDirTest):
    """Runs that copy a file's packets into fMP4 segments."""

    def remux(self, input_args, playlist_type):
        """Copies input_args' streams into out/index.m3u8; returns (path,
        stderr, playlist)."""
        os.makedirs(self.path("out"))
        out = self.path("out", "index.m3u8")
        _, err = run_ffmpeg([*input_args, "-map", "0", "-c", "copy", "-f", "hlsbridge",
                             "-hls_time", "1", "-hls_playlist_type", playlist_type,
                             "-hls_segment_type", "fmp4", out])
        return out, err, read_playlist(out)


class InitSectionChangeTest(CopyTest):
    """New codec parameters mid-stream (an FLV/RTMP source whose encoder
    changed resolution) give a discontinuity and a new init section; a
    timestamp jump with the same parameters keeps the init section."""

    def flv(self, size):
        path = self.path("%s.flv" % size)
        run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=%s:rate=%d" % (size, FPS),
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "3",
                    *h264_aac(gop=GOP), "-f", "flv", path])
        return path

    def test_resolution_change_gives_a_second_init_section(self):
        spliced = self.path("spliced.flv")
        splice_flv(self.flv("320x240"), self.flv("640x360"), spliced, 3000)
        out, err, pl = self.remux(["-i", spliced], "event")
        self.assertIn("new codec parameters", err)
        maps = [s.map_uri for s in pl.segments]
        self.assertEqual(maps, ["init.mp4"] * 3 + ["init_1.mp4"] * 3, pl.text)
        self.assertEqual([s.discontinuity for s in pl.segments], [False] * 3 + [True] + [False] * 2)
        self.assertIn("#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init_1.mp4\"\n", pl.text)
        self.assertAlmostEqual(pl.total_duration(), 6.0, delta=0.05)
        sizes = []
        for init, part in (("init.mp4", pl.segments[:3]), ("init_1.mp4", pl.segments[3:])):
            tracks, _ = check_fmp4_stream(self.path("out", init),
                                          [self.path("out", s.uri) for s in part])
            video = next(t for t in tracks.values() if t.handler == "vide")
            sizes.append((video.width, video.height))
        self.assertEqual(sizes, [(320, 240), (640, 360)])
        # Every segment decodes after its own init section.
        check_listed_segments(out, pl)

    def test_timestamp_jump_keeps_the_init_section(self):
        joined = self.path("joined.ts")
        with open(joined, "wb") as f:
            for offset in (0, 100):
                part = self.path("part%d.ts" % offset)
                run_ffmpeg([*lavfi_source(gop=GOP), "-t", "3", "-output_ts_offset", str(offset),
                            "-f", "mpegts", part])
                with open(part, "rb") as p:
                    f.write(p.read())
        out, err, pl = self.remux(["-copyts", "-i", joined], "event")
        self.assertIn("Timestamp jump", err)
        self.assertEqual(sum(s.discontinuity for s in pl.segments), 1, pl.text)
        self.assertEqual(pl.text.count("#EXT-X-MAP:"), 1, pl.text)
        # The second segment muxer's init section had the same bytes: it was
        # removed, not left beside the one in force.
        self.assertEqual(sorted(f for f in os.listdir(self.path("out")) if f.endswith(".mp4")),
                         ["init.mp4"])
        check_listed_segments(out, pl)
        self.assertEqual(decode_frames(out).get("video"), round(pl.total_duration() * FPS))


class CopyFromMpegTsTest(CopyTest):
    """-c copy from MPEG-TS: AAC without AudioSpecificConfig and H.264
    without avcC at the start; the first init section waits for the packets
    that carry them, and is whole."""

    def test_parameters_from_the_first_packets(self):
        ts = self.path("in.ts")
        run_ffmpeg([*lavfi_source(gop=GOP), "-t", "4", "-f", "mpegts", ts])
        out, err, pl = self.remux(["-i", ts], "vod")
        self.assertNotIn("no codec parameters", err)
        self.assertEqual({s.map_uri for s in pl.segments}, {"init.mp4"}, pl.text)
        # At most the first GOP is dropped while the parameters come in.
        self.assertGreaterEqual(pl.total_duration(), 4.0 - GOP / FPS - 0.05, pl.text)
        with open(self.path("out", "init.mp4"), "rb") as f:
            tracks = read_init(f.read())
        self.assertEqual(sorted(t.sample_entry for t in tracks.values()), ["avc1", "mp4a"])
        check_listed_segments(out, pl)


class RetentionTest(TempDirTest):
    def test_delete_segments_keeps_the_init_section_in_force(self):
        out = self.path("index.m3u8")
        run_ffmpeg([*lavfi_source(gop=GOP), "-t", "6", "-f", "hlsbridge", "-hls_time", "1",
                    "-hls_list_size", "3", "-hls_flags", "delete_segments",
                    "-hls_segment_type", "fmp4", out], timeout=60)
        pl = read_playlist(out)
        left = sorted(os.listdir(self.dir))
        self.assertIn("init.mp4", left)
        self.assertEqual([f for f in left if f.endswith(".m4s")], sorted(pl.uris()))
        check_listed_segments(out, pl)
        self.assertTrue(read_init(open(self.path("init.mp4"), "rb").read()))


if __name__ == "__main__":
    unittest.main()
