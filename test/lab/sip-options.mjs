#!/usr/bin/env node
// Sends one SIP OPTIONS over UDP and exits 0 if any response arrives, 1 if none
// within the timeout. Used from lab namespaces to see whether a host is answered.
//   node sip-options.mjs <target-ip> <own-ip> <user-agent> [timeout-ms]
import dgram from 'node:dgram';

const [target, own, ua, timeout = '2000'] = process.argv.slice(2);
const sock = dgram.createSocket('udp4');
const branch = 'z9hG4bK' + Math.random().toString(36).slice(2);
const callId = Math.random().toString(36).slice(2) + '@' + own;
const msg = [
  `OPTIONS sip:100@${target} SIP/2.0`,
  `Via: SIP/2.0/UDP ${own}:5099;branch=${branch};rport`,
  `From: <sip:probe@${own}>;tag=${Math.random().toString(36).slice(2)}`,
  `To: <sip:100@${target}>`,
  `Call-ID: ${callId}`,
  'CSeq: 1 OPTIONS',
  'Max-Forwards: 70',
  `User-Agent: ${ua}`,
  'Content-Length: 0',
  '',
  '',
].join('\r\n');
const timer = setTimeout(() => {
  sock.close();
  process.stdout.write('no answer\n');
  process.exit(1);
}, Number(timeout));
sock.on('message', (m) => {
  clearTimeout(timer);
  process.stdout.write(m.toString('latin1').split('\r\n')[0] + '\n');
  sock.close();
  process.exit(0);
});
sock.bind(5099, own, () => sock.send(msg, 5060, target));
