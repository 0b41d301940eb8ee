"""The one Python helper module of the hlsbridge tests (standard library only).

What it holds:
- strict readers of HLS playlists (RFC 8216): media playlists as the muxer
  writes them, and multivariant playlists; both refuse anything incomplete
  or unexpected, so a torn read shows up as a PlaylistError;
- the custom ffmpeg and ffprobe ($FFMPEG and $FFPROBE, else
  build/ffmpeg/bin/{ffmpeg,ffprobe} of this repository), run to the end or in
  the background, and the standard test input;
- checks of segment files with ffprobe, and a reader of fMP4 (ISO BMFF)
  init and media segments at box level;
- a watcher that reads a playlist over and over while ffmpeg rewrites it;
- tmpfs mounts that are always taken down again (root only);
- a unittest base class with a scratch directory.

Test files put this directory on sys.path themselves:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "..", "lib"))
"""

import contextlib
import json
import math
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
from dataclasses import dataclass, field
from typing import Dict, List, Optional

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Our temp files: ".playlist-<playlist file name>-XXXXXX.tmp" (include/hlsbridge/hlsbridge.h).
TEMP_FILE_RE = re.compile(r"^\.playlist-.*-[A-Za-z0-9]{6}\.tmp$")

FPS = 25


# --------------------------------------------------------------------------
# Playlists: common pieces

class PlaylistError(ValueError):
    """A playlist that is incomplete, damaged or not what the reader expects."""


MEDIA = "media"
MULTIVARIANT = "multivariant"

# Tags that only a media playlist or only a multivariant playlist may hold.
_MEDIA_ONLY = ("#EXTINF:", "#EXT-X-TARGETDURATION:", "#EXT-X-MEDIA-SEQUENCE:",
               "#EXT-X-DISCONTINUITY-SEQUENCE:", "#EXT-X-PLAYLIST-TYPE:",
               "#EXT-X-MAP:", "#EXT-X-DISCONTINUITY", "#EXT-X-PROGRAM-DATE-TIME:",
               "#EXT-X-ENDLIST")
_MULTIVARIANT_ONLY = ("#EXT-X-STREAM-INF:", "#EXT-X-MEDIA:")

_URI_CHARS = re.compile(r"^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]+$")
_AUTHORITY = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://)([A-Za-z0-9\-._~!$&'()*+,;=:@%\[\]]*)")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_INT_RE = re.compile(r"^(0|[1-9][0-9]{0,19})$")  # as written: no leading zero
_FLOAT_RE = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_RESOLUTION_RE = re.compile(r"^[0-9]+x[0-9]+$")
_HEX128_RE = re.compile(r"^0[xX][0-9A-Fa-f]{32}$")


def _lines(data):
    """Decodes `data` (bytes or str), checks what every playlist must be
    (UTF-8, LF-terminated, no control characters, #EXTM3U first) and returns
    (text, lines after the first)."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise PlaylistError("not UTF-8: %s" % e)
    else:
        text = data
    if not text:
        raise PlaylistError("empty file (0 bytes)")
    if not text.endswith("\n"):
        raise PlaylistError("last line is not LF-terminated (torn or partial): %r"
                            % text[-60:])
    for ch in text:
        if (ord(ch) < 0x20 and ch != "\n") or ord(ch) == 0x7F:
            raise PlaylistError("control character %r" % ch)
    lines = text[:-1].split("\n")
    if lines[0] != "#EXTM3U":
        raise PlaylistError("first line is %r, not #EXTM3U" % lines[0])
    return text, lines[1:]


def playlist_kind(data):
    """Tells which kind of playlist `data` (bytes or str) is: MEDIA or
    MULTIVARIANT. Raises PlaylistError when it is not a playlist, holds tags
    of both kinds, or none that tell."""
    _, lines = _lines(data)
    media = any(line.startswith(_MEDIA_ONLY) for line in lines)
    multivariant = any(line.startswith(_MULTIVARIANT_ONLY) for line in lines)
    if media and multivariant:
        raise PlaylistError("holds both media and multivariant playlist tags")
    if media:
        return MEDIA
    if multivariant:
        return MULTIVARIANT
    raise PlaylistError("no tag tells a media from a multivariant playlist")


def parse_playlist(data):
    """Parses a playlist of either kind (see playlist_kind)."""
    if playlist_kind(data) == MEDIA:
        return parse_media_playlist(data)
    return parse_multivariant_playlist(data)


def check_uri(uri, where):
    """Raises PlaylistError unless `uri` is a URI reference as the muxer
    writes it: RFC 3986 characters only, '%' always followed by two hex
    digits, '[' and ']' only in the authority of an absolute URI."""
    rest = uri
    m = _AUTHORITY.match(uri)
    if m:
        rest = uri[m.end():]
    if not uri or (rest and not _URI_CHARS.match(rest)) or _BAD_PERCENT.search(uri):
        raise PlaylistError("not a URI reference: " + where)


def parse_attribute_list(text):
    """Splits an attribute list (RFC 8216 4.2) into {name: value}, in order.
    A quoted-string value keeps its quotes (see unquote). Raises PlaylistError
    on a malformed list or a repeated name."""
    attrs = {}
    pos = 0
    item = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^",]*)')
    while True:
        m = item.match(text, pos)
        if not m or not m.group(2):
            raise PlaylistError("bad attribute list at %r" % text[pos:])
        if m.group(1) in attrs:
            raise PlaylistError("attribute %s repeated" % m.group(1))
        attrs[m.group(1)] = m.group(2)
        pos = m.end()
        if pos == len(text):
            return attrs
        if text[pos] != ",":
            raise PlaylistError("bad attribute list at %r" % text[pos:])
        pos += 1


def unquote(value):
    """The content of a quoted-string attribute value, or None when `value`
    is not quoted."""
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1]
    return None


def _check_attributes(attrs, spec, required, where):
    """Checks attributes against `spec` ({name: kind}, kind one of "int",
    "float", "resolution", "string", or a tuple of allowed enumerated
    values, or "string-or-none": a quoted string or NONE). Returns
    {name: value} with quoted strings unquoted and NONE as None."""
    for name in required:
        if name not in attrs:
            raise PlaylistError("missing %s: %s" % (name, where))
    out = {}
    for name, value in attrs.items():
        kind = spec.get(name)
        if kind is None:
            raise PlaylistError("unexpected attribute %s: %s" % (name, where))
        if kind == "string-or-none" and value == "NONE":
            ok, value = True, None
        elif kind in ("string", "string-or-none"):
            ok = unquote(value) is not None
            value = unquote(value)
        elif kind == "int":
            ok = bool(_INT_RE.match(value))
        elif kind == "float":
            ok = bool(_FLOAT_RE.match(value))
        elif kind == "resolution":
            ok = bool(_RESOLUTION_RE.match(value))
        elif kind == "hex128":
            ok = bool(_HEX128_RE.match(value))
        else:
            ok = value in kind
        if not ok:
            raise PlaylistError("bad %s value %r: %s" % (name, value, where))
        out[name] = value
    return out


# --------------------------------------------------------------------------
# Media playlists

@dataclass
class Segment:
    """One media segment: its URI line, EXTINF duration, media sequence
    number, whether EXT-X-DISCONTINUITY precedes it, its
    EXT-X-PROGRAM-DATE-TIME, the URI of the EXT-X-MAP that applies, and the
    EXT-X-KEY that applies: None, or (URI, IV) of its AES-128 key."""
    uri: str
    duration: float
    sequence: int
    discontinuity: bool = False
    pdt: Optional[str] = None
    map_uri: Optional[str] = None
    key: Optional[tuple] = None


@dataclass
class MediaPlaylist:
    """A parsed media playlist; `text` is what was read."""
    text: str
    version: Optional[int] = None
    target_duration: Optional[int] = None
    media_sequence: int = 0
    discontinuity_sequence: int = 0
    playlist_type: Optional[str] = None
    independent_segments: bool = False
    endlist: bool = False
    segments: List[Segment] = field(default_factory=list)

    def uris(self):
        """The segment URIs, in order."""
        return [s.uri for s in self.segments]

    def total_duration(self):
        """The sum of the segments' EXTINF durations."""
        return sum(s.duration for s in self.segments)


