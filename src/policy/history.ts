/**
 * Times of the enforcing decisions against each target, for escalation.
 * Most targets offend once, so one time is held as a plain number and a
 * list is made only from the second offence on.
 */
export class OffenceHistory {
  private readonly times = new Map<string, number | number[]>();

  get size(): number {
    return this.times.size;
  }

  /** Offences against `key` after `since`. */
  count(key: string, since: number): number {
    const t = this.times.get(key);
    if (t === undefined) return 0;
    if (typeof t === 'number') return t > since ? 1 : 0;
    let n = 0;
    for (const x of t) if (x > since) n++;
    return n;
  }

  /** Records an offence at `now`, forgetting the ones at or before `since`. */
  add(key: string, now: number, since: number): void {
    const t = this.times.get(key);
    const kept = t === undefined ? [] : typeof t === 'number' ? (t > since ? [t] : []) : t.filter((x) => x > since);
    if (kept.length === 0) this.times.set(key, now);
    else {
      kept.push(now);
      this.times.set(key, kept);
    }
  }

  /** Forgets targets whose latest offence is at or before `before`. */
  prune(before: number): void {
    for (const [k, t] of this.times) if ((typeof t === 'number' ? t : (t[t.length - 1] ?? 0)) <= before) this.times.delete(k);
  }
}
