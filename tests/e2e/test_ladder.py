"""End-to-end tests of ABR ladders: -var_stream_map and -master_pl_name in the
real custom ffmpeg. Three libx264 rungs of one lavfi source and one AAC audio
group, MPEG-TS and fMP4, live and event: every playlist strict, the cuts
aligned across variants, BANDWIDTH and CODECS checked against the files and
ffprobe; a segment that one variant cannot write is listed by none; bad
maps are refused by name before anything is written.

Run: FFMPEG=build/ffmpeg/bin/ffmpeg python3 -m unittest -v tests/e2e/test_ladder.py
"""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from hlstest import (FPS, TempDirTest, ffprobe_json, lavfi_inputs,  # noqa: E402
                     read_multivariant_playlist, read_playlist, run_ffmpeg, segment_path)

GOP = FPS  # a key frame every second, in every rung
SECONDS = 6
# name: (size, video bit rate)
RUNGS = [("360p", "640x360", "600k"), ("270p", "480x270", "400k"), ("180p", "320x180", "200k")]
AUDIO_FRAME = 1024 / 48000.0
PROFILES = {"Baseline": 0x42, "Constrained Baseline": 0x42, "Main": 0x4D, "High": 0x64}


def ladder_args(segment_type="mpegts", extra=()):
    """ffmpeg arguments of the three-rung ladder with an audio group, up to
    (not including) the output name."""
    split = "[0:v]split=%d%s" % (len(RUNGS), "".join("[s%d]" % i for i in range(len(RUNGS))))
    scales = ";".join("[s%d]scale=%s[v%d]" % (i, size.replace("x", ":"), i)
                      for i, (_, size, _) in enumerate(RUNGS))
    args = [*lavfi_inputs(), "-t", str(SECONDS), "-filter_complex", split + ";" + scales]
    for i, (_, _, rate) in enumerate(RUNGS):
        args += ["-map", "[v%d]" % i, "-c:v:%d" % i, "libx264", "-b:v:%d" % i, rate,
                 "-maxrate:v:%d" % i, rate, "-bufsize:v:%d" % i, rate]
    args += ["-map", "1:a", "-c:a", "aac", "-b:a", "64k", "-preset", "veryfast",
             "-g", str(GOP), "-keyint_min", str(GOP), "-sc_threshold", "0",
             "-pix_fmt", "yuv420p"]
    vsm = " ".join("v:%d,agroup:aud,name:%s" % (i, name) for i, (name, _, _) in enumerate(RUNGS))
    vsm += " a:0,agroup:aud,name:audio,language:en"
    return args + ["-f", "hlsbridge", "-hls_time", "2", "-hls_segment_type", segment_type,
                   "-var_stream_map", vsm, "-master_pl_name", "master.m3u8", *extra]


def probe_segment(playlist_path, seg, entries):
    """ffprobe's JSON of a listed segment (fMP4: read with its init section
    in front), with -show_entries `entries`."""
    path = segment_path(playlist_path, seg.uri)
    if not seg.map_uri:
        return ffprobe_json(["-show_entries", entries, path])
    joined = path + ".probe.mp4"
    with open(joined, "wb") as out:
        for part in (segment_path(playlist_path, seg.map_uri), path):
            with open(part, "rb") as f:
                out.write(f.read())
    try:
        return ffprobe_json(["-show_entries", entries, joined])
    finally:
        os.remove(joined)


def segment_start(playlist_path, seg):
    """The first timestamp of a listed segment, in seconds."""
    return float(probe_segment(playlist_path, seg, "format=start_time")["format"]["start_time"])


def peak_rate(playlist_path, pl):
    """The largest segment bit rate of a playlist (bits/s), from the files."""
    return max(os.path.getsize(segment_path(playlist_path, s.uri)) * 8 / s.duration
               for s in pl.segments)


def expected_codec(stream):
    """The RFC 6381 name ffprobe's description of a stream implies; for H.264
    the constraint byte is not reported, so it is '..'."""
    if stream["codec_name"] == "h264":
        return "avc1.%02X..%02X" % (PROFILES[stream["profile"]], stream["level"])
    if stream["codec_name"] == "aac":
        return {"LC": "mp4a.40.2", "HE-AAC": "mp4a.40.5"}[stream["profile"]]
    raise AssertionError("no expected codec for %r" % stream)


