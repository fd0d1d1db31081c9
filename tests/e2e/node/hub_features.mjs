// sse-hub's issue-12 features with Node's `eventsource` package (pinned by
// package-lock.json): topics and resume per topic, the resync event, JWT
// (?access_token= and an Authorization header set through the package's
// fetch option; 401/403 reach onerror and end the EventSource), the CSRF
// check, retry jitter and /metrics.
//
// usage: node hub_features.mjs SSE_HUB     (run by ../test_hub_node.py)
// Everything runs on 127.0.0.1 and ends within 40 s.
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventSource } from 'eventsource';

const hubExe = process.argv[2];
const hubs = [];
const sources = [];
const dir = mkdtempSync(join(tmpdir(), 'hub-features-'));

function cleanup() {
  for (const es of sources) es.close();
  for (const h of hubs) if (h.exitCode === null) h.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
function fail(msg) {
  console.log('FAIL: ' + msg);
  cleanup();
  process.exit(1);
}
const watchdog = setTimeout(() => fail('timed out after 40 s'), 40000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(pred, what, ms = 10000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return;
    await sleep(20);
  }
  fail('timed out waiting for ' + what);
}

function startHub(args) {
  return new Promise((resolve, reject) => {
    const hub = spawn(hubExe, ['--port', '0', '--first-id', '1', ...args],
                      { stdio: ['ignore', 'pipe', 'inherit'] });
    hubs.push(hub);
    let out = '';
    hub.on('error', reject);
    hub.stdout.on('data', (d) => {
      out += d;
      const m = /127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) resolve(`http://127.0.0.1:${m[1]}`);
    });
    hub.on('exit', (code) => reject(new Error('sse-hub exited: ' + code)));
  });
}

const b64u = (s) => Buffer.from(s).toString('base64url');
function token(claims, key) {
  const signing = b64u(JSON.stringify({ alg: 'HS256', typ: 'JWT' })) + '.' +
                  b64u(JSON.stringify(claims));
  return signing + '.' + createHmac('sha256', key).update(signing).digest('base64url');
}

function listen(url, types = [], init = undefined) {
  const es = new EventSource(url, init);
  sources.push(es);
  const st = { es, got: [], errors: [], opens: 0 };
  const rec = (e) => st.got.push({ type: e.type, id: e.lastEventId, data: e.data });
  es.onmessage = rec;
  for (const t of types) es.addEventListener(t, rec);
  es.onopen = () => { st.opens++; };
  es.onerror = (e) => { st.errors.push(e.code); };
  return st;
}

async function main() {
  // Topics, resume per topic, the resync event.
  let base = await startHub(['--retry-ms', '200']);
  const publish = async (data, query = '', headers = {}) => {
    const r = await fetch(base + '/publish' + query, { method: 'POST', body: data, headers });
    return { status: r.status, id: (await r.text()).trim() };
  };
  const stats = async () => (await fetch(base + '/stats')).json();
  const a = listen(base + '/events?topic=a');
  const ab = listen(base + '/events?topic=a&topic=b');
  await waitFor(async () => (await stats()).subscribers === 2, 'two subscribers');
  await publish('to a', '?topic=a');
  await publish('to b', '?topic=b');
  await publish('to default');
  await waitFor(() => a.got.length >= 1 && ab.got.length >= 2, 'topic events');
  await sleep(200);
  const ids = (s) => s.got.map((e) => e.id).join(',');
  if (ids(a) !== '1' || ids(ab) !== '1,2') fail(`topics: a ${ids(a)}, a+b ${ids(ab)}`);
  const resumed = listen(base + '/events?topic=b&lastEventId=1');
  await waitFor(() => resumed.got.length >= 1, 'the resume on b');
  if (ids(resumed) !== '2') fail('resume on b: ' + ids(resumed));
  const lost = listen(base + '/events?topic=a&lastEventId=12345', ['sse-resync']);
  await waitFor(() => lost.got.length >= 1, 'the resync event');
  const r = lost.got[0];
  if (r.type !== 'sse-resync' || r.id !== '3' ||
      JSON.stringify(JSON.parse(r.data)) !== '{"reason":"unknown","last_event_id":"12345"}')
    fail('resync event: ' + JSON.stringify(r));
  await publish('live a', '?topic=a');
  await waitFor(() => lost.got.length >= 2, 'a live event after the resync');
  // CSRF: a publish whose Origin is foreign.
  if ((await publish('x', '', { Origin: 'https://evil.example' })).status !== 403)
    fail('a foreign Origin could publish');
  // /metrics.
  const m = await (await fetch(base + '/metrics')).text();
  if (!/^sse_hub_events_total 4$/m.test(m) || !/^sse_hub_resyncs_total 1$/m.test(m))
    fail('metrics:\n' + m);

  // JWT: ?access_token= and an Authorization header through fetch.
  const secret = 'node-test-secret-0123456789abcdef';
  writeFileSync(join(dir, 'secret'), secret);
  base = await startHub(['--jwt-secret-file', join(dir, 'secret'), '--retry-ms', '200']);
  const sub = token({ sse: { subscribe: ['a'] } }, secret);
  const pub = token({ sse: { publish: ['*'] } }, secret);
  const viaQuery = listen(base + '/events?topic=a&access_token=' + sub);
  const viaHeader = listen(base + '/events?topic=a', [], {
    fetch: (input, init) => fetch(input, {
      ...init, headers: { ...init.headers, Authorization: 'Bearer ' + sub } }),
  });
  const denied = listen(base + '/events?topic=b&access_token=' + sub);
  const noToken = listen(base + '/events?topic=a');
  await waitFor(async () => (await stats()).subscribers === 2, 'two authorized subscribers');
  if ((await publish('x', '?topic=a')).status !== 401) fail('publish without a token');
  if ((await publish('jwt a', '?topic=a', { Authorization: 'Bearer ' + pub })).status !== 202)
    fail('publish with a token');
  await waitFor(() => viaQuery.got.length && viaHeader.got.length, 'events with tokens');
  await waitFor(() => denied.errors.length && noToken.errors.length, 'the refusals');
  if (denied.errors[0] !== 403 || noToken.errors[0] !== 401)
    fail(`refusals: ${denied.errors} ${noToken.errors}`);
  if (denied.es.readyState !== 2 || noToken.es.readyState !== 2)
    fail('a refused EventSource did not end');

  // Retry jitter: 40 connections see more than one retry value in range.
  base = await startHub(['--retry-ms', '1000', '--retry-jitter-ms', '1000']);
  const retries = new Set();
  for (let i = 0; i < 40; i++) {
    const res = await fetch(base + '/events');
    const reader = res.body.getReader();
    let text = '';
    while (!/retry: \d+\n/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    const v = Number(/retry: (\d+)/.exec(text)[1]);
    if (v < 1000 || v > 2000) fail('retry out of range: ' + v);
    retries.add(v);
  }
  if (retries.size < 20) fail(`only ${retries.size} distinct retry values in 40`);

  clearTimeout(watchdog);
  cleanup();
  console.log('ok: topics and per-topic resume, resync event, CSRF 403, /metrics, ' +
              `JWT by query and header (403/401 end the EventSource), ${retries.size} retry values`);
}

main().catch((e) => fail(e.stack || String(e)));
