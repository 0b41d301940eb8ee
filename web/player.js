// Plays ?src=<playlist URL> with hls.js and keeps what happened in
// window.__player, which the browser tests read through page.evaluate().
/* global Hls */
'use strict';

(function () {
  const video = document.getElementById('video');
  const statusEl = document.getElementById('status');
  const params = new URLSearchParams(window.location.search);
  // The src is resolved against the page, so "/media/index.m3u8" and a full
  // URL both work. The test page passes URLs that are already percent-encoded.
  const src = params.get('src') ? new URL(params.get('src'), window.location.href).href : null;

  const state = {
    src,
    hlsVersion: typeof Hls === 'undefined' ? null : Hls.version,
    supported: false,
    attached: false,
    manifestParsed: false,
    // Every LEVEL_LOADED: one per playlist (re)load.
    levelLoaded: 0,
    levels: [],            // {t, startSN, endSN, live, endList, type, targetduration, totalduration, fragments}
    mediaSequences: [],    // startSN of each loaded playlist, in order
    fragLoaded: 0,
    fragsLoaded: [],       // {sn, url, start, duration, type}
    initSections: [],      // URLs of the init sections (EXT-X-MAP) parsed, in order
    keysLoaded: 0,         // AES-128 keys (EXT-X-KEY) loaded
    fragBuffered: 0,
    fragFailed: 0,
    fragsFailed: [],       // {sn, url, details}
    errors: [],            // every hls.js error: {type, details, fatal, sn, url, reason}
    fatalErrors: [],
    videoErrors: [],
    events: [],            // video element events with their time: {name, t, currentTime}
    playing: false,
    ended: false,
    endedCurrentTime: null,
    endedDuration: null,
    playErrors: [],
  };

  // Live values read at call time, so a test gets one consistent snapshot.
  state.snapshot = function () {
    const q = typeof video.getVideoPlaybackQuality === 'function' ?
        video.getVideoPlaybackQuality() : null;
    const buffered = [];
    for (let i = 0; i < video.buffered.length; i++) {
      buffered.push([video.buffered.start(i), video.buffered.end(i)]);
    }
    const copy = {};
    for (const k of Object.keys(state)) {
      if (typeof state[k] !== 'function') copy[k] = state[k];
    }
    return Object.assign(copy, {
      currentTime: video.currentTime,
      duration: video.duration,
      paused: video.paused,
      readyState: video.readyState,
      videoWidth: video.videoWidth,
      videoHeight: video.videoHeight,
      buffered,
      decodedFrames: q ? q.totalVideoFrames : null,
      droppedFrames: q ? q.droppedVideoFrames : null,
      now: performance.now(),
    });
  };
  window.__player = state;

  let lastStatus = '';
  function showStatus(text, isError) {
    if (text === lastStatus) return;
    lastStatus = text;
    statusEl.textContent = text;
    statusEl.className = isError ? 'error' : '';
  }

  function refreshStatus() {
    const s = state.snapshot();
    const lvl = s.levels.length ? s.levels[s.levels.length - 1] : null;
    const lines = [
      `hls.js ${s.hlsVersion}  time ${s.currentTime.toFixed(2)} s` +
          (s.ended ? '  (ended)' : s.playing && !s.paused ? '  (playing)' : ''),
      `playlist loads ${s.levelLoaded}` +
          (lvl ? `  media sequence ${lvl.startSN}..${lvl.endSN}` +
                 `  ${lvl.live ? 'live' : lvl.type || 'vod'}${lvl.endList ? ' + ENDLIST' : ''}` : ''),
      `fragments loaded ${s.fragLoaded}  failed ${s.fragFailed}` +
          `  frames decoded ${s.decodedFrames}  dropped ${s.droppedFrames}`,
    ];
    if (s.fatalErrors.length) {
      const e = s.fatalErrors[s.fatalErrors.length - 1];
      lines.push(`FATAL: ${e.type} / ${e.details}${e.reason ? ': ' + e.reason : ''}`);
    }
    showStatus(lines.join('\n'), s.fatalErrors.length > 0);
  }

  document.getElementById('src').textContent = src || '(none: add ?src=<playlist URL>)';

  const videoEvents = ['loadedmetadata', 'canplay', 'playing', 'waiting', 'stalled',
                       'pause', 'seeking', 'seeked', 'ended', 'error'];
  for (const name of videoEvents) {
    video.addEventListener(name, () => {
      state.events.push({ name, t: performance.now(), currentTime: video.currentTime });
      if (state.events.length > 500) state.events.splice(0, state.events.length - 500);
    });
  }
  video.addEventListener('playing', () => { state.playing = true; });
  video.addEventListener('ended', () => {
    state.ended = true;
    state.endedCurrentTime = video.currentTime;
    state.endedDuration = video.duration;
    refreshStatus();
  });
  video.addEventListener('error', () => {
    const e = video.error;
    state.videoErrors.push({ code: e ? e.code : null, message: e ? e.message : '' });
  });

  if (!src) {
    showStatus('no source: open this page with ?src=<playlist URL>', true);
    return;
  }
  if (typeof Hls === 'undefined') {
    showStatus('hls.js did not load (is web/node_modules installed?)', true);
    return;
  }
  state.supported = Hls.isSupported();
  if (!state.supported) {
    showStatus('this browser has no Media Source Extensions: hls.js cannot play', true);
    return;
  }

  // hls.js defaults throughout: the tests check what users get.
  const hls = new Hls();
  window.__hls = hls;

  hls.on(Hls.Events.MEDIA_ATTACHED, () => { state.attached = true; });
  hls.on(Hls.Events.MANIFEST_PARSED, () => {
    state.manifestParsed = true;
    const p = video.play();
    if (p && p.catch) {
      p.catch((err) => state.playErrors.push(String(err)));
    }
  });
  hls.on(Hls.Events.LEVEL_LOADED, (_event, data) => {
    const d = data.details;
    state.levelLoaded++;
    state.mediaSequences.push(d.startSN);
    state.levels.push({
      t: performance.now(),
      startSN: d.startSN,
      endSN: d.endSN,
      live: d.live,
      endList: !d.live,
      type: d.type,
      targetduration: d.targetduration,
      totalduration: d.totalduration,
      fragments: d.fragments.length,
    });
    if (state.levels.length > 1000) state.levels.splice(0, state.levels.length - 1000);
  });
  hls.on(Hls.Events.FRAG_LOADED, (_event, data) => {
    const f = data.frag;
    state.fragLoaded++;
    state.fragsLoaded.push({ sn: f.sn, url: f.url, start: f.start, duration: f.duration, type: f.type });
  });
  hls.on(Hls.Events.FRAG_BUFFERED, () => { state.fragBuffered++; });
  hls.on(Hls.Events.KEY_LOADED, () => { state.keysLoaded++; });
  hls.on(Hls.Events.FRAG_PARSING_INIT_SEGMENT, (_event, data) => {
    // For fMP4 the fragment is the init section (EXT-X-MAP) itself.
    if (data.frag && data.frag.sn === 'initSegment') state.initSections.push(data.frag.url);
  });
  hls.on(Hls.Events.ERROR, (_event, data) => {
    const f = data.frag;
    const e = {
      type: data.type,
      details: data.details,
      fatal: !!data.fatal,
      sn: f ? f.sn : null,
      url: f ? f.url : (data.url || null),
      reason: data.reason || (data.error ? String(data.error) : null),
      responseCode: data.response ? data.response.code : null,
    };
    state.errors.push(e);
    if (f && /^frag/i.test(String(data.details))) {
      state.fragFailed++;
      state.fragsFailed.push({ sn: f.sn, url: f.url, details: data.details });
    }
    if (data.fatal) {
      state.fatalErrors.push(e);
      refreshStatus();
    }
  });

  hls.attachMedia(video);
  hls.loadSource(src);
  setInterval(refreshStatus, 250);
}());