class LadderTest(TempDirTest):
    """The ladder, each segment type and playlist type."""

    def run_ladder(self, segment_type, playlist_type):
        extra = (["-hls_list_size", "0"] if playlist_type == "live"
                 else ["-hls_playlist_type", playlist_type])
        run_ffmpeg([*ladder_args(segment_type, extra), self.path("%v", "index.m3u8")])
        master = read_multivariant_playlist(self.path("master.m3u8"))
        names = [name for name, _, _ in RUNGS] + ["audio"]
        playlists = {n: read_playlist(self.path(n, "index.m3u8")) for n in names}

        self.assertEqual(master.uris(), ["%s/index.m3u8" % n for n, _, _ in RUNGS])
        self.assertEqual(master.independent_segments, segment_type == "fmp4")
        self.assertEqual(len(master.renditions), 1, master.text)
        audio = master.renditions[0]
        self.assertEqual((audio.type, audio.group_id, audio.name, audio.uri),
                         ("AUDIO", "aud", "audio", "audio/index.m3u8"))
        self.assertEqual(audio.attributes["DEFAULT"], "YES")
        self.assertEqual(audio.attributes["LANGUAGE"], "en")
        self.check_aligned(playlists)
        self.check_timelines(playlists)
        self.check_rates(master, playlists)
        self.check_codecs(master, playlists)
        return master, playlists

    def check_timelines(self, playlists):
        """One EXT-X-TARGETDURATION, and the same EXTINF and date-time for
        segment n, in every variant (the audio rendition included)."""
        self.assertEqual({pl.target_duration for pl in playlists.values()}, {2},
                         {n: pl.target_duration for n, pl in playlists.items()})
        durations = {n: [s.duration for s in pl.segments] for n, pl in playlists.items()}
        self.assertEqual(len({tuple(d) for d in durations.values()}), 1, durations)

    def check_aligned(self, playlists):
        """Segment n of every variant covers the same interval: the same
        count and numbers, and the same start within one frame; the audio
        rendition's cuts as far from its start as the video's from theirs,
        within one audio frame (fragmented MP4 puts the video of a B-frame
        encoder a constant reordering delay later than its audio, in a
        variant or a file alike)."""
        counts = {n: len(pl.segments) for n, pl in playlists.items()}
        self.assertEqual(len(set(counts.values())), 1, counts)
        self.assertGreaterEqual(counts["audio"], SECONDS // 2)
        uris = {n: [re.sub(r"^.*?(\d+)\.\w+$", r"\1", s.uri) for s in pl.segments]
                for n, pl in playlists.items()}
        self.assertEqual(len({tuple(u) for u in uris.values()}), 1, uris)
        first = None
        for i in range(counts["audio"]):
            starts = {n: segment_start(self.path(n, "index.m3u8"), pl.segments[i])
                      for n, pl in playlists.items()}
            first = first or starts
            video = [starts[n] for n, _, _ in RUNGS]
            self.assertLessEqual(max(video) - min(video), 1.0 / FPS + 1e-3, (i, starts))
            self.assertLessEqual(abs((starts["audio"] - first["audio"]) -
                                     (video[0] - first[RUNGS[0][0]])),
                                 AUDIO_FRAME + 1e-3, (i, starts, first))

    def check_rates(self, master, playlists):
        """BANDWIDTH is at least the measured peak segment bit rate of the
        variant with its audio group, and at most 1.5 times it."""
        audio_peak = peak_rate(self.path("audio", "index.m3u8"), playlists["audio"])
        for v, (name, _, _) in zip(master.variants, RUNGS):
            peak = peak_rate(self.path(name, "index.m3u8"), playlists[name]) + audio_peak
            self.assertGreaterEqual(v.bandwidth, peak * 0.99, (name, v.bandwidth, peak))
            self.assertLessEqual(v.bandwidth, peak * 1.5, (name, v.bandwidth, peak))
            self.assertLessEqual(int(v.attributes["AVERAGE-BANDWIDTH"]), v.bandwidth)

    def check_codecs(self, master, playlists):
        """CODECS and RESOLUTION are what ffprobe reports of the streams."""
        streams = {}
        for name in [n for n, _, _ in RUNGS] + ["audio"]:
            streams[name] = probe_segment(self.path(name, "index.m3u8"),
                                          playlists[name].segments[0], "stream")["streams"]
        audio_codec = expected_codec(streams["audio"][0])
        for v, (name, size, _) in zip(master.variants, RUNGS):
            video = streams[name][0]
            self.assertEqual(v.attributes["RESOLUTION"], "%dx%d" % (video["width"],
                                                                   video["height"]))
            self.assertEqual(v.attributes["RESOLUTION"], size)
            self.assertEqual(float(v.attributes["FRAME-RATE"]), FPS)
            self.assertEqual(v.attributes["AUDIO"], "aud")
            codecs = v.attributes["CODECS"].split(",")
            self.assertEqual(len(codecs), 2, v.attributes)
            self.assertRegex(codecs[0], "^" + expected_codec(video).replace(".", r"\.", 1)
                             .replace("..", "[0-9A-F]{2}") + "$")
            self.assertEqual(codecs[1], audio_codec)

    def test_ts_live(self):
        self.run_ladder("mpegts", "live")

    def test_ts_event(self):
        self.run_ladder("mpegts", "event")

    def test_fmp4_live(self):
        _, playlists = self.run_ladder("fmp4", "live")
        for name, pl in playlists.items():
            self.assertEqual({s.map_uri for s in pl.segments}, {"init.mp4"}, name)

    def test_fmp4_event(self):
        self.run_ladder("fmp4", "event")

    def test_fmp4_one_directory(self):
        """Variants' playlists in one directory: each init file is named
        after its variant, so none is shared."""
        run_ffmpeg([*ladder_args("fmp4", ["-hls_playlist_type", "vod"]),
                    self.path("index_%v.m3u8")])
        for name in [n for n, _, _ in RUNGS] + ["audio"]:
            pl = read_playlist(self.path("index_%s.m3u8" % name))
            self.assertEqual({s.map_uri for s in pl.segments}, {"init_%s.mp4" % name})
        master = read_multivariant_playlist(self.path("master.m3u8"))
        self.assertEqual(master.uris(), ["index_%s.m3u8" % n for n, _, _ in RUNGS])


class LadderRetentionTest(TempDirTest):
    """delete_segments works per variant: each directory ends with the
    files its playlist lists (the hold of RFC 8216 6.2.2 has passed), and
    every variant's window holds the same segment numbers."""

    def test_delete_segments(self):
        args = ladder_args(extra=["-hls_list_size", "2", "-hls_flags", "delete_segments"])
        args[args.index("-t") + 1] = "10"
        run_ffmpeg([*args, self.path("%v", "index.m3u8")], timeout=180)
        windows = {}
        for name in [n for n, _, _ in RUNGS] + ["audio"]:
            pl = read_playlist(self.path(name, "index.m3u8"))
            listed = sorted(os.path.basename(s.uri) for s in pl.segments)
            self.assertEqual(sorted(os.listdir(self.path(name))), sorted(listed + ["index.m3u8"]),
                             name)
            windows[name] = (pl.media_sequence, listed)
        self.assertEqual(len(set(map(repr, windows.values()))), 1, windows)
        self.assertGreater(windows["audio"][0], 0)


class LadderFaultTest(TempDirTest):
    """A segment that one variant cannot write is listed by no variant, and
    the next one starts a discontinuity in every variant: a media sequence
    number means the same interval everywhere."""

    def test_one_variant_loses_a_segment(self):
        os.makedirs(self.path("270p", "index1.ts"))  # its file cannot be made
        _, err = run_ffmpeg([*ladder_args(extra=["-hls_playlist_type", "event"]),
                             self.path("%v", "index.m3u8")])
        self.assertIn("270p/index1.ts", err)
        lists = {}
        for name in [n for n, _, _ in RUNGS] + ["audio"]:
            pl = read_playlist(self.path(name, "index.m3u8"))
            lists[name] = [(os.path.basename(s.uri), s.discontinuity) for s in pl.segments]
            self.assertFalse(os.path.exists(self.path(name, "index1.ts")) and name != "270p",
                             name)
        numbers = {n: [u.split(".")[0] for u, _ in entries] for n, entries in lists.items()}
        self.assertEqual(len({tuple(v) for v in numbers.values()}), 1, lists)
        for name, entries in lists.items():
            self.assertNotIn("index1", numbers[name])
            self.assertEqual(entries[0], ("index0.ts", False), lists)
            self.assertEqual(entries[1], ("index2.ts", True), lists)


class MixedLadderTest(TempDirTest):
    """A video variant with the audio group beside one without it (its own
    audio muxed in): each STREAM-INF says what it carries."""

    def test_group_and_muxed_variants(self):
        args = ladder_args(extra=["-hls_playlist_type", "vod"])
        args[args.index("-var_stream_map") + 1] = (
            "v:0,agroup:aud,name:grouped v:1,name:plain v:2,a:0,name:muxed")
        # a:0 is muxed into 'muxed'; the group needs a rendition of its own,
        # so the second audio stream (the same sine) goes there.
        i = args.index("hlsbridge") - 1
        args[i:i] = ["-map", "1:a", "-c:a:1", "aac"]
        args[args.index("-var_stream_map") + 1] += " a:1,agroup:aud,name:audio"
        run_ffmpeg([*args, self.path("%v", "index.m3u8")])
        master = read_multivariant_playlist(self.path("master.m3u8"))
        attrs = {v.uri: v.attributes for v in master.variants}
        self.assertEqual(attrs["grouped/index.m3u8"]["AUDIO"], "aud")
        self.assertNotIn("AUDIO", attrs["plain/index.m3u8"])
        self.assertEqual(attrs["muxed/index.m3u8"]["CODECS"].split(",")[1], "mp4a.40.2")
        self.assertEqual([r.name for r in master.renditions], ["audio"])


class LadderOptionTest(TempDirTest):
    """Bad ladders fail at init with a message naming the variant and the
    cause, and write nothing."""

    def refused(self, vsm, pattern, output="%v/index.m3u8"):
        args = ladder_args()
        args[args.index("-var_stream_map") + 1] = vsm
        status, err = run_ffmpeg([*args, self.path(output)], check=False)
        self.assertNotEqual(status, 0)
        self.assertRegex(err, pattern)
        self.assertEqual(os.listdir(self.dir), [])

    def test_malformed(self):
        self.refused("v:0 v:1,x:2", r"var_stream_map: variant #2 \('x:2'\): unknown key 'x'")

    def test_missing_stream(self):
        self.refused("v:0 v:1 v:2 v:3 a:0",
                     r"variant #4 \(v:3\): the output has no video stream #3")

    def test_stream_in_no_variant(self):
        self.refused("v:0 v:1 v:2", r"stream #3 \(audio\) is in no variant")

    def test_stream_twice(self):
        self.refused("v:0,a:0 v:1,a:0 v:2", r"variant #2 \('a:0'\): this stream is "
                     r"already in variant #1")

    def test_group_without_audio(self):
        self.refused("v:0,agroup:x v:1 v:2 a:0",
                     r"variant #1: agroup:x has no audio-only variant")

    def test_output_without_variant_name(self):
        self.refused("v:0 v:1 v:2,a:0", r"with 3 variants the playlist name needs %v",
                     output="index.m3u8")

    def test_publish_rate_needs_a_master(self):
        args = ladder_args()
        i = args.index("-master_pl_name")
        args[i:i + 2] = ["-master_pl_publish_rate", "2"]
        status, err = run_ffmpeg([*args, self.path("%v", "index.m3u8")], check=False)
        self.assertNotEqual(status, 0)
        self.assertIn("master_pl_publish_rate needs master_pl_name", err)
        self.assertEqual(os.listdir(self.dir), [])

    def test_subtitles(self):
        self.refused("v:0 v:1 v:2,a:0 s:0", r"variant #4 \(s:0\): subtitle variants")


class SingleVariantMasterTest(TempDirTest):
    """master_pl_name without var_stream_map: a multivariant playlist with
    the one variant, its codecs and measured rates."""

    def test_one_variant(self):
        run_ffmpeg([*lavfi_inputs(), "-t", "4", "-c:v", "libx264", "-preset", "veryfast",
                    "-g", str(GOP), "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "hlsbridge",
                    "-hls_time", "1", "-master_pl_name", "main.m3u8",
                    "-hls_playlist_type", "vod", self.path("out", "index.m3u8")])
        master = read_multivariant_playlist(self.path("out", "main.m3u8"))
        self.assertEqual(master.uris(), ["index.m3u8"])
        pl = read_playlist(self.path("out", "index.m3u8"))
        peak = peak_rate(self.path("out", "index.m3u8"), pl)
        self.assertGreaterEqual(master.variants[0].bandwidth, peak * 0.99)
        self.assertLessEqual(master.variants[0].bandwidth, peak * 1.5)
        self.assertRegex(master.variants[0].attributes["CODECS"],
                         r"^avc1\.[0-9A-F]{6},mp4a\.40\.2$")

    def test_publish_rate(self):
        """master_pl_publish_rate N rewrites it every N segments on top."""
        _, err = run_ffmpeg([*lavfi_inputs(), "-t", "8", "-c:v", "libx264", "-preset",
                             "veryfast", "-g", str(GOP), "-pix_fmt", "yuv420p", "-c:a", "aac",
                             "-loglevel", "verbose", "-f", "hlsbridge", "-hls_time", "1",
                             "-master_pl_name", "main.m3u8", "-master_pl_publish_rate", "1",
                             "-hls_playlist_type", "event", self.path("out", "index.m3u8")])
        writes = err.count("Multivariant playlist '%s' written" % self.path("out", "main.m3u8"))
        # Eight segments: a write at (nearly) every one of them, where the
        # rules alone write twice or three times (first, growth, final).
        self.assertGreaterEqual(writes, 6, err[-2000:])


if __name__ == "__main__":
    unittest.main()
