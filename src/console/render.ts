import type { ViewModel } from './view-model.ts';
import { escapeText } from './escape.ts';
import { formatDuration } from '../config/duration.ts';

const BOLD = '\x1b[1m', DIM = '\x1b[2m', RED = '\x1b[31m', GREEN = '\x1b[32m', YELLOW = '\x1b[33m', RESET = '\x1b[0m';

function pad(s: string, n: number): string {
  return s.length >= n ? s.slice(0, n) : s + ' '.repeat(n - s.length);
}

/**
 * One screen of the live console. Every piece of untrusted text goes through
 * escapeText; only this module's own colour codes reach the terminal.
 */
export function renderScreen(vm: ViewModel, now: number, width = 100, color = true): string {
  const c = (code: string, s: string) => (color ? code + s + RESET : s);
  const out: string[] = [];
  const conn = vm.connection === 'connected' ? c(GREEN, 'connected') : c(YELLOW, escapeText(vm.connection, 40));
  out.push(c(BOLD, 'sipwarden') + `  AMI: ${conn}${vm.connectionDetail ? ' ' + c(DIM, escapeText(vm.connectionDetail, 80)) : ''}`);
  out.push(`events ${vm.events}  (${vm.rate}/s)   failed attempts ${vm.failures}   mode ${vm.mode}`);
  out.push('');
  const src = vm.bySource.top(6);
  const acc = vm.byAccount.top(6);
  out.push(c(BOLD, pad('failures by source', 40)) + c(BOLD, 'failures by account'));
  for (let i = 0; i < Math.max(src.length, acc.length, 1); i++) {
    const a = src[i] ? `${pad(escapeText(src[i]![0], 30), 30)} ${String(src[i]![1]).padStart(6)}` : '';
    const b = acc[i] ? `${pad(escapeText(acc[i]![0], 30), 30)} ${String(acc[i]![1]).padStart(6)}` : '';
    out.push(pad(a, 40) + b);
  }
  out.push('');
  const active = vm.pipeline.policy.activeDecisions();
  out.push(c(BOLD, `active decisions (${active.length})`));
  for (const d of active.slice(0, 8)) {
    const t = d.target.ip ?? d.target.account ?? d.target.channel ?? '?';
    out.push(`  ${c(RED, pad(d.action, 13))} ${pad(escapeText(t, 40), 40)} ${pad(d.rule, 20)} ${formatDuration(Math.max(0, d.expiresAt - now))} left`);
  }
  for (const p of vm.panels) {
    out.push('', c(BOLD, p.title));
    for (const l of p.lines()) out.push('  ' + l);
  }
  out.push('', c(BOLD, 'latest detections'));
  for (const item of vm.latest.slice(0, 8)) {
    if ('decision' in item) {
      const d = item.decision;
      const t = d.target.ip ?? d.target.account ?? d.target.channel ?? '?';
      out.push(`  ${new Date(d.time).toISOString().slice(11, 19)} ${c(d.action === 'watch' ? YELLOW : RED, pad(d.action, 13))} ${escapeText(t, 40)} [${d.rule}]`);
      out.push(`    ${c(DIM, escapeText(d.reason, width - 6))}`);
    } else {
      out.push(`  ${new Date(item.alert.time).toISOString().slice(11, 19)} ${pad('alert', 13)} ${escapeText(item.alert.key, 40)} [${item.alert.rule}] ${c(DIM, escapeText(item.note, 60))}`);
    }
  }
  return out.map((l) => l).join('\n');
}

/** Redraws the screen in place at a fixed rate; stops with the returned function. */
export function startLiveView(vm: ViewModel, stream: NodeJS.WriteStream, everyMs = 250): () => void {
  const draw = () => {
    vm.tick();
    stream.write('\x1b[H\x1b[2J' + renderScreen(vm, Date.now(), stream.columns || 100) + '\n');
  };
  stream.write('\x1b[?25l');
  draw();
  const t = setInterval(draw, everyMs);
  return () => {
    clearInterval(t);
    draw();
    stream.write('\x1b[?25h');
  };
}
