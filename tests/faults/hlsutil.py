"""Helpers for tests that run the custom ffmpeg with the hlsbridge muxer.

Python 3 standard library only. Shared by tests/faults (and meant for
tests/e2e): locating the binaries, running ffmpeg in the background with its
stderr collected, a strict parser of HLS media playlists (RFC 8216), checking
segment files with ffprobe, watching a playlist while it is rewritten, and
tmpfs mounts that are always taken down again.

Binaries: $FFMPEG and $FFPROBE, else build/ffmpeg/bin/{ffmpeg,ffprobe} of the
repository that holds this file.
"""

import contextlib
import json
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import List, Optional

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Our temp files: ".playlist-<playlist file name>-XXXXXX.tmp" (include/hlsbridge/hlsbridge.h).
TEMP_FILE_RE = re.compile(r"^\.playlist-.*-[A-Za-z0-9]{6}\.tmp$")


def ffmpeg_path():
    return os.environ.get("FFMPEG") or os.path.join(REPO_ROOT, "build/ffmpeg/bin/ffmpeg")


def ffprobe_path():
    return os.environ.get("FFPROBE") or os.path.join(REPO_ROOT, "build/ffmpeg/bin/ffprobe")


def check_binaries():
    """Returns None when ffmpeg has the hlsbridge muxer and libx264 and ffprobe
    runs, else a message saying what is missing."""
    ff, fp = ffmpeg_path(), ffprobe_path()
    for b in (ff, fp):
        if not os.access(b, os.X_OK):
            return "%s is not an executable (set FFMPEG / FFPROBE)" % b
    out = subprocess.run([ff, "-hide_banner", "-h", "muxer=hlsbridge"],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if "Muxer hlsbridge" not in out.stdout:
        return "%s has no hlsbridge muxer" % ff
    out = subprocess.run([ff, "-hide_banner", "-encoders"], stdin=subprocess.DEVNULL,
                         capture_output=True, text=True)
    if "libx264" not in out.stdout or " aac " not in out.stdout:
        return "%s lacks the libx264 or aac encoder" % ff
    return None


# --------------------------------------------------------------------------
# Running ffmpeg

FPS = 25


def lavfi_input(video_rate="150k", audio_rate="48k", realtime=True):
    """Arguments for the standard test input: testsrc2 320x240 at 25 fps and a
    sine, H.264 (one key frame per second) + AAC at the given bit rates."""
    re_flag = ["-re"] if realtime else []
    return (re_flag + ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=%d" % FPS]
            + re_flag + ["-f", "lavfi", "-i", "sine=frequency=440"]
            + ["-c:v", "libx264", "-preset", "ultrafast", "-g", str(FPS),
               "-b:v", video_rate, "-c:a", "aac", "-b:a", audio_rate])


def hlsbridge_args(playlist, hls_time=1, list_size=4, playlist_type=None, extra=()):
    args = ["-f", "hlsbridge", "-hls_time", str(hls_time), "-hls_list_size", str(list_size)]
    if playlist_type:
        args += ["-hls_playlist_type", playlist_type]
    return args + list(extra) + [playlist]


def ffmpeg_command(input_args, output_args, duration=None):
    cmd = [ffmpeg_path(), "-hide_banner", "-nostdin", "-nostats", "-y"] + list(input_args)
    if duration is not None:
        cmd += ["-t", str(duration)]
    return cmd + list(output_args)


class FFmpeg:
    """An ffmpeg process in the background. Its stderr is collected by a
    thread; use as a context manager so that it never outlives a test."""

    def __init__(self, cmd, env=None):
        self.cmd = list(cmd)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     env=env)
        self._lines = []  # (monotonic time read, text)
        self._lock = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        with self.proc.stderr:
            for raw in self.proc.stderr:
                with self._lock:
                    self._lines.append((time.monotonic(), raw.decode("utf-8", "replace")))
                    self._lock.notify_all()
        with self._lock:
            self._lock.notify_all()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        return False

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def stderr(self):
        with self._lock:
            return "".join(l for _, l in self._lines)

    def stderr_tail(self, lines=25):
        with self._lock:
            return "".join(l for _, l in self._lines[-lines:])

    def wait_for_stderr(self, pattern, timeout):
        """Waits until a stderr line matches the regex; returns the line, or
        None on timeout or when ffmpeg exited without printing it."""
        hit = self.wait_for_stderr_timed(pattern, timeout)
        return hit[1] if hit else None

    def wait_for_stderr_timed(self, pattern, timeout):
        """Like wait_for_stderr, but returns (monotonic time the line was
        read, line), or None."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        with self._lock:
            while True:
                for t, line in self._lines[seen:]:
                    if rx.search(line):
                        return t, line
                seen = len(self._lines)
                left = deadline - time.monotonic()
                if left <= 0 or not self._reader.is_alive():
                    return None
                # Woken by each new line (and at the end of stderr).
                self._lock.wait(min(left, 0.5))

    def signal(self, sig):
        if self.alive():
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout):
        """Waits for the exit; returns the exit status (negative: signal)."""
        rc = self.proc.wait(timeout)
        self._reader.join(5)
        return rc

    def stop(self, timeout=20):
        """Asks ffmpeg to finish cleanly (SIGINT: it writes its trailer);
        returns the exit status."""
        self.signal(signal.SIGINT)
        return self.wait(timeout)

    def kill(self):
        if self.alive():
            self.signal(signal.SIGKILL)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self._reader.join(5)


def run_ffmpeg(cmd, timeout=120):
    """Runs ffmpeg to the end; returns (exit status, stderr text)."""
    out = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, timeout=timeout)
    return out.returncode, out.stderr.decode("utf-8", "replace")


# --------------------------------------------------------------------------
# Media playlists

class PlaylistError(ValueError):
    pass


@dataclass
class Segment:
    uri: str
    duration: float
    sequence: int
    discontinuity: bool = False


@dataclass
class MediaPlaylist:
    text: str
    version: Optional[int] = None
    target_duration: Optional[int] = None
    media_sequence: int = 0
    discontinuity_sequence: int = 0
    playlist_type: Optional[str] = None
    endlist: bool = False
    segments: List[Segment] = field(default_factory=list)

    def uris(self):
        return [s.uri for s in self.segments]


_EXTINF_RE = re.compile(r"^#EXTINF:([0-9]+(?:\.[0-9]+)?),(.*)$")
_INT_RE = re.compile(r"^[0-9]{1,20}$")


def parse_media_playlist(data):
    """Parses a media playlist strictly; raises PlaylistError naming the first
    problem. `data` is bytes or str. Checks: UTF-8, #EXTM3U first, every line
    LF-terminated (so a truncated last line is caught), no CR or other control
    characters, the required EXT-X-TARGETDURATION and each EXTINF rounded
    within it, every EXTINF followed by exactly one URI line, nothing after
    EXT-X-ENDLIST."""
    if isinstance(data, bytes):
        if not data:
            raise PlaylistError("empty file (0 bytes)")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise PlaylistError("not UTF-8: %s" % e)
    else:
        text = data
    if not text:
        raise PlaylistError("empty file (0 bytes)")
    if not text.endswith("\n"):
        raise PlaylistError("last line is not LF-terminated (truncated?): %r" % text[-60:])
    for ch in text:
        if (ord(ch) < 0x20 and ch != "\n") or ord(ch) == 0x7F:
            raise PlaylistError("control character %r" % ch)
    lines = text[:-1].split("\n")
    if lines[0] != "#EXTM3U":
        raise PlaylistError("first line is %r, not #EXTM3U" % lines[0])

    pl = MediaPlaylist(text=text)
    pending = None  # (duration, discontinuity) waiting for its URI
    discontinuity = False
    for n, line in enumerate(lines[1:], start=2):
        where = "line %d %r" % (n, line)
        if pl.endlist and line:
            raise PlaylistError("%s after #EXT-X-ENDLIST" % where)
        if line == "":
            continue
        if line.startswith("#EXTINF:"):
            m = _EXTINF_RE.match(line)
            if not m:
                raise PlaylistError("bad EXTINF: " + where)
            if pending is not None:
                raise PlaylistError("EXTINF without URI before " + where)
            pending = float(m.group(1))
        elif line.startswith("#EXT-X-TARGETDURATION:"):
            v = line.split(":", 1)[1]
            if not _INT_RE.match(v):
                raise PlaylistError("bad target duration: " + where)
            pl.target_duration = int(v)
        elif line.startswith("#EXT-X-VERSION:"):
            pl.version = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            v = line.split(":", 1)[1]
            if not _INT_RE.match(v) or pl.segments:
                raise PlaylistError("bad or misplaced media sequence: " + where)
            pl.media_sequence = int(v)
        elif line.startswith("#EXT-X-DISCONTINUITY-SEQUENCE:"):
            v = line.split(":", 1)[1]
            if not _INT_RE.match(v) or pl.segments:
                raise PlaylistError("bad or misplaced discontinuity sequence: " + where)
            pl.discontinuity_sequence = int(v)
        elif line.startswith("#EXT-X-PLAYLIST-TYPE:"):
            pl.playlist_type = line.split(":", 1)[1]
            if pl.playlist_type not in ("EVENT", "VOD"):
                raise PlaylistError("bad playlist type: " + where)
        elif line == "#EXT-X-DISCONTINUITY":
            discontinuity = True
        elif line == "#EXT-X-ENDLIST":
            if pending is not None:
                raise PlaylistError("EXTINF without URI before " + where)
            pl.endlist = True
        elif line.startswith("#"):
            continue  # other tags (PDT, ...) and comments
        else:
            if pending is None:
                raise PlaylistError("URI without EXTINF: " + where)
            pl.segments.append(Segment(uri=line, duration=pending,
                                       sequence=pl.media_sequence + len(pl.segments),
                                       discontinuity=discontinuity))
            pending = None
            discontinuity = False
    if pending is not None:
        raise PlaylistError("last EXTINF has no URI")
    if pl.target_duration is None:
        raise PlaylistError("no #EXT-X-TARGETDURATION")
    for s in pl.segments:
        if int(s.duration + 0.5) > pl.target_duration:
            raise PlaylistError("EXTINF %.3f of %s exceeds target duration %d"
                                % (s.duration, s.uri, pl.target_duration))
    return pl


def read_playlist(path):
    """Reads and parses a playlist file; None when it does not exist."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    return parse_media_playlist(data)


