#!/usr/bin/env node
// Raw AMI byte recorder for the sipwarden lab.
//
// Connects to AMI, logs in (ActionID cap-1), optionally sends actions
// (ActionID cap-2, cap-3, ...), and writes EVERY byte received (greeting,
// login response, events, responses) unchanged to --out, until SIGINT/SIGTERM,
// --timeout, or (with --actions) --idle ms of silence after the last action.
// Run it inside the pbx namespace, where AMI listens on 127.0.0.1:5038:
//
//   ip netns exec swlab-pbx node scripts/lab/record-ami.mjs --out x.ami --timeout 30
//   ip netns exec swlab-pbx node scripts/lab/record-ami.mjs --out x.ami --events off \
//       --action $'Action: PJSIPShowEndpoint\r\nEndpoint: provider' --idle 1500
//
// Prints "READY" on stdout once the login is accepted (start the traffic then),
// and "DONE <bytes>" when the file is closed. Exit code 0 on success, 1 on
// connection/login failure.
import net from 'node:net';
import fs from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '5038' },
    user: { type: 'string', default: 'sipwarden' },
    secret: { type: 'string', default: 'lab-secret' },
    events: { type: 'string', default: 'security,call' },
    timeout: { type: 'string', default: '60' },
    action: { type: 'string', multiple: true, default: [] },
    idle: { type: 'string', default: '1500' },
    gap: { type: 'string', default: '300' },
  },
});
if (!values.out) {
  console.error('usage: record-ami.mjs --out FILE [--events security,call|off] [--timeout S] [--action "Action: X\\r\\nK: v"]... [--idle MS]');
  process.exit(2);
}

const out = fs.createWriteStream(values.out);
let bytes = 0;
let buf = '';
let loggedIn = false;
let finished = false;
let idleTimer;
const actions = values.action.map((a) => a.replace(/\\r\\n|\\n/g, '\r\n').replace(/\r?\n/g, '\r\n').trim());

const sock = net.connect({ host: values.host, port: Number(values.port) });
const hardStop = setTimeout(() => finish(0), Number(values.timeout) * 1000);

function finish(code) {
  if (finished) return;
  finished = true;
  clearTimeout(hardStop);
  clearTimeout(idleTimer);
  sock.destroy();
  out.end(() => {
    console.log(`DONE ${bytes}`);
    process.exit(code);
  });
}

function armIdle() {
  if (actions.length === 0) return;
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => finish(0), Number(values.idle));
}

async function sendActions() {
  for (let i = 0; i < actions.length; i++) {
    sock.write(`${actions[i]}\r\nActionID: cap-${i + 2}\r\n\r\n`);
    armIdle();
    await new Promise((r) => setTimeout(r, Number(values.gap)));
  }
  armIdle();
}

sock.on('connect', () => {
  sock.write(
    `Action: Login\r\nActionID: cap-1\r\nUsername: ${values.user}\r\nSecret: ${values.secret}\r\nEvents: ${values.events}\r\n\r\n`,
  );
});
sock.on('data', (chunk) => {
  out.write(chunk);
  bytes += chunk.length;
  if (loggedIn) {
    if (actions.length && idleTimer) armIdle();
    return;
  }
  buf += chunk.toString('latin1');
  const m = /Response: (\w+)\r\nActionID: cap-1\r\n(?:[^\r]*\r\n)*?\r\n/.exec(buf);
  if (!m) return;
  if (m[1] !== 'Success') {
    console.error(`login failed: ${m[0].replace(/\r\n/g, ' | ')}`);
    finish(1);
    return;
  }
  loggedIn = true;
  console.log('READY');
  void sendActions();
});
sock.on('error', (e) => {
  console.error(`AMI connection error: ${e.message}`);
  finish(1);
});
sock.on('close', () => finish(loggedIn ? 0 : 1));
process.on('SIGINT', () => finish(0));
process.on('SIGTERM', () => finish(0));
