"""Unit tests of the playlist readers and the watcher in tests/lib/hlstest.py.
They need no ffmpeg: every playlist is written here.

Run: python3 -m unittest -v tests/e2e/test_reader.py
"""
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hlstest as ht  # noqa: E402

# As the muxer writes them: a live window after a discontinuity slid out,
# an EVENT playlist with dates, and an fMP4 playlist of the coming issues.
LIVE = ("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:7\n#EXT-X-TARGETDURATION:2\n"
        "#EXT-X-DISCONTINUITY-SEQUENCE:1\n#EXTINF:2.000,\nindex7.ts\n"
        "#EXT-X-DISCONTINUITY\n#EXTINF:1.960,\nseg%20%231.ts\n")
EVENT = ("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-TARGETDURATION:2\n"
         "#EXT-X-PLAYLIST-TYPE:EVENT\n"
         "#EXT-X-PROGRAM-DATE-TIME:2026-12-02T14:00:00.000Z\n#EXTINF:2.000,\nindex0.ts\n"
         "#EXT-X-PROGRAM-DATE-TIME:2026-12-02T15:00:02.000+01:00\n#EXTINF:2.000,\n"
         "http://[::1]:8080/live/index1.ts\n#EXT-X-ENDLIST\n")
FMP4 = ("#EXTM3U\n#EXT-X-VERSION:{version}\n#EXT-X-MEDIA-SEQUENCE:4\n"
        "#EXT-X-TARGETDURATION:2\n#EXT-X-INDEPENDENT-SEGMENTS\n"
        "#EXT-X-MAP:URI=\"init0.mp4\"\n#EXTINF:2.000,\nseg4.m4s\n#EXTINF:2.000,\nseg5.m4s\n"
        "#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init1.mp4\"\n#EXTINF:1.500,\nseg6.m4s\n"
        "#EXT-X-ENDLIST\n")
MULTIVARIANT = (
    "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n"
    "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aac\",NAME=\"English\",LANGUAGE=\"en\","
    "DEFAULT=YES,AUTOSELECT=YES,URI=\"audio/index.m3u8\"\n"
    "#EXT-X-STREAM-INF:BANDWIDTH=1280000,AVERAGE-BANDWIDTH=1000000,"
    "CODECS=\"avc1.64001f,mp4a.40.2\",RESOLUTION=1280x720,FRAME-RATE=25.000,AUDIO=\"aac\"\n"
    "720p/index.m3u8\n"
    "#EXT-X-STREAM-INF:BANDWIDTH=400000,CODECS=\"avc1.42c01e,mp4a.40.2\","
    "RESOLUTION=320x240,AUDIO=\"aac\"\n240p/index.m3u8\n")


