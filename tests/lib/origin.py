#!/usr/bin/env python3
"""An HTTP origin for the tests of HLS publication over HTTP (standard
library only): Debian's nginx with its WebDAV module, run by the test as a
process of its own on 127.0.0.1, and readers of what it serves.

What it holds:
- Origin: nginx with the configuration of examples/nginx-origin.conf plus
  the test-only parts of nginx-origin-test.conf beside this file, in a
  private temp directory (config, pid file, logs, temp paths, and the served
  files unless a root is given). Its URL layout:
      /live/       PUT, DELETE (directories made as needed) and GET
      /forbidden/  403 to everything
      /token/      as /live/, but only with the header "X-Token: secret";
                   403 without it
  and a second port (proxy_url) in front of /live/ where every request
  waits its turn (limit_req: see the config). It can make /live/ answer 503
  to writes (set_unavailable, a reload that is waited for), be stopped
  (connections refused) and started again on the same ports, and is always
  taken down by close(), also at interpreter exit;
- http_request / http_get: one request with urllib (no proxy from the
  environment, a timeout), the status returned rather than raised;
- mirror_playlist: a media playlist over HTTP with everything it lists,
  downloaded into a directory, to check with hlstest's file-based helpers;
- HttpPlaylistWatcher: polls a media playlist URL in a thread and checks
  every version it reads (parse, media sequence, URIs, segment bodies);
- Sampler: calls a function periodically in a thread (spool directory
  sizes, a process's peak memory);
- a command line for the browser tests:
      python3 tests/lib/origin.py serve [--root DIR] [--max-seconds N]
  starts an origin, prints one JSON line {"port", "proxy_port", "root",
  "url"} on stdout and runs until SIGTERM, SIGINT, the end of its standard
  input or N seconds (default 900), then takes nginx down.

nginx is $NGINX, else `nginx` on PATH, else /usr/sbin/nginx (scripts/test.sh
installs Debian's package). Test files put this directory on sys.path
themselves, as for hlstest.
"""

import atexit
import ctypes
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hlstest import (FPS, REPO_ROOT, FFmpeg, LoopThread, PlaylistError,  # noqa: E402
                     TempDirTest, check_listed_segments, hlsbridge_args, lavfi_source,
                     parse_media_playlist, wait_for_version)

EXAMPLE_CONF = os.path.join(REPO_ROOT, "examples", "nginx-origin.conf")
TEST_CONF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nginx-origin-test.conf")

# Where the test-only sections go in the filled example (each exactly once).
_SERVER_ANCHOR = "\n    server {\n"
_LIVE_ANCHOR = "\n        location /live/ {\n"

_SWITCH_ON = ("if ($request_method ~ ^(PUT|DELETE)$) {\n"
              "    return 503;\n"
              "}\n")


