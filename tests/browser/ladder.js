#!/usr/bin/env node
// An ABR ladder plays in Chromium with hls.js from its multivariant
// playlist while `ffmpeg -re` writes it: three H.264 rungs (640x360,
// 480x270, 320x180) and one AAC audio group. The test switches the level
// mid-stream (hls.currentLevel) three times, between the top and the bottom;
// each switch shows in the decoded picture size, and playback goes on
// through all of them without an hls.js error, a 'waiting' stall or a hole
// in the buffer.
//
//   FFMPEG=build/ffmpeg/bin/ffmpeg node tests/browser/ladder.js
//   (HLS_SEGMENT_TYPE=fmp4 for fMP4 segments)
'use strict';

const fs = require('fs');
const path = require('path');
const L = require('./lib');

const SEGMENT_SECONDS = 2;
const RUNGS = [['360p', '640:360', '900k'], ['270p', '480:270', '500k'], ['180p', '320:180', '250k']];
const PHASE_SECONDS = 6;  // playback watched at each level

function ladderArgs(seconds) {
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'warning', '-re',
    '-f', 'lavfi', '-i', `testsrc2=size=640x360:rate=30:duration=${seconds}`,
    '-re', '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
    '-filter_complex', `[0:v]split=3[a][b][c];[a]scale=${RUNGS[0][1]}[v0];` +
      `[b]scale=${RUNGS[1][1]}[v1];[c]scale=${RUNGS[2][1]}[v2]`];
  RUNGS.forEach(([, , rate], i) => {
    args.push('-map', `[v${i}]`, `-c:v:${i}`, 'libx264', `-b:v:${i}`, rate);
  });
  args.push('-map', '1:a', '-c:a', 'aac', '-b:a', '96k', '-preset', 'veryfast',
    '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-pix_fmt', 'yuv420p',
    ...L.hlsArgs({ listSize: 6, time: SEGMENT_SECONDS }),
    '-var_stream_map', RUNGS.map(([name], i) => `v:${i},agroup:aud,name:${name}`).join(' ') +
      ' a:0,agroup:aud,name:audio,default:yes',
    '-master_pl_name', 'master.m3u8');
  return args;
}

// Holes in what is buffered ahead of the playhead.
function gapsAhead(s) {
  const gaps = [];
  for (let i = 1; i < s.buffered.length; i++) {
    if (s.buffered[i][0] > s.currentTime) gaps.push([s.buffered[i - 1][1], s.buffered[i][0]]);
  }
  return gaps;
}

L.runTest('ladder', async (scope) => {
  const work = L.mkTempDir('browser-ladder');
  scope.defer(() => fs.rmSync(work, { recursive: true, force: true }));
  const out = path.join(work, 'out');
  fs.mkdirSync(out);
  const ff = L.startFfmpeg([...ladderArgs(4 * PHASE_SECONDS + 40), path.join(out, '%v', 'index.m3u8')],
    scope);
  let ffExit = null;
  ff.done.then((r) => { ffExit = r; });
  const alive = () => {
    if (ffExit) throw new L.TestFailure(`ffmpeg exited early (${JSON.stringify(ffExit)}):\n${ff.stderr()}`);
  };

  await L.waitFor('the multivariant playlist and 3 segments in every variant', () => {
    alive();
    if (!fs.existsSync(path.join(out, 'master.m3u8'))) return false;
    return ['360p', '270p', '180p', 'audio'].every((n) => {
      const file = path.join(out, n, 'index.m3u8');
      return fs.existsSync(file) && L.readPlaylist(file).segments.length >= 3;
    });
  }, 40000);

  const srv = await L.startWebServer(out, scope);
  const browser = await L.launchBrowser(scope);
  const { page, consoleLines } = await L.openPlayer(browser, srv, '/media/master.m3u8', scope);
  const first = await L.waitForPlayback(page, alive);
  const levels = await page.evaluate(() => window.__hls.levels.map((l) => [l.width, l.height, l.bitrate]));
  L.log(`playing: ${L.describe(first)}; levels ${JSON.stringify(levels)}`);
  L.check(levels.length === 3, `hls.js sees ${levels.length} levels, want 3`);
  const heights = levels.map((l) => l[1]);
  const top = heights.indexOf(Math.max(...heights));
  const bottom = heights.indexOf(Math.min(...heights));

  // Every switch changes the picture: away from where hls.js started.
  const order = first.videoHeight === heights[top] ? [bottom, top, bottom] : [top, bottom, top];
  let last = first;
  for (const level of order) {
    await page.evaluate((n) => { window.__hls.currentLevel = n; }, level);
    const want = heights[level];
    const switched = await L.waitFor(`the picture at level ${level} (${want} lines)`, async () => {
      alive();
      const s = await L.snapshot(page);
      if (s.fatalErrors.length) throw new L.TestFailure(`fatal hls.js error: ${L.describe(s)}`);
      return s.videoHeight === want ? s : false;
    }, 20000, 100);
    L.log(`level ${level}: ${L.describe(switched)}`);
    await L.sleep(PHASE_SECONDS * 1000);
    const s = await L.snapshot(page);
    L.check(s.videoHeight === want, `left level ${level}: ${s.videoHeight} lines, want ${want}`);
    L.check(!s.paused, `player paused at level ${level}: ${L.describe(s)}`);
    const advanced = s.currentTime - last.currentTime;
    L.check(advanced >= PHASE_SECONDS * 0.8,
        `at level ${level} playback advanced ${advanced.toFixed(2)} s in ${PHASE_SECONDS} s`);
    L.check(gapsAhead(s).length === 0, `holes in the buffer: ${JSON.stringify(s.buffered)}`);
    const name = RUNGS.find(([, size]) => Number(size.split(':')[1]) === want)[0];
    const recent = L.mediaFragments(s).slice(-2);
    L.check(recent.every((f) => f.url.includes(`/${name}/`)),
        `fragments at level ${level} are not from ${name}: ${JSON.stringify(recent)}`);
    last = s;
  }

  // Nothing went wrong after playback started: no hls.js error of any kind
  // (a buffer stall or a hole to seek over would be one), no stall.
  const s = last;
  // An immediate switch (hls.currentLevel) makes hls.js abort the fragment
  // it was loading for the old level: its own cancellation, not a fault.
  const errors = s.errors.slice(first.errors.length).filter((e) => e.details !== 'aborted');
  L.check(errors.length === 0, `hls.js errors after the start: ${JSON.stringify(errors)}\n` +
      `console: ${consoleLines.join(' | ')}`);
  const stalls = s.events.filter((e) => e.t > first.now && (e.name === 'waiting' || e.name === 'stalled'));
  L.check(stalls.length === 0, `playback stalled: ${JSON.stringify(stalls)}`);
  L.check(s.videoErrors.length === 0, `video element error: ${JSON.stringify(s.videoErrors)}`);
  L.check(s.fragFailed === 0, `failed fragments: ${JSON.stringify(s.fragsFailed)}`);
});