class MediaReaderTest(unittest.TestCase):
    def refuse(self, text, why=None):
        with self.assertRaises(ht.PlaylistError) as cm:
            ht.parse_media_playlist(text)
        if why:
            self.assertIn(why, str(cm.exception))

    def test_accepts_live_window(self):
        pl = ht.parse_media_playlist(LIVE.encode())
        self.assertEqual((pl.version, pl.media_sequence, pl.target_duration), (3, 7, 2))
        self.assertEqual(pl.discontinuity_sequence, 1)
        self.assertEqual(pl.uris(), ["index7.ts", "seg%20%231.ts"])
        self.assertEqual([s.sequence for s in pl.segments], [7, 8])
        self.assertEqual([s.discontinuity for s in pl.segments], [False, True])
        self.assertAlmostEqual(pl.total_duration(), 3.96)
        self.assertFalse(pl.endlist)
        self.assertIsNone(pl.playlist_type)
        self.assertEqual(pl.text, LIVE)

    def test_accepts_event_with_dates_and_ip_literal_base_url(self):
        pl = ht.parse_media_playlist(EVENT)
        self.assertEqual(pl.playlist_type, "EVENT")
        self.assertTrue(pl.endlist)
        self.assertEqual([s.pdt for s in pl.segments],
                         ["2026-12-02T14:00:00.000Z", "2026-12-02T15:00:02.000+01:00"])

    def test_accepts_fmp4_with_map_at_version_6_and_7(self):
        for version in (6, 7):
            with self.subTest(version=version):
                pl = ht.parse_media_playlist(FMP4.format(version=version))
                self.assertEqual(pl.version, version)
                self.assertTrue(pl.independent_segments)
                self.assertEqual([s.map_uri for s in pl.segments],
                                 ["init0.mp4", "init0.mp4", "init1.mp4"])
                self.assertEqual(pl.uris(), ["seg4.m4s", "seg5.m4s", "seg6.m4s"])
                self.assertEqual(ht.playlist_kind(pl.text), ht.MEDIA)

    def test_refuses_a_wrong_version(self):
        self.refuse(FMP4.format(version=3), "EXT-X-VERSION")
        self.refuse(FMP4.format(version=5), "EXT-X-VERSION")
        self.refuse(LIVE.replace("VERSION:3", "VERSION:6"), "EXT-X-VERSION")
        self.refuse(LIVE.replace("VERSION:3", "VERSION:03"), "EXT-X-VERSION")
        self.refuse(LIVE.replace("#EXT-X-VERSION:3\n", ""), "EXT-X-VERSION")

    def test_refuses_a_bad_map(self):
        fmp4 = FMP4.format(version=7)
        self.refuse(fmp4.replace('URI="init0.mp4"', "URI=init0.mp4"))
        self.refuse(fmp4.replace('URI="init0.mp4"', 'URI="init0.mp4",BYTERANGE="10@0"'))
        self.refuse(fmp4.replace('URI="init0.mp4"', 'URI="init 0.mp4"'), "URI")
        # The first segment would have no initialization section.
        self.refuse(fmp4.replace('#EXT-X-MAP:URI="init0.mp4"\n', ""), "EXT-X-MAP")

    def test_refuses_unknown_tags_and_comments(self):
        for line in ("#EXT-X-ALLOW-CACHE:YES\n", "#EXT-X-BYTERANGE:100@0\n",
                     "#EXT-X-STREAM-INF:BANDWIDTH=1\n", "# a comment\n"):
            with self.subTest(line=line):
                self.refuse(LIVE.replace("#EXTINF:2.000,\n", line + "#EXTINF:2.000,\n"))

    def test_refuses_other_than_three_decimals_or_a_title(self):
        for extinf in ("#EXTINF:2.00,", "#EXTINF:2.0000,", "#EXTINF:2,", "#EXTINF:2.000",
                       "#EXTINF:2.000,title", "#EXTINF:-2.000,"):
            with self.subTest(extinf=extinf):
                self.refuse(LIVE.replace("#EXTINF:2.000,", extinf), "EXTINF")

    def test_refuses_structure_errors(self):
        cases = {
            "repeated": LIVE.replace("#EXT-X-TARGETDURATION:2\n",
                                     "#EXT-X-TARGETDURATION:2\n" * 2),
            "after the first segment tag": LIVE.replace(
                "#EXT-X-DISCONTINUITY\n", "#EXT-X-DISCONTINUITY\n#EXT-X-PLAYLIST-TYPE:EVENT\n"),
            "bad playlist type": LIVE.replace(
                "TARGETDURATION:2\n", "TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:LIVE\n"),
            "blank": LIVE.replace("index7.ts\n", "index7.ts\n\n"),
            "without URI": LIVE + "#EXT-X-DISCONTINUITY\n",
            "without EXTINF": LIVE + "extra.ts\n",
            "EXTINF without URI": LIVE.replace("#EXTINF:2.000,\n",
                                               "#EXTINF:2.000,\n#EXT-X-DISCONTINUITY\n"),
            "not a URI": LIVE.replace("index7.ts", "index 7.ts"),
            "bad date-time": EVENT.replace("14:00:00.000Z", "14:00:00Z"),
            "exceeds target": LIVE.replace("TARGETDURATION:2", "TARGETDURATION:1"),
        }
        for why, text in cases.items():
            with self.subTest(why=why):
                self.refuse(text, why)
        self.refuse(LIVE.replace("seg%20%231.ts", "seg%2.ts"), "URI")
        self.refuse(LIVE.replace("seg%20%231.ts", "[1].ts"), "URI")

    def test_refuses_every_truncation(self):
        for text in (EVENT, FMP4.format(version=6), PlaylistCheckerTest.GOOD):
            data = text.encode()
            for n in range(len(data)):
                try:
                    pl = ht.parse_media_playlist(data[:n])
                except ht.PlaylistError:
                    continue
                self.assertFalse(pl.endlist, "prefix of %d bytes taken as whole" % n)
                self.assertEqual(data[n - 1:n], b"\n", "prefix of %d bytes accepted" % n)

    def test_refuses_bad_bytes(self):
        self.refuse(b"", "empty")
        self.refuse(b"\xff" + LIVE.encode(), "UTF-8")
        self.refuse(LIVE.replace("\n", "\r\n"), "control character")
        self.refuse(" " + LIVE, "#EXTM3U")


