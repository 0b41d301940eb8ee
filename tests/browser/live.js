#!/usr/bin/env node
// A live hlsbridge stream plays in Chromium with hls.js while `ffmpeg -re` is
// still writing it: playback advances by several target durations, the
// player reloads the playlist and follows the sliding window, no fatal
// hls.js error, video frames are decoded. A clean stop of ffmpeg (SIGINT)
// then leaves the playlist with EXT-X-ENDLIST.
//
//   FFMPEG=build/ffmpeg/bin/ffmpeg node tests/browser/live.js
//
// Optional: PLAY_SECONDS=20 (wall time of playback that is checked).
'use strict';

const fs = require('fs');
const path = require('path');
const L = require('./lib');

const SEGMENT_SECONDS = 2;
const WINDOW = 4;            // segments in the live window
const PLAY_SECONDS = Number(process.env.PLAY_SECONDS || 20);
// Playback must advance at least this many target durations (the brief asks
// for "several", at least 3).
const MIN_TARGET_DURATIONS = 3;

L.runTest('live', async (scope) => {
  const work = L.mkTempDir('browser-live');
  scope.defer(() => fs.rmSync(work, { recursive: true, force: true }));
  const out = path.join(work, 'out');
  fs.mkdirSync(out);
  const playlistFile = path.join(out, 'index.m3u8');

  // Bounded source: ffmpeg ends by itself even if this script dies.
  const sourceSeconds = PLAY_SECONDS + 40;
  const ff = L.startFfmpeg([
    ...L.sourceArgs({ seconds: sourceSeconds, realtime: true }),
    ...L.hlsArgs({ listSize: WINDOW, time: SEGMENT_SECONDS }),
    playlistFile,
  ], scope);
  let ffExit = null;
  ff.done.then((r) => { ffExit = r; });

  // hls.js starts three target durations behind the live edge: give it a
  // playlist with that much to start from.
  await L.waitFor('a live playlist with 3 segments', () => {
    if (ffExit) throw new L.TestFailure(`ffmpeg exited early (${JSON.stringify(ffExit)}):\n${ff.stderr()}`);
    if (!fs.existsSync(playlistFile)) return false;
    const pl = L.readPlaylist(playlistFile);
    return pl.segments.length >= 3 ? pl : false;
  }, 30000);

  const srv = await L.startWebServer(out, scope);
  const browser = await L.launchBrowser(scope);
  const { page, consoleLines } = await L.openPlayer(browser, srv, '/media/index.m3u8', scope);

  const first = await L.waitFor('playback to start', async () => {
    if (ffExit) throw new L.TestFailure(`ffmpeg exited early (${JSON.stringify(ffExit)}):\n${ff.stderr()}`);
    const s = await L.snapshot(page);
    if (s.fatalErrors.length) {
      throw new L.TestFailure(`fatal hls.js error before playback: ${L.describe(s)}`);
    }
    return s.playing && s.currentTime > 0 ? s : false;
  }, 20000, 100);
  L.log(`playing: ${L.describe(first)}`);
  const firstLevel = first.levels[0];

  // Watch playback for PLAY_SECONDS of wall time, checking the playlist on
  // disk as it changes (a live playlist: no type, no ENDLIST, a window).
  const deadline = Date.now() + PLAY_SECONDS * 1000;
  let s = first;
  let diskChecks = 0;
  let lastDiskSeq = -1;
  while (Date.now() < deadline) {
    await L.sleep(500);
    s = await L.snapshot(page);
    if (s.fatalErrors.length) break;
    if (ffExit) throw new L.TestFailure(`ffmpeg exited during playback (${JSON.stringify(ffExit)}):\n${ff.stderr()}`);
    const pl = L.readPlaylist(playlistFile);
    L.check(pl.type === null, `live playlist carries EXT-X-PLAYLIST-TYPE:${pl.type}`);
    L.check(!pl.endList, 'live playlist ended while ffmpeg was still writing');
    L.check(pl.segments.length <= WINDOW, `window holds ${pl.segments.length} > ${WINDOW} segments`);
    L.check(pl.mediaSequence >= lastDiskSeq, `media sequence went back: ${lastDiskSeq} -> ${pl.mediaSequence}`);
    lastDiskSeq = pl.mediaSequence;
    diskChecks++;
  }
  L.log(`after ${PLAY_SECONDS} s: ${L.describe(s)}`);

  L.check(s.fatalErrors.length === 0, `fatal hls.js error: ${JSON.stringify(s.fatalErrors)}\n` +
      `console: ${consoleLines.join(' | ')}`);
  L.check(s.videoErrors.length === 0, `video element error: ${JSON.stringify(s.videoErrors)}`);
  L.checkNoErrors(s, consoleLines);

  const target = firstLevel.targetduration;
  L.check(target >= SEGMENT_SECONDS, `odd target duration ${target}`);
  const advanced = s.currentTime - first.currentTime;
  L.log(`advanced ${advanced.toFixed(2)} s = ${(advanced / target).toFixed(1)} target durations`);
  L.check(advanced >= MIN_TARGET_DURATIONS * target,
      `playback advanced only ${advanced.toFixed(2)} s in ${PLAY_SECONDS} s ` +
      `(need ${MIN_TARGET_DURATIONS} x ${target} s): ${L.describe(s)}`);
  L.check(!s.paused, `player paused: ${L.describe(s)}`);

  // The player reloaded the playlist and followed the window: more loads,
  // media sequence never backwards and moved on, fragments from beyond the
  // first window loaded.
  const seqs = s.mediaSequences;
  L.log(`playlist loads ${s.levelLoaded}, media sequences seen ${JSON.stringify(seqs)}`);
  L.check(s.levelLoaded >= first.levelLoaded + 3,
      `playlist reloaded only ${s.levelLoaded - first.levelLoaded} times during playback`);
  for (let i = 1; i < seqs.length; i++) {
    L.check(seqs[i] >= seqs[i - 1], `media sequence went back in the player: ${JSON.stringify(seqs)}`);
  }
  const lastLevel = s.levels[s.levels.length - 1];
  L.check(lastLevel.live, 'the last playlist loaded was not live');
  L.check(lastLevel.startSN >= firstLevel.startSN + MIN_TARGET_DURATIONS,
      `window did not slide in the player: media sequence ${firstLevel.startSN} -> ${lastLevel.startSN}`);
  const maxSn = Math.max(...L.mediaFragments(s).map((f) => f.sn));
  L.check(maxSn > firstLevel.endSN,
      `no fragment beyond the first window (${firstLevel.endSN}) was loaded (max ${maxSn})`);
  L.check(s.fragFailed === 0, `failed fragments: ${JSON.stringify(s.fragsFailed)}`);
  L.check(s.decodedFrames > 0, `no video frames decoded: ${L.describe(s)}`);
  // Real time playback at 30 fps decodes about 30 frames a second.
  L.check(s.decodedFrames >= advanced * 30 * 0.8,
      `decoded ${s.decodedFrames} frames over ${advanced.toFixed(1)} s of playback`);
  L.check(diskChecks > 0, 'the playlist on disk was never checked');
  L.checkInitSections(s, L.readPlaylist(playlistFile), `${srv.url}media/index.m3u8`);
  const sns = L.mediaFragments(s).map((f) => f.sn);
  for (let i = 1; i < sns.length; i++) {
    L.check(sns[i] === sns[i - 1] + 1, `fragments not loaded in sequence: ${JSON.stringify(sns)}`);
  }

  // A clean stop writes the trailer: the playlist gets EXT-X-ENDLIST.
  ff.proc.kill('SIGINT');
  const r = await Promise.race([ff.done, L.sleep(15000).then(() => null)]);
  L.check(r !== null, 'ffmpeg did not stop within 15 s of SIGINT');
  // ffmpeg ends with status 255 when a signal stopped it, after writing the
  // trailer as on a normal end; anything else is a failure.
  L.check(r.code === 0 || r.code === 255,
      `ffmpeg exited with ${r.code ?? r.signal} after SIGINT:\n${ff.stderr()}`);
  const end = L.readPlaylist(playlistFile);
  L.check(end.endList, `no EXT-X-ENDLIST after a clean stop:\n${end.text}`);
  L.log(`stopped: media sequence ${end.mediaSequence}, ${end.segments.length} segments, ENDLIST`);
});
