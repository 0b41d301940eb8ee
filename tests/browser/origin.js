#!/usr/bin/env node
// A live stream published to an HTTP origin plays in Chromium with hls.js:
// `ffmpeg -re` PUTs its segments and playlists to nginx (WebDAV, the
// configuration of examples/nginx-origin.conf, started by
// tests/lib/origin.py), and the player reads the same origin with GET, from
// a page of another origin (CORS). Playback advances by several target
// durations with no fatal error and no failed fragment, every fragment comes
// from nginx, the media sequence never goes back, in the player or over
// HTTP; a clean stop of ffmpeg PUTs the playlist with EXT-X-ENDLIST.
//
// With HLS_SEGMENT_TYPE=fmp4 the stream is a two-variant fMP4 ladder (video
// and an audio group) played from its multivariant playlist.
//
//   FFMPEG=build/ffmpeg/bin/ffmpeg node tests/browser/origin.js
//
// Optional: PLAY_SECONDS=12 (wall time of playback that is checked).
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');
const readline = require('readline');
const L = require('./lib');

const SEGMENT_SECONDS = 2;
const WINDOW = 6;
const PLAY_SECONDS = Number(process.env.PLAY_SECONDS || 12);
const MIN_TARGET_DURATIONS = 3;

// Starts nginx through `origin.py serve`; resolves to its JSON line
// ({port, proxy_port, root, url}). The server ends when its stdin closes.
async function startOrigin(scope) {
  const script = path.join(L.REPO, 'tests', 'lib', 'origin.py');
  const proc = spawn('python3', [script, 'serve', '--max-seconds', String(PLAY_SECONDS + 300)],
    { stdio: ['pipe', 'pipe', 'inherit'] });
  const done = new Promise((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
    proc.on('error', (e) => resolve({ code: -1, error: e }));
  });
  scope.defer(async () => {
    proc.stdin.end();
    const t = setTimeout(() => proc.kill('SIGKILL'), 10000);
    await done;
    clearTimeout(t);
  });
  const lines = readline.createInterface({ input: proc.stdout });
  const first = await Promise.race([
    new Promise((resolve) => lines.once('line', resolve)),
    done.then((r) => { throw new L.TestFailure(`origin.py serve exited: ${JSON.stringify(r)}`); }),
    L.sleep(20000).then(() => { throw new L.TestFailure('origin.py serve printed nothing in 20 s'); }),
  ]);
  const info = JSON.parse(first);
  L.log(`nginx origin ${info.url} (files in ${info.root})`);
  return info;
}

// GET over HTTP: the body text, or null on 404 (not published yet).
async function getText(url) {
  const r = await fetch(url, { cache: 'no-store', signal: AbortSignal.timeout(5000) });
  if (r.status === 404) return null;
  L.check(r.status === 200, `GET ${url}: ${r.status}`);
  return r.text();
}

async function getPlaylist(url) {
  const text = await getText(url);
  return text === null ? null : L.parsePlaylist(text);
}