class MultivariantReaderTest(unittest.TestCase):
    def refuse(self, text, why=None):
        with self.assertRaises(ht.PlaylistError) as cm:
            ht.parse_multivariant_playlist(text)
        if why:
            self.assertIn(why, str(cm.exception))

    def test_accepts_variants_and_renditions(self):
        pl = ht.parse_multivariant_playlist(MULTIVARIANT.encode())
        self.assertEqual(pl.version, 6)
        self.assertTrue(pl.independent_segments)
        self.assertEqual(pl.uris(), ["720p/index.m3u8", "240p/index.m3u8"])
        self.assertEqual([v.bandwidth for v in pl.variants], [1280000, 400000])
        first = pl.variants[0].attributes
        self.assertEqual(first["CODECS"], "avc1.64001f,mp4a.40.2")
        self.assertEqual((first["RESOLUTION"], first["AUDIO"]), ("1280x720", "aac"))
        [audio] = pl.renditions
        self.assertEqual((audio.type, audio.group_id, audio.name, audio.uri),
                         ("AUDIO", "aac", "English", "audio/index.m3u8"))
        self.assertEqual(audio.attributes["LANGUAGE"], "en")

    def test_accepts_minimal_variant_list(self):
        pl = ht.parse_multivariant_playlist(
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=200000,CLOSED-CAPTIONS=NONE\nlow.m3u8\n")
        self.assertIsNone(pl.version)
        self.assertIsNone(pl.variants[0].attributes["CLOSED-CAPTIONS"])

    def test_refuses_damage(self):
        cases = {
            "without URI": MULTIVARIANT.replace("720p/index.m3u8\n", ""),
            "missing BANDWIDTH": MULTIVARIANT.replace("BANDWIDTH=400000,", ""),
            "unexpected attribute": MULTIVARIANT.replace("BANDWIDTH=400000,",
                                                         "BANDWIDTH=400000,FOO=1,"),
            "bad RESOLUTION": MULTIVARIANT.replace("320x240", "320"),
            "names no EXT-X-MEDIA group": MULTIVARIANT.replace('AUDIO="aac"\n240p',
                                                               'AUDIO="mp3"\n240p'),
            "repeated": MULTIVARIANT.replace("BANDWIDTH=400000,",
                                             "BANDWIDTH=400000,BANDWIDTH=1,"),
            "EXT-X-VERSION": MULTIVARIANT.replace("VERSION:6", "VERSION:4"),
            "unexpected tag": MULTIVARIANT + "#EXT-X-ENDLIST\n",
            "no EXT-X-STREAM-INF": "#EXTM3U\n#EXT-X-VERSION:6\n",
            "subtitles without URI": MULTIVARIANT.replace(
                '#EXT-X-MEDIA:TYPE=AUDIO', '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="s",'
                'NAME="x"\n#EXT-X-MEDIA:TYPE=AUDIO'),
            "not LF-terminated": MULTIVARIANT[:-1],
        }
        for why, text in cases.items():
            with self.subTest(why=why):
                self.refuse(text, why)

    def test_refuses_every_truncation_that_cuts_a_variant(self):
        data = MULTIVARIANT.encode()
        for n in range(len(data)):
            try:
                pl = ht.parse_multivariant_playlist(data[:n])
            except ht.PlaylistError:
                continue
            self.assertEqual(data[n - 1:n], b"\n", "prefix of %d bytes accepted" % n)
            self.assertLess(len(pl.variants), 2)


class KindTest(unittest.TestCase):
    def test_tells_kinds_apart(self):
        self.assertEqual(ht.playlist_kind(LIVE), ht.MEDIA)
        self.assertEqual(ht.playlist_kind(MULTIVARIANT.encode()), ht.MULTIVARIANT)
        self.assertIsInstance(ht.parse_playlist(FMP4.format(version=6)), ht.MediaPlaylist)
        self.assertIsInstance(ht.parse_playlist(MULTIVARIANT), ht.MultivariantPlaylist)

    def test_refuses_mixed_or_unknown(self):
        for text in (MULTIVARIANT + "#EXTINF:2.000,\nx.ts\n", "#EXTM3U\n#EXT-X-VERSION:3\n",
                     "not a playlist\n"):
            with self.subTest(text=text[-30:]):
                self.assertRaises(ht.PlaylistError, ht.playlist_kind, text)

    def test_attribute_list(self):
        self.assertEqual(ht.parse_attribute_list('A=1,B="x,y",C=NO'),
                         {"A": "1", "B": '"x,y"', "C": "NO"})
        for bad in ("", "A=1,", "A", 'A="x', "a=1", "A=1,A=2"):
            with self.subTest(bad=bad):
                self.assertRaises(ht.PlaylistError, ht.parse_attribute_list, bad)


class WatcherTest(unittest.TestCase):
    """PlaylistWatcher.poll driven by hand on a file written here."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="hlsb-reader-")
        self.path = os.path.join(self.dir, "index.m3u8")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def write(self, text):
        with open(self.path, "w") as f:
            f.write(text)

    def test_keeps_distinct_versions_and_reports_problems(self):
        w = ht.PlaylistWatcher(self.path)
        w.poll()  # not there yet: fine
        self.write(LIVE)
        w.poll()
        w.poll()
        self.write(LIVE[:-3])  # torn
        w.poll()
        self.write(LIVE.replace("MEDIA-SEQUENCE:7", "MEDIA-SEQUENCE:6"))
        w.poll()
        os.remove(self.path)
        w.poll()
        self.assertEqual(w.reads, 4)
        self.assertEqual(len(w.versions), 2)
        self.assertIs(w.latest(), w.versions[-1])
        problems = [m for _, m in w.problems]
        self.assertEqual(len(problems), 3, problems)
        self.assertIn("LF-terminated", problems[0])
        self.assertIn("media sequence went back from 7 to 6", problems[1])
        self.assertEqual(problems[2], "playlist disappeared")


class PlaylistCheckerTest(unittest.TestCase):
    """The checks below would prove nothing if the parser accepted broken
    playlists: it must refuse each way a playlist can be cut or damaged."""

    GOOD = ("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:3\n"
            "#EXT-X-TARGETDURATION:1\n#EXTINF:1.000,\nindex3.ts\n"
            "#EXT-X-DISCONTINUITY\n#EXTINF:1.000,\nindex5.ts\n#EXT-X-ENDLIST\n")

    def test_accepts_whole_playlist(self):
        pl = ht.parse_media_playlist(self.GOOD.encode())
        self.assertEqual(pl.media_sequence, 3)
        self.assertEqual(pl.uris(), ["index3.ts", "index5.ts"])
        self.assertEqual([s.discontinuity for s in pl.segments], [False, True])
        self.assertTrue(pl.endlist)

    def test_refuses_damage(self):
        for bad in (b"", b"\n", self.GOOD.replace("\n", "\r\n", 1).encode(),
                    self.GOOD.replace("index3.ts\n", "").encode(),
                    self.GOOD.replace("#EXT-X-TARGETDURATION:1\n", "").encode(),
                    self.GOOD.replace("#EXTINF:1.000", "#EXTINF:2.000", 1).encode(),
                    self.GOOD.encode() + b"index6.ts\n",
                    b"\x00" * 64):
            with self.subTest(bad=bad[:40]):
                self.assertRaises(ht.PlaylistError, ht.parse_media_playlist, bad)



if __name__ == "__main__":
    unittest.main()
