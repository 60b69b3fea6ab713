import assert from 'node:assert/strict';
import { pino } from 'pino';
import { DEFAULT_SCANNER_UAS, ScannerDrop, parseScannerCounters, scannerChainText, validateUserAgent } from '../../../src/respond/scanner-drop.ts';
import { fakeExec } from './helpers.ts';

const silent = pino({ level: 'silent' });

describe('respond/scanner-drop', () => {
  it('validates User-Agent strings', () => {
    for (const ok of ['friendly-scanner', 'Evil Scanner 1.0', 'a', 'x'.repeat(64)]) assert.equal(validateUserAgent(ok).ok, true, ok);
    for (const bad of ['', 'x'.repeat(65), 'a"b', "a'b", 'a\\b', 'a`b', 'a\nb', 'a\rb', ' lead', 'trail ', 'ünï', '\x1b[31m', 'tab\there', 5]) {
      assert.equal(validateUserAgent(bad).ok, false, JSON.stringify(bad));
    }
  });

  it('one rule per UA and protocol, value-only, case-insensitive, commented', () => {
    const t = scannerChainText(['friendly-scanner'], { udp: [[5060, 5061]], tcp: [5060] });
    assert.equal(
      t,
      '*raw\n:SIPWARDEN-SCANNERS - [0:0]\n' +
        '-A SIPWARDEN-SCANNERS -p udp -m multiport --dports 5060:5061 -m string --string "friendly-scanner" --algo bm --icase -m comment --comment "sipwarden-ua:friendly-scanner" -j DROP\n' +
        '-A SIPWARDEN-SCANNERS -p tcp -m multiport --dports 5060 -m string --string "friendly-scanner" --algo bm --icase -m comment --comment "sipwarden-ua:friendly-scanner" -j DROP\n' +
        'COMMIT\n',
    );
  });

  it('defaults plus configured UAs; bad ones refused; duplicates (any case) once', () => {
    const s = new ScannerDrop({ logger: silent, exec: fakeExec().exec, userAgents: ['MyScanner', 'SIPVICIOUS', 'bad"one'] });
    assert.deepEqual(s.userAgents, [...DEFAULT_SCANNER_UAS, 'MyScanner']);
    assert.equal(s.rejected.length, 1);
  });

  it('init is idempotent: restore (flushes our chain) + jump only if missing; for v4 and v6', async () => {
    const f = fakeExec();
    const s = new ScannerDrop({ logger: silent, exec: f.exec, replaceDefaults: true, userAgents: ['sipvicious'] });
    await s.init();
    assert.deepEqual(
      f.calls.map((c) => [c.file, ...c.args].join(' ')),
      ['iptables-restore -w --noflush', 'iptables -w -t raw -C PREROUTING -j SIPWARDEN-SCANNERS', 'ip6tables-restore -w --noflush', 'ip6tables -w -t raw -C PREROUTING -j SIPWARDEN-SCANNERS'],
    );
  });

  it('counters sum per UA from iptables-save -c', async () => {
    const text = [
      '[3:1500] -A SIPWARDEN-SCANNERS -p udp -m multiport --dports 5060:5061 -m string --string "friendly-scanner" --algo bm --icase -m comment --comment "sipwarden-ua:friendly-scanner" -j DROP',
      '[1:600] -A SIPWARDEN-SCANNERS -p tcp -m multiport --dports 5060:5061 -m string --string "friendly-scanner" --algo bm --icase -m comment --comment sipwarden-ua:friendly-scanner -j DROP',
      '[2:100] -A SIPWARDEN-SCANNERS -p udp -m multiport --dports 5060:5061 -m string --string "Evil Scanner" --algo bm --icase -m comment --comment "sipwarden-ua:Evil Scanner" -j DROP',
    ].join('\n');
    assert.deepEqual(parseScannerCounters(text), { 'friendly-scanner': { packets: 4, bytes: 2100 }, 'Evil Scanner': { packets: 2, bytes: 100 } });
    const f = fakeExec((c) => (c.file.endsWith('-save') ? { stdout: text } : {}));
    const s = new ScannerDrop({ logger: silent, exec: f.exec });
    assert.deepEqual((await s.counters())['friendly-scanner'], { packets: 8, bytes: 4200 });
  });
});