_EXTINF_RE = re.compile(r"^#EXTINF:([0-9]+\.[0-9]{3}),$")
_PDT_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$")

# Playlist tags of a media playlist: at most once each, before any segment.
_MEDIA_HEADER = {
    "#EXT-X-VERSION:": "version",
    "#EXT-X-TARGETDURATION:": "target_duration",
    "#EXT-X-MEDIA-SEQUENCE:": "media_sequence",
    "#EXT-X-DISCONTINUITY-SEQUENCE:": "discontinuity_sequence",
    "#EXT-X-PLAYLIST-TYPE:": "playlist_type",
}
_MAP_SPEC = {"URI": "string"}
_KEY_SPEC = {"METHOD": ("NONE", "AES-128"), "URI": "string", "IV": "hex128"}


class _MediaReader:
    """The state of one parse_media_playlist call: the playlist so far and
    the tags waiting for the next segment's URI line."""

    def __init__(self, text):
        self.pl = MediaPlaylist(text=text)
        self.seen = set()        # header tags seen
        self.in_body = False     # a segment tag was seen
        self.extinf = None       # duration waiting for its URI
        self.discontinuity = False
        self.pdt = None
        self.map_uri = None
        self.saw_map = False
        self.key = None          # (URI, IV) of the AES-128 key in force
        self.map_keys = {}       # map URI -> the key in force where it appeared

    def pending(self):
        return self.extinf is not None or self.discontinuity or self.pdt is not None

    def header(self, line, where):
        """Handles a playlist tag (header) line; False when it is not one."""
        if line == "#EXT-X-INDEPENDENT-SEGMENTS":
            key, attr, value = line, "independent_segments", True
        else:
            key = next((k for k in _MEDIA_HEADER if line.startswith(k)), None)
            if key is None:
                return False
            attr, value = _MEDIA_HEADER[key], line[len(key):]
            if attr == "playlist_type":
                if value not in ("EVENT", "VOD"):
                    raise PlaylistError("bad playlist type: " + where)
            elif not _INT_RE.match(value):
                raise PlaylistError("bad value: " + where)
            else:
                value = int(value)
        if key in self.seen:
            raise PlaylistError("repeated tag: " + where)
        if self.in_body:
            raise PlaylistError("playlist tag after the first segment tag: " + where)
        self.seen.add(key)
        setattr(self.pl, attr, value)
        return True

    def segment_tag(self, line, where):
        """Handles a media segment tag; False when the line is not one."""
        if line.startswith("#EXTINF:"):
            m = _EXTINF_RE.match(line)
            if not m:
                raise PlaylistError("bad EXTINF (want N.NNN and no title): " + where)
            self.extinf = float(m.group(1))
        elif line == "#EXT-X-DISCONTINUITY":
            self.discontinuity = True
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            self.pdt = line.split(":", 1)[1]
            if not _PDT_RE.match(self.pdt):
                raise PlaylistError("bad date-time: " + where)
        elif line.startswith("#EXT-X-MAP:"):
            attrs = _check_attributes(parse_attribute_list(line[len("#EXT-X-MAP:"):]),
                                      _MAP_SPEC, ("URI",), where)
            check_uri(attrs["URI"], where)
            self.map_uri = attrs["URI"]
            self.saw_map = True
            self.map_keys[self.map_uri] = self.key
            return True  # applies to the segments after it; not itself one
        elif line.startswith("#EXT-X-KEY:"):
            attrs = _check_attributes(parse_attribute_list(line[len("#EXT-X-KEY:"):]),
                                      _KEY_SPEC, ("METHOD",), where)
            if attrs["METHOD"] == "NONE":
                if len(attrs) > 1:
                    raise PlaylistError("METHOD=NONE with other attributes: " + where)
                self.key = None
            else:
                if "URI" not in attrs or not attrs["URI"]:
                    raise PlaylistError("AES-128 key without URI: " + where)
                self.key = (attrs["URI"], attrs.get("IV"))
            return True
        else:
            return False
        self.in_body = True
        return True

    def uri(self, line, where):
        """Handles a URI line: the segment the pending tags describe."""
        if self.extinf is None:
            raise PlaylistError("URI without EXTINF: " + where)
        check_uri(line, where)
        pl = self.pl
        pl.segments.append(Segment(uri=line, duration=self.extinf,
                                   sequence=pl.media_sequence + len(pl.segments),
                                   discontinuity=self.discontinuity, pdt=self.pdt,
                                   map_uri=self.map_uri, key=self.key))
        self.extinf, self.discontinuity, self.pdt = None, False, None

    def line(self, line, where):
        """Handles one line after #EXTM3U."""
        if self.pl.endlist:
            raise PlaylistError("%s after #EXT-X-ENDLIST" % where)
        if line == "":
            raise PlaylistError("blank " + where)
        if self.extinf is not None and line.startswith("#"):
            raise PlaylistError("EXTINF without URI before " + where)
        if line == "#EXT-X-ENDLIST":
            if self.pending():
                raise PlaylistError("segment tags without URI before " + where)
            self.pl.endlist = True
        elif self.header(line, where) or self.segment_tag(line, where):
            pass
        elif line.startswith("#"):
            raise PlaylistError("unexpected tag or comment: " + where)
        else:
            self.uri(line, where)

    def finish(self):
        """Checks the whole and returns the MediaPlaylist."""
        pl = self.pl
        if self.pending():
            raise PlaylistError("segment tags without URI at the end")
        if pl.target_duration is None:
            raise PlaylistError("no #EXT-X-TARGETDURATION")
        check_media_version(pl.version, self.saw_map)
        if self.saw_map and pl.segments and pl.segments[0].map_uri is None:
            raise PlaylistError("EXT-X-MAP after the first segment, which has none")
        # hlsbridge writes init sections in the clear: no EXT-X-MAP under a key.
        for uri, key in self.map_keys.items():
            if key is not None:
                raise PlaylistError("EXT-X-MAP %s appears while key %s is in force"
                                    % (uri, key[0]))
        for s in pl.segments:
            # RFC 8216 4.3.3.1: EXTINF rounded to the nearest integer <= target.
            if math.floor(s.duration + 0.5) > pl.target_duration:
                raise PlaylistError("EXTINF %.3f of %s exceeds target duration %d"
                                    % (s.duration, s.uri, pl.target_duration))
        return pl


