// sse-hub with Node's `eventsource` package (pinned by package-lock.json).
//
// usage: node hub_eventsource.mjs SSE_HUB      (run by ../test_hub_node.py)
//
// The client reaches the hub through a small TCP proxy in this script, so
// the test can cut its connection like a network would, and hold its
// reconnection while events are published. Checks: published events arrive
// with their types, ids and data; after the cut the client reconnects with
// Last-Event-ID and gets exactly the events it missed, then live ones: no
// more, no fewer. Everything runs on 127.0.0.1 and ends within 40 s.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { EventSource } from 'eventsource';

const hubExe = process.argv[2];
let hub = null;
let es = null;
let proxy = null;

function cleanup() {
  if (es) es.close();
  if (proxy) proxy.close();
  if (hub && hub.exitCode === null) hub.kill('SIGKILL');
}

function fail(msg) {
  console.log('FAIL: ' + msg);
  cleanup();
  process.exit(1);
}

const watchdog = setTimeout(() => fail('timed out after 40 s'), 40000);

function startHub() {
  return new Promise((resolve, reject) => {
    hub = spawn(hubExe, ['--port', '0', '--first-id', '1', '--retry-ms', '100', '--heartbeat-ms', '1000'],
                { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    hub.on('error', reject);
    hub.stdout.on('data', (d) => {
      out += d;
      const m = /127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) resolve(Number(m[1]));
    });
    hub.on('exit', (code) => reject(new Error('sse-hub exited: ' + code)));
  });
}

// The proxy: forwards each client connection to the hub; kill() cuts every
// connection; while `hold` is set, new connections wait (their request
// buffered) until release().
function startProxy(hubPort) {
  const conns = new Set();
  const held = [];
  const requests = [];
  const up = (c) => {
    c.upstream = net.connect(hubPort, '127.0.0.1');
    for (const d of c.buf) c.upstream.write(d);
    c.buf = [];
    c.upstream.on('data', (d) => c.client.write(d));
    c.upstream.on('error', () => {});
    c.upstream.on('close', () => c.client.destroy());
  };
  const state = { hold: false, held, requests };
  proxy = net.createServer((client) => {
    const c = { client, upstream: null, buf: [], head: '' };
    conns.add(c);
    client.on('data', (d) => {
      if (c.upstream) c.upstream.write(d);
      else c.buf.push(d);
      if (c.head !== null) {
        c.head += d.toString('latin1');
        const end = c.head.indexOf('\r\n\r\n');
        if (end >= 0) {
          requests.push(c.head.slice(0, end));
          c.head = null;
        }
      }
    });
    client.on('error', () => {});
    client.on('close', () => {
      if (c.upstream) c.upstream.destroy();
      conns.delete(c);
    });
    if (state.hold) held.push(c);
    else up(c);
  });
  state.kill = () => {
    for (const c of conns) {
      c.client.destroy();
      if (c.upstream) c.upstream.destroy();
    }
  };
  state.release = () => {
    state.hold = false;
    while (held.length) up(held.shift());
  };
  return new Promise((resolve) => {
    proxy.listen(0, '127.0.0.1', () => {
      state.port = proxy.address().port;
      resolve(state);
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(pred, what, ms = 10000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return;
    await sleep(20);
  }
  fail('timed out waiting for ' + what);
}

async function main() {
  const hubPort = await startHub();
  const base = `http://127.0.0.1:${hubPort}`;
  const px = await startProxy(hubPort);
  const stats = async () => (await fetch(base + '/stats')).json();
  const publish = async (data, query = '') => {
    const r = await fetch(base + '/publish' + query, { method: 'POST', body: data });
    if (r.status !== 202) fail(`publish answered ${r.status}`);
    return (await r.text()).trim();
  };

  const got = [];
  let opens = 0;
  es = new EventSource(`http://127.0.0.1:${px.port}/events`);
  const record = (e) => got.push({ type: e.type, id: e.lastEventId, data: e.data });
  es.onmessage = record;
  es.addEventListener('greeting', record);
  es.addEventListener('update', record);
  es.onopen = () => { opens++; };
  es.onerror = () => {};

  await waitFor(async () => opens === 1 && (await stats()).subscribers === 1,
                'the first connection');
  const want = [
    { type: 'greeting', id: '1', data: 'hello' },
    { type: 'message', id: '2', data: 'two\nlines' },
    { type: 'update', id: '3', data: '{"n":3}' },
  ];
  if (await publish('hello', '?event=greeting') !== '1') fail('id of event 1');
  await publish('two\nlines');
  await publish('{"n":3}', '?event=update');
  await waitFor(() => got.length >= 3, 'the first three events');

  // Cut the connection and hold the reconnection; publish what it misses.
  px.hold = true;
  px.kill();
  await waitFor(async () => px.held.length === 1 && (await stats()).subscribers === 0,
                'the client to reconnect (held) and the hub to drop the old stream');
  const missed = [
    { type: 'message', id: '4', data: 'missed 4' },
    { type: 'greeting', id: '5', data: 'missed 5' },
    { type: 'message', id: '6', data: 'missed 6' },
  ];
  await publish('missed 4');
  await publish('missed 5', '?event=greeting');
  await publish('missed 6');
  px.release();
  await waitFor(async () => (await stats()).subscribers === 1, 'the reconnection');
  await waitFor(() => got.length >= 6, 'the replay');
  await publish('live 7');
  await waitFor(() => got.length >= 7, 'the live event after the replay');
  await sleep(300); // anything extra (a duplicate) would arrive now

  const expected = [...want, ...missed, { type: 'message', id: '7', data: 'live 7' }];
  if (JSON.stringify(got) !== JSON.stringify(expected))
    fail('events:\n' + JSON.stringify(got) + '\nexpected:\n' + JSON.stringify(expected));
  const lei = (head) => (/^last-event-id:\s*(.*)$/im.exec(head) || [])[1];
  if (px.requests.length !== 2) fail(`${px.requests.length} requests, expected 2`);
  if (lei(px.requests[0]) !== undefined) fail('Last-Event-ID on the first request');
  if (lei(px.requests[1]) !== '3') fail(`reconnected with Last-Event-ID ${lei(px.requests[1])}, not 3`);
  if (opens !== 2) fail(`${opens} opens, expected 2`);

  es.close();
  es = null;
  hub.removeAllListeners('exit');
  const done = new Promise((r) => hub.once('exit', (code) => r(code)));
  hub.kill('SIGTERM');
  let timer;
  const code = await Promise.race([
    done, new Promise((r) => { timer = setTimeout(() => r('none'), 5000); })]);
  clearTimeout(timer);
  if (code !== 0) fail(`sse-hub exit status ${code} after SIGTERM`);
  proxy.close();
  clearTimeout(watchdog);
  console.log(`ok: ${got.length} events, types and ids as published; ` +
              'reconnected with Last-Event-ID: 3 and got exactly 4, 5, 6, then 7');
}

main().catch((e) => fail(e.stack || String(e)));
