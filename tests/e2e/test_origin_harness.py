"""Self-checks of the HTTP origin harness (tests/lib/origin.py) that the
publication tests of test_origin.py rely on; no ffmpeg involved. nginx
takes PUT, GET and DELETE under /live/, refuses /forbidden/, wants its
token under /token/, answers 503 to writes while switched off, refuses
connections while stopped and comes back on the same port, delays requests
through its slow proxy; the HTTP playlist watcher flags what it must; the
command line serves until its stdin ends; nothing is left behind.

Skipped when nginx is not installed (scripts/test.sh installs it).

Run: python3 -m unittest -v tests/e2e/test_origin_harness.py
"""
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import origin as og  # noqa: E402
from hlstest import TempDirTest  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def media_playlist(seq, uris, end=False):
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:1",
             "#EXT-X-MEDIA-SEQUENCE:%d" % seq]
    for uri in uris:
        lines += ["#EXTINF:1.000,", uri]
    if end:
        lines.append("#EXT-X-ENDLIST")
    return ("\n".join(lines) + "\n").encode()


class OriginCase(TempDirTest):
    """A test with a started origin, self.origin (2 requests a second
    through its slow proxy)."""

    def setUp(self):
        if og.nginx_path() is None:
            self.skipTest("nginx is not installed (apt-get install nginx)")
        super().setUp()
        self.origin = og.Origin(slow_rate="2r/s", slow_burst=10)
        self.addCleanup(self.origin.close)
        self.origin.start()

    def put(self, path, body, **kw):
        return og.http_request("PUT", self.origin.url(path), data=body, **kw)[0]