def check_media_version(version, has_map):
    """Raises PlaylistError unless a media playlist's EXT-X-VERSION is the one
    its tags need: 3 (decimal EXTINF), or 6 or 7 when it has EXT-X-MAP
    (RFC 8216 7: EXT-X-MAP without I-FRAMES-ONLY needs 6)."""
    allowed = (6, 7) if has_map else (3,)
    if version is None:
        raise PlaylistError("no EXT-X-VERSION")
    if version not in allowed:
        raise PlaylistError("EXT-X-VERSION is %s; with%s EXT-X-MAP it must be %s"
                            % (version, "" if has_map else "out",
                               " or ".join(map(str, allowed))))


def parse_media_playlist(data):
    """Parses a media playlist (bytes or str) strictly, or raises
    PlaylistError naming the first problem.

    Refused: not UTF-8, not LF-terminated (a truncated last line), a control
    character (CR included), #EXTM3U not first, a blank line, a comment, a
    tag it does not know, a playlist tag repeated or after a segment tag, no
    EXT-X-TARGETDURATION, an EXTINF without exactly three decimals, with a
    title or not followed at once by its URI line, a URI line that is not a URI
    reference, a segment tag left without its URI, anything after
    EXT-X-ENDLIST, an EXTINF that rounds above the target duration, and an
    EXT-X-VERSION other than the one the tags need (check_media_version).
    Known tags: EXT-X-VERSION, -TARGETDURATION, -MEDIA-SEQUENCE,
    -DISCONTINUITY-SEQUENCE, -PLAYLIST-TYPE (EVENT, VOD),
    -INDEPENDENT-SEGMENTS, -MAP (URI only), -KEY (METHOD NONE or AES-128,
    URI, IV; an init section must not be under a key), -DISCONTINUITY,
    -PROGRAM-DATE-TIME (milliseconds and a zone), EXTINF, EXT-X-ENDLIST."""
    text, lines = _lines(data)
    reader = _MediaReader(text)
    for n, line in enumerate(lines, start=2):
        reader.line(line, "line %d %r" % (n, line))
    return reader.finish()


