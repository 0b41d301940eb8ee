#!/usr/bin/env node
// The web/ server: content types, caching headers, percent-decoding of
// hostile file names, and refusal of every path that would leave the media
// directory. Runs the real server over real sockets; no browser needed.
//
//   node tests/browser/server-test.js
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const L = require('./lib');

// Raw request: the path goes on the wire exactly as given (no client-side
// normalisation of "..", "%2e" or "?").
function get(srv, rawPath, method = 'GET') {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: srv.port, method, path: rawPath }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

// RFC 3986 path segment encoding, as a playlist writer should produce it:
// everything but unreserved characters and sub-delims is percent-encoded.
function encodeSegment(name) {
  return Array.from(Buffer.from(name, 'utf8')).map((b) => {
    const c = String.fromCharCode(b);
    return /[A-Za-z0-9\-._~!$&'()*+,;=:@]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }).join('');
}

L.runTest('server', async (scope) => {
  const work = L.mkTempDir('server');
  scope.defer(() => fs.rmSync(work, { recursive: true, force: true }));
  const media = path.join(work, 'media');
  fs.mkdirSync(path.join(media, 'sub dir'), { recursive: true });
  fs.writeFileSync(path.join(work, 'secret.txt'), 'outside the root\n');
  fs.symlinkSync(path.join(work, 'secret.txt'), path.join(media, 'link.ts'));
  fs.writeFileSync(path.join(media, 'index.m3u8'), '#EXTM3U\n');
  fs.writeFileSync(path.join(media, 'empty.ts'), '');

  const hostile = [
    'seg 0.ts', 'seg#1.ts', 'seg%2.ts', 'seg,3.ts', 'seg"4.ts', 'seg?5.ts',
    'séquence-6.ts', '日本語 7.ts', 'a%20b.ts', "it's+8.ts", 'sub dir/seg 9.ts',
  ];
  for (const name of hostile) fs.writeFileSync(path.join(media, name), `content of ${name}`);

  const srv = await L.startWebServer(media, scope);

  let r = await get(srv, '/media/index.m3u8');
  L.check(r.status === 200, `playlist: status ${r.status}`);
  L.check(r.headers['content-type'] === 'application/vnd.apple.mpegurl',
      `playlist Content-Type ${r.headers['content-type']}`);
  L.check(r.headers['cache-control'] === 'no-cache', `playlist Cache-Control ${r.headers['cache-control']}`);
  L.check(r.body.toString() === '#EXTM3U\n', 'playlist body');

  r = await get(srv, '/media/index.m3u8?_HLS_msn=3');
  L.check(r.status === 200, `a query string is not part of the file name: status ${r.status}`);

  r = await get(srv, '/media/empty.ts');
  L.check(r.status === 200 && r.body.length === 0 && r.headers['content-type'] === 'video/mp2t',
      `empty segment: ${r.status} ${r.headers['content-type']} ${r.body.length} bytes`);

  for (const name of hostile) {
    const url = `/media/${name.split('/').map(encodeSegment).join('/')}`;
    r = await get(srv, url);
    L.check(r.status === 200, `${JSON.stringify(name)} as ${url}: status ${r.status}`);
    L.check(r.body.toString() === `content of ${name}`, `${url}: wrong body ${r.body}`);
    L.check(r.headers['content-type'] === 'video/mp2t', `${url}: Content-Type ${r.headers['content-type']}`);
    L.check(Number(r.headers['content-length']) === Buffer.byteLength(`content of ${name}`),
        `${url}: Content-Length ${r.headers['content-length']}`);
  }
  // Lower-case hex digits decode the same.
  r = await get(srv, '/media/s%c3%a9quence-6.ts');
  L.check(r.status === 200, `lower-case percent-encoding: ${r.status}`);
  // "a%20b.ts" on disk is only reachable with its "%" encoded; "a%20b.ts" on
  // the wire means "a b.ts", which does not exist.
  r = await get(srv, '/media/a%20b.ts');
  L.check(r.status === 404, `"/media/a%20b.ts" must not find "a%20b.ts": ${r.status}`);
  // An unencoded "?" starts the query: "seg?5.ts" on the wire asks for "seg".
  r = await get(srv, '/media/seg?5.ts');
  L.check(r.status === 404, `raw "?" must end the path: ${r.status}`);

  r = await get(srv, '/media/index.m3u8', 'HEAD');
  L.check(r.status === 200 && r.body.length === 0 && r.headers['content-length'] === '8',
      `HEAD: ${r.status}, ${r.body.length} body bytes, length ${r.headers['content-length']}`);
  r = await get(srv, '/media/index.m3u8', 'POST');
  L.check(r.status === 405, `POST: ${r.status}`);

  const refused = [
    '/media/../secret.txt', '/media/%2e%2e/secret.txt', '/media/%2E%2E/secret.txt',
    '/media/..%2fsecret.txt', '/media/..%2Fsecret.txt', '/media/sub%20dir/../../secret.txt',
    '/media/%2e%2e%2fsecret.txt', '/media/..%5csecret.txt', '/media/seg%000.ts',
    '/media/%zz.ts', '/media/%E0%A4%A.ts', '/media/%C3.ts', '/media//etc/passwd',
    '/media/link.ts', '/media/', '/media/sub%20dir', '/media/sub%20dir/',
    '/media/./index.m3u8', '/../secret.txt', '/server.js', '/package.json',
    '/node_modules/hls.js/package.json',
  ];
  for (const p of refused) {
    r = await get(srv, p);
    L.check(r.status >= 400 && r.status < 500, `${p}: expected a 4xx refusal, got ${r.status}`);
    L.check(!r.body.toString().includes('outside the root'), `${p}: leaked a file outside the root`);
  }

  r = await get(srv, '/');
  L.check(r.status === 200 && /text\/html/.test(r.headers['content-type']) &&
      r.body.toString().includes('/vendor/hls.min.js'), `page: ${r.status} ${r.headers['content-type']}`);
  r = await get(srv, '/player.js');
  L.check(r.status === 200 && /javascript/.test(r.headers['content-type']), `player.js: ${r.status}`);
  r = await get(srv, '/vendor/hls.min.js');
  L.check(r.status === 200 && /javascript/.test(r.headers['content-type']) && r.body.length > 100000,
      `hls.js from node_modules: ${r.status}, ${r.body.length} bytes`);

  // The command line: port 0 prints the URL it bound, on 127.0.0.1.
  const { spawn } = require('child_process');
  const proc = spawn(process.execPath, [path.join(L.WEB, 'server.js'), '--media', media, '--port', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
  scope.defer(() => { if (proc.exitCode === null) proc.kill('SIGKILL'); });
  let outText = '';
  proc.stdout.on('data', (b) => { outText += b; });
  const line = await L.waitFor('the server to print its URL', () => {
    const m = /^listening (http:\/\/127\.0\.0\.1:(\d+)\/)$/m.exec(outText);
    return m ? m : false;
  }, 10000, 50);
  r = await get({ port: Number(line[2]) }, '/media/seg%231.ts');
  L.check(r.status === 200 && r.body.toString() === 'content of seg#1.ts', `CLI server: ${r.status}`);
  const exited = new Promise((res) => proc.on('exit', (code, sig) => res({ code, sig })));
  proc.kill('SIGTERM');
  const ex = await exited;
  L.check(ex.code === 0, `server exit on SIGTERM: ${JSON.stringify(ex)}`);
});