class HarnessTest(OriginCase):

    def test_config_is_the_example_plus_the_test_parts(self):
        with open(self.origin.conf) as f:
            conf = f.read()
        with open(og.EXAMPLE_CONF) as f:
            example = f.read()
        # Every directive line of the example is in the test config, filled.
        for line in example.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                filled = og.fill(line, self.origin._values)
                self.assertIn(filled, conf)
        self.assertNotRegex(conf, r"@[A-Z_]+@")
        for part in ("location /forbidden/", "location /token/", "live-switch.conf",
                     "limit_req_zone", "listen 127.0.0.1:%d;" % self.origin.proxy_port):
            self.assertIn(part, conf)

    def test_put_get_delete(self):
        self.assertEqual(self.put("/live/v/a/x.ts", b"abc"), 201)  # directories made
        self.assertEqual(self.put("/live/v/a/x.ts", b"abcd"), 204)  # replaced
        status, body, headers = og.http_get(self.origin.url("/live/v/a/x.ts"))
        self.assertEqual((status, body), (200, b"abcd"))
        self.assertEqual(headers["Access-Control-Allow-Origin"], "*")
        self.assertEqual(headers["Cache-Control"], "no-cache")
        self.assertEqual(headers["Content-Type"], "video/mp2t")
        self.assertEqual(self.origin.files("/live/"), ["v/a/x.ts"])
        with open(self.origin.disk_path("/live/v/a/x.ts"), "rb") as f:
            self.assertEqual(f.read(), b"abcd")
        self.put("/live/index.m3u8", media_playlist(0, ["x.ts"]))
        self.assertEqual(og.http_get(self.origin.url("/live/index.m3u8"))[2]["Content-Type"],
                         "application/vnd.apple.mpegurl")
        self.assertEqual(og.http_request("DELETE", self.origin.url("/live/v/a/x.ts"))[0], 204)
        self.assertEqual(og.http_get(self.origin.url("/live/v/a/x.ts"))[0], 404)
        self.assertEqual(self.origin.body_temp_files(), [])
        methods = [(m, s) for m, p, s in self.origin.requests() if p == "/live/v/a/x.ts"]
        self.assertEqual(methods, [("PUT", 201), ("PUT", 204), ("GET", 200), ("DELETE", 204),
                                   ("GET", 404)])
        timed = self.origin.requests(timed=True)
        self.assertEqual([r[1:] for r in timed], self.origin.requests())
        self.assertLess(abs(timed[-1][0] - time.monotonic()), 2)

    def test_forbidden_and_token(self):
        self.assertEqual(self.put("/forbidden/index0.ts", b"x"), 403)
        self.assertEqual(og.http_get(self.origin.url("/forbidden/index.m3u8"))[0], 403)
        self.assertEqual(self.put("/token/index0.ts", b"x"), 403)
        self.assertEqual(self.put("/token/index0.ts", b"x", headers={"X-Token": "wrong"}), 403)
        self.assertEqual(self.put("/token/index0.ts", b"x", headers={"X-Token": "secret"}), 201)
        self.assertEqual(og.http_get(self.origin.url("/token/index0.ts"),
                                     headers={"X-Token": "secret"})[:2], (200, b"x"))
        self.assertEqual(og.http_get(self.origin.url("/token/index0.ts"))[0], 403)

    def test_unavailable_switch(self):
        self.assertEqual(self.put("/live/a.ts", b"1"), 201)
        self.origin.set_unavailable(True)
        self.assertEqual(self.put("/live/a.ts", b"2"), 503)
        self.assertEqual(self.put("/live/b.ts", b"2"), 503)
        self.assertEqual(og.http_request("DELETE", self.origin.url("/live/a.ts"))[0], 503)
        self.assertEqual(og.http_get(self.origin.url("/live/a.ts"))[:2], (200, b"1"))
        self.origin.set_unavailable(False)
        self.assertEqual(self.put("/live/b.ts", b"2"), 201)
        self.assertEqual(self.origin.files(), ["a.ts", "b.ts"])
        self.assertEqual(self.origin.generation, 2)

    def test_stop_and_start_on_the_same_port(self):
        self.put("/live/a.ts", b"1")
        port = self.origin.port
        self.origin.stop()
        self.assertFalse(self.origin.running())
        with self.assertRaises(OSError):
            og.http_get(self.origin.url("/live/a.ts"), timeout=2)
        self.origin.start()
        self.assertEqual(self.origin.port, port)
        self.assertEqual(og.http_get(self.origin.url("/live/a.ts"))[:2], (200, b"1"))
        self.origin.stop(hard=True)
        self.assertFalse(og.port_open(port))
        self.origin.start()
        self.assertEqual(self.put("/live/b.ts", b"2"), 201)

    def test_slow_proxy_delays_requests(self):
        # 2 requests a second: 5 PUTs take about 2 s, and arrive whole.
        start = time.monotonic()
        for i in range(5):
            status = og.http_request("PUT", self.origin.proxy_url("/live/p%d.ts" % i),
                                     data=b"x" * 100000, timeout=10)[0]
            self.assertEqual(status, 201)
        took = time.monotonic() - start
        self.assertGreaterEqual(took, 1.5)
        self.assertLess(took, 6)
        for i in range(5):
            self.assertEqual(os.path.getsize(self.origin.disk_path("/live/p%d.ts" % i)), 100000)
        want = [("PUT", "/live/p%d.ts" % i, 201) for i in range(5)]
        # nginx logs a request just after its response: wait for the last line.
        deadline = time.monotonic() + 5
        while len(self.origin.requests(proxy=True)) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(self.origin.requests(proxy=True), want)
        self.assertEqual([r for r in self.origin.requests() if r[0] == "PUT"], want)

    def test_cleanup(self):
        master = self.origin.proc.pid
        workers = og._children(master)
        self.assertEqual(len(workers), 1)
        tmp = self.origin.tmp
        self.origin.close()
        self.origin.close()  # idempotent
        self.assertFalse(os.path.exists(tmp))
        for pid in [master] + workers:
            self.assertFalse(os.path.exists("/proc/%d/cmdline" % pid)
                             and "nginx" in open("/proc/%d/cmdline" % pid).read(), pid)


