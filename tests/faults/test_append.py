#!/usr/bin/env python3
"""Restart continuity: kill -9 of a live `ffmpeg -re` at random moments, then
the same command with -hls_flags append_list, while a reader polls the
playlist(s) as a player would. The reader never sees the media sequence go
back nor a URI change its meaning; the junction carries EXT-X-DISCONTINUITY;
every listed segment decodes; no file that a playlist listed is ever
rewritten (checksums); a two-variant fMP4 ladder continues with its
multivariant playlist. Seeded (APPEND_SEED, printed).

    FFMPEG=build/ffmpeg/bin/ffmpeg FFPROBE=build/ffmpeg/bin/ffprobe \\
        python3 -m unittest -v tests/faults/test_append.py
"""
import hashlib
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hlstest as ht  # noqa: E402


def log(msg):
    print("[append] " + msg, file=sys.stderr, flush=True)


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Watcher(threading.Thread):
    """Polls playlists every 20 ms, as a player reloading them would, and
    records what it saw: for each media sequence number the URI it named,
    the first time each URI was listed its file's checksum, the highest
    media sequence seen, and any contradiction."""

    def __init__(self, paths):
        super().__init__(daemon=True)
        self.paths = paths
        self.stop_event = threading.Event()
        self.problems = []
        self.uri_of = {}      # (playlist, media sequence) -> URI
        self.digests = {}     # file path -> sha256 when first listed
        self.listed = {}      # file path -> (playlist, Segment) when first listed
        self.last_seq = {}    # playlist -> media sequence of the last read
        self.discontinuous = {}  # (playlist, URI) -> carried EXT-X-DISCONTINUITY
        self.reads = 0

    def run(self):
        while not self.stop_event.is_set():
            for path in self.paths:
                self.read(path)
            time.sleep(0.02)

    def read(self, path):
        if os.path.basename(path) == "master.m3u8":
            try:
                if os.path.exists(path):
                    ht.read_multivariant_playlist(path)
            except (ht.PlaylistError, FileNotFoundError) as e:
                self.problems.append("%s: does not parse: %s" % (path, e))
            return
        try:
            pl = ht.read_playlist(path, missing_ok=True)
        except ht.PlaylistError as e:
            self.problems.append("%s: does not parse: %s" % (path, e))
            return
        if pl is None:
            return
        self.reads += 1
        if pl.media_sequence < self.last_seq.get(path, 0):
            self.problems.append("%s: media sequence went back %d -> %d"
                                 % (path, self.last_seq[path], pl.media_sequence))
        self.last_seq[path] = pl.media_sequence
        for i, seg in enumerate(pl.segments):
            key = (path, pl.media_sequence + i)
            if self.uri_of.setdefault(key, seg.uri) != seg.uri:
                self.problems.append("%s: media sequence %d was %s, now %s"
                                     % (path, key[1], self.uri_of[key], seg.uri))
            self.discontinuous.setdefault((path, seg.uri), seg.discontinuity)
            file = ht.segment_path(path, seg.uri)
            if file not in self.digests and os.path.exists(file):
                self.digests[file] = digest(file)
                self.listed[file] = (path, seg)

    def finish(self):
        self.stop_event.set()
        self.join(5)


def live_args(out_dir, ladder, realtime=True):
    """A live stream (H.264 + AAC, 1 s segments, window of 4) with
    append_list, or a two-variant fMP4 ladder of it."""
    args = ht.lavfi_source(realtime=realtime, preset="ultrafast", gop=ht.FPS,
                           video_bitrate="150k", audio_bitrate="48k", sample_rate=None,
                           min_gop=False)
    out = ["-t", "60", "-loglevel", "verbose", "-f", "hlsbridge", "-hls_time", "1",
           "-hls_list_size", "4", "-hls_flags", "append_list"]
    if not ladder:
        return args + out + [os.path.join(out_dir, "index.m3u8")]
    return args + out + ["-hls_segment_type", "fmp4", "-var_stream_map",
                         "v:0,agroup:aud,name:video a:0,agroup:aud,name:audio",
                         "-master_pl_name", "master.m3u8",
                         os.path.join(out_dir, "%v", "index.m3u8")]


