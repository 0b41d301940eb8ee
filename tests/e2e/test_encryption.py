"""End-to-end tests of AES-128 encryption (-hls_enc, -hls_key_info_file,
periodic_rekey) in the real custom ffmpeg, TS and fMP4: what is on disk is
not the clear media, ffprobe (FFmpeg's HLS demuxer with its crypto
protocol) decodes it with the key, the key never reaches ffmpeg's log.

Run: FFMPEG=build/ffmpeg/bin/ffmpeg python3 -m unittest -v tests/e2e/test_encryption.py
"""
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from hlstest import (FPS, FFmpeg, TempDirTest, boxes, decode_frames,  # noqa: E402
                     lavfi_source, read_init, read_playlist, run_ffmpeg, segment_path)

GOP = FPS
KEY_A = bytes(range(16))
KEY_B = bytes(range(100, 116))
IV = "0x0F0E0D0C0B0A09080706050403020100"


def decode_playlist(path):
    """Frames ffprobe decodes through the playlist, keys fetched as it says
    (FFmpeg's HLS demuxer opens only files of media extensions unless told
    otherwise, and a key file is not one)."""
    return decode_frames(path, input_options=["-allowed_extensions", "ALL"])


class EncryptionTest(TempDirTest):
    def write_key_info(self, name, uri, key, iv=None):
        """A key file with `key` and a key info file naming it; its path."""
        key_path = self.path(name + ".key")
        with open(key_path, "wb") as f:
            f.write(key)
        lines = [uri, key_path] + ([iv] if iv else [])
        info = self.path(name + ".keyinfo")
        with open(info + ".tmp", "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(info + ".tmp", info)  # a reader never sees half of it
        return info

    def check_encrypted(self, out, pl, fmp4):
        """Segments are not the clear media (whole AES blocks, no TS sync
        bytes or moof), the init section is clear, and the whole decodes."""
        for seg in pl.segments:
            with open(segment_path(out, seg.uri), "rb") as f:
                data = f.read()
            self.assertEqual(len(data) % 16, 0, seg.uri)
            if fmp4:
                self.assertNotEqual(data[4:8], b"moof", seg.uri + " is in the clear")
            else:
                syncs = sum(data[i] == 0x47 for i in range(0, len(data), 188))
                self.assertLess(syncs, len(data) // 188 // 2, seg.uri + " is in the clear")
        if fmp4:
            with open(segment_path(out, pl.segments[0].map_uri), "rb") as f:
                self.assertTrue(read_init(f.read()), "the init section is not clear")
        frames = decode_playlist(out)
        self.assertAlmostEqual(frames.get("video", 0), pl.total_duration() * FPS, delta=1)
        self.assertGreater(frames.get("audio", 0), 0)

    def run_generated(self, fmp4):
        out = self.path("index.m3u8")
        extra = ["-hls_segment_type", "fmp4"] if fmp4 else []
        run_ffmpeg([*lavfi_source(gop=GOP), "-t", "3", "-f", "hlsbridge", "-hls_time", "1",
                    "-hls_playlist_type", "event", "-hls_enc", "1", *extra, out])
        pl = read_playlist(out)
        keys = {s.key for s in pl.segments}
        self.assertEqual(len(keys), 1, pl.text)
        uri, iv = keys.pop()
        self.assertEqual(uri, "index.m3u8.key")
        # No IV given: the number of the key's first segment.
        self.assertEqual(iv, "0x" + "0" * 32)
        self.assertEqual(os.path.getsize(self.path("index.m3u8.key")), 16)
        if fmp4:
            self.assertLess(pl.text.index("#EXT-X-MAP:"), pl.text.index("#EXT-X-KEY:"))
        self.check_encrypted(out, pl, fmp4)

    def test_generated_key_ts(self):
        self.run_generated(fmp4=False)

    def test_generated_key_fmp4(self):
        self.run_generated(fmp4=True)

    def test_given_key_iv_and_url(self):
        out = self.path("index.m3u8")
        run_ffmpeg([*lavfi_source(gop=GOP), "-t", "2", "-f", "hlsbridge", "-hls_time", "1",
                    "-hls_playlist_type", "vod", "-hls_enc", "1",
                    "-hls_enc_key", KEY_A.hex(), "-hls_enc_iv", IV[2:],
                    "-hls_enc_key_url", "index.m3u8.key", out])
        pl = read_playlist(out)
        self.assertEqual({s.key for s in pl.segments}, {("index.m3u8.key", IV)})
        with open(self.path("index.m3u8.key"), "rb") as f:
            self.assertEqual(f.read(), KEY_A)
        self.check_encrypted(out, pl, fmp4=False)

    def test_key_info_file(self):
        out = self.path("index.m3u8")
        info = self.write_key_info("a", "a.key", KEY_A, IV)
        run_ffmpeg([*lavfi_source(gop=GOP), "-t", "2", "-f", "hlsbridge", "-hls_time", "1",
                    "-hls_playlist_type", "event", "-hls_key_info_file", info,
                    "-hls_segment_type", "fmp4", out])
        pl = read_playlist(out)
        self.assertEqual({s.key for s in pl.segments}, {("a.key", IV)})
        self.check_encrypted(out, pl, fmp4=True)

    def rekey_run(self, info, seconds, change):
        """A live event run in real time with periodic_rekey on the key info
        file `info`; change(ffmpeg) runs after 1.5 s. Returns (stderr of
        ffmpeg, the final playlist)."""
        out = self.path("index.m3u8")
        with FFmpeg([*lavfi_source(gop=GOP, realtime=True), "-t", str(seconds), "-f",
                     "hlsbridge", "-hls_time", "1", "-hls_playlist_type", "event",
                     "-hls_key_info_file", info, "-hls_flags", "periodic_rekey", out]) as ff:
            time.sleep(1.5)
            change(ff)
            self.assertEqual(ff.wait(30), 0, ff.stderr_tail())
            return ff.stderr(), read_playlist(out)

    def test_rotation_with_periodic_rekey(self):
        # The key info file is rewritten to a damaged one, which keeps the
        # key in force with a warning, then to another key.
        info = self.write_key_info("rot", "a.key", KEY_A)

        def rotate(ff):
            with open(info, "w") as f:
                f.write("b.key\n" + self.path("rot.key") + "\nnot-hex\n")
            self.assertIsNotNone(ff.wait_for_stderr(r"rot\.keyinfo: line 3: IV", timeout=5),
                                 ff.stderr_tail())
            self.write_key_info("rot", "b.key", KEY_B)
        err, pl = self.rekey_run(info, 7, rotate)
        out = self.path("index.m3u8")
        self.assertIn("the key in force stays", err)
        uris = [s.key[0] for s in pl.segments]
        self.assertEqual(uris[0], "a.key")
        self.assertEqual(uris[-1], "b.key")
        self.assertEqual(uris, sorted(uris), pl.text)  # one change, a to b
        self.assertEqual(pl.text.count("#EXT-X-KEY:"), 2, pl.text)
        # The key file rot.key now holds KEY_B, so the a.key segments are
        # checked with a copy of the old key under that URI.
        with open(self.path("a.key"), "wb") as f:
            f.write(KEY_A)
        with open(self.path("b.key"), "wb") as f:
            f.write(KEY_B)
        self.check_encrypted(out, pl, fmp4=False)

    def test_new_key_under_the_same_uri_is_refused(self):
        # The key file is rewritten in place, the URI stays: players would
        # fetch the new key for segments encrypted with the old one.
        info = self.write_key_info("same", "same.key", KEY_A)

        def rewrite_key(ff):
            with open(self.path("same.key"), "wb") as f:
                f.write(KEY_B)
        err, pl = self.rekey_run(info, 4, rewrite_key)
        out = self.path("index.m3u8")
        self.assertIn("under the same URI", err)
        self.assertEqual(pl.text.count("#EXT-X-KEY:"), 1, pl.text)
        # Every segment is still under the old key.
        with open(self.path("same.key"), "wb") as f:
            f.write(KEY_A)
        self.check_encrypted(out, pl, fmp4=False)

    def test_key_never_reaches_the_log(self):
        out = self.path("index.m3u8")
        info = self.write_key_info("k", "k.key", KEY_B, IV)
        _, err = run_ffmpeg([*lavfi_source(gop=GOP), "-t", "2", "-loglevel", "trace",
                             "-f", "hlsbridge", "-hls_time", "1", "-hls_key_info_file", info,
                             "-hls_flags", "periodic_rekey", out])
        self.assertGreater(len(err), 10000, "trace level logged little")
        for form in (KEY_B.hex(), KEY_B.hex().upper()):
            self.assertNotIn(form, err)
        self.assertNotIn(KEY_B.decode("latin-1"), err)


class RefusalTest(TempDirTest):
    """Bad keys fail at init, naming the option, file and line; nothing
    is published."""

    def check_refused(self, opts, *words):
        out = self.path("out", "index.m3u8")
        rc, err = run_ffmpeg([*lavfi_source(gop=GOP), "-t", "1", "-f", "hlsbridge", *opts, out],
                             check=False)
        self.assertNotEqual(rc, 0, err[-1500:])
        for w in words:
            self.assertIn(w, err)
        self.assertFalse(os.path.exists(out))

    def key_info(self, text, key=KEY_A):
        with open(self.path("k.key"), "wb") as f:
            f.write(key)
        with open(self.path("k.info"), "w") as f:
            f.write(text.replace("KEYFILE", self.path("k.key")))
        return self.path("k.info")

    def test_missing_key_info_file(self):
        self.check_refused(["-hls_key_info_file", self.path("none.info")],
                           "hls_key_info_file", "none.info")

    def test_key_info_without_key_file_line(self):
        self.check_refused(["-hls_key_info_file", self.key_info("k.key\n")],
                           "k.info: line 2")

    def test_key_uri_with_a_quote(self):
        self.check_refused(["-hls_key_info_file", self.key_info('k".key\nKEYFILE\n')],
                           "k.info: line 1")

    def test_short_key_file(self):
        self.check_refused(["-hls_key_info_file", self.key_info("k.key\nKEYFILE\n", b"short")],
                           "holds 5 bytes")

    def test_bad_hex_key_and_iv(self):
        self.check_refused(["-hls_enc", "1", "-hls_enc_key", "xyz"], "hls_enc_key")
        self.check_refused(["-hls_enc", "1", "-hls_enc_iv", "00"], "hls_enc_iv")

    def test_key_url_with_a_line_break(self):
        self.check_refused(["-hls_enc", "1", "-hls_enc_key_url", "k\n#EXT-X-ENDLIST"],
                           "key URI")

    def test_options_that_need_another(self):
        info = self.key_info("k.key\nKEYFILE\n")
        self.check_refused(["-hls_enc", "1", "-hls_key_info_file", info], "hls_enc")
        self.check_refused(["-hls_flags", "periodic_rekey"], "periodic_rekey",
                           "hls_key_info_file")
        self.check_refused(["-hls_enc_key", KEY_A.hex()], "hls_enc_key", "-hls_enc 1")


if __name__ == "__main__":
    unittest.main()
