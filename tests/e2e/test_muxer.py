"""End-to-end tests of the hlsbridge muxer in the real custom ffmpeg, read
back with ffprobe (FFmpeg's own HLS and MPEG-TS demuxers).

Run: FFMPEG=build/ffmpeg/bin/ffmpeg python3 -m unittest -v tests/e2e/test_muxer.py
"""
import glob
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from hlstest import (FFmpeg, PlaylistWatcher, TempDirTest, decode_frames,  # noqa: E402
                     ffmpeg_path, ffprobe_json, h264_aac, lavfi_inputs, lavfi_source,
                     read_playlist, run_ffmpeg)

FRAME = 1 / 25


def video_span(segment_paths):
    """Real duration of the video across the segments: first frame's PTS to
    the last frame's PTS plus one frame, read from the segment files."""
    first = last = None
    for p in segment_paths:
        pk = ffprobe_json(["-select_streams", "v:0", "-show_entries",
                           "packet=pts_time", p])["packets"]
        pts = [float(x["pts_time"]) for x in pk]
        first = min(pts) if first is None else first
        last = max(pts)
    return last + FRAME - first


class TimingTest(TempDirTest):
    def test_bframes_and_ts_offset_give_exact_cut_to_cut_durations(self):
        out = self.path("index.m3u8")
        with PlaylistWatcher(out, interval=0) as poller:
            run_ffmpeg([*lavfi_source(), "-t", "10", "-bf", "3",
                        "-output_ts_offset", "10", "-f", "hlsbridge", "-hls_time", "2",
                        "-hls_playlist_type", "event", out])
        pl = read_playlist(out)
        self.assertTrue(pl.endlist)
        self.assertEqual(pl.playlist_type, "EVENT")
        self.assertEqual(len(pl.segments), 5, pl.uris())
        # B-frames really are there (open-GOP reordering is what breaks
        # segment.c's end times).
        info = ffprobe_json(["-show_entries", "stream=has_b_frames",
                             "-select_streams", "v:0", self.path(pl.uris()[0])])
        self.assertGreater(info["streams"][0]["has_b_frames"], 0)
        # The first segment is not inflated by the 10 s offset.
        self.assertAlmostEqual(pl.segments[0].duration, 2.0, delta=FRAME)
        span = video_span([self.path(u) for u in pl.uris()])
        self.assertAlmostEqual(span, 10.0, delta=FRAME)
        self.assertAlmostEqual(pl.total_duration(), span, delta=FRAME)
        # Every playlist published on the way had the same target duration.
        self.assertEqual(poller.problems, [])
        self.assertGreater(len(poller.versions), 1)
        tds = {v[2].target_duration for v in poller.versions}
        self.assertEqual(tds, {2})

    def test_first_segment_not_doubled_at_30fps_with_bframes(self):
        # x264 with B-frames starts at 2/30 s, not a whole microsecond.
        out = self.path("index.m3u8")
        run_ffmpeg([*lavfi_inputs(audio=False, frame_rate=30), "-t", "8",
                    *h264_aac(audio=False, gop=60), "-f", "hlsbridge", "-hls_time", "2",
                    "-hls_list_size", "0", out])
        pl = read_playlist(out)
        self.assertEqual([s.duration for s in pl.segments], [2.0] * 4)
        self.assertEqual(pl.target_duration, 2)

    def test_target_duration_is_fixed_from_hls_time(self):
        out = self.path("index.m3u8")
        with PlaylistWatcher(out, interval=0) as poller:
            run_ffmpeg([*lavfi_source(audio=False), "-t", "9", "-f", "hlsbridge",
                        "-hls_time", "4", "-hls_list_size", "0", out])
        pl = read_playlist(out)
        # GOPs of 2 s cut at 4 s: four 4 s segments and a last 1 s one.
        self.assertEqual([s.duration for s in pl.segments], [4.0, 4.0, 1.0])
        self.assertEqual({v[2].target_duration for v in poller.versions}, {4})


