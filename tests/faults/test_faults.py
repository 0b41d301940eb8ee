#!/usr/bin/env python3
"""Faults on real file systems: kill -9, disk full, read-only, missing directory.

Runs the custom ffmpeg with the hlsbridge muxer against real mounts (tmpfs),
so it must run as root. From the repository root:

    FFMPEG=build/ffmpeg/bin/ffmpeg FFPROBE=build/ffmpeg/bin/ffprobe \\
        python3 -m unittest -v tests/faults/test_faults.py

Environment: FFMPEG, FFPROBE (default build/ffmpeg/bin/...), FAULTS_SEED
(seed of the kill -9 moments; printed), FAULTS_KILL_TRIALS (default 30),
FAULTS_ALLOW_SKIP=1 (skip instead of fail when not root).
Every mount is taken down in tearDown, lazily if a plain umount fails.
"""

import atexit
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hlstest as ht  # noqa: E402

ENOSPC_TEXT = "No space left on device"
EROFS_TEXT = "Read-only file system"
SEGMENT_NUMBER_RE = re.compile(r"(\d+)\.(?:ts|m4s)$")


def setUpModule():
    # A runner that times out sends SIGTERM: unwind like Ctrl-C, so that the
    # `with` blocks kill ffmpeg and take their mounts down.
    def interrupt(signum, frame):
        raise KeyboardInterrupt("SIGTERM")
    signal.signal(signal.SIGTERM, interrupt)


def log(msg):
    print("[faults] " + msg, file=sys.stderr, flush=True)


def live_input(video_rate="150k", audio_rate="48k", realtime=True):
    """The standard test input as these tests use it: H.264 with a key frame
    every second and AAC at the given bit rates, the sine at its default
    sample rate, read in real time unless told otherwise."""
    return ht.lavfi_source(realtime=realtime, preset="ultrafast", gop=ht.FPS,
                           video_bitrate=video_rate, audio_bitrate=audio_rate,
                           sample_rate=None, min_gop=False)


def segment_number(uri):
    m = SEGMENT_NUMBER_RE.search(uri)
    if not m:
        raise AssertionError("segment URI %r has no number" % uri)
    return int(m.group(1))


class FaultTest(unittest.TestCase):
    workdir = None

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            if os.environ.get("FAULTS_ALLOW_SKIP"):
                raise unittest.SkipTest("needs root to mount tmpfs")
            raise AssertionError("these tests mount tmpfs file systems and must run "
                                 "as root (FAULTS_ALLOW_SKIP=1 skips them instead)")
        problem = ht.check_binaries()
        if problem:
            raise AssertionError(problem)
        cls.workdir = tempfile.mkdtemp(prefix="hlsbridge-faults-")
        atexit.register(cls.remove_workdir, cls.workdir)

    @staticmethod
    def remove_workdir(workdir):
        """Also run at exit, for a run interrupted before tearDownClass."""
        if os.path.isdir(workdir):
            ht.umount_all_under(workdir)
            if not ht.mounts_under(workdir):
                shutil.rmtree(workdir, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        if cls.workdir:
            left = ht.mounts_under(cls.workdir)
            cls.remove_workdir(cls.workdir)
            if left:
                raise AssertionError("mounts left behind: %s" % left)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix=self._testMethodName + "-", dir=self.workdir)

    def tearDown(self):
        ht.umount_all_under(self.dir)
        self.assertEqual(ht.mounts_under(self.dir), [], "a mount was left behind")

    def assert_playlist_ok(self, playlist, pl, what):
        """Every listed segment exists and decodes whole."""
        try:
            ht.check_listed_segments(playlist, pl)
        except AssertionError as e:
            self.fail("%s: %s\nplaylist:\n%s" % (what, e, pl.text))