L.runTest('origin', async (scope) => {
  const ladder = L.segmentType() === 'fmp4';
  const origin = await startOrigin(scope);
  const base = origin.url;  // http://127.0.0.1:PORT/live/
  const src = ladder ? `${base}master.m3u8` : `${base}index.m3u8`;
  const playlistUrl = ladder ? `${base}video/index.m3u8` : `${base}index.m3u8`;

  const args = [...L.sourceArgs({ seconds: PLAY_SECONDS + 40, realtime: true }),
    ...L.hlsArgs({ listSize: WINDOW, time: SEGMENT_SECONDS })];
  if (ladder) {
    args.push('-var_stream_map', 'v:0,agroup:aud,name:video a:0,agroup:aud,name:audio',
      '-master_pl_name', 'master.m3u8', `${base}%v/index.m3u8`);
  } else {
    args.push(`${base}index.m3u8`);
  }
  const ff = L.startFfmpeg(args, scope);
  let ffExit = null;
  ff.done.then((r) => { ffExit = r; });
  const alive = () => {
    if (ffExit) throw new L.TestFailure(`ffmpeg exited early (${JSON.stringify(ffExit)}):\n${ff.stderr()}`);
  };

  await L.waitFor('a playlist with 3 segments on the origin', async () => {
    alive();
    if (ladder && (await getText(src)) === null) return false;
    const pl = await getPlaylist(playlistUrl);
    return pl && pl.segments.length >= 3 ? pl : false;
  }, 40000);

  // The page comes from the web/ server, the stream from nginx.
  const pageDir = L.mkTempDir('browser-origin-page');
  scope.defer(() => fs.rmSync(pageDir, { recursive: true, force: true }));
  const srv = await L.startWebServer(pageDir, scope);
  const browser = await L.launchBrowser(scope);
  const { page, consoleLines } = await L.openPlayer(browser, srv, src, scope);

  const first = await L.waitForPlayback(page, alive);
  L.log(`playing: ${L.describe(first)}`);

  // Watch playback, reading the playlist over HTTP as it changes.
  const deadline = Date.now() + PLAY_SECONDS * 1000;
  let s = first;
  let lastSeq = -1;
  let httpChecks = 0;
  while (Date.now() < deadline) {
    await L.sleep(500);
    s = await L.snapshot(page);
    if (s.fatalErrors.length) break;
    alive();
    const pl = await getPlaylist(playlistUrl);
    L.check(pl !== null, `${playlistUrl} vanished from the origin`);
    L.check(!pl.endList, 'the playlist ended while ffmpeg was still publishing');
    L.check(pl.segments.length <= WINDOW, `window holds ${pl.segments.length} > ${WINDOW} segments`);
    L.check(pl.mediaSequence >= lastSeq, `media sequence went back over HTTP: ${lastSeq} -> ${pl.mediaSequence}`);
    lastSeq = pl.mediaSequence;
    httpChecks++;
  }
  L.log(`after ${PLAY_SECONDS} s: ${L.describe(s)}`);

  L.check(s.fatalErrors.length === 0, `fatal hls.js error: ${JSON.stringify(s.fatalErrors)}\n` +
      `console: ${consoleLines.join(' | ')}`);
  L.check(s.videoErrors.length === 0, `video element error: ${JSON.stringify(s.videoErrors)}`);
  L.checkNoErrors(s, consoleLines);
  L.check(s.fragFailed === 0, `failed fragments: ${JSON.stringify(s.fragsFailed)}`);
  L.check(!s.paused, `player paused: ${L.describe(s)}`);
  const target = first.levels[0].targetduration;
  const advanced = s.currentTime - first.currentTime;
  L.check(advanced >= MIN_TARGET_DURATIONS * target,
      `playback advanced only ${advanced.toFixed(2)} s in ${PLAY_SECONDS} s ` +
      `(need ${MIN_TARGET_DURATIONS} x ${target} s): ${L.describe(s)}`);
  L.check(s.decodedFrames >= advanced * 30 * 0.8,
      `decoded ${s.decodedFrames} frames over ${advanced.toFixed(1)} s of playback`);
  const seqs = s.mediaSequences;
  for (let i = 1; i < seqs.length; i++) {
    L.check(seqs[i] >= seqs[i - 1], `media sequence went back in the player: ${JSON.stringify(seqs)}`);
  }
  L.check(s.levelLoaded >= first.levelLoaded + 3,
      `playlist reloaded only ${s.levelLoaded - first.levelLoaded} times during playback`);
  const frags = L.mediaFragments(s);
  L.check(frags.length > 0 && frags.every((f) => f.url.startsWith(base)),
      `fragments not all from the origin ${base}: ${JSON.stringify(frags.map((f) => f.url))}`);
  const sns = frags.map((f) => f.sn);
  for (let i = 1; i < sns.length; i++) {
    L.check(sns[i] === sns[i - 1] + 1, `fragments not loaded in sequence: ${JSON.stringify(sns)}`);
  }
  L.check(httpChecks > 0, 'the playlist was never read over HTTP');
  if (ladder) {
    const tracks = await page.evaluate(() => window.__hls.audioTracks.map((t) => [t.groupId, t.name]));
    L.check(tracks.length === 1 && tracks[0][0] === 'aud',
        `hls.js sees audio tracks ${JSON.stringify(tracks)}, want the one of group aud`);
    const audio = s.fragsLoaded.filter((f) => f.type === 'audio' && f.sn !== 'initSegment');
    L.check(audio.length > 0 && audio.every((f) => f.url.startsWith(`${base}audio/`)),
        `audio fragments not from the audio rendition: ${JSON.stringify(audio.map((f) => f.url))}`);
  }
  L.checkInitSections(s, await getPlaylist(playlistUrl), playlistUrl);

  // A clean stop: the last playlist PUT carries EXT-X-ENDLIST.
  ff.proc.kill('SIGINT');
  const r = await Promise.race([ff.done, L.sleep(30000).then(() => null)]);
  L.check(r !== null, 'ffmpeg did not stop within 30 s of SIGINT');
  L.check(r.code === 0 || r.code === 255,
      `ffmpeg exited with ${r.code ?? r.signal} after SIGINT:\n${ff.stderr()}`);
  const end = await getPlaylist(playlistUrl);
  L.check(end && end.endList, `no EXT-X-ENDLIST on the origin after a clean stop:\n${end && end.text}`);
  L.log(`stopped: media sequence ${end.mediaSequence}, ${end.segments.length} segments, ENDLIST`);
});
