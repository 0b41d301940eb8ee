"""A strict reader of the media playlists that hlsbridge writes, for tests.

It refuses anything that is not a complete playlist (a torn read shows up as
an exception), so a test can tell "partial" from "valid" without guessing.
"""
import math
import re


class PlaylistError(ValueError):
    pass


class Segment:
    def __init__(self, uri, duration, discontinuity, pdt):
        self.uri = uri
        self.duration = duration
        self.discontinuity = discontinuity
        self.pdt = pdt

    def __repr__(self):
        return f"Segment({self.uri!r}, {self.duration})"


class Playlist:
    def __init__(self):
        self.media_sequence = 0
        self.target_duration = None
        self.discontinuity_sequence = 0
        self.playlist_type = None
        self.endlist = False
        self.segments = []

    @property
    def uris(self):
        return [s.uri for s in self.segments]

    @property
    def total_duration(self):
        return sum(s.duration for s in self.segments)


_EXTINF = re.compile(r"^#EXTINF:(\d+\.\d{3}),$")
_PDT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$")


def parse(text):
    """Parses `text` (str) or raises PlaylistError naming the first problem."""
    if not text.endswith("\n"):
        raise PlaylistError("not LF-terminated (torn or partial)")
    lines = text[:-1].split("\n")
    if lines[0] != "#EXTM3U":
        raise PlaylistError(f"first line is {lines[0]!r}, not #EXTM3U")
    pl = Playlist()
    pending = None
    disc = False
    pdt = None
    for i, line in enumerate(lines[1:], start=2):
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in line):
            raise PlaylistError(f"line {i}: control character")
        if pl.endlist:
            raise PlaylistError(f"line {i}: content after EXT-X-ENDLIST")
        if line.startswith("#EXT-X-VERSION:"):
            if line != "#EXT-X-VERSION:3":
                raise PlaylistError(f"line {i}: {line}")
        elif line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            pl.media_sequence = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-TARGETDURATION:"):
            pl.target_duration = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-DISCONTINUITY-SEQUENCE:"):
            pl.discontinuity_sequence = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-PLAYLIST-TYPE:"):
            pl.playlist_type = line.split(":", 1)[1]
        elif line == "#EXT-X-DISCONTINUITY":
            disc = True
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            pdt = line.split(":", 1)[1]
            if not _PDT.match(pdt):
                raise PlaylistError(f"line {i}: bad date-time {pdt!r}")
        elif line.startswith("#EXTINF:"):
            m = _EXTINF.match(line)
            if not m:
                raise PlaylistError(f"line {i}: bad EXTINF {line!r}")
            pending = float(m.group(1))
        elif line == "#EXT-X-ENDLIST":
            pl.endlist = True
        elif line.startswith("#"):
            raise PlaylistError(f"line {i}: unexpected tag {line!r}")
        else:
            if pending is None:
                raise PlaylistError(f"line {i}: URI without EXTINF")
            if not line or re.search(r"[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]", line):
                raise PlaylistError(f"line {i}: not a URI reference: {line!r}")
            pl.segments.append(Segment(line, pending, disc, pdt))
            pending, disc, pdt = None, False, None
    if pending is not None:
        raise PlaylistError("EXTINF without URI at the end")
    if pl.target_duration is None:
        raise PlaylistError("no EXT-X-TARGETDURATION")
    for s in pl.segments:
        # RFC 8216 4.3.3.1: EXTINF rounded to the nearest integer <= target.
        if math.floor(s.duration + 0.5) > pl.target_duration:
            raise PlaylistError(f"{s.uri}: EXTINF {s.duration} exceeds target {pl.target_duration}")
    return pl


def read(path):
    with open(path, "rb") as f:
        return parse(f.read().decode("utf-8"))
