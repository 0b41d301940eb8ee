#!/usr/bin/env node
// Small static HTTP server for the hlsbridge demo page and the browser tests.
//
//   node web/server.js --media DIR [--port N] [--host 127.0.0.1]
//
// URL layout:
//   /                  the player page (web/index.html)
//   /player.js         the page's script
//   /vendor/hls.min.js hls.js, straight from web/node_modules
//   /media/<path>      files below DIR (the muxer's output directory)
//
// Port 0 picks a free port. Once listening, the server prints one line,
// "listening http://HOST:PORT/", on stdout, so scripts can read the URL.
//
// Also usable as a module: `const { startServer } = require('./server.js')`.
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');

const WEB_DIR = __dirname;

const CONTENT_TYPES = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.ts': 'video/mp2t',
  '.m4s': 'video/iso.segment',
  '.mp4': 'video/mp4',
  '.aac': 'audio/aac',
  '.vtt': 'text/vtt; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
};

// Fixed routes to the page's own assets. Nothing else below web/ is served,
// so node_modules and the server's source stay private.
function staticRoutes() {
  const hlsDist = path.join(WEB_DIR, 'node_modules', 'hls.js', 'dist');
  return new Map([
    ['/', path.join(WEB_DIR, 'index.html')],
    ['/index.html', path.join(WEB_DIR, 'index.html')],
    ['/player.js', path.join(WEB_DIR, 'player.js')],
    ['/vendor/hls.min.js', path.join(hlsDist, 'hls.min.js')],
    ['/vendor/hls.min.js.map', path.join(hlsDist, 'hls.min.js.map')],
  ]);
}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// Maps the path part of a request target below `prefix` to a file inside
// `root`. Each path segment is percent-decoded on its own, so an encoded
// "/" (%2F) can never create a new segment. A segment that decodes to "",
// ".", "..", or contains "/", "\" or NUL is refused: the result can only name
// a file inside root (symbolic links are checked later, on the real path).
function mediaPathFor(root, rawPath) {
  const parts = rawPath.split('/');
  const decoded = [];
  for (const part of parts) {
    let name;
    try {
      name = decodeURIComponent(part);
    } catch (e) {
      throw new HttpError(400, 'bad percent-encoding in path');
    }
    if (name === '' || name === '.' || name === '..' ||
        /[/\\\0]/.test(name)) {
      throw new HttpError(400, 'refused path segment');
    }
    decoded.push(name);
  }
  return path.join(root, ...decoded);
}