def nginx_path():
    """The nginx binary: $NGINX, `nginx` on PATH, /usr/sbin/nginx; None when
    there is none."""
    for candidate in (os.environ.get("NGINX"), shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port():
    """A TCP port of 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port, timeout=0.2):
    """True when something accepts connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def clean_env():
    """os.environ without proxy settings: every request of a test (urllib's
    and ffmpeg's http protocol alike) goes straight to 127.0.0.1."""
    return {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}


def _die_with_parent():
    """preexec_fn: the child gets SIGKILL when the thread that started it
    dies (prctl PR_SET_PDEATHSIG), so nginx never outlives a killed test.
    Its workers do not inherit this; close() and stop() kill them by pid."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _children(pid):
    """Pids of the processes whose parent is `pid` (from /proc)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            out.append(int(name))
    return out


def _sections(text):
    """{section name: text} of nginx-origin-test.conf ([name] lines)."""
    out, name = {}, None
    for line in text.splitlines(keepends=True):
        m = re.match(r"^\[([a-z]+)\]\s*$", line)
        if m:
            name = m.group(1)
            out[name] = ""
        elif name is not None:
            out[name] += line
    return out


def _indent(text, spaces):
    pad = " " * spaces
    return "".join(pad + line if line.strip() else line
                   for line in text.splitlines(keepends=True))


def _insert_once(text, anchor, before="", after=""):
    if text.count(anchor) != 1:
        raise ValueError("examples/nginx-origin.conf: %r must appear exactly once"
                         % anchor.strip())
    i = text.index(anchor)
    return text[:i] + "\n" + before + anchor.lstrip("\n") + after + text[i + len(anchor):]


def fill(template, values):
    """`template` with each @NAME@ replaced by values[NAME]; a placeholder
    left unfilled raises ValueError."""
    out = re.sub(r"@([A-Z_]+)@", lambda m: str(values[m.group(1)])
                 if m.group(1) in values else m.group(0), template)
    left = re.findall(r"@[A-Z_]+@", out)
    if left:
        raise ValueError("unfilled placeholders: %s" % sorted(set(left)))
    return out


def test_config(values):
    """The whole nginx.conf the tests run: the example, filled, with the
    test-only sections of nginx-origin-test.conf put in their places."""
    with open(EXAMPLE_CONF) as f:
        conf = f.read()
    with open(TEST_CONF) as f:
        extra = _sections(f.read())
    for name in ("http", "locations", "live"):
        if name not in extra:
            raise ValueError("%s: no [%s] section" % (TEST_CONF, name))
    # /live/ first: the [http] section has a location /live/ of its own.
    conf = _insert_once(conf, _LIVE_ANCHOR, before=_indent(extra["locations"], 8),
                        after=_indent(extra["live"], 12))
    conf = _insert_once(conf, _SERVER_ANCHOR, before=_indent(extra["http"], 4))
    return fill(conf, values)


_LIVE_ORIGINS = set()


@atexit.register
def _close_all():
    for origin in list(_LIVE_ORIGINS):
        origin.close()


class OriginError(RuntimeError):
    """nginx did not start, stop or reload as asked; says what its error
    log says."""


class Origin:
    """nginx serving `root` (a new directory in the temp dir when None) on a
    free port of 127.0.0.1, with a slow proxy on a second port. Use as a
    context manager, or call close(); started by start() (the context
    manager starts it)."""

    def __init__(self, root=None, slow_rate="1r/s", slow_burst=20):
        self.nginx = nginx_path()
        if self.nginx is None:
            raise OriginError("nginx is not installed (apt-get install nginx)")
        self.tmp = tempfile.mkdtemp(prefix="hlsb-origin-")
        self.prefix = os.path.join(self.tmp, "nginx")
        os.makedirs(self.prefix)
        self.root = os.path.abspath(root) if root else os.path.join(self.tmp, "www")
        os.makedirs(os.path.join(self.root, "live"), exist_ok=True)
        os.makedirs(os.path.join(self.root, "token"), exist_ok=True)
        self.port = free_port()
        self.proxy_port = free_port()
        while self.proxy_port == self.port:
            self.proxy_port = free_port()
        self.conf = os.path.join(self.prefix, "nginx.conf")
        self.error_log = os.path.join(self.prefix, "error.log")
        self.access_log = os.path.join(self.prefix, "access.log")
        self.generation = 0
        self.unavailable = False
        self.proc = None
        self._output = None
        self._values = {"PORT": self.port, "PROXY_PORT": self.proxy_port, "ROOT": self.root,
                        "PREFIX": self.prefix, "SLOW_RATE": slow_rate,
                        "SLOW_BURST": slow_burst}
        with open(self.conf, "w") as f:
            f.write(test_config(self._values))
        self._write_state()
        _LIVE_ORIGINS.add(self)

    # -- URLs and files

    def url(self, path="/live/"):
        """http://127.0.0.1:PORT + path (path starts with '/')."""
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def proxy_url(self, path="/live/"):
        """The same path through the slow proxy."""
        return "http://127.0.0.1:%d%s" % (self.proxy_port, path)

    def disk_path(self, path):
        """The file nginx serves for a URL path such as /live/index0.ts."""
        return os.path.join(self.root, urllib.parse.unquote(path).lstrip("/"))

    def files(self, path="/live/"):
        """Relative paths of the regular files below a URL directory, sorted."""
        top = self.disk_path(path)
        out = []
        for d, _, names in os.walk(top):
            for n in names:
                out.append(os.path.relpath(os.path.join(d, n), top))
        return sorted(out)

    def body_temp_files(self):
        """Request bodies nginx still holds in its temp directory (none once
        every PUT has ended)."""
        out = []
        for d, _, names in os.walk(os.path.join(self.prefix, "client_body")):
            out += [os.path.join(d, n) for n in names]
        return out

    def requests(self, timed=False, proxy=False):
        """[(method, path, status)] of every request to the origin's port
        (with `proxy`, to the slow proxy's) so far, in the order they ended;
        with `timed`, [(time.monotonic() at their end, method, path,
        status)] (from the log's wall-clock milliseconds)."""
        port = self.proxy_port if proxy else self.port
        rx = re.compile(r'^([0-9]+\.[0-9]+) %d "([A-Z]+) (\S+) HTTP/[0-9.]+" ([0-9]{3})$' % port)
        offset = time.time() - time.monotonic()
        out = []
        try:
            with open(os.path.join(self.prefix, "timed.log"), errors="replace") as f:
                for line in f:
                    m = rx.match(line.rstrip("\n"))
                    if m:
                        row = (m.group(2), m.group(3), int(m.group(4)))
                        out.append((float(m.group(1)) - offset,) + row if timed else row)
        except FileNotFoundError:
            pass
        return out

    def log_tail(self, lines=30):
        """The last lines of nginx's error log and of its stderr."""
        parts = []
        for name in (self.error_log, os.path.join(self.prefix, "stderr.log")):
            try:
                with open(name, errors="replace") as f:
                    parts.append("".join(f.readlines()[-lines:]))
            except FileNotFoundError:
                pass
        return "\n".join(parts)

    # -- process

    def _command(self, *extra):
        directives = "daemon off; master_process on;"
        if os.geteuid() == 0:
            # Workers would switch to nobody, who cannot write the private
            # temp directory: every PUT would answer 500.
            directives += " user root;"
        return [self.nginx, "-p", self.prefix + "/", "-e", self.error_log, "-c", self.conf,
                "-g", directives, *extra]

    def running(self):
        """True while the nginx master runs."""
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=10):
        """Starts nginx (again: on the same ports) and waits until both ports
        answer with the current configuration. Raises OriginError."""
        if self.running():
            return self
        check = subprocess.run(self._command("-t", "-q"), stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            raise OriginError("nginx -t refuses %s:\n%s%s" % (self.conf, check.stdout,
                                                             check.stderr))
        deadline = time.monotonic() + timeout
        while True:
            self._output = open(os.path.join(self.prefix, "stderr.log"), "ab")
            self.proc = subprocess.Popen(self._command(), stdin=subprocess.DEVNULL,
                                         stdout=self._output, stderr=subprocess.STDOUT,
                                         preexec_fn=_die_with_parent)
            if self._wait_ready(deadline):
                return self
            # A port taken meanwhile (or still held): retry until the deadline.
            rc = self.proc.poll()
            self._kill_all()
            if rc is None or time.monotonic() >= deadline:
                raise OriginError("nginx did not start on ports %d and %d (exit %s):\n%s"
                                  % (self.port, self.proxy_port, rc, self.log_tail()))
            time.sleep(0.2)

    def _wait_ready(self, deadline):
        """Waits until the state endpoint shows this generation and the proxy
        port accepts connections; False when nginx exits or at the deadline."""
        want = self._state_text()
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                status, body, _ = http_get(self.url("/_origin/state"), timeout=1)
                if status == 200 and body.decode() == want and port_open(self.proxy_port):
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def _kill_all(self, sig=signal.SIGKILL):
        """Sends `sig` to the master and each of its workers, by pid, and
        reaps the master."""
        if self.proc is None:
            return
        pids = _children(self.proc.pid)
        for pid in [self.proc.pid] + pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        # Workers left behind by a killed master: wait for them, bounded.
        deadline = time.monotonic() + 5
        for pid in pids:
            while time.monotonic() < deadline and os.path.exists("/proc/%d" % pid):
                try:
                    with open("/proc/%d/stat" % pid) as f:
                        if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                            break  # a zombie, reaped by whoever adopted it
                except OSError:
                    break
                time.sleep(0.02)

    def stop(self, hard=False, timeout=10):
        """Stops nginx: a fast shutdown (SIGTERM, connections closed), or
        with `hard` SIGKILL to the master and its workers. Returns when no
        nginx process of this origin is left and the ports refuse
        connections (bounded by `timeout`, then SIGKILL)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            if hard:
                self._kill_all()
            else:
                workers = _children(self.proc.pid)
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._kill_all()
                for pid in workers:  # gone with the master, unless it hung
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        if self._output:
            self._output.close()
            self._output = None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (port_open(self.port) or
                                                port_open(self.proxy_port)):
            time.sleep(0.05)

    # -- the 503 switch and reloads

    def _state_text(self):
        return "generation %d unavailable %d\n" % (self.generation, int(self.unavailable))

    def _write_state(self):
        with open(os.path.join(self.prefix, "live-switch.conf"), "w") as f:
            f.write(_SWITCH_ON if self.unavailable else "# writes allowed\n")
        with open(os.path.join(self.prefix, "state.conf"), "w") as f:
            f.write('location = /_origin/state {\n    default_type text/plain;\n'
                    '    return 200 "%s";\n}\n' % self._state_text().replace("\n", "\\n"))

    def set_unavailable(self, on, timeout=10):
        """Makes /live/ answer 503 to PUT and DELETE (on) or accept them
        again (off): the switch file rewritten, `nginx -s reload`, and a
        wait (bounded) until new connections get the new configuration and
        the workers of the old one have finished."""
        self.unavailable = bool(on)
        self.reload(timeout)

    def reload(self, timeout=10):
        """Reloads the configuration and waits until it took effect."""
        if not self.running():
            raise OriginError("reload: nginx is not running")
        self.generation += 1
        self._write_state()
        old_workers = set(_children(self.proc.pid))
        out = subprocess.run(self._command("-s", "reload"), stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            raise OriginError("nginx -s reload failed:\n%s%s" % (out.stderr, self.log_tail()))
        deadline = time.monotonic() + timeout
        if not self._wait_ready(deadline):
            raise OriginError("reload to generation %d did not take effect in %g s:\n%s"
                              % (self.generation, timeout, self.log_tail()))
        while old_workers & set(_children(self.proc.pid)):
            if time.monotonic() >= deadline:
                raise OriginError("workers %s of the old configuration still run after %g s"
                                  % (sorted(old_workers), timeout))
            time.sleep(0.02)

    # -- lifetime

    def close(self):
        """Stops nginx and removes the temp directory (and so the served
        files, unless a root was given). Idempotent."""
        try:
            self.stop(timeout=5)
        finally:
            _LIVE_ORIGINS.discard(self)
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc):
        self.close()
        return False


# --------------------------------------------------------------------------
# Reading over HTTP

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_request(method, url, data=None, headers=None, timeout=5):
    """One request; returns (status, body bytes, headers). An HTTP error
    status is returned, not raised; a connection that fails raises OSError
    (urllib.error.URLError is one)."""
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            return resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.read(), e.headers


def http_get(url, timeout=5, headers=None):
    """GET `url`: (status, body bytes, headers)."""
    return http_request("GET", url, headers=headers, timeout=timeout)


def fetch(url, timeout=10, headers=None):
    """The body of `url`; AssertionError naming the URL and status unless
    it is 200."""
    status, body, _ = http_get(url, timeout, headers)
    if status != 200:
        raise AssertionError("GET %s: %d" % (url, status))
    return body


def fetch_playlist(url, timeout=10, headers=None):
    """The media playlist at `url`, parsed strictly."""
    return parse_media_playlist(fetch(url, timeout, headers))


def mirror_playlist(url, dest, headers=None, text=None):
    """Downloads the media playlist at `url` (or parses `text`, its bytes
    read before) and every segment and init section it lists (relative
    URIs) into `dest`, keeping the relative layout. Returns (local path of
    the playlist, MediaPlaylist). AssertionError when anything listed does
    not GET 200."""
    data = text if text is not None else fetch(url, headers=headers)
    pl = parse_media_playlist(data)
    local = os.path.join(dest, os.path.basename(urllib.parse.urlsplit(url).path))
    os.makedirs(dest, exist_ok=True)
    with open(local, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    wanted = []
    for s in pl.segments:
        wanted.append(s.uri)
        if s.map_uri:
            wanted.append(s.map_uri)
    for uri in dict.fromkeys(wanted):
        if "://" in uri or uri.startswith("/"):
            raise AssertionError("%s lists %r, not a relative URI" % (url, uri))
        path = os.path.normpath(os.path.join(dest, urllib.parse.unquote(uri)))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(fetch(urllib.parse.urljoin(url, uri), headers=headers))
    return local, pl


class HttpPlaylistWatcher(LoopThread):
    """Reads a media playlist URL in a thread every `interval` seconds, as
    a player would, and checks every distinct version:
    - it parses strictly (hlstest.parse_media_playlist);
    - the media sequence, the discontinuity sequence and the number of the
      last segment never go back (no older version replaces a newer one);
    - a URI keeps its media sequence number and duration, and a number
      keeps its URI; an ended playlist stays ended;
    - once seen, the playlist does not vanish (404).
    A 404 before the first version and a refused connection (the origin
    stopped) are counted, not problems. With `fetch_segments`, each segment
    and init section is read once when first listed: it must GET 200 (a
    listed segment was uploaded), and its digest is kept for
    check_contents."""

    join_timeout = 10  # stop() also waits for one last read

    def __init__(self, url, interval=0.05, fetch_segments=False, headers=None):
        super().__init__(interval)
        self.url = url
        self.fetch_segments = fetch_segments
        self.headers = headers
        self.reads = 0
        self.not_found = 0
        self.unreachable = 0
        self.versions = []      # (monotonic time, bytes, MediaPlaylist), distinct
        self.problems = []      # (monotonic time, message)
        self.uri_seq = {}       # absolute URI -> (sequence, duration)
        self.seq_uri = {}       # sequence -> absolute URI
        self.digests = {}       # absolute URI -> sha256 of its body when first listed
        self.first_listed = {}  # absolute URI -> monotonic time first seen listed
        self.removed = {}       # absolute URI -> monotonic time first seen slid out
        self._pending = []      # URIs listed but not read yet (origin unreachable)
        self._bad = None        # the last content that did not parse
        self._lock = threading.Lock()

    def step(self):
        self.poll()

    def finish(self):
        self.poll()  # one last read once stopped

    def _problem(self, message):
        with self._lock:
            self.problems.append((time.monotonic(), message))

    def poll(self):
        """Reads the playlist once and records what it found."""
        now = time.monotonic()
        try:
            status, data, _ = http_get(self.url, timeout=2, headers=self.headers)
        except OSError:
            with self._lock:
                self.unreachable += 1
            return
        with self._lock:
            self.reads += 1
            last = self.versions[-1] if self.versions else None
        if status == 404 and last is None:
            with self._lock:
                self.not_found += 1
            return
        if status != 200:
            self._problem("GET %s: %d%s" % (self.url, status,
                                            " after it was published" if last else ""))
            return
        if (last is None or last[1] != data) and data != self._bad:
            try:
                pl = parse_media_playlist(data)
            except PlaylistError as e:
                self._bad = data  # reported once
                self._problem("read %d: %s; content %r" % (self.reads, e, data[-300:]))
                return
            self._check(last[2] if last else None, pl)
            listed = {urllib.parse.urljoin(self.url, seg.uri) for seg in pl.segments}
            with self._lock:
                self.versions.append((now, data, pl))
                for uri in listed:
                    self.first_listed.setdefault(uri, now)
                for uri in self.uri_seq:
                    if uri not in listed and uri not in self.removed:
                        self.removed[uri] = now
        self._fetch_pending()

    def _check(self, prev, pl):
        if prev is not None:
            if pl.media_sequence < prev.media_sequence:
                self._problem("media sequence went back from %d to %d"
                              % (prev.media_sequence, pl.media_sequence))
            if pl.discontinuity_sequence < prev.discontinuity_sequence:
                self._problem("discontinuity sequence went back from %d to %d"
                              % (prev.discontinuity_sequence, pl.discontinuity_sequence))
            prev_last = prev.media_sequence + len(prev.segments)
            last = pl.media_sequence + len(pl.segments)
            if last < prev_last:
                self._problem("an older playlist replaced a newer one: it ends at "
                              "media sequence %d, the one before at %d" % (last, prev_last))
            if prev.endlist and not pl.endlist:
                self._problem("EXT-X-ENDLIST disappeared")
        for s in pl.segments:
            uri = urllib.parse.urljoin(self.url, s.uri)
            with self._lock:
                known = self.uri_seq.get(uri)
                other = self.seq_uri.get(s.sequence)
                if known is None:
                    self.uri_seq[uri] = (s.sequence, s.duration)
                    if self.fetch_segments:
                        self._pending.append(uri)
                if other is None:
                    self.seq_uri[s.sequence] = uri
            if known is not None and known != (s.sequence, s.duration):
                self._problem("%s was segment %d (%.3f s), now %d (%.3f s)"
                              % (uri, known[0], known[1], s.sequence, s.duration))
            if other is not None and other != uri:
                self._problem("segment %d was %s, now %s" % (s.sequence, other, uri))
            if self.fetch_segments and s.map_uri:
                map_uri = urllib.parse.urljoin(self.url, s.map_uri)
                with self._lock:
                    if map_uri not in self.digests and map_uri not in self._pending:
                        self._pending.append(map_uri)

    def _fetch_pending(self):
        with self._lock:
            pending, self._pending = self._pending, []
        left = []
        for i, uri in enumerate(pending):
            try:
                status, body, _ = http_get(uri, timeout=5, headers=self.headers)
            except OSError:
                left = pending[i:]  # the origin is down: later
                break
            if status == 200:
                with self._lock:
                    self.digests[uri] = hashlib.sha256(body).hexdigest()
            else:
                self._problem("%s is listed, but GET answers %d" % (uri, status))
        with self._lock:
            self._pending = left + self._pending

    # -- results

    def latest(self):
        """The newest (time, bytes, MediaPlaylist), or None."""
        with self._lock:
            return self.versions[-1] if self.versions else None

    def versions_since(self, t, until=None):
        """The versions first seen at monotonic time `t` or later (and
        before `until`)."""
        with self._lock:
            return [v for v in self.versions if v[0] >= t and (until is None or v[0] < until)]

    def listed(self):
        """{media sequence number: absolute URI} of every segment seen."""
        with self._lock:
            return dict(self.seq_uri)

    def problem_text(self):
        with self._lock:
            return "\n".join(m for _, m in self.problems)

    def wait_for(self, predicate, timeout):
        """Waits until predicate(MediaPlaylist) holds for the newest
        version; returns that playlist, or None on timeout."""
        return wait_for_version(self.latest, predicate, timeout)

    def check_contents(self):
        """Reads again every segment whose digest was taken; returns the
        messages of those whose body changed (a URI re-used for other
        content). A segment since deleted (404) is not a change."""
        with self._lock:
            digests = dict(self.digests)
        out = []
        for uri, digest in sorted(digests.items()):
            status, body, _ = http_get(uri, timeout=10, headers=self.headers)
            if status == 200 and hashlib.sha256(body).hexdigest() != digest:
                out.append("%s changed after it was listed" % uri)
            elif status not in (200, 404):
                out.append("GET %s: %d" % (uri, status))
        return out


class Sampler(LoopThread):
    """Calls fn() every `interval` seconds in a thread until stopped and
    keeps what it returns (None results are dropped): `samples`, the
    monotonic `times` they were taken at, max_value() and max_between()."""

    join_timeout = 10

    def __init__(self, fn, interval=0.1):
        super().__init__(interval)
        self.fn = fn
        self.samples = []
        self.times = []
        self.errors = []

    def step(self):
        try:
            t, v = time.monotonic(), self.fn()
            if v is not None:
                self.times.append(t)
                self.samples.append(v)
        except Exception as e:  # noqa: BLE001 - kept for the test to see
            self.errors.append(repr(e))

    def max_value(self, default=0):
        return max(self.samples, default=default)

    def max_between(self, t0, t1, default=0):
        """The largest sample taken between monotonic times t0 and t1."""
        return max((v for t, v in zip(self.times, self.samples) if t0 <= t <= t1),
                   default=default)


def count_files(directory):
    """Regular files at any depth below `directory` (0 when it is missing)."""
    n = 0
    for _, _, names in os.walk(directory):
        n += len(names)
    return n


def vm_hwm_kib(pid):
    """The peak resident set size (VmHWM) of a running process, in KiB;
    None when it has exited."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


# --------------------------------------------------------------------------
# Command line (the browser tests)

# --------------------------------------------------------------------------
# What the origin tests share (tests/e2e/test_origin.py, tests/faults/test_origin_faults.py)

LADDER = ["-var_stream_map", "v:0,agroup:aud,name:video a:0,agroup:aud,name:audio",
          "-master_pl_name", "master.m3u8"]
SEGMENT_NUMBER = re.compile(r"(\d+)\.(?:ts|m4s)$")


def source(seconds, realtime=True):
    """The standard input, 1 s GOPs, `seconds` long, read in real time."""
    return [*lavfi_source(realtime=realtime, gop=FPS), "-t", str(seconds)]


def number(uri):
    m = SEGMENT_NUMBER.search(uri)
    if not m:
        raise AssertionError("segment URI %r has no number" % uri)
    return int(m.group(1))


class OriginTest(TempDirTest):
    """A test with its own nginx origin (self.origin) and an empty spool
    directory (self.spool)."""

    origin_options = {}

    def setUp(self):
        if nginx_path() is None:
            self.skipTest("nginx is not installed (apt-get install nginx)")
        super().setUp()
        self.origin = Origin(**self.origin_options)
        self.addCleanup(self.origin.close)
        self.origin.start()
        self.spool = self.path("spool")
        os.makedirs(self.spool)

    def ffmpeg(self, args):
        """ffmpeg in the background, killed at the end of the test."""
        ff = FFmpeg(args, env=clean_env())
        self.addCleanup(ff.kill)
        return ff

    def finish(self, ff, timeout, ok=True):
        """Waits for ffmpeg's exit (failing the test after `timeout` s);
        with `ok`, asserts the exit status is 0. Returns the status."""
        try:
            rc = ff.wait(timeout)
        except subprocess.TimeoutExpired:
            self.fail("ffmpeg still runs after %d s:\n%s" % (timeout, ff.stderr_tail(40)))
        if ok:
            self.assertEqual(rc, 0, "ffmpeg failed:\n%s" % ff.stderr_tail(40))
        return rc

    def out(self, *extra, list_size=6, url=None):
        """hlsbridge output arguments to /live/index.m3u8 (or `url`),
        spooling in self.spool."""
        return hlsbridge_args(url or self.origin.url("/live/index.m3u8"), list_size=list_size,
                              extra=["-http_spool_dir", self.spool, *extra])

    def wait_segments(self, watcher, ff, count, timeout=30):
        """Waits until the playlist over HTTP lists `count` segments."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and ff.alive():
            pl = watcher.wait_for(lambda p: len(p.segments) >= count, 0.5)
            if pl is not None:
                return pl
        self.fail("no playlist with %d segments over HTTP (ffmpeg %s):\n%s\n%s"
                  % (count, "running" if ff.alive() else "exited", watcher.problem_text(),
                     ff.stderr_tail(30)))

    def check_watch(self, watcher, min_versions=3):
        """What the watcher saw: no problem, the stream followed live."""
        watcher.stop()
        self.assertEqual(watcher.problem_text(), "")
        self.assertGreaterEqual(len(watcher.versions), min_versions,
                                "the playlist was seen in %d versions only" % len(watcher.versions))
        self.assertEqual(watcher.check_contents(), [])

    def check_final(self, url, name="final", kinds=("video", "audio"), headers=None):
        """The final media playlist at `url`: it has EXT-X-ENDLIST, every
        segment and init section it lists GETs 200, decodes whole, and is
        on nginx's disk with the same bytes. Returns the MediaPlaylist."""
        local, pl = mirror_playlist(url, self.path("mirror", name), headers=headers)
        self.assertTrue(pl.endlist, "no EXT-X-ENDLIST at the end:\n" + pl.text)
        self.assertTrue(pl.segments, pl.text)
        check_listed_segments(local, pl, kinds=kinds)
        uris = [s.uri for s in pl.segments] + [s.map_uri for s in pl.segments if s.map_uri]
        for uri in set(uris):
            path = urllib.parse.urlsplit(urllib.parse.urljoin(url, uri)).path
            with open(self.origin.disk_path(path), "rb") as f, \
                    open(os.path.join(os.path.dirname(local), urllib.parse.unquote(uri)),
                         "rb") as g:
                self.assertTrue(f.read() == g.read(), "%s: served bytes differ from disk" % uri)
        return pl

    def check_spool_empty(self):
        self.assertEqual(os.listdir(self.spool), [], "left in the spool directory")

    def check_no_loss(self, pl):
        """Every segment of the stream is listed: numbers 0, 1, 2... in
        order, no discontinuity."""
        self.assertEqual([number(s.uri) for s in pl.segments], list(range(len(pl.segments))),
                         pl.text)
        self.assertFalse(any(s.discontinuity for s in pl.segments), pl.text)


def _serve(argv):
    import argparse
    p = argparse.ArgumentParser(prog="origin.py serve",
                                description="Runs a test origin until SIGTERM, SIGINT, "
                                            "the end of stdin or --max-seconds.")
    p.add_argument("--root", help="directory served (default: a new temp directory)")
    p.add_argument("--max-seconds", type=float, default=900)
    args = p.parse_args(argv)
    done = threading.Event()

    def on_signal(signum, frame):
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def watch_stdin():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        done.set()

    with Origin(root=args.root) as origin:
        print(json.dumps({"port": origin.port, "proxy_port": origin.proxy_port,
                          "root": origin.root, "url": origin.url("/live/")}), flush=True)
        threading.Thread(target=watch_stdin, daemon=True).start()
        done.wait(args.max_seconds)
    return 0


def main(argv):
    if len(argv) < 2 or argv[1] != "serve":
        print("usage: origin.py serve [--root DIR] [--max-seconds N]", file=sys.stderr)
        return 2
    return _serve(argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
