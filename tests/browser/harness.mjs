// Browser test harness: a real `homeline serve` on a free loopback port with a fresh data
// directory, Debian's Chromium driven by playwright-core (never a downloaded browser), and a
// small REST client for setting things up the way an integration would.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const BIN = process.env.HOMELINE_BIN || path.join(here, '../../build/test/src/exe/homeline');
export const SCREENSHOTS = path.join(here, 'screenshots');
mkdirSync(SCREENSHOTS, { recursive: true });

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Whether process `pid` owns the socket listening on 127.0.0.1:`port` (Linux /proc). A port
// from freePort() can be taken by another test's server before ours binds it; /healthz would
// then answer from that other process.
function ownsListeningPort(pid, port) {
  const suffix = ':' + port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try { text = readFileSync(table, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && f[3] === '0A' && f[1].endsWith(suffix)) inodes.add(f[9]);
    }
  }
  let fds = [];
  try { fds = readdirSync(`/proc/${pid}/fd`); } catch { return false; }
  for (const fd of fds) {
    let target = '';
    try { target = readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
    if (target.startsWith('socket:[') && inodes.has(target.slice(8, -1))) return true;
  }
  return false;
}

// A port free on 127.0.0.1 for both UDP and TCP (SIP listens on both).
export async function freeSipPort() {
  const dgram = await import('node:dgram');
  for (let i = 0; i < 50; i++) {
    const u = dgram.createSocket('udp4');
    const port = await new Promise((resolve, reject) => { u.once('error', reject); u.bind(0, '127.0.0.1', () => resolve(u.address().port)); });
    const tcpFree = await new Promise((resolve) => {
      const t = createServer();
      t.once('error', () => resolve(false));
      t.listen(port, '127.0.0.1', () => t.close(() => resolve(true)));
    });
    await new Promise((r) => u.close(r));
    if (tcpFree) return port;
  }
  throw new Error('no port free for both UDP and TCP');
}

export class Server {
  // sip: SIP on a free port of its own (this.sipPort); otherwise SIP is off.
  constructor({ sip = false } = {}) {
    this.sip = sip;
  }

  async start(extraArgs = []) {
    this.dir = mkdtempSync(path.join(tmpdir(), 'homeline-browser-'));
    // A lost race for the port (our server cannot bind it) is retried on a new one.
    for (let attempt = 0; attempt < 5; attempt++) {
      if (await this.launch(extraArgs)) return this;
    }
    throw new Error('server could not bind a free port');
  }

  async launch(extraArgs) {
    this.port = await freePort();
    this.base = `http://127.0.0.1:${this.port}`;
    const logPath = path.join(this.dir, 'server.log');
    const log = openSync(logPath, 'a');
    const sipArgs = [];
    if (this.sip) {
      this.sipPort = await freeSipPort();
      sipArgs.push('--sip', `127.0.0.1:${this.sipPort}`);
    }
    this.proc = spawn(BIN, ['serve', '--http', `127.0.0.1:${this.port}`, '--data', this.dir, '--log-level', 'warn', ...sipArgs, ...extraArgs],
      // SIP off unless asked: servers run side by side and would all want 127.0.0.1:5060.
      { stdio: ['ignore', log, log], env: { HOMELINE_SIP: 'off', ...process.env } });
    const deadline = Date.now() + 60000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) {
        const text = readFileSync(logPath, 'utf8');
        if (text.includes('cannot bind') || text.includes('sip: cannot listen')) return false;
        throw new Error(`server exited with ${this.proc.exitCode}`);
      }
      try {
        const r = await fetch(this.base + '/healthz', { signal: AbortSignal.timeout(1000) });
        if (r.ok && ownsListeningPort(this.proc.pid, this.port)) return true;
      } catch { /* not yet */ }
      await sleep(50);
    }
    throw new Error('server did not become healthy');
  }

  async stop() {
    if (this.proc && this.proc.exitCode === null) {
      this.proc.kill('SIGTERM');
      await Promise.race([new Promise((r) => this.proc.once('exit', r)), sleep(20000)]);
      if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
    }
  }

  async cleanup() {
    await this.stop();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  async request(method, p, body, token) {
    const headers = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers.Authorization = 'Bearer ' + token;
    const r = await fetch(this.base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(10000) });
    const text = await r.text();
    let data = text;
    try { data = JSON.parse(text); } catch { /* text */ }
    return { status: r.status, body: data };
  }

  async ok(method, p, body, token) {
    const r = await this.request(method, p, body, token);
    if (r.status < 200 || r.status > 299) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  async login(login, password = 'demo') {
    return (await this.ok('POST', '/api/v1/auth/login', { login, password })).token;
  }
}