function isInside(root, file) {
  const rel = path.relative(root, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

function contentTypeFor(file) {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ||
      'application/octet-stream';
}

// Sends one regular file. A playlist is read whole first: the muxer replaces
// it by rename, so a single read returns one complete version and the
// Content-Length matches what is sent.
async function sendFile(req, res, file) {
  const type = contentTypeFor(file);
  const isPlaylist = type === 'application/vnd.apple.mpegurl';
  const headers = {
    'Content-Type': type,
    // Playlists change under the same name: a cached copy would freeze a
    // live player. Segments never change, but the tests replace whole
    // output directories between runs, so nothing is cached.
    'Cache-Control': 'no-cache',
    'Access-Control-Allow-Origin': '*',
  };
  if (isPlaylist) {
    const body = await fs.promises.readFile(file);
    headers['Content-Length'] = body.length;
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  const handle = await fs.promises.open(file, 'r');
  let st;
  try {
    st = await handle.stat();
  } catch (e) {
    await handle.close();
    throw e;
  }
  if (!st.isFile()) {
    await handle.close();
    throw new HttpError(404, 'not a file');
  }
  headers['Content-Length'] = st.size;
  res.writeHead(200, headers);
  if (req.method === 'HEAD') {
    await handle.close();
    res.end();
    return;
  }
  const stream = handle.createReadStream({ start: 0, end: Math.max(st.size - 1, 0) });
  if (st.size === 0) {
    stream.destroy();
    res.end();
    return;
  }
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

function errorStatus(err) {
  if (err instanceof HttpError) return err.status;
  if (err && (err.code === 'ENOENT' || err.code === 'ENOTDIR' ||
              err.code === 'EISDIR')) {
    return 404;
  }
  if (err && err.code === 'EACCES') return 403;
  return 500;
}

function createHandler(options) {
  const routes = staticRoutes();
  const mediaRoot = options.media ? fs.realpathSync(options.media) : null;
  const log = options.log || (() => {});

  return async function handle(req, res) {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD');
        throw new HttpError(405, 'method not allowed');
      }
      // The request target is origin-form ("/a/b%20c.ts?x"): the query is
      // cut at the first raw "?" before any decoding, so an encoded "%3F"
      // stays part of the file name.
      const target = req.url || '/';
      if (!target.startsWith('/')) throw new HttpError(400, 'bad request target');
      const q = target.indexOf('?');
      const rawPath = q === -1 ? target : target.slice(0, q);

      if (routes.has(rawPath)) {
        await sendFile(req, res, routes.get(rawPath));
        return;
      }
      if (rawPath.startsWith('/media/') && mediaRoot) {
        const file = mediaPathFor(mediaRoot, rawPath.slice('/media/'.length));
        // Resolve symbolic links and check again: the output directory must
        // not become a window onto the rest of the file system.
        const real = await fs.promises.realpath(file);
        if (!isInside(mediaRoot, real)) throw new HttpError(403, 'outside the media root');
        await sendFile(req, res, real);
        return;
      }
      throw new HttpError(404, 'not found');
    } catch (err) {
      const status = errorStatus(err);
      if (status === 500) log(`error serving ${req.url}: ${err.stack || err}`);
      if (!res.headersSent) {
        res.writeHead(status, {
          'Content-Type': 'text/plain; charset=utf-8',
          'Cache-Control': 'no-cache',
        });
        res.end(req.method === 'HEAD' ? undefined : `${status} ${http.STATUS_CODES[status]}\n`);
      } else {
        res.destroy();
      }
    } finally {
      log(`${req.method} ${req.url} ${res.statusCode}`);
    }
  };
}

// Starts a server. options: { media: dir, port: 0, host: '127.0.0.1', log }.
// Resolves to { server, url, port, close() }.
function startServer(options = {}) {
  const host = options.host || '127.0.0.1';
  const port = options.port === undefined ? 0 : Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    return Promise.reject(new Error(`invalid port: ${options.port}`));
  }
  const server = http.createServer(createHandler(options));
  server.keepAliveTimeout = 5000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      const addr = server.address();
      const hostPart = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      resolve({
        server,
        port: addr.port,
        url: `http://${hostPart}:${addr.port}/`,
        close: () => new Promise((done) => {
          server.close(() => done());
          server.closeAllConnections();
        }),
      });
    });
  });
}

function usage(message) {
  if (message) process.stderr.write(`server.js: ${message}\n`);
  process.stderr.write(
      'usage: node server.js --media DIR [--port N] [--host ADDR] [--verbose]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { host: '127.0.0.1', port: 0, media: null, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--media') opts.media = value();
    else if (a === '--port') opts.port = value();
    else if (a === '--host') opts.host = value();
    else if (a === '--verbose') opts.verbose = true;
    else if (a === '-h' || a === '--help') usage();
    else usage(`unknown argument: ${a}`);
  }
  if (!/^\d+$/.test(String(opts.port))) usage(`invalid port: ${opts.port}`);
  opts.port = Number(opts.port);
  if (!opts.media) usage('--media is required');
  if (!fs.existsSync(opts.media) || !fs.statSync(opts.media).isDirectory()) {
    usage(`not a directory: ${opts.media}`);
  }
  return opts;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const log = opts.verbose ? (line) => process.stderr.write(`${line}\n`) : undefined;
  let srv;
  try {
    srv = await startServer({ ...opts, log });
  } catch (err) {
    process.stderr.write(`server.js: cannot listen on ${opts.host}:${opts.port}: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`listening ${srv.url}\n`);
  const stop = () => srv.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (require.main === module) {
  main();
}

module.exports = { startServer, mediaPathFor, contentTypeFor };
