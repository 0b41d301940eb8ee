#!/usr/bin/env node
// A finished hlsbridge output (EVENT or VOD playlist) plays to its end in
// Chromium with hls.js: `ended` fires at the playlist's total EXTINF
// duration, every segment is loaded exactly once, no fragment fails.
//
//   FFMPEG=build/ffmpeg/bin/ffmpeg node tests/browser/finished.js vod|event|hostile
//
// "hostile" is a VOD whose segment names hold a space, "#", "%", ",", '"',
// "?" and non-ASCII letters, in a directory with a space in its name: the
// playlist must carry them as valid percent-encoded URI references that the
// browser resolves to the right files.
//
// Optional: SOURCE_SECONDS=10 (length of the source), KEEP_OUTPUT=1.
'use strict';

const fs = require('fs');
const path = require('path');
const L = require('./lib');

const mode = process.argv[2];
if (mode !== 'vod' && mode !== 'event' && mode !== 'hostile') {
  process.stderr.write('usage: finished.js vod|event|hostile\n');
  process.exit(2);
}
const type = mode === 'hostile' ? 'vod' : mode;
// A -hls_segment_filename pattern: "%%" is a literal "%", "%d" the number.
const EXT = L.segmentType() === 'fmp4' ? 'm4s' : 'ts';
const HOSTILE_PATTERN = `seg #1 50%% "q",?ü-é 日本-%d.${EXT}`;
const HOSTILE_PREFIX = 'seg #1 50% "q",?ü-é 日本-';

