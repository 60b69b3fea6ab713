import type { Panel } from './view-model.ts';
import type { ScannerDrop } from '../respond/scanner-drop.ts';

/** Scanner packets dropped by User-Agent, read from the rule counters every few seconds. */
export function scannerPanel(scanners: Pick<ScannerDrop, 'counters'>, everyMs = 3000): Panel & { stop(): void } {
  let lines: string[] = ['(reading counters)'];
  const read = () =>
    void scanners
      .counters()
      .then((c) => {
        const rows = Object.entries(c).filter(([, v]) => v.packets > 0);
        const total = rows.reduce((n, [, v]) => n + v.packets, 0);
        lines = [`${total} packets dropped`, ...rows.sort((a, b) => b[1].packets - a[1].packets).slice(0, 5).map(([ua, v]) => `${ua.padEnd(20)} ${String(v.packets).padStart(8)} pkts`)];
      })
      .catch((err: Error) => (lines = [`counters unavailable: ${err.message.slice(0, 80)}`]));
  read();
  const t = setInterval(read, everyMs);
  t.unref();
  return { title: 'scanner drop (User-Agent)', lines: () => lines, stop: () => clearInterval(t) };
}
