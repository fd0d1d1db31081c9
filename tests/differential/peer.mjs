// The peer of the differential check: eventsource-parser, used the way its
// README shows (bytes through a streaming TextDecoder with its default
// options, then parser.feed), with the spec's "last event ID" kept across
// events (the package reports only the id of each event's own block).
//
// Usage: node peer.mjs LIST
//   LIST holds one line per stream: "PATH CHUNK" (CHUNK: bytes per feed).
//   Prints one JSON array per stream, in order, of the records ssecat
//   prints: {type, data, id}, {retry}, {comment}.
import { readFileSync } from 'node:fs';
import { createParser } from 'eventsource-parser';

function decode(bytes, chunk) {
  const records = [];
  let lastId = '';
  const parser = createParser({
    onId(id) {
      lastId = id;
    },
    onEvent(ev) {
      records.push({ type: ev.event ?? 'message', data: ev.data, id: lastId });
    },
    onRetry(ms) {
      records.push({ retry: ms });
    },
    onComment(text) {
      records.push({ comment: text });
    },
  });
  const td = new TextDecoder('utf-8');
  for (let at = 0; at < bytes.length; at += chunk) {
    parser.feed(td.decode(bytes.subarray(at, at + chunk), { stream: true }));
  }
  const tail = td.decode();
  if (tail) parser.feed(tail);
  // End of stream: nothing more; an unterminated line or event is dropped.
  return records;
}

const lines = readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean);
const out = [];
for (const line of lines) {
  const [path, chunk] = line.split(' ');
  out.push(JSON.stringify(decode(readFileSync(path), Number(chunk))));
}
process.stdout.write(out.join('\n') + '\n');
