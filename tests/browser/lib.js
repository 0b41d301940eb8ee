// Shared harness of the browser tests: Debian's Chromium driven by
// playwright-core, the web/ server, ffmpeg runs and a small playlist reader.
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const REPO = path.resolve(__dirname, '..', '..');
const WEB = path.join(REPO, 'web');

// playwright-core and the server live in web/ (one package.json for both).
function requireWeb(name) {
  return require(require.resolve(name, { paths: [WEB] }));
}

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// The launch flags the project specifies, exactly; ignoreDefaultArgs keeps
// playwright from adding its own (--headless is ours, never its new-mode one).
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

class TestFailure extends Error {}

function log(msg) {
  process.stderr.write(`[${path.basename(process.argv[1] || 'test')}] ${msg}\n`);
}

function check(cond, msg) {
  if (!cond) throw new TestFailure(msg);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function mkTempDir(tag) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `hlsbridge-${tag}-`));
}

// Cleanup actions run in reverse order at the end, whatever happened.
class Scope {
  constructor() { this.actions = []; }
  defer(fn) { this.actions.push(fn); }
  async close() {
    while (this.actions.length) {
      const fn = this.actions.pop();
      try {
        await fn();
      } catch (e) {
        log(`cleanup: ${e.message}`);
      }
    }
  }
}

// Runs main(scope) and exits 0 on success, 1 with a clear message otherwise.
function runTest(name, main) {
  const scope = new Scope();
  let code = 0;
  const onSignal = async (sig) => {
    log(`${sig}: cleaning up`);
    await scope.close();
    process.exit(1);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  (async () => {
    try {
      await main(scope);
      log(`PASS ${name}`);
    } catch (e) {
      code = 1;
      if (e instanceof TestFailure) log(`FAIL ${name}: ${e.message}`);
      else log(`FAIL ${name}: unexpected error: ${e.stack || e}`);
    } finally {
      await scope.close();
      process.exit(code);
    }
  })();
}

function ffmpegPath() {
  const p = process.env.FFMPEG || path.join(REPO, 'build', 'ffmpeg', 'bin', 'ffmpeg');
  check(fs.existsSync(p), `ffmpeg not found at ${p} (set FFMPEG=path to the custom build)`);
  return p;
}

// The muxer under test. FFMPEG_MUXER=hls lets the harness itself be checked
// against FFmpeg's own muxer; the real suite always uses hlsbridge.
function muxerName() {
  return process.env.FFMPEG_MUXER || 'hlsbridge';
}

// What the stream carries, for the runs of a test over other containers and
// codecs (tests/browser/run.sh sets them):
//   HLS_SEGMENT_TYPE  mpegts (the default) or fmp4
//   HLS_CODECS        h264 (H.264 + AAC, the default) or av1 (AV1 + Opus,
//                     fMP4 only)
//   HLS_ENCRYPT       1: AES-128 segments (-hls_enc 1, a generated key)
function segmentType() {
  const t = process.env.HLS_SEGMENT_TYPE || 'mpegts';
  check(t === 'mpegts' || t === 'fmp4', `HLS_SEGMENT_TYPE=${t}: mpegts or fmp4`);
  return t;
}

function codecs() {
  const c = process.env.HLS_CODECS || 'h264';
  check(c === 'h264' || c === 'av1', `HLS_CODECS=${c}: h264 or av1`);
  check(c === 'h264' || segmentType() === 'fmp4', 'HLS_CODECS=av1 needs HLS_SEGMENT_TYPE=fmp4');
  return c;
}

// Encoder arguments: a key frame every `gop` frames and no other.
function encoderArgs(gop) {
  if (codecs() === 'av1') {
    return ['-c:v', 'libsvtav1', '-preset', '12', '-pix_fmt', 'yuv420p', '-g', String(gop),
      '-svtav1-params', `keyint=${gop}:scd=0`, '-c:a', 'libopus', '-b:a', '96k'];
  }
  return ['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p',
    '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0',
    '-c:a', 'aac', '-b:a', '96k'];
}

// The common lavfi source of every test: H.264 + AAC (or AV1 + Opus, see
// codecs()), 2 s GOPs, 2 s segments, what the demo streams too.
function sourceArgs({ seconds, realtime, size = '640x360', rate = 30 }) {
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'warning'];
  if (realtime) args.push('-re');
  const dur = seconds ? `:duration=${seconds}` : '';
  args.push(
    '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${rate}${dur}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000${dur}`,
    '-map', '0:v', '-map', '1:a', ...encoderArgs(rate * 2));
  return args;
}

function hlsArgs({ playlistType, listSize = 0, time = 2 }) {
  const args = ['-f', muxerName(), '-hls_time', String(time), '-hls_list_size', String(listSize)];
  if (playlistType) args.push('-hls_playlist_type', playlistType);
  if (segmentType() === 'fmp4') args.push('-hls_segment_type', 'fmp4');
  if (process.env.HLS_ENCRYPT === '1') args.push('-hls_enc', '1');
  return args;
}

// hls.js errors that are not fatal still mean something was wrong with the
// stream (a gap, a bad fragment, a stall): fMP4 runs allow none. MPEG-TS
// runs only log them, as they always have: with MPEG-TS segments hls.js
// reports a hole at the very start (bufferSeekOverHole from 0 to about
// 0.17 s, while the first segment's audio and video start 21 ms apart),
// whose cause is not known yet.
function checkNoErrors(s, consoleLines) {
  if (segmentType() !== 'fmp4') {
    if (s.errors.length) log(`non-fatal hls.js errors: ${JSON.stringify(s.errors)}`);
    return;
  }
  check(s.errors.length === 0, `hls.js errors: ${JSON.stringify(s.errors)}\n` +
      `console: ${consoleLines.join(' | ')}`);
}

// Starts ffmpeg; returns { proc, done (promise of {code, signal}), stderr() }.
function startFfmpeg(args, scope) {
  const bin = ffmpegPath();
  log(`${bin} ${args.map((a) => (/[\s"'#%?]/.test(a) ? JSON.stringify(a) : a)).join(' ')}`);
  const proc = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (b) => {
    err += b.toString();
    if (err.length > 200000) err = err.slice(-100000);
  });
  const done = new Promise((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
    proc.on('error', (e) => resolve({ code: -1, signal: null, error: e }));
  });
  if (scope) {
    scope.defer(async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGINT');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await done;
        clearTimeout(t);
      }
    });
  }
  return { proc, done, stderr: () => err };
}

// Runs ffmpeg to completion; fails the test on a non-zero exit.
async function runFfmpeg(args) {
  const run = startFfmpeg(args);
  const r = await run.done;
  check(r.code === 0, `ffmpeg exited with ${r.code ?? r.signal}:\n${run.stderr()}`);
  return run.stderr();
}

// Reads a media playlist: total EXTINF duration, segment URIs, tags.
function parsePlaylist(text) {
  check(text.startsWith('#EXTM3U'), `not a playlist: ${JSON.stringify(text.slice(0, 80))}`);
  const lines = text.split('\n');
  const out = {
    text, mediaSequence: 0, targetDuration: null, type: null, endList: false,
    segments: [], totalDuration: 0, maps: [],
  };
  let pending = null;
  let discontinuity = false;
  for (const line of lines) {
    if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) out.mediaSequence = Number(line.split(':')[1]);
    else if (line === '#EXT-X-DISCONTINUITY') discontinuity = true;
    else if (line.startsWith('#EXT-X-TARGETDURATION:')) out.targetDuration = Number(line.split(':')[1]);
    else if (line.startsWith('#EXT-X-PLAYLIST-TYPE:')) out.type = line.split(':')[1];
    else if (line === '#EXT-X-ENDLIST') out.endList = true;
    else if (line.startsWith('#EXT-X-MAP:URI="')) out.maps.push(line.slice(16, -1));
    else if (line.startsWith('#EXTINF:')) pending = parseFloat(line.slice(8));
    else if (line && !line.startsWith('#')) {
      check(pending !== null, `URI line without EXTINF: ${line}`);
      out.segments.push({ uri: line, duration: pending, discontinuity });
      out.totalDuration += pending;
      pending = null;
      discontinuity = false;
    }
  }
  return out;
}

function readPlaylist(file) {
  return parsePlaylist(fs.readFileSync(file, 'utf8'));
}

async function waitFor(what, fn, timeoutMs, intervalMs = 200) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new TestFailure(`timed out after ${timeoutMs} ms waiting for ${what}` +
          (last instanceof Error ? ` (last error: ${last.message})` : ''));
    }
    await sleep(intervalMs);
  }
}

async function startWebServer(mediaDir, scope) {
  const { startServer } = require(path.join(WEB, 'server.js'));
  const srv = await startServer({ media: mediaDir, port: 0 });
  scope.defer(() => srv.close());
  log(`server ${srv.url} serving ${mediaDir}`);
  return srv;
}

async function launchBrowser(scope) {
  check(fs.existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM} (apt-get install chromium)`);
  const { chromium } = requireWeb('playwright-core');
  const userDataDir = mkTempDir('chromium-profile');
  scope.defer(() => fs.rmSync(userDataDir, { recursive: true, force: true }));
  // ignoreDefaultArgs: true hands Chromium exactly our flags; playwright then
  // adds nothing, not even its control channel, so --remote-debugging-pipe
  // (the pipe it talks over, fds 3 and 4) is named here too.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    ignoreDefaultArgs: true,
    args: [...CHROMIUM_FLAGS, `--user-data-dir=${userDataDir}`, '--remote-debugging-pipe',
      'about:blank'],
    timeout: 60000,
  });
  scope.defer(() => browser.close());
  return browser;
}

// Opens the player page on `src` (a URL path below the server, encoded).
async function openPlayer(browser, srv, src, scope) {
  const context = await browser.newContext();
  scope.defer(() => context.close());
  const page = await context.newPage();
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  const url = `${srv.url}?src=${encodeURIComponent(src)}`;
  log(`open ${url}`);
  await page.goto(url, { waitUntil: 'load' });
  const ok = await page.evaluate(() => !!window.__player);
  check(ok, `player page did not start: ${consoleLines.join(' | ')}`);
  return { page, consoleLines };
}

// The media fragments hls.js loaded (not init sections), in order.
function mediaFragments(s) {
  return s.fragsLoaded.filter((f) => f.type === 'main' && f.sn !== 'initSegment');
}

// fMP4: every EXT-X-MAP of the playlist was parsed, as an init section.
function checkInitSections(s, pl, playlistUrl) {
  const loaded = new Set(s.initSections);
  check(pl.maps.length > 0 === (segmentType() === 'fmp4'),
      `${pl.maps.length} EXT-X-MAP tags in a ${segmentType()} playlist:\n${pl.text}`);
  for (const uri of pl.maps) {
    const url = new URL(uri, playlistUrl).href;
    check(loaded.has(url), `init section ${url} was not parsed (${JSON.stringify([...loaded])})`);
  }
}

// Waits for the page to play (currentTime > 0); alive() throws when the
// source has died. A fatal hls.js error fails the attempt.
function waitForPlayback(page, alive) {
  return waitFor('playback to start', async () => {
    alive();
    const s = await snapshot(page);
    if (s.fatalErrors.length) throw new TestFailure(`fatal hls.js error: ${describe(s)}`);
    return s.playing && s.currentTime > 0 ? s : false;
  }, 30000, 100);
}

function snapshot(page) {
  return page.evaluate(() => window.__player.snapshot());
}

function describe(s) {
  return `t=${s.currentTime.toFixed(2)} paused=${s.paused} ended=${s.ended} ` +
      `levelLoaded=${s.levelLoaded} fragLoaded=${s.fragLoaded} fragFailed=${s.fragFailed} ` +
      `frames=${s.decodedFrames} errors=${JSON.stringify(s.errors.slice(-5))} ` +
      `fatal=${JSON.stringify(s.fatalErrors)} videoErrors=${JSON.stringify(s.videoErrors)} ` +
      `playErrors=${JSON.stringify(s.playErrors)}`;
}

module.exports = {
  REPO, WEB, CHROMIUM, CHROMIUM_FLAGS, TestFailure,
  log, check, sleep, mkTempDir, runTest, ffmpegPath, muxerName, segmentType, codecs,
  encoderArgs, sourceArgs, hlsArgs, checkNoErrors,
  startFfmpeg, runFfmpeg, parsePlaylist, readPlaylist, waitFor, startWebServer,
  launchBrowser, openPlayer, waitForPlayback, snapshot, describe, mediaFragments, checkInitSections,
};