def watch_live_run(test, seconds, list_size):
    """A real-time live run of 1 s segments into test's directory, every
    playlist version read back as it is published; returns the watcher."""
    out = test.path("live.m3u8")
    with PlaylistWatcher(out, interval=0) as poller:
        run_ffmpeg([*lavfi_source(audio=False, realtime=True, gop=25), "-t", str(seconds),
                    "-f", "hlsbridge", "-hls_time", "1", "-hls_list_size", str(list_size),
                    out], timeout=60)
    return poller


class LiveWindowTest(TempDirTest):
    def test_media_sequence_advances_one_per_removed_segment(self):
        poller = watch_live_run(self, 9, 3)
        self.assertEqual(poller.problems, [])
        versions = [v[2] for v in poller.versions]
        self.assertGreaterEqual(len(versions), 6)
        for old, new in zip(versions, versions[1:]):
            removed = new.media_sequence - old.media_sequence
            self.assertGreaterEqual(removed, 0)
            # What stayed is exactly the old list minus the removed head.
            kept = old.uris()[removed:]
            self.assertEqual(new.uris()[:len(kept)], kept, (old.uris(), new.uris()))
            self.assertLessEqual(len(new.segments), 3)
        final = read_playlist(self.path("live.m3u8"))
        self.assertTrue(final.endlist)
        self.assertEqual(final.media_sequence, 9 - 3)
        self.assertIsNone(final.playlist_type)

    def test_delete_segments_waits_for_rfc_hold_time_and_leaves_nothing(self):
        out = self.path("live.m3u8")
        deleted_at = {}
        seen_files = set()
        with PlaylistWatcher(out, interval=0) as poller, FFmpeg(
                [*lavfi_source(audio=False, realtime=True, gop=25), "-t", "10",
                 "-f", "hlsbridge", "-hls_time", "1", "-hls_list_size", "2",
                 "-hls_flags", "delete_segments", out]) as ff:
            def scan():
                now = set(os.path.basename(p) for p in glob.glob(self.path("*.ts")))
                for gone in seen_files - now:
                    deleted_at.setdefault(gone, time.monotonic())
                seen_files.update(now)

            while ff.alive():
                scan()
                time.sleep(0.01)
            scan()  # deletions done just before ffmpeg exited
            rc = ff.wait(30)
            err = ff.stderr()
        self.assertEqual(rc, 0, err[-2000:])
        self.assertEqual(poller.problems, [])
        # When each segment was last listed, and how long the longest
        # playlist listing it was.
        removed_at, longest, duration = {}, {}, {}
        for i, (t, _, pl) in enumerate(poller.versions):
            for s in pl.segments:
                longest[s.uri] = max(longest.get(s.uri, 0), pl.total_duration())
                duration[s.uri] = s.duration
            if i > 0:
                for u in set(poller.versions[i - 1][2].uris()) - set(pl.uris()):
                    removed_at[u] = t
        self.assertGreaterEqual(len(removed_at), 6, removed_at)
        for uri, t_removed in removed_at.items():
            self.assertIn(uri, deleted_at, f"{uri} was never deleted")
            hold = duration[uri] + longest[uri]
            # The poller sees a removal slightly after it happens, so allow
            # its reaction time, but never a deletion well before the hold.
            self.assertGreaterEqual(deleted_at[uri] - t_removed, hold - 0.25,
                                    f"{uri} deleted too early")
        # Nothing is left forever: only the final window's files remain.
        final = read_playlist(out)
        self.assertTrue(final.endlist)
        left = sorted(os.path.basename(p) for p in glob.glob(self.path("*.ts")))
        self.assertEqual(left, sorted(final.uris()))