def read_playlist(path, missing_ok=False):
    """Reads and parses a media playlist file. A missing file raises
    FileNotFoundError, or gives None when `missing_ok`."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        if missing_ok:
            return None
        raise
    return parse_media_playlist(data)


# --------------------------------------------------------------------------
# Multivariant playlists

@dataclass
class Variant:
    """An EXT-X-STREAM-INF and its URI; `attributes` has quoted strings
    unquoted (and CLOSED-CAPTIONS=NONE as None)."""
    uri: str
    bandwidth: int
    attributes: Dict[str, Optional[str]]


@dataclass
class Rendition:
    """An EXT-X-MEDIA; `attributes` has quoted strings unquoted."""
    type: str
    group_id: str
    name: str
    uri: Optional[str]
    attributes: Dict[str, str]


@dataclass
class MultivariantPlaylist:
    """A parsed multivariant playlist; `text` is what was read."""
    text: str
    version: Optional[int] = None
    independent_segments: bool = False
    variants: List[Variant] = field(default_factory=list)
    renditions: List[Rendition] = field(default_factory=list)

    def uris(self):
        """The variant URIs, in order."""
        return [v.uri for v in self.variants]


_YES_NO = ("YES", "NO")
_STREAM_INF_SPEC = {
    "BANDWIDTH": "int", "AVERAGE-BANDWIDTH": "int", "SCORE": "float",
    "CODECS": "string", "SUPPLEMENTAL-CODECS": "string", "RESOLUTION": "resolution",
    "FRAME-RATE": "float", "HDCP-LEVEL": ("TYPE-0", "TYPE-1", "NONE"),
    "VIDEO-RANGE": ("SDR", "HLG", "PQ"), "STABLE-VARIANT-ID": "string",
    "AUDIO": "string", "VIDEO": "string", "SUBTITLES": "string",
    "CLOSED-CAPTIONS": "string-or-none", "PATHWAY-ID": "string",
}
_MEDIA_SPEC = {
    "TYPE": ("AUDIO", "VIDEO", "SUBTITLES", "CLOSED-CAPTIONS"), "URI": "string",
    "GROUP-ID": "string", "LANGUAGE": "string", "ASSOC-LANGUAGE": "string",
    "NAME": "string", "STABLE-RENDITION-ID": "string", "DEFAULT": _YES_NO,
    "AUTOSELECT": _YES_NO, "FORCED": _YES_NO, "INSTREAM-ID": "string",
    "BIT-DEPTH": "int", "SAMPLE-RATE": "int", "CHARACTERISTICS": "string",
    "CHANNELS": "string",
}
# STREAM-INF attribute naming a group -> the EXT-X-MEDIA TYPE of that group.
_GROUP_TYPES = {"AUDIO": "AUDIO", "VIDEO": "VIDEO", "SUBTITLES": "SUBTITLES",
                "CLOSED-CAPTIONS": "CLOSED-CAPTIONS"}


def _rendition(value, where):
    """An EXT-X-MEDIA tag's Rendition, its attributes checked."""
    a = _check_attributes(parse_attribute_list(value), _MEDIA_SPEC,
                          ("TYPE", "GROUP-ID", "NAME"), where)
    kind = a["TYPE"]
    if kind == "CLOSED-CAPTIONS":
        if "URI" in a or "INSTREAM-ID" not in a:
            raise PlaylistError("closed captions need INSTREAM-ID and no URI: " + where)
    elif "INSTREAM-ID" in a:
        raise PlaylistError("INSTREAM-ID outside closed captions: " + where)
    if kind == "SUBTITLES" and "URI" not in a:
        raise PlaylistError("subtitles without URI: " + where)
    if a.get("DEFAULT") == "YES" and a.get("AUTOSELECT", "YES") != "YES":
        raise PlaylistError("DEFAULT=YES needs AUTOSELECT=YES: " + where)
    if "URI" in a:
        check_uri(a["URI"], where)
    return Rendition(type=kind, group_id=a["GROUP-ID"], name=a["NAME"],
                     uri=a.get("URI"), attributes=a)


class _MultivariantReader:
    """The state of one parse_multivariant_playlist call."""

    def __init__(self, text):
        self.pl = MultivariantPlaylist(text=text)
        self.seen = set()
        self.stream_inf = None   # (attributes, where) waiting for its URI

    def once(self, key, where):
        if key in self.seen:
            raise PlaylistError("repeated tag: " + where)
        self.seen.add(key)

    def line(self, line, where):
        """Handles one line after #EXTM3U."""
        if line == "":
            raise PlaylistError("blank " + where)
        if self.stream_inf is not None and line.startswith("#"):
            raise PlaylistError("EXT-X-STREAM-INF without URI before " + where)
        if line.startswith("#EXT-X-VERSION:"):
            self.once("version", where)
            value = line.split(":", 1)[1]
            if not _INT_RE.match(value):
                raise PlaylistError("bad value: " + where)
            self.pl.version = int(value)
        elif line == "#EXT-X-INDEPENDENT-SEGMENTS":
            self.once("independent", where)
            self.pl.independent_segments = True
        elif line.startswith("#EXT-X-MEDIA:"):
            self.pl.renditions.append(_rendition(line[len("#EXT-X-MEDIA:"):], where))
        elif line.startswith("#EXT-X-STREAM-INF:"):
            attrs = _check_attributes(parse_attribute_list(line[len("#EXT-X-STREAM-INF:"):]),
                                      _STREAM_INF_SPEC, ("BANDWIDTH",), where)
            self.stream_inf = (attrs, where)
        elif line.startswith("#"):
            raise PlaylistError("unexpected tag or comment: " + where)
        elif self.stream_inf is None:
            raise PlaylistError("URI without EXT-X-STREAM-INF: " + where)
        else:
            check_uri(line, where)
            attrs = self.stream_inf[0]
            self.pl.variants.append(Variant(uri=line, bandwidth=int(attrs["BANDWIDTH"]),
                                            attributes=attrs))
            self.stream_inf = None

    def finish(self):
        """Checks the whole and returns the MultivariantPlaylist."""
        pl = self.pl
        if self.stream_inf is not None:
            raise PlaylistError("EXT-X-STREAM-INF without URI at the end")
        if not pl.variants:
            raise PlaylistError("no EXT-X-STREAM-INF")
        check_multivariant_version(pl)
        check_rendition_groups(pl.renditions)
        groups = {(r.type, r.group_id) for r in pl.renditions}
        for v in pl.variants:
            for attr, kind in _GROUP_TYPES.items():
                group = v.attributes.get(attr)
                if group is not None and (kind, group) not in groups:
                    raise PlaylistError("%s: %s=%r names no EXT-X-MEDIA group of TYPE=%s"
                                        % (v.uri, attr, group, kind))
        return pl


def check_rendition_groups(renditions):
    """Raises PlaylistError when a NAME is repeated within an EXT-X-MEDIA
    group, or a group has more than one DEFAULT=YES (RFC 8216 4.3.4.1.1)."""
    names, defaults = set(), set()
    for r in renditions:
        group = (r.type, r.group_id)
        if group + (r.name,) in names:
            raise PlaylistError("rendition %r repeated in group %r" % (r.name, r.group_id))
        names.add(group + (r.name,))
        if r.attributes.get("DEFAULT") == "YES":
            if group in defaults:
                raise PlaylistError("two DEFAULT=YES renditions in group %r" % r.group_id)
            defaults.add(group)