class KillTest(FaultTest):
    """SIGKILL at random moments of a live run, then a restart."""

    def test_kill9_random_moments_then_restart(self):
        seed = int(os.environ.get("FAULTS_SEED") or time.time_ns() % 1000000007)
        trials = int(os.environ.get("FAULTS_KILL_TRIALS") or 30)
        rng = random.Random(seed)
        log("kill -9: %d trials, FAULTS_SEED=%d" % (trials, seed))
        with_playlist = 0
        kill_left_temp = 0
        kill_in_publish_window = 0
        segments_checked = 0
        started = time.monotonic()
        for trial in range(trials):
            # Trials 0, 2, 4...: anywhere in the first 6 s. Trials 1, 5, 9...:
            # while segment `cut` is closed and fsynced (with -re it ends about
            # 1 s after it was opened). Trials 3, 7, 11...: while the playlist
            # that lists it is being written (the core takes a few ms after
            # the muxer logs "Segment ... complete").
            kind = ("random", "segment-close", "random", "playlist-write")[trial % 4]
            delay = rng.uniform(0.5, 6.0)
            cut = rng.randint(1, 4)
            close_offset = rng.uniform(-0.015, -0.002)
            write_offset = rng.uniform(0.0, 0.0015)
            d = os.path.join(self.dir, "t%02d" % trial)
            os.makedirs(d)
            playlist = os.path.join(d, "index.m3u8")
            out = ["-loglevel", "verbose"] + ht.hlsbridge_args(playlist, hls_time=1, list_size=4)
            with ht.FFmpeg([*live_input(), "-t", "60", *out]) as ff:
                if kind == "random":
                    ctx = "trial %d (FAULTS_SEED=%d, killed after %.3f s)" % (trial, seed, delay)
                    kill_at = ff.started + delay
                else:
                    if kind == "segment-close":
                        ctx = "trial %d (FAULTS_SEED=%d, killed %.3f s before segment %d " \
                              "ended)" % (trial, seed, -close_offset, cut)
                        pattern, offset = r"index%d\.ts' for writing" % cut, 1.0 + close_offset
                    else:
                        ctx = "trial %d (FAULTS_SEED=%d, killed %.3f s into publishing " \
                              "segment %d)" % (trial, seed, write_offset, cut)
                        pattern, offset = r"index%d\.ts' complete" % cut, write_offset
                    hit = ff.wait_for_stderr_timed(pattern, 15)
                    self.assertIsNotNone(hit, "%s: no line %r:\n%s"
                                         % (ctx, pattern, ff.stderr_tail()))
                    kill_at = hit[0] + offset
                time.sleep(max(0.0, kill_at - time.monotonic()))
                self.assertTrue(ff.alive(), "%s: ffmpeg ended before the kill:\n%s"
                                % (ctx, ff.stderr_tail()))
                ff.signal(signal.SIGKILL)
                self.assertEqual(ff.wait(10), -signal.SIGKILL, ctx)

            try:
                pl = ht.read_playlist(playlist, missing_ok=True)
            except ht.PlaylistError as e:
                self.fail("%s: playlist does not parse: %s" % (ctx, e))
            listed = set()
            if pl is not None:
                with_playlist += 1
                self.assertFalse(pl.endlist, "%s: killed live run has ENDLIST" % ctx)
                self.assertTrue(pl.segments, "%s: published playlist lists nothing" % ctx)
                self.assertLessEqual(len(pl.segments), 4, ctx)
                self.assert_playlist_ok(playlist, pl, ctx)
                segments_checked += len(pl.segments)
                listed = {segment_number(s.uri) for s in pl.segments}
            # Measured, not asserted: did the kill land between a segment's
            # last frame and its publication (a whole segment not listed yet)?
            newest = max(listed, default=-1)
            unlisted = {}
            for name in sorted(os.listdir(d)):
                m = SEGMENT_NUMBER_RE.search(name)
                if m and int(m.group(1)) > newest:
                    unlisted[name] = ht.count_frames(os.path.join(d, name)).get("video", 0)
            if any(n >= ht.FPS for n in unlisted.values()):
                kill_in_publish_window += 1

            # Our stale temp files, plus one of another playlist that must stay.
            stale = ht.temp_files(d)
            log("%s: listed %s, unlisted (video frames) %s, temp files %s"
                % (ctx, sorted(listed), unlisted, stale))
            if stale:
                kill_left_temp += 1
            else:
                mine = os.path.join(d, ".playlist-index.m3u8-Ab3xYz.tmp")
                with open(mine, "w") as f:
                    f.write("#EXTM3U\n#EXTINF:1.0,\npartial")
                stale = [os.path.basename(mine)]
            foreign = os.path.join(d, ".playlist-other.m3u8-Ab3xYz.tmp")
            with open(foreign, "w") as f:
                f.write("not ours")

            restart = [*live_input(realtime=False), "-t", "3", *out]
            rc, err = ht.run_ffmpeg(restart, timeout=60, check=False)
            self.assertEqual(rc, 0, "%s: restart failed:\n%s" % (ctx, err[-3000:]))
            left = [n for n in ht.temp_files(d) if n != os.path.basename(foreign)]
            self.assertEqual(left, [], "%s: restart left stale temp files %s (before: %s)"
                             % (ctx, left, stale))
            self.assertTrue(os.path.exists(foreign),
                            "%s: restart removed another playlist's temp file" % ctx)
            try:
                pl = ht.read_playlist(playlist, missing_ok=True)
            except ht.PlaylistError as e:
                self.fail("%s: playlist after restart does not parse: %s" % (ctx, e))
            self.assertIsNotNone(pl, "%s: no playlist after restart" % ctx)
            self.assertTrue(pl.endlist, "%s: restart's playlist has no ENDLIST" % ctx)
            self.assertGreaterEqual(len(pl.segments), 2, "%s: %s" % (ctx, pl.text))
            self.assert_playlist_ok(playlist, pl, ctx + " after restart")
            shutil.rmtree(d)

        elapsed = time.monotonic() - started
        log("kill -9: %d trials in %.1f s; %d had a playlist at kill time (%d listed "
            "segments decoded whole); %d kills landed between a segment's end and its "
            "publication, %d left a temp file; every restart cleaned up"
            % (trials, elapsed, with_playlist, segments_checked, kill_in_publish_window,
               kill_left_temp))
        # Delays reach 6 s and the first segment is published after ~1 s: a run
        # where no kill found a playlist tested nothing.
        self.assertGreater(with_playlist, 0, "no trial had a playlist at kill time")