def segment_path(playlist_path, uri):
    """File of a relative segment URI (the tests use plain names, no
    percent-encoding)."""
    return os.path.normpath(os.path.join(os.path.dirname(playlist_path), uri))


def temp_files(directory):
    """Names of our playlist temp files in a directory."""
    try:
        return sorted(n for n in os.listdir(directory) if TEMP_FILE_RE.match(n))
    except FileNotFoundError:
        return []


# --------------------------------------------------------------------------
# Segments

def probe_segment(path):
    """Decodes every frame of a segment file with ffprobe. Returns
    {"video": frames, "audio": frames}; raises AssertionError with ffprobe's
    message when it reports any error."""
    out = subprocess.run(
        [ffprobe_path(), "-v", "error", "-count_frames", "-show_entries",
         "stream=codec_type,nb_read_frames", "-of", "json", path],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    if out.returncode != 0 or out.stderr.strip():
        raise AssertionError("ffprobe %s: exit %d: %s" % (path, out.returncode, out.stderr.strip()))
    frames = {}
    for st in json.loads(out.stdout).get("streams", []):
        frames[st["codec_type"]] = frames.get(st["codec_type"], 0) + int(st.get("nb_read_frames") or 0)
    return frames


def count_frames(path):
    """Frames ffprobe decodes from a file that may be partial or broken,
    errors ignored: {"video": n, "audio": n} ({} when nothing decodes)."""
    out = subprocess.run(
        [ffprobe_path(), "-v", "quiet", "-count_frames", "-show_entries",
         "stream=codec_type,nb_read_frames", "-of", "json", path],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    frames = {}
    try:
        streams = json.loads(out.stdout or "{}").get("streams", [])
    except ValueError:
        return frames
    for st in streams:
        frames[st["codec_type"]] = frames.get(st["codec_type"], 0) + int(st.get("nb_read_frames") or 0)
    return frames


def check_segment_complete(path, duration, fps=FPS):
    """Asserts that a listed segment is whole: it exists, is a whole number of
    188-byte TS packets, decodes without error, and holds as many video frames
    as its EXTINF says (within one frame) plus some audio (when it lasts
    0.5 s or more)."""
    if not os.path.isfile(path):
        raise AssertionError("listed segment %s does not exist" % path)
    size = os.path.getsize(path)
    if size == 0 or size % 188:
        raise AssertionError("segment %s: %d bytes, not a whole number of TS packets" % (path, size))
    frames = probe_segment(path)
    want = duration * fps
    if abs(frames.get("video", 0) - want) > 1:
        raise AssertionError("segment %s: %d video frames decoded, EXTINF %.3f s means %.0f"
                             % (path, frames.get("video", 0), duration, want))
    # A final segment can be a frame or two long, with no audio packet in it.
    if duration >= 0.5 and frames.get("audio", 0) <= 0:
        raise AssertionError("segment %s: no audio frame decoded" % path)
    return frames


def check_listed_segments(playlist_path, pl):
    for s in pl.segments:
        check_segment_complete(segment_path(playlist_path, s.uri), s.duration)


# --------------------------------------------------------------------------
# Watching a playlist while it is rewritten

class PlaylistWatcher:
    """Reads a playlist every `interval` seconds in a thread. Every read must
    parse (a missing file is allowed only before the first one is seen).
    Keeps each distinct content seen, in order, and the problems found."""

    def __init__(self, path, interval=0.01):
        self.path = path
        self.interval = interval
        self.reads = 0
        self.versions = []   # (monotonic time, bytes, MediaPlaylist), distinct
        self.problems = []   # (monotonic time, message)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def stop(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _run(self):
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(self.interval)

    def poll(self):
        now = time.monotonic()
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            with self._lock:
                if self.versions:
                    self.problems.append((now, "playlist disappeared"))
            return
        except OSError as e:
            with self._lock:
                self.problems.append((now, "read: %s" % e))
            return
        with self._lock:
            self.reads += 1
            if self.versions and self.versions[-1][1] == data:
                return
        try:
            pl = parse_media_playlist(data)
        except PlaylistError as e:
            with self._lock:
                self.problems.append((now, "%s; content %r" % (e, data[-200:])))
            return
        with self._lock:
            self.versions.append((now, data, pl))

    def latest(self):
        with self._lock:
            return self.versions[-1] if self.versions else None

    def versions_since(self, t):
        with self._lock:
            return [v for v in self.versions if v[0] >= t]

    def wait_for(self, predicate, timeout):
        """Waits until predicate(MediaPlaylist) holds for the newest version;
        returns that version's playlist, or None on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = self.latest()
            if v and predicate(v[2]):
                return v[2]
            time.sleep(0.05)
        return None


# --------------------------------------------------------------------------
# Mounts (root only)

def _mount_points():
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            # Field 5 is the mount point, with octal escapes for spaces etc.
            mp = line.split()[4]
            points.append(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), mp))
    return points


def is_mount_point(path):
    return os.path.realpath(path) in _mount_points()


def mounts_under(path):
    root = os.path.realpath(path)
    return [p for p in _mount_points() if p == root or p.startswith(root + "/")]


def _run(cmd):
    out = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if out.returncode != 0:
        raise OSError("%s: exit %d: %s" % (" ".join(cmd), out.returncode, out.stderr.strip()))


def umount(path):
    """Unmounts path; lazily (umount -l) when a plain unmount fails."""
    try:
        _run(["umount", path])
    except OSError:
        _run(["umount", "-l", path])


def umount_all_under(path):
    """Unmounts everything mounted at or below path, deepest first."""
    for mp in sorted(mounts_under(path), key=len, reverse=True):
        umount(mp)


def remount(path, readonly, attempts=50):
    """Remounts a mount point read-only or read-write. A read-only remount
    fails with EBUSY while a file on it is open for writing: retried for up to
    `attempts` x 20 ms (the playlist temp file is open only briefly)."""
    opt = "remount,ro" if readonly else "remount,rw"
    for i in range(attempts):
        try:
            _run(["mount", "-o", opt, path])
            return
        except OSError:
            if i == attempts - 1:
                raise
            time.sleep(0.02)


@contextlib.contextmanager
def tmpfs(path, size=None, readonly=False):
    """Mounts a fresh tmpfs at path (created if missing) for the duration of
    the block; `size` in bytes (rounded up to pages by the kernel). Always
    unmounted afterwards, lazily if need be, even when the block fails."""
    os.makedirs(path, exist_ok=True)
    opts = ["mode=0755"]
    if size is not None:
        opts.append("size=%d" % size)
    if readonly:
        opts.append("ro")
    _run(["mount", "-t", "tmpfs", "-o", ",".join(opts), "tmpfs", path])
    try:
        yield path
    finally:
        umount_all_under(path)


def fs_free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize
