#!/usr/bin/env node
// scripts/demo.sh end to end, without its build step (FFMPEG given):
//  1. a bounded run (DURATION): prints the page URL, the page plays the live
//     stream in Chromium, the run stops by itself, exits 0, and the playlist
//     ends with EXT-X-ENDLIST;
//  2. an open-ended run stopped as Ctrl-C in a terminal does it (SIGINT to
//     its whole process group): same clean end, the last segment decodes,
//     and no ffmpeg or server is left running.
//
//   FFMPEG=build/ffmpeg/bin/ffmpeg node tests/browser/demo-test.js
//
// Optional: SCREENSHOT=file.png keeps a screenshot of the page playing.
'use strict';

const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const net = require('net');
const path = require('path');
const L = require('./lib');

function startDemo(env, scope) {
  const proc = spawn(path.join(L.REPO, 'scripts', 'demo.sh'), [], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // A process group of its own, as a shell gives a command: a terminal's
    // Ctrl-C is a SIGINT to that whole group.
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (b) => { stdout += b; });
  proc.stderr.on('data', (b) => { stderr += b; });
  const done = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  scope.defer(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 15000);
      await done;
      clearTimeout(t);
    }
  });
  return { proc, done, out: () => stdout, err: () => stderr };
}

function waitForUrl(demo) {
  return L.waitFor('demo.sh to print the page URL', () => {
    if (demo.proc.exitCode !== null) {
      throw new L.TestFailure(`demo.sh exited with ${demo.proc.exitCode}:\n${demo.err()}`);
    }
    const m = /open (http:\/\/127\.0\.0\.1:(\d+)\/\?src=(\S+))/.exec(demo.out());
    return m ? { url: m[1], port: Number(m[2]), src: m[3] } : false;
  }, 60000, 100);
}

function portClosed(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.on('connect', () => { sock.destroy(); resolve(false); });
    sock.on('error', () => resolve(true));
  });
}

async function checkCleanEnd(demo, result, playlist, port) {
  L.check(result.code === 0, `demo.sh exited with ${result.code ?? result.signal}:\n${demo.err()}`);
  const pl = L.readPlaylist(playlist);
  L.check(pl.endList, `no EXT-X-ENDLIST after the demo stopped:\n${pl.text}`);
  L.check(pl.segments.length > 0, 'no segment in the final playlist');
  L.check(pl.segments.length <= 6, `live window of 6 exceeded: ${pl.segments.length}`);
  // The demo deletes segments that left the window; never one still listed.
  for (const seg of pl.segments) {
    const file = path.join(path.dirname(playlist), decodeURIComponent(seg.uri));
    L.check(fs.existsSync(file), `listed segment ${seg.uri} is missing after the stop`);
  }
  L.check(await portClosed(port), `the server still listens on port ${port}`);
  const ffmpeg = fs.realpathSync(L.ffmpegPath());
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmd = '';
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch (e) {
      continue;
    }
    L.check(!(cmd.startsWith(ffmpeg) && cmd.includes(playlist)),
        `ffmpeg (pid ${pid}) still runs after demo.sh exited`);
  }
  return pl;
}

L.runTest('demo', async (scope) => {
  const work = L.mkTempDir('demo');
  scope.defer(() => fs.rmSync(work, { recursive: true, force: true }));
  const ffmpeg = L.ffmpegPath();

  // 1. Bounded run with the page playing.
  {
    const out = path.join(work, 'out1');
    const demo = startDemo({ FFMPEG: ffmpeg, PORT: '0', OUT_DIR: out, DURATION: '24' }, scope);
    const { url, port, src } = await waitForUrl(demo);
    L.log(`demo page: ${url}`);
    L.check(decodeURIComponent(src) === '/media/index.m3u8', `unexpected src ${src}`);

    const browser = await L.launchBrowser(scope);
    const context = await browser.newContext({ viewport: { width: 1000, height: 720 } });
    scope.defer(() => context.close());
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'load' });
    const first = await L.waitFor('the demo page to play', async () => {
      const s = await L.snapshot(page);
      if (s.fatalErrors.length) throw new L.TestFailure(`fatal hls.js error: ${L.describe(s)}`);
      return s.playing && s.currentTime > 0 ? s : false;
    }, 20000, 100);
    await L.sleep(8000);
    const s = await L.snapshot(page);
    L.log(`page after 8 s: ${L.describe(s)}`);
    L.check(s.fatalErrors.length === 0, `fatal hls.js error: ${JSON.stringify(s.fatalErrors)}`);
    L.check(s.currentTime - first.currentTime >= 6,
        `demo playback advanced only ${(s.currentTime - first.currentTime).toFixed(2)} s in 8 s`);
    L.check(s.decodedFrames > 0 && s.videoWidth === 1280 && s.videoHeight === 720,
        `expected 1280x720 frames: ${s.videoWidth}x${s.videoHeight}, ${s.decodedFrames} decoded`);
    if (process.env.SCREENSHOT) {
      await page.screenshot({ path: process.env.SCREENSHOT });
      L.log(`screenshot: ${process.env.SCREENSHOT}`);
    }
    await context.close();

    const r = await Promise.race([demo.done, L.sleep(60000).then(() => null)]);
    L.check(r !== null, 'demo.sh did not stop by itself after DURATION');
    const pl = await checkCleanEnd(demo, r, path.join(out, 'index.m3u8'), port);
    const files = fs.readdirSync(out).filter((f) => f.endsWith('.ts'));
    L.log(`bounded run: exit 0, media sequence ${pl.mediaSequence}, ${pl.segments.length} segments, ` +
          `ENDLIST; ${files.length} segment files left`);
  }

  // 2. Open-ended run, stopped like Ctrl-C.
  {
    const out = path.join(work, 'out2');
    const demo = startDemo({ FFMPEG: ffmpeg, PORT: '0', OUT_DIR: out, DURATION: '' }, scope);
    const { port } = await waitForUrl(demo);
    const playlist = path.join(out, 'index.m3u8');
    await L.waitFor('two segments', () => L.readPlaylist(playlist).segments.length >= 2, 30000);
    process.kill(-demo.proc.pid, 'SIGINT');
    const r = await Promise.race([demo.done, L.sleep(30000).then(() => null)]);
    L.check(r !== null, 'demo.sh did not stop within 30 s of SIGINT');
    const pl = await checkCleanEnd(demo, r, playlist, port);
    L.check(!/Error writing trailer/.test(demo.err()), `ffmpeg failed its trailer:\n${demo.err()}`);
    const ffprobe = path.join(path.dirname(ffmpeg), 'ffprobe');
    if (fs.existsSync(ffprobe)) {
      const last = path.join(out, decodeURIComponent(pl.segments[pl.segments.length - 1].uri));
      const probe = spawnSync(ffprobe, ['-v', 'error', '-count_frames', '-show_entries',
        'stream=codec_type,nb_read_frames', '-of', 'csv=p=0', last], { encoding: 'utf8' });
      L.check(probe.status === 0 && probe.stderr.trim() === '' && /video,\d+/.test(probe.stdout),
          `last segment ${last} does not decode cleanly: ${probe.stdout} ${probe.stderr}`);
    }
    L.log(`Ctrl-C run: exit 0, ${pl.segments.length} segments, ENDLIST, last segment decodes`);
  }
});