class KillRestartTest(unittest.TestCase):
    def setUp(self):
        problem = ht.check_binaries()
        if problem:
            raise AssertionError(problem)
        self.dir = tempfile.mkdtemp(prefix="hlsbridge-append-")
        self.seed = int(os.environ.get("APPEND_SEED") or time.time_ns() % 1000000007)
        self.rng = random.Random(self.seed)

    def tearDown(self):
        if os.environ.get("APPEND_KEEP"):
            log("kept %s" % self.dir)
            return
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_until(self, args, seconds, ctx, sig=signal.SIGKILL):
        """Runs ffmpeg until `seconds` after its first playlist, then sends it
        `sig`; returns its stderr."""
        with ht.FFmpeg(args) as ff:
            hit = ff.wait_for_stderr_timed(r"Segment '.*' complete", 20)
            self.assertIsNotNone(hit, "%s: no segment:\n%s" % (ctx, ff.stderr_tail()))
            time.sleep(max(0.0, hit[0] + seconds - time.monotonic()))
            self.assertTrue(ff.alive(), "%s: ffmpeg ended early:\n%s" % (ctx, ff.stderr_tail()))
            ff.signal(sig)
            status = ff.wait(20)
            if sig == signal.SIGKILL:
                self.assertEqual(status, -signal.SIGKILL, ctx)
            else:
                self.assertIn(status, (0, 255), "%s:\n%s" % (ctx, ff.stderr_tail()))
            return ff.stderr()

    def run_trials(self, ladder, kills):
        names = ["video", "audio"] if ladder else [""]
        playlists = [os.path.join(self.dir, n, "index.m3u8") for n in names]
        watcher = Watcher(playlists + ([os.path.join(self.dir, "master.m3u8")] if ladder
                                       else []))
        watcher.start()
        try:
            ends = []
            for run in range(kills + 1):
                ctx = "run %d (APPEND_SEED=%d%s)" % (run, self.seed, ", ladder" if ladder else "")
                before = {p: ht.read_playlist(p, missing_ok=True) for p in playlists}
                last = self.rng.uniform(1.5, 5.0)
                sig = signal.SIGKILL if run < kills else signal.SIGINT
                log("%s: %s after %.2f s" % (ctx, sig.name, last))
                err = self.run_until(live_args(self.dir, ladder), last, ctx, sig)
                if run:
                    self.assertIn("append_list: continuing", err, ctx)
                ends.append(before)
                time.sleep(0.1)
        finally:
            watcher.finish()
        self.assertEqual(watcher.problems, [], "APPEND_SEED=%d" % self.seed)
        self.assertGreater(watcher.reads, 20)
        self.check_junctions(watcher, ends[1:], playlists)
        self.check_files(watcher, playlists)
        log("%d reads, %d files listed, seed %d" % (watcher.reads, len(watcher.digests),
                                                     self.seed))

    def check_junctions(self, watcher, before_restarts, playlists):
        """The first segment of each restarted run carries a discontinuity."""
        for before in before_restarts:
            for path in playlists:
                old = before[path]
                if old is None or not old.segments:
                    continue
                old_uris = {s.uri for s in old.segments}
                later = sorted((seq, uri) for (p, seq), uri in watcher.uri_of.items()
                               if p == path and seq >= old.media_sequence + len(old.segments))
                self.assertTrue(later, "%s: nothing listed after the restart" % path)
                first_new = later[0][1]
                self.assertNotIn(first_new, old_uris)
                self.assertTrue(watcher.discontinuous[(path, first_new)],
                                "%s: %s starts the new run without EXT-X-DISCONTINUITY"
                                % (path, first_new))

    def check_files(self, watcher, playlists):
        """Listed files were never rewritten; the final playlists decode, end
        with ENDLIST, and the variants list the same media sequences."""
        for path, first in watcher.digests.items():
            if os.path.exists(path):
                self.assertEqual(digest(path), first, "%s was rewritten" % path)
        # Every segment that was ever listed decodes whole (none is deleted
        # here: no delete_segments).
        for path, (playlist, seg) in sorted(watcher.listed.items()):
            name = os.path.basename(os.path.dirname(playlist))
            kinds = (name,) if name in ("video", "audio") else ("video", "audio")
            init = ht.segment_path(playlist, seg.map_uri) if seg.map_uri else None
            ht.check_segment_complete(path, seg.duration, ht.FPS, init, kinds)
        finals = [ht.read_playlist(p) for p in playlists]
        for path, pl in zip(playlists, finals):
            self.assertTrue(pl.endlist)
            name = os.path.basename(os.path.dirname(path))
            kinds = (name,) if name in ("video", "audio") else ("video", "audio")
            ht.check_listed_segments(path, pl, kinds=kinds)
        self.assertEqual(len({(pl.media_sequence, len(pl.segments)) for pl in finals}), 1,
                         [(pl.media_sequence, len(pl.segments)) for pl in finals])

    def test_single_stream_killed_twice(self):
        self.run_trials(ladder=False, kills=2)

    def test_fmp4_ladder_killed_once(self):
        self.run_trials(ladder=True, kills=1)
        master = ht.read_multivariant_playlist(os.path.join(self.dir, "master.m3u8"))
        self.assertEqual(master.uris(), ["video/index.m3u8"])


if __name__ == "__main__":
    unittest.main()