// The launch flags the machine needs (no sandbox as root, no background network: the machine
// has no network but the package registries). playwright-core gives every launch a fresh,
// empty --user-data-dir of its own.
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    timeout: 60000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--autoplay-policy=no-user-gesture-required'],
  });
}

// A signed-in page in its own context (own cookies), through the real login form.
export async function signIn(browser, server, login, { tenant } = {}) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 800 } });
  context.setDefaultTimeout(15000);
  const page = await context.newPage();
  page.on('pageerror', (e) => { page.errors = (page.errors || []).concat(String(e)); });
  await page.goto(server.base + '/');
  await page.getByLabel('User name').fill(login);
  await page.getByLabel('Password').fill('demo');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/app\//);
  if (tenant) {
    await page.locator('#tenant-switch').selectOption(tenant);
    await page.waitForURL(new RegExp(`tenant=${tenant}`));
  }
  return page;
}

export async function shot(page, name) {
  await page.screenshot({ path: path.join(SCREENSHOTS, name + '.png'), fullPage: true });
}

// A TCP proxy in front of the server, so a test can drop every connection through it (a real
// network failure: sockets die mid-stream) and refuse new ones for a while.
export class Proxy {
  constructor(target) {
    this.target = target;
    this.sockets = new Set();
    this.down = false;
  }

  async start() {
    const net = await import('node:net');
    this.port = await freePort();
    this.base = `http://127.0.0.1:${this.port}`;
    this.server = net.createServer((client) => {
      if (this.down) return client.destroy();
      const upstream = net.connect(this.target, '127.0.0.1');
      this.sockets.add(client);
      this.sockets.add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise((r) => this.server.listen(this.port, '127.0.0.1', r));
    return this;
  }

  // Drops every open connection and refuses new ones until up().
  cut() {
    this.down = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  up() { this.down = false; }

  close() {
    this.cut();
    return new Promise((r) => this.server.close(r));
  }
}

// A plain web site on another port: the page a company puts the widget tag on.
export async function startSite(widgetBase, tenant = 'acme') {
  const http = await import('node:http');
  const port = await freePort();
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme Retail shop</title></head>
<body style="font-family: sans-serif; margin: 2rem; background: #fafafa">
<h1>Acme Retail</h1><p>Spring sale: everything must go.</p>
<script src="${widgetBase}/widget.js" data-tenant="${tenant}" async></script>
</body></html>`;
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return { origin: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) };
}

// The SIP peers of tests/browser/voice_peer.py (an agent's phone, a customer calling through the
// trunk) in a Python process driven by JSON lines.
export class VoicePeer {
  constructor(sipPort) {
    this.proc = spawn('python3', [path.join(here, 'voice_peer.py'), String(sipPort)], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.buffer = '';
    this.waiting = [];
    this.proc.stdout.on('data', (d) => {
      this.buffer += d;
      let i;
      while ((i = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, i);
        this.buffer = this.buffer.slice(i + 1);
        this.waiting.shift()?.(JSON.parse(line));
      }
    });
  }

  send(msg) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`voice peer: no answer to ${msg.cmd}`)), 15000);
      this.waiting.push((r) => { clearTimeout(timer); resolve(r); });
      this.proc.stdin.write(JSON.stringify(msg) + '\n');
    });
  }

  state() { return this.send({ cmd: 'state' }); }

  // Polls state() until pred(state) holds (at most `ms`).
  async until(pred, what, ms = 15000) {
    const end = Date.now() + ms;
    for (;;) {
      const s = await this.state();
      if (pred(s)) return s;
      if (Date.now() > end) throw new Error(`voice peer: ${what} did not happen: ${JSON.stringify(s)}`);
      await sleep(100);
    }
  }

  async close() {
    if (this.proc.exitCode !== null) return;
    this.proc.stdin.end();
    await Promise.race([new Promise((r) => this.proc.once('exit', r)), sleep(10000)]);
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}