// RFC 3986 relative-ref: a path of unreserved, sub-delims, ":", "@", "/" and
// %HH escapes, optionally a query. Raw space, '"', "#", "%" without two hex
// digits, or non-ASCII are not allowed.
const URI_REFERENCE = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})+(?:\?(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*)?$/;
const seconds = Number(process.env.SOURCE_SECONDS || 10);

// Playback of `duration` seconds must end within this margin of it.
const END_TOLERANCE = 0.5;

L.runTest(`finished-${mode}`, async (scope) => {
  const work = L.mkTempDir(`browser-${mode}`);
  scope.defer(() => {
    if (process.env.KEEP_OUTPUT) L.log(`kept ${work}`);
    else fs.rmSync(work, { recursive: true, force: true });
  });
  const out = path.join(work, mode === 'hostile' ? 'out dir ü' : 'out');
  fs.mkdirSync(out);
  const playlistFile = path.join(out, 'index.m3u8');

  const args = [...L.sourceArgs({ seconds, realtime: false }),
    ...L.hlsArgs({ playlistType: type, listSize: 0 })];
  if (mode === 'hostile') args.push('-hls_segment_filename', path.join(out, HOSTILE_PATTERN));
  args.push(playlistFile);
  await L.runFfmpeg(args);

  const pl = L.readPlaylist(playlistFile);
  L.log(`playlist: ${pl.segments.length} segments, ${pl.totalDuration.toFixed(3)} s, ` +
        `type ${pl.type}, ENDLIST ${pl.endList}`);
  L.check(pl.endList, `${type} playlist has no EXT-X-ENDLIST:\n${pl.text}`);
  // hlsbridge writes EXT-X-PLAYLIST-TYPE:EVENT for event; a vod playlist is
  // rewritten after every segment, so the core leaves out TYPE:VOD (whose
  // promise is that the playlist never changes) and relies on ENDLIST.
  const expectedType = type === 'event' ? 'EVENT' : null;
  L.check(pl.type === expectedType || (type === 'vod' && pl.type === 'VOD'),
      `${type} output has EXT-X-PLAYLIST-TYPE ${pl.type}:\n${pl.text}`);
  L.check(pl.segments.length >= 2, `expected several segments:\n${pl.text}`);
  L.check(Math.abs(pl.totalDuration - seconds) < 0.5,
      `EXTINF total ${pl.totalDuration} s for a ${seconds} s source:\n${pl.text}`);
  if (mode === 'hostile') {
    const files = fs.readdirSync(out).filter((f) => /\.(ts|m4s)$/.test(f));
    L.check(files.length === pl.segments.length && files.every((f) => f.startsWith(HOSTILE_PREFIX)),
        `expected ${pl.segments.length} segment files named "${HOSTILE_PREFIX}N.${EXT}", found ` +
        `${JSON.stringify(files)}`);
    for (const seg of pl.segments) {
      L.check(URI_REFERENCE.test(seg.uri), `not a valid percent-encoded URI reference: ${JSON.stringify(seg.uri)}`);
      let name;
      try {
        name = decodeURIComponent(seg.uri);
      } catch (e) {
        throw new L.TestFailure(`URI does not decode as UTF-8: ${seg.uri}`);
      }
      L.check(name.startsWith(HOSTILE_PREFIX) && files.includes(name),
          `URI ${seg.uri} decodes to ${JSON.stringify(name)}, which is not a segment file`);
    }
  }

  const srv = await L.startWebServer(out, scope);
  const browser = await L.launchBrowser(scope);
  const started = Date.now();
  const { page, consoleLines } = await L.openPlayer(browser, srv, '/media/index.m3u8', scope);

  // Real-time playback: the whole duration plus start-up slack.
  const limitMs = (pl.totalDuration + 30) * 1000;
  let s;
  let lastProgress = { t: -1, at: Date.now() };
  for (;;) {
    s = await L.snapshot(page);
    if (s.ended || s.fatalErrors.length) break;
    if (s.currentTime > lastProgress.t) lastProgress = { t: s.currentTime, at: Date.now() };
    if (Date.now() - lastProgress.at > 15000) {
      throw new L.TestFailure(`playback stalled at ${s.currentTime.toFixed(2)} s for 15 s: ` +
          `${L.describe(s)}\nconsole: ${consoleLines.join(' | ')}`);
    }
    if (Date.now() - started > limitMs) {
      throw new L.TestFailure(`no 'ended' within ${limitMs} ms: ${L.describe(s)}`);
    }
    await L.sleep(250);
  }
  L.log(`after ${((Date.now() - started) / 1000).toFixed(1)} s: ${L.describe(s)}`);
  L.log(`ended at currentTime ${s.endedCurrentTime}, duration ${s.endedDuration}, ` +
        `EXTINF total ${pl.totalDuration.toFixed(3)}`);

  L.check(s.fatalErrors.length === 0, `fatal hls.js error: ${JSON.stringify(s.fatalErrors)}`);
  L.check(s.videoErrors.length === 0, `video element error: ${JSON.stringify(s.videoErrors)}`);
  L.check(s.ended, `'ended' did not fire: ${L.describe(s)}`);
  L.check(Math.abs(s.endedCurrentTime - pl.totalDuration) <= END_TOLERANCE,
      `ended at ${s.endedCurrentTime} s, playlist says ${pl.totalDuration.toFixed(3)} s ` +
      `(tolerance ${END_TOLERANCE} s)`);
  L.check(s.fragFailed === 0, `failed fragments: ${JSON.stringify(s.fragsFailed)}`);

  // Every listed segment loaded exactly once, in order, at the URL the
  // playlist names: a skipped, repeated or misresolved fragment fails here.
  if (process.env.HLS_ENCRYPT === '1') {
    L.check(/^#EXT-X-KEY:METHOD=AES-128,URI="[^"]+",IV=0x[0-9A-F]{32}$/m.test(pl.text),
        `no AES-128 EXT-X-KEY in the playlist:\n${pl.text}`);
    L.check(s.keysLoaded > 0, `hls.js loaded no key: ${L.describe(s)}`);
  }
  const main = L.mediaFragments(s);
  L.checkInitSections(s, pl, `${srv.url}media/index.m3u8`);
  const expectedUrls = pl.segments.map((seg) => new URL(seg.uri, `${srv.url}media/index.m3u8`).href);
  const loadedUrls = main.map((f) => f.url);
  L.check(main.length === pl.segments.length,
      `FRAG_LOADED ${main.length} times for ${pl.segments.length} segments: ` +
      `${JSON.stringify(main.map((f) => f.sn))}`);
  L.check(JSON.stringify(loadedUrls) === JSON.stringify(expectedUrls),
      `loaded fragments ${JSON.stringify(loadedUrls)} differ from the playlist's ` +
      `${JSON.stringify(expectedUrls)}`);
  for (const seg of pl.segments) {
    // The server found each one, so this only documents the mapping: the
    // URI decodes to a file name in the output directory.
    const name = decodeURIComponent(new URL(seg.uri, 'http://h/').pathname.slice(1));
    L.check(fs.existsSync(path.join(out, name)), `segment file missing: ${name}`);
  }
  // Nothing was skipped inside the segments either: about every frame of the
  // source was decoded (software decoding keeps up with 640x360).
  const expectedFrames = Math.round(pl.totalDuration * 30);
  L.check(s.decodedFrames >= expectedFrames * 0.9,
      `decoded ${s.decodedFrames} video frames, expected about ${expectedFrames}`);
  L.checkNoErrors(s, consoleLines);
});