def check_multivariant_version(pl):
    """Raises PlaylistError unless a multivariant playlist's EXT-X-VERSION,
    when present, is one our media playlists use (3, 6 or 7), and 7 when an
    INSTREAM-ID names a SERVICE (RFC 8216 7)."""
    service = any(r.attributes.get("INSTREAM-ID", "").startswith("SERVICE")
                  for r in pl.renditions)
    allowed = (7,) if service else (3, 6, 7)
    if service and pl.version is None:
        raise PlaylistError("INSTREAM-ID SERVICE needs EXT-X-VERSION:7")
    if pl.version is not None and pl.version not in allowed:
        raise PlaylistError("EXT-X-VERSION is %d; it must be %s"
                            % (pl.version, " or ".join(map(str, allowed))))


def parse_multivariant_playlist(data):
    """Parses a multivariant playlist (bytes or str) strictly, or raises
    PlaylistError naming the first problem.

    Known tags: EXT-X-VERSION, EXT-X-INDEPENDENT-SEGMENTS, EXT-X-MEDIA and
    EXT-X-STREAM-INF (each followed by its URI line); their attributes are
    checked against RFC 8216 4.3.4, and every group a variant names must be
    an EXT-X-MEDIA group of the matching TYPE. Refused as in
    parse_media_playlist: bad encoding, truncation, control characters,
    blank lines, comments, unknown tags or attributes, repeated playlist
    tags, and a playlist with no variant."""
    text, lines = _lines(data)
    reader = _MultivariantReader(text)
    for n, line in enumerate(lines, start=2):
        reader.line(line, "line %d %r" % (n, line))
    return reader.finish()


def read_multivariant_playlist(path):
    """Reads and parses a multivariant playlist file."""
    with open(path, "rb") as f:
        return parse_multivariant_playlist(f.read())


def segment_path(playlist_path, uri):
    """File of a relative segment URI, percent-encoding decoded."""
    return os.path.normpath(os.path.join(os.path.dirname(playlist_path),
                                         urllib.parse.unquote(uri)))


def temp_files(directory):
    """Names of our playlist temp files in a directory."""
    try:
        return sorted(n for n in os.listdir(directory) if TEMP_FILE_RE.match(n))
    except FileNotFoundError:
        return []


# --------------------------------------------------------------------------
# The binaries and the test input

def ffmpeg_path():
    """The custom ffmpeg: $FFMPEG, else build/ffmpeg/bin/ffmpeg of the repository."""
    return os.path.abspath(os.environ.get("FFMPEG")
                           or os.path.join(REPO_ROOT, "build/ffmpeg/bin/ffmpeg"))


def ffprobe_path():
    """The matching ffprobe: $FFPROBE, else build/ffmpeg/bin/ffprobe of the repository."""
    return os.path.abspath(os.environ.get("FFPROBE")
                           or os.path.join(REPO_ROOT, "build/ffmpeg/bin/ffprobe"))


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


def lavfi_inputs(video=True, audio=True, realtime=False, frame_rate=FPS, sample_rate=48000):
    """Input arguments of the standard test input: a testsrc2 pattern
    (320x240 at `frame_rate`) and a 440 Hz sine (at `sample_rate`, or the
    filter's default when None), each read in real time (-re) when asked."""
    re_flag = ["-re"] if realtime else []
    sine = "sine=frequency=440"
    if sample_rate is not None:
        sine += ":sample_rate=%d" % sample_rate
    args = []
    if video:
        args += re_flag + ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=%s" % frame_rate]
    if audio:
        args += re_flag + ["-f", "lavfi", "-i", sine]
    return args


def h264_aac(video=True, audio=True, preset="veryfast", gop=2 * FPS, video_bitrate=None,
             audio_bitrate="64k", min_gop=True):
    """Encoder arguments of the standard test input: libx264 with a key frame
    every `gop` frames and no other (no scene cuts), yuv420p, and AAC.
    `min_gop` also passes `gop` as -keyint_min (else libx264's default,
    which gives other bytes but the same key frames)."""
    args = []
    if video:
        args += ["-c:v", "libx264", "-preset", preset, "-g", str(gop)]
        if min_gop:
            args += ["-keyint_min", str(gop)]
        args += ["-sc_threshold", "0", "-pix_fmt", "yuv420p"]
        if video_bitrate is not None:
            args += ["-b:v", str(video_bitrate)]
    if audio:
        args += ["-c:a", "aac", "-b:a", str(audio_bitrate)]
    return args


def lavfi_source(video=True, audio=True, realtime=False, preset="veryfast", gop=2 * FPS,
                 video_bitrate=None, audio_bitrate="64k", sample_rate=48000, min_gop=True):
    """The standard test input, encoded: lavfi_inputs followed by h264_aac.
    Options placed after it (-t, -map ...) are output options."""
    return (lavfi_inputs(video, audio, realtime, sample_rate=sample_rate)
            + h264_aac(video, audio, preset, gop, video_bitrate, audio_bitrate, min_gop))


def hlsbridge_args(playlist, hls_time=1, list_size=4, playlist_type=None, extra=()):
    """Output arguments of an hlsbridge muxer writing `playlist`."""
    args = ["-f", "hlsbridge", "-hls_time", str(hls_time), "-hls_list_size", str(list_size)]
    if playlist_type:
        args += ["-hls_playlist_type", playlist_type]
    return args + list(extra) + [playlist]


# --------------------------------------------------------------------------
# Running ffmpeg and ffprobe

def ffmpeg_command(args):
    """The whole command line running the custom ffmpeg with `args`, no
    banner, no stats, no reading from stdin, overwriting outputs."""
    return [ffmpeg_path(), "-hide_banner", "-nostdin", "-nostats", "-y", *args]


def run_ffmpeg(args, timeout=120, check=True, cwd=None):
    """Runs ffmpeg with `args` to the end; returns (exit status, stderr text).
    With `check`, a non-zero exit status raises AssertionError."""
    cmd = ffmpeg_command(args)
    out = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, timeout=timeout, cwd=cwd)
    err = out.stderr.decode("utf-8", "replace")
    if check and out.returncode != 0:
        raise AssertionError("ffmpeg failed (%d): %s\n%s"
                             % (out.returncode, " ".join(cmd), err[-3000:]))
    return out.returncode, err