class WatcherTest(OriginCase):
    def publish(self, body):
        self.assertIn(self.put("/live/index.m3u8", body), (201, 204))

    def watch(self, versions, **kw):
        url = self.origin.url("/live/index.m3u8")
        for i in range(6):
            self.put("/live/s%d.ts" % i, b"segment %d" % i)
        with og.HttpPlaylistWatcher(url, interval=0.02, **kw) as w:
            time.sleep(0.2)
            for body in versions:
                self.publish(body)
                time.sleep(0.2)
        return w

    def test_good_stream(self):
        w = self.watch([media_playlist(0, ["s0.ts"]), media_playlist(0, ["s0.ts", "s1.ts"]),
                        media_playlist(1, ["s1.ts", "s2.ts"]),
                        media_playlist(1, ["s1.ts", "s2.ts"], end=True)],
                       fetch_segments=True)
        self.assertEqual(w.problem_text(), "")
        self.assertGreater(w.not_found, 0)
        self.assertEqual(len(w.versions), 4)
        self.assertEqual(sorted(w.listed()), [0, 1, 2])
        self.assertEqual(list(w.removed), [self.origin.url("/live/s0.ts")])
        self.assertGreater(w.removed[self.origin.url("/live/s0.ts")],
                           w.first_listed[self.origin.url("/live/s2.ts")] - 0.01)
        self.assertEqual(len(w.digests), 3)
        self.assertEqual(w.check_contents(), [])
        self.put("/live/s1.ts", b"other content")
        self.assertEqual(len(w.check_contents()), 1)

    def test_problems_are_found(self):
        cases = [
            ([media_playlist(2, ["s2.ts"]), media_playlist(1, ["s1.ts", "s2.ts"])],
             "media sequence went back"),
            ([media_playlist(0, ["s0.ts", "s1.ts"]), media_playlist(0, ["s0.ts"])],
             "an older playlist replaced a newer one"),
            ([media_playlist(0, ["s0.ts", "s1.ts"]), media_playlist(1, ["s0.ts", "s2.ts"])],
             "s0.ts was segment 0 (1.000 s), now 1"),
            ([media_playlist(0, ["s0.ts"], end=True), media_playlist(0, ["s0.ts", "s1.ts"])],
             "EXT-X-ENDLIST disappeared"),
            ([media_playlist(0, ["s0.ts", "missing.ts"])],
             "missing.ts is listed, but GET answers 404"),
            ([b"#EXTM3U\n#EXTINF:1.000,\n"], "segment tags without URI"),
        ]
        for versions, message in cases:
            with self.subTest(message):
                og.http_request("DELETE", self.origin.url("/live/index.m3u8"))
                w = self.watch(versions, fetch_segments=True)
                self.assertIn(message, w.problem_text())

    def test_outage_is_not_a_problem(self):
        url = self.origin.url("/live/index.m3u8")
        self.put("/live/s0.ts", b"0")
        self.publish(media_playlist(0, ["s0.ts"]))
        with og.HttpPlaylistWatcher(url, interval=0.02, fetch_segments=True) as w:
            time.sleep(0.2)
            self.origin.stop()
            time.sleep(0.3)
            self.origin.start()
            time.sleep(0.2)
        self.assertEqual(w.problem_text(), "")
        self.assertGreater(w.unreachable, 0)
        self.assertEqual(w.not_found, 0)

    def test_playlist_vanishing_is_a_problem(self):
        url = self.origin.url("/live/index.m3u8")
        self.put("/live/s0.ts", b"0")
        self.publish(media_playlist(0, ["s0.ts"]))
        with og.HttpPlaylistWatcher(url, interval=0.02) as w:
            time.sleep(0.2)
            og.http_request("DELETE", url)
            time.sleep(0.2)
        self.assertIn("404 after it was published", w.problem_text())

    def test_mirror(self):
        self.put("/live/v/init.mp4", b"init")
        self.put("/live/v/a%20b.m4s", b"seg")
        body = (b"#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n"
                b'#EXT-X-MAP:URI="init.mp4"\n#EXTINF:1.000,\na%20b.m4s\n')
        self.put("/live/v/index.m3u8", body)
        local, pl = og.mirror_playlist(self.origin.url("/live/v/index.m3u8"), self.path("m"))
        self.assertEqual(local, self.path("m", "index.m3u8"))
        self.assertEqual(len(pl.segments), 1)
        with open(self.path("m", "a b.m4s"), "rb") as f:
            self.assertEqual(f.read(), b"seg")
        with open(self.path("m", "init.mp4"), "rb") as f:
            self.assertEqual(f.read(), b"init")
        og.http_request("DELETE", self.origin.url("/live/v/init.mp4"))
        with self.assertRaisesRegex(AssertionError, "init.mp4: 404"):
            og.mirror_playlist(self.origin.url("/live/v/index.m3u8"), self.path("m2"))


class CommandLineTest(TempDirTest):
    def test_serve_until_stdin_ends(self):
        if og.nginx_path() is None:
            self.skipTest("nginx is not installed (apt-get install nginx)")
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, "..", "lib", "origin.py"),
                                 "serve", "--root", self.dir, "--max-seconds", "60"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                env=og.clean_env())
        try:
            info = json.loads(proc.stdout.readline())
            self.assertEqual(info["root"], self.dir)
            url = info["url"] + "x.ts"
            self.assertEqual(og.http_request("PUT", url, data=b"hi")[0], 201)
            self.assertEqual(og.http_get(url)[:2], (200, b"hi"))
            with open(os.path.join(self.dir, "live", "x.ts"), "rb") as f:
                self.assertEqual(f.read(), b"hi")
            proc.stdin.close()
            self.assertEqual(proc.wait(20), 0)
            self.assertFalse(og.port_open(info["port"]))
            self.assertFalse(og.port_open(info["proxy_port"]))
            self.assertTrue(os.path.exists(os.path.join(self.dir, "live", "x.ts")),
                            "a given root is left in place")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            proc.stdout.close()


if __name__ == "__main__":
    unittest.main()
