#!/usr/bin/env node
// A live stream survives its encoder: hls.js plays it in Chromium while
// `ffmpeg -re` is killed with SIGKILL and started again with
// -hls_flags append_list. The player keeps playing through the junction
// (an EXT-X-DISCONTINUITY) into the new run's segments, with no fatal
// error; the media sequence never goes back in the player.
//
// With HLS_SEGMENT_TYPE=fmp4 the stream is a two-variant fMP4 ladder (video
// and an audio group) played from its multivariant playlist.
//
//   FFMPEG=build/ffmpeg/bin/ffmpeg node tests/browser/restart.js
'use strict';

const fs = require('fs');
const path = require('path');
const L = require('./lib');

const SEGMENT_SECONDS = 2;
const BEFORE_KILL = 6;   // seconds of playback before the kill
const AFTER_JUNCTION = 6;  // seconds the player must play into the new run

function runArgs(out, ladder) {
  const args = [...L.sourceArgs({ seconds: 120, realtime: true }),
    ...L.hlsArgs({ listSize: 6, time: SEGMENT_SECONDS }), '-hls_flags', 'append_list'];
  if (!ladder) return [...args, path.join(out, 'index.m3u8')];
  return [...args, '-var_stream_map', 'v:0,agroup:aud,name:video a:0,agroup:aud,name:audio',
    '-master_pl_name', 'master.m3u8', path.join(out, '%v', 'index.m3u8')];
}

L.runTest('restart', async (scope) => {
  const ladder = L.segmentType() === 'fmp4';
  const work = L.mkTempDir('browser-restart');
  scope.defer(() => fs.rmSync(work, { recursive: true, force: true }));
  const out = path.join(work, 'out');
  fs.mkdirSync(out);
  const playlistFile = ladder ? path.join(out, 'video', 'index.m3u8') : path.join(out, 'index.m3u8');

  let ff = L.startFfmpeg(runArgs(out, ladder), scope);
  await L.waitFor('a live playlist with 3 segments', () => {
    if (!fs.existsSync(playlistFile)) return false;
    if (ladder && !fs.existsSync(path.join(out, 'master.m3u8'))) return false;
    return L.readPlaylist(playlistFile).segments.length >= 3;
  }, 40000);

  const srv = await L.startWebServer(out, scope);
  const browser = await L.launchBrowser(scope);
  const src = ladder ? '/media/master.m3u8' : '/media/index.m3u8';
  const { page, consoleLines } = await L.openPlayer(browser, srv, src, scope);
  const first = await L.waitFor('playback to start', async () => {
    const s = await L.snapshot(page);
    if (s.fatalErrors.length) throw new L.TestFailure(`fatal hls.js error: ${L.describe(s)}`);
    return s.playing && s.currentTime > 0 ? s : false;
  }, 30000, 100);
  L.log(`playing: ${L.describe(first)}`);
  await L.sleep(BEFORE_KILL * 1000);

  // kill -9: no trailer, no ENDLIST; then the same command continues it.
  ff.proc.kill('SIGKILL');
  await ff.done;
  const old = L.readPlaylist(playlistFile);
  const junctionSn = old.mediaSequence + old.segments.length;
  L.log(`killed at media sequence ${junctionSn}; restarting with append_list`);
  ff = L.startFfmpeg(runArgs(out, ladder), scope);
  const junction = await L.waitFor(`media sequence ${junctionSn} listed by the new run`, () => {
    const pl = L.readPlaylist(playlistFile);
    const seg = pl.segments[junctionSn - pl.mediaSequence];
    return seg ? { pl, seg } : false;
  }, 30000);
  L.check(junction.seg.discontinuity,
      `no EXT-X-DISCONTINUITY at media sequence ${junctionSn}:\n${junction.pl.text}`);

  const played = await L.waitFor(`playback ${AFTER_JUNCTION} s into the new run`, async () => {
    const s = await L.snapshot(page);
    if (s.fatalErrors.length) throw new L.TestFailure(`fatal hls.js error: ${L.describe(s)}`);
    const junction = L.mediaFragments(s).find((f) => f.sn === junctionSn);
    return junction && s.currentTime > junction.start + AFTER_JUNCTION ? s : false;
  }, 60000, 250);
  L.log(`after the junction: ${L.describe(played)}`);

  const seqs = played.mediaSequences;
  for (let i = 1; i < seqs.length; i++) {
    L.check(seqs[i] >= seqs[i - 1], `media sequence went back in the player: ${JSON.stringify(seqs)}`);
  }
  L.check(!played.paused, `player paused: ${L.describe(played)}`);
  L.check(played.videoErrors.length === 0, `video element error: ${JSON.stringify(played.videoErrors)}`);
  L.check(played.fragFailed === 0, `failed fragments: ${JSON.stringify(played.fragsFailed)}\n` +
      `console: ${consoleLines.join(' | ')}`);
  if (played.errors.length) L.log(`non-fatal hls.js errors: ${JSON.stringify(played.errors)}`);
  ff.proc.kill('SIGINT');
  await Promise.race([ff.done, L.sleep(15000)]);
});