class FFmpeg:
    """ffmpeg with `args` in the background. Its stderr is collected by a
    thread; use as a context manager so that it never outlives a test."""

    def __init__(self, args, env=None):
        self.cmd = ffmpeg_command(args)
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
        """True while the process runs."""
        return self.proc.poll() is None

    def stderr(self):
        """All of stderr read so far."""
        with self._lock:
            return "".join(l for _, l in self._lines)

    def stderr_tail(self, lines=25):
        """The last `lines` lines of stderr read so far."""
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
        """Sends `sig` if the process still runs."""
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
        """SIGKILL if still running, then reaps the process."""
        if self.alive():
            self.signal(signal.SIGKILL)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self._reader.join(5)


def ffprobe_json(args, timeout=60):
    """Runs ffprobe with JSON output; returns the parsed JSON. Raises
    AssertionError when ffprobe fails or reports any error."""
    cmd = [ffprobe_path(), "-v", "error", "-of", "json", *args]
    out = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         errors="replace", timeout=timeout)
    if out.returncode != 0 or out.stderr.strip():
        raise AssertionError("ffprobe failed (%d): %s\n%s"
                             % (out.returncode, " ".join(cmd), out.stderr[-3000:]))
    return json.loads(out.stdout)


def _frames_by_type(streams):
    frames = {}
    for st in streams:
        kind = st["codec_type"]
        frames[kind] = frames.get(kind, 0) + int(st.get("nb_read_frames") or 0)
    return frames


def decode_frames(path, timeout=60, input_options=()):
    """Decodes every stream of `path` (a file, a playlist or a URL) with
    ffprobe, `input_options` before it; returns {codec_type: frames, summed
    over the streams of that type}. Raises AssertionError when ffprobe
    reports any error."""
    info = ffprobe_json(["-count_frames", "-show_entries",
                         "stream=codec_type,nb_read_frames", *input_options, path], timeout)
    return _frames_by_type(info.get("streams", []))


def count_frames(path):
    """Frames ffprobe decodes from a file that may be partial or broken,
    errors ignored: {"video": n, "audio": n} ({} when nothing decodes)."""
    out = subprocess.run(
        [ffprobe_path(), "-v", "quiet", "-count_frames", "-show_entries",
         "stream=codec_type,nb_read_frames", "-of", "json", path],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    try:
        return _frames_by_type(json.loads(out.stdout or "{}").get("streams", []))
    except ValueError:
        return {}


def check_segment_complete(path, duration, fps=FPS, init=None, kinds=("video", "audio")):
    """Asserts that a listed segment is whole: it exists, is a whole number of
    188-byte TS packets (or, with the path of its fMP4 init section, one
    moof and its mdat), decodes without error (an fMP4 segment after its
    init section), and holds as many video frames as its EXTINF says (within
    one frame) plus some audio (when it lasts 0.5 s or more); `kinds` says
    which of the two it carries (a variant of a ladder may have one)."""
    if not os.path.isfile(path):
        raise AssertionError("listed segment %s does not exist" % path)
    size = os.path.getsize(path)
    if init is None and (size == 0 or size % 188):
        raise AssertionError("segment %s: %d bytes, not a whole number of TS packets"
                             % (path, size))
    if init is None:
        frames = decode_frames(path)
    else:
        if not os.path.isfile(init):
            raise AssertionError("init section %s of segment %s does not exist" % (init, path))
        with open(init, "rb") as f:
            head = f.read()
        with open(path, "rb") as f:
            body = f.read()
        try:
            read_media_segment(body, read_init(head))
        except BoxError as e:
            raise AssertionError("segment %s: %s" % (path, e))
        with tempfile.NamedTemporaryFile(suffix=".mp4") as whole:
            whole.write(head + body)
            whole.flush()
            frames = decode_frames(whole.name)
    want = duration * fps
    if "video" in kinds and abs(frames.get("video", 0) - want) > 1:
        raise AssertionError("segment %s: %d video frames decoded, EXTINF %.3f s means %.0f"
                             % (path, frames.get("video", 0), duration, want))
    # A final segment can be a frame or two long, with no audio packet in it.
    if "audio" in kinds and duration >= 0.5 and frames.get("audio", 0) <= 0:
        raise AssertionError("segment %s: no audio frame decoded" % path)
    return frames


def check_listed_segments(playlist_path, pl, fps=FPS, kinds=("video", "audio")):
    """check_segment_complete for every segment `pl` lists, each with the
    init section (EXT-X-MAP) that applies to it."""
    for s in pl.segments:
        init = segment_path(playlist_path, s.map_uri) if s.map_uri else None
        check_segment_complete(segment_path(playlist_path, s.uri), s.duration, fps, init,
                               kinds)


# --------------------------------------------------------------------------
# fMP4 (ISO/IEC 14496-12) at box level: what HLS needs of an init section
# and of a media segment, read without ffprobe.

class BoxError(ValueError):
    """An MP4 file whose boxes are truncated or not what HLS needs."""


_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"mvex", b"moof", b"traf"}


def boxes(data, start=0, end=None):
    """[(type, payload start, box end)] of the boxes in data[start:end]."""
    end = len(data) if end is None else end
    out, pos = [], start
    while pos < end:
        if end - pos < 8:
            raise BoxError("truncated box header at %d" % pos)
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        head = 8
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
            head = 16
        elif size == 0:
            size = end - pos
        if size < head or pos + size > end:
            raise BoxError("box %r at %d: size %d overruns %d" % (kind, pos, size, end))
        out.append((kind, pos + head, pos + size))
        pos += size
    return out


def _child(data, start, end, kind):
    for k, s, e in boxes(data, start, end):
        if k == kind:
            return s, e
    return None


def _children(data, start, end, kind):
    return [(s, e) for k, s, e in boxes(data, start, end) if k == kind]


def _full_box(data, s):
    version = data[s]
    flags = int.from_bytes(data[s + 1:s + 4], "big")
    return version, flags, s + 4


@dataclass
class InitTrack:
    """A track of an init section."""
    track_id: int
    handler: str          # "vide", "soun"
    timescale: int
    sample_entry: str     # "avc1", "hvc1", "av01", "mp4a", "Opus"...
    width: int = 0        # of the visual sample entry
    height: int = 0
    default_duration: int = 0   # trex
    default_flags: int = 0      # trex


