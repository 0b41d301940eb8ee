#!/usr/bin/env node
// fMP4 across a change of resolution: an FLV input whose second half was
// encoded at another size (as an RTMP encoder that changes resolution
// sends it), copied into hlsbridge fMP4 segments. The playlist has a second
// init section after an EXT-X-DISCONTINUITY, and hls.js in Chromium plays
// across it to the end: both init sections loaded, the picture size
// changes, no hls.js error of any kind.
//
//   FFMPEG=build/ffmpeg/bin/ffmpeg node tests/browser/discont.js
'use strict';

const fs = require('fs');
const path = require('path');
const L = require('./lib');

const PART_SECONDS = 6;
const SIZES = ['320x240', '640x360'];
const END_TOLERANCE = 0.5;

// Splices two FLV files: the second one's tags follow the first one's,
// `offsetMs` later, without its metadata tag (see tests/lib/hlstest.py's
// splice_flv, the same for the e2e tests).
function spliceFlv(first, second, out, offsetMs) {
  const a = fs.readFileSync(first);
  const b = fs.readFileSync(second);
  const parts = [a];
  let pos = b.readUInt32BE(5) + 4;
  while (pos + 11 <= b.length) {
    const kind = b[pos] & 0x1f;
    const size = b.readUIntBE(pos + 1, 3);
    const ts = (b.readUIntBE(pos + 4, 3) | (b[pos + 7] << 24)) + offsetMs;
    if (kind !== 18) {
      const tag = Buffer.from(b.subarray(pos, pos + 11 + size));
      tag.writeUIntBE(ts & 0xffffff, 4, 3);
      tag[7] = (ts >> 24) & 0xff;
      const prev = Buffer.alloc(4);
      prev.writeUInt32BE(tag.length);
      parts.push(tag, prev);
    }
    pos += 11 + size + 4;
  }
  fs.writeFileSync(out, Buffer.concat(parts));
}

L.runTest('discont-fmp4', async (scope) => {
  const work = L.mkTempDir('browser-discont');
  scope.defer(() => fs.rmSync(work, { recursive: true, force: true }));
  const out = path.join(work, 'out');
  fs.mkdirSync(out);
  const playlistFile = path.join(out, 'index.m3u8');

  const parts = [];
  for (const size of SIZES) {
    const file = path.join(work, `${size}.flv`);
    await L.runFfmpeg([...L.sourceArgs({ seconds: PART_SECONDS, realtime: false, size }),
      '-f', 'flv', file]);
    parts.push(file);
  }
  const input = path.join(work, 'spliced.flv');
  spliceFlv(parts[0], parts[1], input, PART_SECONDS * 1000);
  await L.runFfmpeg(['-hide_banner', '-nostdin', '-loglevel', 'warning', '-i', input,
    '-c', 'copy', '-f', L.muxerName(), '-hls_time', '2', '-hls_playlist_type', 'event',
    '-hls_segment_type', 'fmp4', playlistFile]);

  const pl = L.readPlaylist(playlistFile);
  L.log(`playlist: ${pl.segments.length} segments, ${pl.totalDuration.toFixed(3)} s, maps ${pl.maps}`);
  L.check(pl.maps.length === 2, `expected two EXT-X-MAP tags:\n${pl.text}`);
  L.check(/#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="[^"]+"\n#EXTINF/.test(pl.text),
      `the second EXT-X-MAP does not follow an EXT-X-DISCONTINUITY:\n${pl.text}`);
  L.check(Math.abs(pl.totalDuration - 2 * PART_SECONDS) < 0.5,
      `EXTINF total ${pl.totalDuration} s for ${2 * PART_SECONDS} s of input:\n${pl.text}`);

  const srv = await L.startWebServer(out, scope);
  const browser = await L.launchBrowser(scope);
  const { page, consoleLines } = await L.openPlayer(browser, srv, '/media/index.m3u8', scope);
  const started = Date.now();
  const widths = new Set();
  let s;
  for (;;) {
    s = await L.snapshot(page);
    if (s.videoWidth) widths.add(`${s.videoWidth}x${s.videoHeight}`);
    if (s.ended || s.fatalErrors.length) break;
    if (Date.now() - started > (pl.totalDuration + 30) * 1000) {
      throw new L.TestFailure(`no 'ended' in time: ${L.describe(s)}`);
    }
    await L.sleep(250);
  }
  L.log(`${L.describe(s)}; picture sizes ${[...widths]}`);
  L.check(s.fatalErrors.length === 0, `fatal hls.js error: ${JSON.stringify(s.fatalErrors)}`);
  L.check(s.videoErrors.length === 0, `video element error: ${JSON.stringify(s.videoErrors)}`);
  L.checkNoErrors(s, consoleLines);
  L.check(s.ended && Math.abs(s.endedCurrentTime - pl.totalDuration) <= END_TOLERANCE,
      `ended at ${s.endedCurrentTime} s, playlist says ${pl.totalDuration.toFixed(3)} s`);
  L.checkInitSections(s, pl, `${srv.url}media/index.m3u8`);
  L.check(L.mediaFragments(s).length === pl.segments.length,
      `${L.mediaFragments(s).length} fragments loaded for ${pl.segments.length} segments`);
  for (const size of SIZES) {
    L.check(widths.has(size), `the picture was never ${size} (saw ${[...widths]})`);
  }
});