# Disk full: a ~200 kb/s stream into a tmpfs that holds about
# FILL_AFTER_SEGMENTS one-second segments. MPEG-TS adds ~40% at this rate
# (PES headers, PAT/PMT, padding of the 188-byte packets; measured 35 KB per
# second for 150k + 48k).
VIDEO_BPS = 150000
AUDIO_BPS = 48000
TS_OVERHEAD = 1.4
FILL_AFTER_SEGMENTS = 8
PAGE = 4096
DISK_FULL_SIZE = -(-int(FILL_AFTER_SEGMENTS * (VIDEO_BPS + AUDIO_BPS) / 8 * TS_OVERHEAD)
                   // PAGE) * PAGE
HIGH_VIDEO_BPS = 2000000


class DiskFullTest(FaultTest):
    """A small tmpfs fills up mid-stream."""

    def fill_disk(self, d, input_args=None, hls_time=1, list_size=4, size=DISK_FULL_SIZE,
                  full_for=2.5, extra=()):
        """Starts a live run into tmpfs d (more muxer options in `extra`),
        waits until the disk is full and for `full_for` seconds more.
        Returns (ffmpeg, watcher, playlist)."""
        playlist = os.path.join(d, "index.m3u8")
        if input_args is None:
            input_args = live_input("%d" % VIDEO_BPS, "%d" % AUDIO_BPS)
        ff = ht.FFmpeg([*input_args, "-t", "90",
                        *ht.hlsbridge_args(playlist, hls_time=hls_time, list_size=list_size,
                                           extra=extra)])
        self.addCleanup(ff.kill)
        watcher = ht.PlaylistWatcher(playlist)
        watcher.__enter__()
        self.addCleanup(watcher.stop)
        t0 = time.monotonic()
        line = ff.wait_for_stderr(re.escape(ENOSPC_TEXT), timeout=40)
        self.assertIsNotNone(line, "the %d-byte tmpfs never filled up (%d bytes free):\n%s"
                             % (size, ht.fs_free_bytes(d), ff.stderr_tail()))
        log("disk full: tmpfs of %d bytes full after %.1f s: %s"
            % (size, time.monotonic() - t0, line.strip()))
        # The disk stays full: at least one more segment write hits ENOSPC.
        time.sleep(full_for)
        return ff, watcher, playlist

    def assert_watch_clean(self, watcher):
        self.assertEqual(watcher.problems, [], "a reader saw a broken playlist")
        self.assertTrue(watcher.versions, "no playlist was ever published")

    def assert_enospc_logged(self, ff, d):
        lines = [l for l in ff.stderr().splitlines() if ENOSPC_TEXT in l and d in l]
        self.assertTrue(lines, "no error line names a path in %s and '%s':\n%s"
                        % (d, ENOSPC_TEXT, ff.stderr_tail(40)))

    def test_disk_full_keeps_last_playlist(self):
        with ht.tmpfs(self.dir, size=DISK_FULL_SIZE) as d:
            ff, watcher, playlist = self.fill_disk(d)
            self.assertEqual(ht.temp_files(d), [], "temp file left while the disk is full")
            self.assert_enospc_logged(ff, d)
            alive = ff.alive()
            rc = ff.stop() if alive else ff.wait(10)
            watcher.poll()
            watcher.stop()
            log("disk full: ffmpeg %s; exit status %d; %d playlist reads, %d versions"
                % ("was still running" if alive else "had exited", rc, watcher.reads,
                   len(watcher.versions)))
            self.assert_watch_clean(watcher)
            with open(playlist, "rb") as f:
                final = f.read()
            self.assertEqual(final, watcher.latest()[1],
                             "the playlist on disk is not the last one a reader saw")
            pl = ht.parse_media_playlist(final)
            self.assertTrue(pl.segments)
            self.assert_playlist_ok(playlist, pl, "last good playlist after disk full")
            self.assertEqual(ht.temp_files(d), [], "temp file left after disk full")

    def test_disk_full_resumes_when_space_returns(self):
        with ht.tmpfs(self.dir, size=DISK_FULL_SIZE) as d:
            ff, watcher, playlist = self.fill_disk(d)
            self.check_resumes(d, ff, watcher, playlist, resume_within=8)

    def test_fmp4_disk_full_resumes_when_space_returns(self):
        # fMP4: the segment muxer that starts again after the lost segments
        # writes a new init section while the disk is still full, which is
        # lost too; once space returns, segments are listed again under an
        # init section that exists (assert_playlist_ok decodes each segment
        # after the EXT-X-MAP that applies to it).
        with ht.tmpfs(self.dir, size=DISK_FULL_SIZE) as d:
            ff, watcher, playlist = self.fill_disk(d, extra=["-hls_segment_type", "fmp4"],
                                                   full_for=3.5)
            self.check_resumes(d, ff, watcher, playlist, resume_within=8)
            maps = {s.map_uri for _, _, pl in watcher.versions for s in pl.segments}
            self.assertTrue(maps and None not in maps, "fMP4 segments without EXT-X-MAP")

    def test_fmp4_init_section_lost_to_full_disk_is_written_again(self):
        # The disk is full before the first init section: it is lost like a
        # segment, media is dropped, and once space returns a new segment
        # muxer writes it again; nothing is listed before that.
        with ht.tmpfs(self.dir, size=DISK_FULL_SIZE) as d:
            filler = os.path.join(d, "filler")
            fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                while os.write(fd, b"\0" * 4096) > 0:
                    pass
            except OSError:
                pass
            finally:
                os.close(fd)
            playlist = os.path.join(d, "index.m3u8")
            ff = ht.FFmpeg([*live_input("%d" % VIDEO_BPS, "%d" % AUDIO_BPS), "-t", "60",
                            *ht.hlsbridge_args(playlist, hls_time=1, list_size=4,
                                               extra=["-hls_segment_type", "fmp4"])])
            self.addCleanup(ff.kill)
            line = ff.wait_for_stderr(r"Init section .* was not written completely", timeout=20)
            self.assertIsNotNone(line, ff.stderr_tail(30))
            log("fmp4 init on a full disk: " + line.strip())
            time.sleep(2)
            self.assertTrue(ff.alive(), ff.stderr_tail(30))
            self.assertFalse(os.path.exists(playlist), "a playlist was published without "
                             "its init section")
            os.remove(filler)
            with ht.PlaylistWatcher(playlist) as watcher:
                pl = watcher.wait_for(lambda p: len(p.segments) >= 2, timeout=10)
                self.assertIsNotNone(pl, "nothing listed 10 s after space returned:\n%s"
                                     % ff.stderr_tail(30))
            ff.kill()
            self.assert_watch_clean(watcher)
            self.assertTrue(all(s.map_uri for s in pl.segments), pl.text)
            self.assert_playlist_ok(playlist, pl, "after the init section was written again")

    def test_disk_full_mid_segment_at_high_bitrate_resumes(self):
        # 2 Mb/s (constant: x264 pads with filler data) in 2 s segments: a
        # segment is about 530 KB, so the disk fills while avio flushes its
        # buffer in the middle of a segment, not at a cut. The window (3
        # segments, 3 target durations) fits; about 6 segments fill the disk.
        hls_time = 2
        segment_bytes = int(hls_time * (HIGH_VIDEO_BPS + AUDIO_BPS) / 8 * 1.03)
        size = -(-6 * segment_bytes // PAGE) * PAGE
        input_args = live_input("%d" % HIGH_VIDEO_BPS, "%d" % AUDIO_BPS) + [
            "-minrate", "%d" % HIGH_VIDEO_BPS, "-maxrate", "%d" % HIGH_VIDEO_BPS,
            "-bufsize", "%d" % (HIGH_VIDEO_BPS // 2), "-x264-params", "nal-hrd=cbr"]
        with ht.tmpfs(self.dir, size=size) as d:
            t_start = time.monotonic()
            ff, watcher, playlist = self.fill_disk(d, input_args, hls_time=hls_time,
                                                   list_size=3, size=size, full_for=4.5)
            # Each try to write a segment on the full disk fails once, with
            # one error line: no retry per packet or per key frame.
            failures = [l for l in ff.stderr().splitlines() if ENOSPC_TEXT in l]
            bound = (time.monotonic() - t_start) / hls_time + 2
            self.assertLessEqual(len(failures), bound, "%d ENOSPC lines in %.1f s:\n%s"
                                 % (len(failures), time.monotonic() - t_start,
                                    ff.stderr_tail(30)))
            self.check_resumes(d, ff, watcher, playlist, resume_within=4 * hls_time + 2)

    def check_resumes(self, d, ff, watcher, playlist, resume_within):
        """Frees space on the full tmpfs d and checks that publishing resumes
        within `resume_within` seconds, with a discontinuity after the hole."""
        self.assertTrue(ff.alive(), "ffmpeg stopped on the full disk (exit status %s), "
                        "so publishing cannot resume without a restart:\n%s"
                        % (ff.proc.poll(), ff.stderr_tail(30)))
        self.assertEqual(ht.temp_files(d), [], "temp file left while the disk is full")
        self.assert_enospc_logged(ff, d)

        # Free space the way a cleanup job would: delete segment files that
        # already left the window (numbers below the first listed one), so
        # the published playlist stays whole while we do it.
        before = ht.read_playlist(playlist)
        first = segment_number(before.segments[0].uri)
        freed = 0
        for name in os.listdir(d):
            m = SEGMENT_NUMBER_RE.search(name)
            if m and int(m.group(1)) < first:
                freed += os.path.getsize(os.path.join(d, name))
                os.remove(os.path.join(d, name))
        log("disk full: freed %d bytes (segments below #%d)" % (freed, first))
        self.assertGreater(freed, 0)
        t_free = time.monotonic()
        last_uri = before.segments[-1].uri
        after = watcher.wait_for(
            lambda p: p.media_sequence != before.media_sequence or
            p.segments[-1].uri != last_uri, timeout=resume_within)
        self.assertIsNotNone(after, "publishing did not resume within %g s after space "
                             "was freed:\n%s" % (resume_within, ff.stderr_tail(30)))
        log("disk full: publishing resumed %.1f s after space was freed"
            % (time.monotonic() - t_free))
        ff.kill()
        watcher.poll()
        watcher.stop()
        self.assert_watch_clean(watcher)
        for _, _, pl in watcher.versions_since(t_free):
            self.assert_playlist_ok(playlist, pl, "playlist after space came back")
            # Segments lost to the full disk leave a hole in the timeline:
            # RFC 8216 4.3.2.3 wants EXT-X-DISCONTINUITY after it.
            for prev, seg in zip(pl.segments, pl.segments[1:]):
                if segment_number(seg.uri) != segment_number(prev.uri) + 1:
                    self.assertTrue(seg.discontinuity,
                                    "segments %s -> %s: a hole without "
                                    "EXT-X-DISCONTINUITY:\n%s" % (prev.uri, seg.uri, pl.text))
        self.assertEqual(ht.temp_files(d), [])


class ReadOnlyTest(FaultTest):

    def test_read_only_mount_fails_at_start(self):
        with ht.tmpfs(self.dir, readonly=True) as d:
            for sub in ("", "sub/"):
                with self.subTest(playlist=sub + "index.m3u8"):
                    playlist = os.path.join(d, sub + "index.m3u8")
                    rc, err = ht.run_ffmpeg([*live_input(realtime=False), "-t", "2",
                                             *ht.hlsbridge_args(playlist)],
                                            timeout=60, check=False)
                    self.assertNotEqual(rc, 0, err[-2000:])
                    lines = [l for l in err.splitlines() if EROFS_TEXT in l and d in l]
                    self.assertTrue(lines, "no error line names %s and '%s':\n%s"
                                    % (d, EROFS_TEXT, err[-2000:]))
                    self.assertEqual(os.listdir(d), [], "files created on a read-only mount")

    def test_directory_turns_read_only_mid_stream(self):
        # A read-only remount is refused (EBUSY) while a file on the mount is
        # open for writing, and ffmpeg always has a segment open: so the
        # playlist directory is its own mount, the segments another one.
        with ht.tmpfs(self.dir) as d, ht.tmpfs(os.path.join(self.dir, "seg")) as segdir:
            playlist = os.path.join(d, "index.m3u8")
            out = ht.hlsbridge_args(playlist, hls_time=1, list_size=4, extra=[
                "-hls_segment_filename", os.path.join(segdir, "index%d.ts")])
            with ht.FFmpeg([*live_input(), "-t", "14", *out]) as ff, \
                    ht.PlaylistWatcher(playlist) as watcher:
                self.assertIsNotNone(watcher.wait_for(lambda p: len(p.segments) >= 2, 15),
                                     "no playlist with 2 segments:\n%s" % ff.stderr_tail())
                ht.remount(d, readonly=True)
                t_ro = time.monotonic()
                with open(playlist, "rb") as f:
                    frozen = f.read()
                line = ff.wait_for_stderr(re.escape(EROFS_TEXT), timeout=5)
                self.assertIsNotNone(line, "no '%s' error within 5 s:\n%s"
                                     % (EROFS_TEXT, ff.stderr_tail()))
                self.assertIn(playlist, line)
                time.sleep(2)
                self.assertTrue(ff.alive(), "ffmpeg stopped when the playlist directory "
                                "turned read-only:\n%s" % ff.stderr_tail())
                with open(playlist, "rb") as f:
                    self.assertEqual(f.read(), frozen)
                pl = ht.parse_media_playlist(frozen)
                self.assert_playlist_ok(playlist, pl, "playlist while read-only")
                log("read-only: %.1f s read-only, error: %s" % (time.monotonic() - t_ro,
                                                                  line.strip()))

                ht.remount(d, readonly=False)
                last = pl.segments[-1].uri
                self.assertIsNotNone(
                    watcher.wait_for(lambda p: p.segments[-1].uri != last, 5),
                    "publishing did not resume after the remount read-write:\n%s"
                    % ff.stderr_tail())
                rc = ff.wait(30)
                watcher.poll()
            self.assertEqual(rc, 0, ff.stderr_tail())
            self.assertEqual(watcher.problems, [], "a reader saw a broken playlist")
            pl = ht.read_playlist(playlist)
            self.assertTrue(pl.endlist)
            self.assert_playlist_ok(playlist, pl, "final playlist")
            self.assertEqual(ht.temp_files(d), [])


class MissingDirectoryTest(FaultTest):

    def check_run(self, playlist, extra=()):
        rc, err = ht.run_ffmpeg([*live_input(realtime=False), "-t", "3.2",
                                 *ht.hlsbridge_args(playlist, list_size=0, extra=extra)],
                                timeout=60, check=False)
        self.assertEqual(rc, 0, err[-2000:])
        pl = ht.read_playlist(playlist, missing_ok=True)
        self.assertIsNotNone(pl, "no playlist written")
        self.assertTrue(pl.endlist)
        self.assertGreaterEqual(len(pl.segments), 3, pl.text)
        self.assert_playlist_ok(playlist, pl, "playlist in created directory")
        # A real client resolves every URI relative to the playlist.
        frames = ht.decode_frames(playlist)
        self.assertAlmostEqual(frames.get("video", 0), 3.2 * ht.FPS, delta=1)
        return pl

    def test_missing_playlist_directory_is_created(self):
        playlist = os.path.join(self.dir, "a", "b", "index.m3u8")
        pl = self.check_run(playlist)
        self.assertEqual(pl.segments[0].uri, "index0.ts")

    def test_missing_segment_directory_is_created(self):
        playlist = os.path.join(self.dir, "c", "d", "index.m3u8")
        pl = self.check_run(playlist, ["-hls_segment_filename",
                                       os.path.join(self.dir, "c", "d", "seg", "x", "s%d.ts")])
        self.assertEqual(pl.segments[0].uri, "seg/x/s0.ts")


if __name__ == "__main__":
    unittest.main(verbosity=2)