def read_init(data):
    """Reads an init section: ftyp, then moov with mvex (a fragmented
    file) and no sample in any track. Returns {track_id: InitTrack}."""
    top = boxes(data)
    kinds = [k for k, _, _ in top]
    if kinds[:2] != [b"ftyp", b"moov"]:
        raise BoxError("init section boxes %r, want ftyp then moov" % kinds)
    if b"moof" in kinds or b"mdat" in kinds:
        raise BoxError("init section holds media: %r" % kinds)
    _, ms, me = top[1]
    mvex = _child(data, ms, me, b"mvex")
    if mvex is None:
        raise BoxError("moov without mvex: not a fragmented MP4")
    trex = {}
    for s, _e in _children(data, mvex[0], mvex[1], b"trex"):
        _, _, p = _full_box(data, s)
        tid, _desc, dur, _size, flags = struct.unpack(">IIIII", data[p:p + 20])
        trex[tid] = (dur, flags)
    tracks = {}
    for ts, te in _children(data, ms, me, b"trak"):
        tkhd = _child(data, ts, te, b"tkhd")
        version, _, p = _full_box(data, tkhd[0])
        track_id = struct.unpack(">I", data[p + (16 if version else 8):][:4])[0]
        mdia = _child(data, ts, te, b"mdia")
        hs, _ = _child(data, mdia[0], mdia[1], b"hdlr")
        handler = data[hs + 8:hs + 12].decode("latin-1")
        mds, _ = _child(data, mdia[0], mdia[1], b"mdhd")
        version, _, p = _full_box(data, mds)
        timescale = struct.unpack(">I", data[p + (16 if version else 8):][:4])[0]
        minf = _child(data, mdia[0], mdia[1], b"minf")
        stbl = _child(data, minf[0], minf[1], b"stbl")
        ss, se = _child(data, stbl[0], stbl[1], b"stsd")
        _, _, p = _full_box(data, ss)
        entries = boxes(data, p + 4, se)
        kind, es, _ = entries[0]
        t = InitTrack(track_id, handler, timescale, kind.decode("latin-1"))
        if handler == "vide":
            # VisualSampleEntry: 6 reserved, data_reference_index, 16 bytes
            # of pre-defined and reserved fields, then width and height.
            t.width, t.height = struct.unpack(">HH", data[es + 24:es + 28])
        for name in (b"stts", b"stsz", b"stco"):
            b = _child(data, stbl[0], stbl[1], name)
            if b is not None and name != b"stsz" and struct.unpack(">I", data[b[0] + 4:b[0] + 8])[0]:
                raise BoxError("track %d of the init section has samples (%r)" % (track_id, name))
        t.default_duration, t.default_flags = trex.get(track_id, (0, 0))
        tracks[track_id] = t
    return tracks


@dataclass
class Fragment:
    """One track's run in a media segment."""
    track_id: int
    base_time: int              # tfdt baseMediaDecodeTime
    durations: List[int]        # of each sample
    first_flags: int            # flags of the first sample

    def end_time(self):
        return self.base_time + sum(self.durations)


_NON_SYNC = 0x10000  # sample_is_non_sync_sample


def read_media_segment(data, tracks):
    """Reads a media segment of an fMP4 stream whose init section gave
    `tracks` (read_init): one moof first (a 'styp' may precede it), then its
    mdat, nothing else. Returns {track_id: Fragment}."""
    top = boxes(data)
    kinds = [k for k, _, _ in top]
    if kinds and kinds[0] == b"styp":
        kinds, top = kinds[1:], top[1:]
    if kinds != [b"moof", b"mdat"]:
        raise BoxError("media segment boxes %r, want moof then mdat" % kinds)
    _, ms, me = top[0]
    frags = {}
    for ts, te in _children(data, ms, me, b"traf"):
        hs, _ = _child(data, ts, te, b"tfhd")
        _, flags, p = _full_box(data, hs)
        track_id = struct.unpack(">I", data[p:p + 4])[0]
        p += 4
        default_dur = tracks[track_id].default_duration
        default_flags = tracks[track_id].default_flags
        if flags & 0x1:
            p += 8
        if flags & 0x2:
            p += 4
        if flags & 0x8:
            default_dur = struct.unpack(">I", data[p:p + 4])[0]
            p += 4
        if flags & 0x10:
            p += 4
        if flags & 0x20:
            default_flags = struct.unpack(">I", data[p:p + 4])[0]
        tfdt = _child(data, ts, te, b"tfdt")
        if tfdt is None:
            raise BoxError("track %d: no tfdt" % track_id)
        version, _, p = _full_box(data, tfdt[0])
        base = struct.unpack(">Q" if version else ">I", data[p:p + (8 if version else 4)])[0]
        durations, first_flags = [], None
        for rs, _re in _children(data, ts, te, b"trun"):
            _, tflags, p = _full_box(data, rs)
            count = struct.unpack(">I", data[p:p + 4])[0]
            p += 4
            if tflags & 0x1:
                p += 4
            run_first = None
            if tflags & 0x4:
                run_first = struct.unpack(">I", data[p:p + 4])[0]
                p += 4
            for i in range(count):
                dur, sflags = default_dur, default_flags
                if tflags & 0x100:
                    dur = struct.unpack(">I", data[p:p + 4])[0]
                    p += 4
                if tflags & 0x200:
                    p += 4
                if tflags & 0x400:
                    sflags = struct.unpack(">I", data[p:p + 4])[0]
                    p += 4
                if tflags & 0x800:
                    p += 4
                if i == 0 and run_first is not None:
                    sflags = run_first
                if first_flags is None:
                    first_flags = sflags
                durations.append(dur)
        if not durations:
            raise BoxError("track %d: no sample" % track_id)
        frags[track_id] = Fragment(track_id, base, durations, first_flags)
    return frags