class ReadBackTest(TempDirTest):
    def test_ffprobe_reads_playlist_and_every_segment(self):
        out = self.path("index.m3u8")
        run_ffmpeg([*lavfi_source(), "-t", "6", "-f", "hlsbridge",
                    "-hls_time", "2", "-hls_playlist_type", "vod", out])
        pl = read_playlist(out)
        self.assertTrue(pl.endlist)
        self.assertEqual(len(pl.segments), 3)
        frames = decode_frames(out)
        self.assertEqual(frames["video"], 150)
        self.assertGreater(frames["audio"], 6 * 48000 / 1024 - 5)
        for uri in pl.uris():
            f = decode_frames(self.path(uri))
            self.assertEqual(f["video"], 50, uri)
            self.assertGreater(f["audio"], 0, uri)

    def test_concurrent_reader_never_sees_partial_or_older_playlist(self):
        poller = watch_live_run(self, 12, 4)
        print(f"\nconcurrent reader: {poller.reads} reads, "
              f"{len(poller.versions)} playlist versions", flush=True)
        self.assertEqual(poller.problems, [])
        self.assertGreater(poller.reads, 10000)
        self.assertGreaterEqual(len(poller.versions), 10)


class EmbeddingTest(TempDirTest):
    """An application linked against the custom libavformat opens the muxer
    by name, sets options with an AVDictionary, and sees every segment file
    go through its own io_open/io_close2."""

    def build_app(self, name):
        prefix = os.path.dirname(os.path.dirname(ffmpeg_path()))
        pc = os.path.join(prefix, "lib", "pkgconfig")
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "--static", "libavformat"],
                               env={**os.environ, "PKG_CONFIG_PATH": pc},
                               stdout=subprocess.PIPE, text=True, check=True).stdout.split()
        app = self.path(name)
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), name + ".c")
        subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", "-o", app, src, *flags],
                       check=True)
        return app

    def test_application_opens_muxer_by_name(self):
        app = self.build_app("embed_app")
        media = self.path("in.ts")
        run_ffmpeg([*lavfi_source(gop=25), "-t", "5", "-f", "mpegts", media])
        os.makedirs(self.path("out"))
        out = self.path("out", "index.m3u8")
        p = subprocess.run([app, media, out], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        pl = read_playlist(out)
        self.assertEqual(pl.playlist_type, "EVENT")
        self.assertTrue(pl.endlist)
        self.assertEqual(len(pl.segments), 5)
        self.assertAlmostEqual(pl.total_duration(), 5.0, delta=0.05)
        self.assertEqual(p.stdout.strip(), "segments opened: 5, closed: 5")
        for uri in pl.uris():
            decode_frames(self.path("out", uri))

    def test_stream_starting_while_no_segment_can_be_written(self):
        # The application's own packet order: video alone until the segment
        # directory vanishes and a cut fails, then the first audio packet
        # (the muxer's check_bitstream runs with no segment muxer), then the
        # directory returns and segments are published again.
        app = self.build_app("late_stream_app")
        media = self.path("in.ts")
        run_ffmpeg([*lavfi_source(gop=25), "-t", "6", "-f", "mpegts", media])
        out = self.path("out")
        os.makedirs(out)
        p = subprocess.run([app, media, out], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        self.assertIn("Cannot open '%s'" % os.path.join(out, "seg", "s3.ts"), p.stderr)
        pl = read_playlist(os.path.join(out, "index.m3u8"))
        self.assertTrue(pl.endlist)
        self.assertEqual(pl.uris()[:2], ["seg/s0.ts", "seg/s1.ts"])
        marked = [i for i, s in enumerate(pl.segments) if s.discontinuity]
        self.assertEqual(len(marked), 1, pl.uris())
        after = pl.segments[marked[0]:]
        # Dropped from the failed cut at 3 s to the next cut point at 4 s.
        self.assertAlmostEqual(sum(s.duration for s in after), 2.0, delta=0.05)
        audio = sum(decode_frames(os.path.join(out, s.uri)).get("audio", 0) for s in after)
        self.assertGreater(audio, 0)


class ErrorTest(TempDirTest):
    def assert_refused(self, args, needle, out_name="index.m3u8"):
        out = self.path("sub", out_name) if out_name else ""
        rc, err = run_ffmpeg([*lavfi_source(audio=False), "-t", "2", "-f", "hlsbridge",
                              *args, out], check=False)
        self.assertNotEqual(rc, 0, err[-1500:])
        self.assertIn(needle, err, err[-1500:])
        created = [os.path.join(r, f) for r, _, fs in os.walk(self.dir) for f in fs]
        self.assertEqual(created, [], "files were created")
        return err

    def test_zero_segment_time(self):
        self.assert_refused(["-hls_time", "0"], "hls_time")

    def test_negative_segment_time(self):
        self.assert_refused(["-hls_time", "-2"], "hls_time")

    def test_negative_window(self):
        self.assert_refused(["-hls_list_size", "-1"], "hls_list_size")

    def test_unknown_playlist_type(self):
        self.assert_refused(["-hls_playlist_type", "sliding"], "hls_playlist_type")

    def test_segment_option_set_by_the_muxer_is_refused_by_name(self):
        # segment.c's own options come from its AVClass at run time: one
        # this muxer sets, or one that means nothing here, is refused.
        for opt in ("segment_time=5", "segment_wrap=3", "segment_list=x.csv"):
            with self.subTest(opt=opt):
                err = self.assert_refused(["-segment_options", opt],
                                          "segment_options: '%s'" % opt.split("=")[0])
                self.assertIn("set by the hlsbridge muxer itself", err)

    def test_unknown_segment_option_is_refused_by_name(self):
        self.assert_refused(["-segment_options", "no_such_option=1"],
                            "segment_options: option 'no_such_option' is not known")

    def test_segment_tunable_is_passed_on(self):
        # break_non_keyframes is one of the segment muxer's tunables users may
        # set: with 2 s GOPs and hls_time 1 it cuts every second, not every
        # other.
        for opts, segments in (([], 3), (["-segment_options", "break_non_keyframes=1"], 6)):
            with self.subTest(opts=opts):
                out = self.path("o%d" % segments, "index.m3u8")
                run_ffmpeg([*lavfi_source(audio=False, gop=50), "-t", "6", "-f", "hlsbridge",
                            "-hls_time", "1", "-hls_playlist_type", "vod", *opts, out])
                self.assertEqual(len(read_playlist(out).segments), segments)

    def test_empty_output_path(self):
        rc, err = run_ffmpeg([*lavfi_source(audio=False), "-t", "1", "-f", "hlsbridge", ""],
                             check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("Empty output path", err)

    def test_line_break_in_segment_name_is_refused(self):
        self.assert_refused(["-hls_segment_filename", self.path("sub", "a\nb%d.ts")],
                            "hls_segment_filename")


class HlsCompatTest(TempDirTest):
    """Every option and hls_flags name of FFmpeg's hls muxer (read from this
    build's own help) is an option of hlsbridge: implemented, accepted, or
    refused by name. Without that ffmpeg's CLI would set them on nothing and
    say nothing (it does not check leftover muxer options)."""

    @staticmethod
    def help_names(muxer):
        """Option and constant names of a muxer's help, in two sets."""
        text = subprocess.run([ffmpeg_path(), "-hide_banner", "-h", "muxer=" + muxer],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, check=True).stdout
        options = set(re.findall(r"^  -(\w+)\s", text, re.M))
        constants = set(re.findall(r"^     (\w+)\s", text, re.M))
        return options, constants

    # What hlsbridge does with each name of FFmpeg's hls muxer. A name this
    # build's hls muxer lists that is in none of these tables fails
    # test_every_hls_name_is_decided: a newer FFmpeg's new option waits for a
    # decision instead of being ignored.
    IMPLEMENTED = {"start_number", "hls_time", "hls_list_size", "hls_base_url",
                   "hls_segment_filename", "hls_segment_options", "hls_delete_threshold",
                   "hls_segment_type", "hls_fmp4_init_filename", "hls_flags",
                   "hls_playlist_type", "hls_start_number_source", "hls_init_time",
                   "hls_enc", "hls_enc_key", "hls_enc_key_url", "hls_enc_iv",
                   "hls_key_info_file", "strftime", "strftime_mkdir", "var_stream_map",
                   "master_pl_name", "master_pl_publish_rate",
                   # for an http:// output (tests/e2e/test_origin.py)
                   "method", "http_user_agent", "http_persistent", "timeout", "headers"}
    # Options of an http:// output, each with a value that is not its
    # default: refused by name for a local one.
    # Any value, the default's too: it is refused when set at all.
    HTTP_ONLY = {"method": "PUT", "http_user_agent": "x", "http_persistent": "1",
                 "timeout": "5", "headers": "X-A: b\r\n", "http_retry_time": "30",
                 "http_queue_size": "16", "http_spool_dir": "/tmp"}
    # Refused options, each with a value that is not its default.
    REFUSED = {
        "hls_vtt_options": "x", "hls_allow_cache": "1", "hls_segment_size": "100000",
        "hls_subtitle_path": "x",
        "hls_fmp4_init_resend": "1",
        "cc_stream_map": "ccgroup:cc", "ignore_io_errors": "1",
    }
    IMPLEMENTED_FLAGS = {"temp_file", "delete_segments", "discont_start", "omit_endlist",
                         "program_date_time", "independent_segments", "periodic_rekey",
                         "append_list"}
    REFUSED_FLAGS = {"single_file", "round_durations", "split_by_time",
                     "second_level_segment_index", "second_level_segment_duration",
                     "second_level_segment_size", "iframes_only"}

    @staticmethod
    def hls_flag_names(text):
        """The constants listed under -hls_flags in a muxer's help."""
        block = re.search(r"^  -hls_flags .*?\n((?:     .*\n)+)", text, re.M)
        return set(re.findall(r"^     (\w+)\s", block.group(1), re.M))

    @staticmethod
    def help_text(muxer):
        return subprocess.run([ffmpeg_path(), "-hide_banner", "-h", "muxer=" + muxer],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, check=True).stdout

    def test_every_hls_name_is_decided_and_listed(self):
        hls, ours = self.help_text("hls"), self.help_text("hlsbridge")
        hls_options = set(re.findall(r"^  -(\w+)\s", hls, re.M))
        hls_flags = self.hls_flag_names(hls)
        self.assertGreater(len(hls_options), 30)
        self.assertGreater(len(hls_flags), 12)
        self.assertEqual(sorted(hls_options - self.IMPLEMENTED - set(self.REFUSED)), [],
                         "options of the hls muxer that hlsbridge has not decided on")
        self.assertEqual(sorted(hls_flags - self.IMPLEMENTED_FLAGS - self.REFUSED_FLAGS), [],
                         "hls_flags of the hls muxer that hlsbridge has not decided on")
        # -h muxer=hlsbridge shows every one of them, implemented or refused.
        self.assertEqual(sorted(hls_options - set(re.findall(r"^  -(\w+)\s", ours, re.M))), [])
        self.assertEqual(sorted(hls_flags - self.hls_flag_names(ours)), [])

    def assert_fails_at_init(self, args, word):
        """ffmpeg with these muxer options (and the output) exits non-zero
        with `word` in its message; returns the message."""
        rc, err = run_ffmpeg([*lavfi_source(audio=False), "-t", "1", "-f", "hlsbridge", *args],
                             check=False)
        self.assertNotEqual(rc, 0, err[-1500:])
        self.assertIn(word, err)
        return err

    def check_refused(self, args, name):
        err = self.assert_fails_at_init([*args, self.path("sub", "index.m3u8")], name)
        self.assertRegex(err, r"%s[: ].*not supported by hlsbridge: \S" % re.escape(name),
                         err[-1500:])
        self.assertFalse(os.path.exists(self.path("sub")), "files were created")

    def test_refused_options_fail_naming_them(self):
        for name, value in sorted(self.REFUSED.items()):
            with self.subTest(option=name):
                self.check_refused(["-" + name, value], name)

    def test_http_options_with_a_local_output_fail_naming_them(self):
        for name, value in sorted(self.HTTP_ONLY.items()):
            with self.subTest(option=name):
                err = self.assert_fails_at_init(["-" + name, value,
                                                 self.path("sub", "index.m3u8")], name)
                self.assertRegex(err, r"%s: applies to an HTTP output" % re.escape(name))
                self.assertFalse(os.path.exists(self.path("sub")), "files were created")

    def test_refused_flags_fail_naming_them(self):
        for flag in sorted(self.REFUSED_FLAGS):
            with self.subTest(flag=flag):
                self.check_refused(["-hls_flags", "delete_segments+" + flag],
                                   "hls_flags " + flag)

    def test_independent_segments_and_omit_endlist(self):
        out = self.path("index.m3u8")
        run_ffmpeg([*lavfi_source(audio=False, gop=25), "-t", "2", "-f", "hlsbridge",
                    "-hls_time", "1", "-hls_flags", "independent_segments+omit_endlist", out])
        pl = read_playlist(out)
        self.assertTrue(pl.independent_segments)
        self.assertFalse(pl.endlist, pl.text)
        self.assertEqual(len(pl.segments), 2)
        self.assert_fails_at_init(["-hls_playlist_type", "vod", "-hls_flags", "omit_endlist",
                                   self.path("vod.m3u8")], "omit_endlist")

    def test_hls_segment_options_reach_the_container(self):
        out = self.path("index.m3u8")
        run_ffmpeg([*lavfi_source(audio=False), "-t", "1", "-f", "hlsbridge",
                    "-hls_segment_options", "mpegts_service_id=4660", out])
        info = ffprobe_json(["-show_programs", self.path("index0.ts")])
        self.assertEqual(info["programs"][0]["program_num"], 4660)

    def start_number_from(self, source):
        """The first media sequence of a run with hls_start_number_source,
        between the clock readings before and after it ((seconds, microseconds)
        pairs); checks that the segment files are numbered from it."""
        out = self.path(source + ".m3u8")
        before = time.time()
        run_ffmpeg([*lavfi_source(audio=False, gop=25), "-t", "2", "-f", "hlsbridge",
                    "-hls_time", "1", "-hls_start_number_source", source, out])
        after = time.time()
        pl = read_playlist(out)
        first = pl.media_sequence
        self.assertEqual(pl.uris(), ["%s%d.ts" % (source, first), "%s%d.ts" % (source, first + 1)])
        return before, first, after

    def test_start_number_from_the_clock(self):
        before, first, after = self.start_number_from("epoch")
        self.assertTrue(int(before) <= first <= int(after), (before, first, after))
        # Microseconds and YYYYMMDDhhmmss do not fit an int: files are
        # still numbered from them.
        before, first, after = self.start_number_from("epoch_us")
        self.assertTrue(int(before * 1e6) - 1 <= first <= int(after * 1e6) + 1)
        before, first, after = self.start_number_from("datetime")
        stamps = {int(time.strftime("%Y%m%d%H%M%S", time.localtime(t)))
                  for t in range(int(before), int(after) + 1)}
        self.assertIn(first, stamps)

    def test_init_time_for_the_first_list_then_hls_time(self):
        out = self.path("index.m3u8")
        with PlaylistWatcher(out, interval=0) as watcher:
            run_ffmpeg([*lavfi_source(audio=False, gop=25), "-t", "10", "-f", "hlsbridge",
                        "-hls_time", "2", "-hls_init_time", "1", "-hls_list_size", "3", out])
        durations = {}
        for _, _, pl in watcher.versions:
            for seg in pl.segments:
                durations[seg.uri] = seg.duration
        self.assertEqual(watcher.problems, [])
        self.assertEqual([durations["index%d.ts" % i] for i in range(len(durations))],
                         [1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 1.0], durations)
        # No discontinuity where the duration changes; the target duration
        # is hls_time throughout.
        self.assertFalse(any(s.discontinuity for _, _, p in watcher.versions for s in p.segments))
        self.assertEqual({p.target_duration for _, _, p in watcher.versions}, {2})
        self.assert_fails_at_init(["-hls_init_time", "1", "-hls_playlist_type", "event",
                                   self.path("e.m3u8")], "hls_init_time")

    def test_strftime_names_in_directories_made_as_they_come(self):
        out = self.path("index.m3u8")
        run_ffmpeg([*lavfi_source(audio=False, gop=25, realtime=True), "-t", "5",
                    "-f", "hlsbridge", "-hls_time", "2", "-hls_playlist_type", "event",
                    "-strftime", "1", "-strftime_mkdir", "1", "-hls_segment_filename",
                    self.path("%Y", "%m%d", "seg-%H%M%S.ts"), out], timeout=60)
        pl = read_playlist(out)
        self.assertEqual(len(pl.segments), 3, pl.text)
        for seg in pl.segments:
            self.assertRegex(seg.uri, r"^\d{4}/\d{4}/seg-\d{6}\.ts$")
        self.assertEqual(len(set(pl.uris())), 3)
        self.assertEqual(decode_frames(out).get("video"), 5 * 25)

    def test_strftime_name_that_repeats_is_not_written(self):
        # Faster than real time, 1 s segments all start in the same second:
        # only the first is written; the others would overwrite it.
        out = self.path("index.m3u8")
        _, err = run_ffmpeg([*lavfi_source(audio=False, gop=25), "-t", "3", "-f", "hlsbridge",
                             "-hls_time", "1", "-hls_playlist_type", "event", "-strftime", "1",
                             "-hls_segment_filename", self.path("s-%Y%m%d%H%M%S.ts"), out])
        self.assertIn("repeats the last one", err)
        pl = read_playlist(out)
        self.assertEqual(len(set(pl.uris())), len(pl.uris()), pl.text)
        for seg in pl.segments:
            frames = decode_frames(self.path(seg.uri)).get("video", 0)
            self.assertAlmostEqual(frames, seg.duration * 25, delta=1, msg=seg.uri)

    def test_strftime_template_without_a_time(self):
        self.assert_fails_at_init(["-strftime", "1", "-hls_segment_filename", self.path("same.ts"),
                                   self.path("index.m3u8")],
                                  "with strftime it must name each second differently")

    def test_delete_threshold_keeps_removed_files(self):
        out = self.path("index.m3u8")
        run_ffmpeg([*lavfi_source(audio=False, gop=25), "-t", "6", "-f", "hlsbridge",
                    "-hls_time", "1", "-hls_list_size", "3",
                    "-hls_flags", "delete_segments", "-hls_delete_threshold", "2", out],
                   timeout=60)
        pl = read_playlist(out)
        files = sorted(f for f in os.listdir(self.dir) if f.endswith(".ts"))
        listed = set(pl.uris())
        # Three segments left the window; the newest two of them stay.
        self.assertEqual(sorted(set(files) - listed), ["index1.ts", "index2.ts"], pl.text)
        self.assert_fails_at_init(["-hls_delete_threshold", "3", self.path("b.m3u8")],
                                  "hls_delete_threshold")

    def test_temp_file_and_defaults_are_accepted(self):
        out = self.path("index.m3u8")
        run_ffmpeg([*lavfi_source(audio=False, gop=25), "-t", "2", "-f", "hlsbridge",
                    "-hls_time", "1", "-hls_playlist_type", "vod", "-hls_flags", "temp_file",
                    "-hls_segment_type", "mpegts", "-hls_delete_threshold", "1", out])
        self.assertEqual(len(read_playlist(out).segments), 2)


class PathTest(TempDirTest):
    def test_file_protocol_prefix_is_not_part_of_the_uri(self):
        run_ffmpeg([*lavfi_source(audio=False), "-t", "4", "-f", "hlsbridge",
                    "-hls_time", "2", "-hls_playlist_type", "vod", "file:index.m3u8"], cwd=self.dir)
        pl = read_playlist(self.path("index.m3u8"))
        self.assertEqual(pl.uris(), ["index0.ts", "index1.ts"])
        self.assertEqual(decode_frames(self.path("index.m3u8"))["video"], 100)

    def test_percent_in_playlist_directory(self):
        # '%' is literal in the directory as in the name: the default segment
        # template escapes both.
        out = self.path("pct", "100%x", "index.m3u8")
        run_ffmpeg([*lavfi_source(audio=False), "-t", "4", "-f", "hlsbridge",
                    "-hls_time", "2", "-hls_playlist_type", "vod", out])
        pl = read_playlist(out)
        self.assertEqual(pl.uris(), ["index0.ts", "index1.ts"])
        self.assertEqual(sorted(os.listdir(self.path("pct"))), ["100%x"])
        self.assertEqual(sorted(os.listdir(self.path("pct", "100%x"))),
                         ["index.m3u8", "index0.ts", "index1.ts"])
        self.assertEqual(decode_frames(out)["video"], 100)


class SegmentErrorTest(TempDirTest):
    def test_refused_segment_is_left_out_and_the_stream_goes_on(self):
        # 2000 frames/s (0.5 ms each) with a 0.5 s gap after 0.6 s, cut every
        # 0.25 s: segment.c's schedule (first pts + n * 0.25) lags behind the
        # gap, so the key frame after the one that ends it cuts again, leaving
        # a one-frame segment of 0.5 ms, under the core's 1 ms minimum.
        out = self.path("index.m3u8")
        _, err = run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x64:rate=2000",
                             "-vf", "setpts=N/(2000*TB)+if(gte(N\\,1200)\\,0.5/TB\\,0)",
                             "-frames:v", "2900", "-c:v", "libx264", "-preset", "ultrafast",
                             "-g", "1", "-f", "hlsbridge", "-hls_time", "0.25",
                             "-hls_playlist_type", "vod", out])
        self.assertRegex(err, r"Cannot list segment '[^']*index3\.ts'.*0\.0005")
        pl = read_playlist(out)
        self.assertTrue(pl.endlist)
        self.assertNotIn("index3.ts", pl.uris())
        self.assertFalse(os.path.exists(self.path("index3.ts")), "unlisted file left")
        self.assertEqual(pl.uris()[:4], ["index0.ts", "index1.ts", "index2.ts", "index4.ts"])
        self.assertEqual([s.discontinuity for s in pl.segments[:4]],
                         [False, False, False, True])
        self.assertGreaterEqual(len(pl.segments), 7, pl.uris())
        for uri in pl.uris():
            decode_frames(self.path(uri))


class StreamsTest(TempDirTest):
    def check(self, args, kinds):
        out = self.path("index.m3u8")
        run_ffmpeg([*args, "-t", "4", "-f", "hlsbridge", "-hls_time", "2",
                    "-hls_playlist_type", "vod", out])
        pl = read_playlist(out)
        self.assertAlmostEqual(pl.total_duration(), 4.0, delta=0.05)
        info = ffprobe_json(["-show_entries", "stream=codec_type", out])
        self.assertEqual(sorted(s["codec_type"] for s in info["streams"]), sorted(kinds))
        for uri in pl.uris():
            decode_frames(self.path(uri))
        return pl

    def test_audio_only(self):
        pl = self.check(lavfi_source(video=False), ["audio"])
        self.assertGreaterEqual(len(pl.segments), 2)

    def test_video_only(self):
        self.check(lavfi_source(audio=False), ["video"])

    def test_audio_reference_when_the_only_video_is_a_cover_picture(self):
        # Stream 0 is a cover picture (a frame every 5 s): cuts follow the
        # audio stream, as segment.c would choose, not stream 0.
        pl = self.check([*lavfi_inputs(frame_rate="1/5"),
                         "-map", "0:v", "-map", "1:a", "-disposition:v:0", "attached_pic",
                         "-c:v", "libx264", "-g", "1", *h264_aac(video=False)],
                        ["video", "audio"])
        durations = [s.duration for s in pl.segments]
        self.assertGreaterEqual(len(durations), 3, durations)
        for d in durations[:2]:
            self.assertAlmostEqual(d, 2.0, delta=0.03)

    def test_two_audio_tracks(self):
        self.check([*lavfi_inputs(), "-f", "lavfi", "-i", "sine=frequency=880",
                    "-map", "0:v", "-map", "1:a", "-map", "2:a", *h264_aac()],
                   ["video", "audio", "audio"])


if __name__ == "__main__":
    unittest.main()
