#!/usr/bin/env node
// AES-128 with a key that rotates mid-stream: a live run in real time whose
// key info file (-hls_key_info_file, hls_flags periodic_rekey) is rewritten
// to another key half-way. The event playlist then has two EXT-X-KEY tags,
// and hls.js in Chromium loads both keys and plays it to the end, with no
// hls.js error of any kind. With HLS_SEGMENT_TYPE=fmp4, the same in fMP4.
//
//   FFMPEG=build/ffmpeg/bin/ffmpeg node tests/browser/rekey.js
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const L = require('./lib');

const SECONDS = 8;
const END_TOLERANCE = 0.5;

// Writes key file `name` and the key info file naming it, atomically.
function writeKeyInfo(out, infoFile, name) {
  const keyFile = path.join(out, name);
  fs.writeFileSync(keyFile, crypto.randomBytes(16));
  fs.writeFileSync(`${infoFile}.tmp`, `${name}\n${keyFile}\n`);
  fs.renameSync(`${infoFile}.tmp`, infoFile);
}

L.runTest(`rekey-${L.segmentType()}`, async (scope) => {
  const work = L.mkTempDir('browser-rekey');
  scope.defer(() => fs.rmSync(work, { recursive: true, force: true }));
  const out = path.join(work, 'out');
  fs.mkdirSync(out);
  const playlistFile = path.join(out, 'index.m3u8');
  const infoFile = path.join(work, 'keys.info');
  writeKeyInfo(out, infoFile, 'a.key');

  const ff = L.startFfmpeg([...L.sourceArgs({ seconds: SECONDS, realtime: true }),
    ...L.hlsArgs({ playlistType: 'event' }), '-hls_key_info_file', infoFile,
    '-hls_flags', 'periodic_rekey', playlistFile], scope);
  await L.sleep(SECONDS * 1000 / 2);
  writeKeyInfo(out, infoFile, 'b.key');
  const r = await ff.done;
  L.check(r.code === 0, `ffmpeg exited with ${r.code ?? r.signal}:\n${ff.stderr()}`);

  const pl = L.readPlaylist(playlistFile);
  const keys = pl.text.split('\n').filter((l) => l.startsWith('#EXT-X-KEY:'));
  L.log(`playlist: ${pl.segments.length} segments, ${pl.totalDuration.toFixed(3)} s, keys ${keys}`);
  L.check(keys.length === 2 && keys[0].includes('URI="a.key"') && keys[1].includes('URI="b.key"'),
      `expected an EXT-X-KEY for a.key, then one for b.key:\n${pl.text}`);

  const srv = await L.startWebServer(out, scope);
  const browser = await L.launchBrowser(scope);
  const { page, consoleLines } = await L.openPlayer(browser, srv, '/media/index.m3u8', scope);
  const started = Date.now();
  let s;
  for (;;) {
    s = await L.snapshot(page);
    if (s.ended || s.fatalErrors.length) break;
    if (Date.now() - started > (pl.totalDuration + 30) * 1000) {
      throw new L.TestFailure(`no 'ended' in time: ${L.describe(s)}`);
    }
    await L.sleep(250);
  }
  L.log(`${L.describe(s)}; keys loaded ${s.keysLoaded}`);
  L.check(s.fatalErrors.length === 0, `fatal hls.js error: ${JSON.stringify(s.fatalErrors)}`);
  L.check(s.videoErrors.length === 0, `video element error: ${JSON.stringify(s.videoErrors)}`);
  L.checkNoErrors(s, consoleLines);
  L.check(s.ended && Math.abs(s.endedCurrentTime - pl.totalDuration) <= END_TOLERANCE,
      `ended at ${s.endedCurrentTime} s, playlist says ${pl.totalDuration.toFixed(3)} s`);
  L.check(s.keysLoaded >= 2, `hls.js loaded ${s.keysLoaded} keys, the playlist names two`);
  L.check(L.mediaFragments(s).length === pl.segments.length,
      `${L.mediaFragments(s).length} fragments loaded for ${pl.segments.length} segments`);
});