def check_fmp4_stream(init_path, segment_paths):
    """Box-level checks of an fMP4 stream: the init section, then every
    segment: moof first, each video track starting with a sync sample, and
    for every track a tfdt equal to the end of the same track in the segment
    before (no gap, no overlap) within one frame (video: one sample's
    duration; audio: one frame). Returns (tracks, [fragments per segment])."""
    with open(init_path, "rb") as f:
        tracks = read_init(f.read())
    out, prev = [], None
    for path in segment_paths:
        with open(path, "rb") as f:
            try:
                frags = read_media_segment(f.read(), tracks)
            except BoxError as e:
                raise BoxError("%s: %s" % (path, e))
        for tid, fr in frags.items():
            if tracks[tid].handler == "vide" and fr.first_flags & _NON_SYNC:
                raise BoxError("%s: track %d starts with a non-key frame" % (path, tid))
            if prev is not None and tid in prev:
                gap = fr.base_time - prev[tid].end_time()
                tolerance = max(prev[tid].durations)
                if abs(gap) > tolerance:
                    raise BoxError("%s: track %d tfdt %d, but the segment before ends at %d"
                                   % (path, tid, fr.base_time, prev[tid].end_time()))
        out.append(frags)
        prev = frags
    return tracks, out


def splice_flv(first, second, out, offset_ms):
    """Writes `out`: the FLV file `first`, then the tags of `second` with
    their timestamps moved `offset_ms` later and without its script (metadata)
    tags. When `second` was encoded with other parameters, its sequence
    headers come mid-stream, as from an RTMP encoder that changed its
    resolution; FFmpeg's FLV demuxer then sends the new extradata with the
    next packet."""
    def tags(data):
        if data[:3] != b"FLV":
            raise ValueError("not an FLV file")
        pos = struct.unpack(">I", data[5:9])[0] + 4
        while pos + 11 <= len(data):
            kind = data[pos] & 0x1F
            size = int.from_bytes(data[pos + 1:pos + 4], "big")
            ts = int.from_bytes(data[pos + 4:pos + 7], "big") | data[pos + 7] << 24
            yield kind, ts, data[pos + 11:pos + 11 + size], data[pos:pos + 1], data[pos + 8:pos + 11]
            pos += 11 + size + 4

    with open(first, "rb") as f:
        a = f.read()
    with open(second, "rb") as f:
        b = f.read()
    parts = [a]
    for kind, ts, body, type_byte, stream_id in tags(b):
        if kind == 18:
            continue
        ts += offset_ms
        head = (type_byte + len(body).to_bytes(3, "big") + (ts & 0xFFFFFF).to_bytes(3, "big")
                + bytes([ts >> 24 & 0xFF]) + stream_id)
        parts += [head, body, struct.pack(">I", len(head) + len(body))]
    with open(out, "wb") as f:
        f.write(b"".join(parts))


# --------------------------------------------------------------------------
# Watching a playlist while it is rewritten

class LoopThread:
    """A daemon thread calling self.step() every `interval` seconds (0: with
    no pause) until stop(), then self.finish() once. start() or a `with`
    block runs it; stop() waits up to `join_timeout` seconds for it."""

    join_timeout = 5

    def __init__(self, interval):
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self.join_timeout)

    def _run(self):
        while not self._stop.is_set():
            self.step()
            if self.interval:
                self._stop.wait(self.interval)
        self.finish()

    def step(self):
        raise NotImplementedError

    def finish(self):
        """Runs in the thread after the last step; nothing by default."""


class PlaylistWatcher(LoopThread):
    """Reads a media playlist in a thread, every `interval` seconds (0: in a
    tight loop). Every read must parse, the file must not disappear once
    seen, and the media sequence must never go back. Keeps each distinct
    content seen, in order, the number of reads and the problems found."""

    def __init__(self, path, interval=0.01):
        super().__init__(interval)
        self.path = path
        self.reads = 0
        self.versions = []   # (monotonic time, bytes, MediaPlaylist), distinct
        self.problems = []   # (monotonic time, message)
        self._lock = threading.Lock()

    def step(self):
        self.poll()

    def _problem(self, when, message):
        with self._lock:
            self.problems.append((when, message))

    def poll(self):
        """Reads the playlist once and records what it found."""
        now = time.monotonic()
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            if self.latest():
                self._problem(now, "playlist disappeared")
            return
        except OSError as e:
            self._problem(now, "read: %s" % e)
            return
        with self._lock:
            self.reads += 1
            last = self.versions[-1] if self.versions else None
        if last and last[1] == data:
            return
        try:
            pl = parse_media_playlist(data)
        except PlaylistError as e:
            self._problem(now, "read %d: %s; content %r" % (self.reads, e, data[-200:]))
            return
        if last and pl.media_sequence < last[2].media_sequence:
            self._problem(now, "media sequence went back from %d to %d"
                          % (last[2].media_sequence, pl.media_sequence))
        with self._lock:
            self.versions.append((now, data, pl))

    def latest(self):
        """The newest (time, bytes, MediaPlaylist), or None."""
        with self._lock:
            return self.versions[-1] if self.versions else None

    def versions_since(self, t):
        """The versions first seen at monotonic time `t` or later."""
        with self._lock:
            return [v for v in self.versions if v[0] >= t]

    def wait_for(self, predicate, timeout):
        """Waits until predicate(MediaPlaylist) holds for the newest version;
        returns that version's playlist, or None on timeout."""
        return wait_for_version(self.latest, predicate, timeout)


def wait_for_version(latest, predicate, timeout):
    """Checks latest() (None or (time, bytes, MediaPlaylist)) every 50 ms
    until predicate holds for its playlist; returns that playlist, or None
    after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = latest()
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
    """True when `path` is a mount point."""
    return os.path.realpath(path) in _mount_points()


def mounts_under(path):
    """Mount points at or below `path`."""
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
    """Bytes free for an unprivileged writer on the file system of `path`."""
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


# --------------------------------------------------------------------------
# unittest

class TempDirTest(unittest.TestCase):
    """A test with a scratch directory, self.dir, removed afterwards."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="hlsb-e2e-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, *names):
        """A path inside the scratch directory."""
        return os.path.join(self.dir, *names)
