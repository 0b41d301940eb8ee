"""Shared pieces of the end-to-end tests: the custom ffmpeg/ffprobe, sources,
and a reader that polls a playlist while ffmpeg rewrites it."""
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

import m3u8

FFMPEG = os.environ.get("FFMPEG", "build/ffmpeg/bin/ffmpeg")
FFPROBE = os.environ.get("FFPROBE", os.path.join(os.path.dirname(FFMPEG), "ffprobe"))

# Test pattern and tone; 25 fps so that a 2 s GOP is 50 frames.
VIDEO = ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25"]
AUDIO = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
X264 = ["-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-keyint_min", "50",
        "-sc_threshold", "0", "-pix_fmt", "yuv420p"]
AAC = ["-c:a", "aac", "-b:a", "64k"]


def run_ffmpeg(args, timeout=120, check=True, cwd=None):
    cmd = [os.path.abspath(FFMPEG), "-hide_banner", "-nostdin", "-y", *args]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, text=True, errors="replace", cwd=cwd)
    if check and p.returncode != 0:
        raise AssertionError(f"ffmpeg failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-3000:]}")
    return p


def ffprobe_json(args, timeout=60):
    cmd = [FFPROBE, "-v", "error", "-of", "json", *args]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, text=True, errors="replace")
    if p.returncode != 0 or p.stderr.strip():
        raise AssertionError(f"ffprobe failed: {' '.join(cmd)}\n{p.stderr[-3000:]}")
    return json.loads(p.stdout)


def decode_frames(path, timeout=60):
    """Decodes every stream of `path`; returns {codec_type: frames}."""
    info = ffprobe_json(["-count_frames", "-show_entries",
                         "stream=codec_type,nb_read_frames", path], timeout)
    return {s["codec_type"]: int(s.get("nb_read_frames", 0)) for s in info["streams"]}


class PlaylistPoller:
    """Reads `path` in a tight loop on a thread. Keeps every distinct complete
    version in order, counts reads, and records any torn read or media
    sequence going backwards."""

    def __init__(self, path):
        self.path = path
        self.versions = []  # (monotonic time, text, parsed)
        self.reads = 0
        self.problems = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self):
        last_text = None
        last_seq = -1
        while not self._stop.is_set():
            try:
                with open(self.path, "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                continue
            self.reads += 1
            if data == last_text:
                continue
            try:
                pl = m3u8.parse(data.decode("utf-8"))
            except (m3u8.PlaylistError, UnicodeDecodeError, ValueError) as e:
                self.problems.append(f"read {self.reads}: {e}: {data[:200]!r}")
                continue
            if pl.media_sequence < last_seq:
                self.problems.append(
                    f"media sequence went back from {last_seq} to {pl.media_sequence}")
            last_seq = pl.media_sequence
            last_text = data
            self.versions.append((time.monotonic(), data, pl))


class TempDirTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="hlsb-e2e-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, *names):
        return os.path.join(self.dir, *names)
