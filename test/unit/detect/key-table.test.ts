import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IntIndex } from '../../../src/detect/int-index.ts';
import { ipv4ToInt } from '../../../src/domain/ipv4.ts';
import { KeyTable } from '../../../src/detect/key-table.ts';
import { isIPv4 } from 'node:net';

describe('key tables', () => {
  it('IntIndex behaves as a Map<uint32, slot> under random sets and deletes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constantFrom(0, 0xffffffff, 0xc6120000, 0xc6120100))), { maxLength: 2000 }), (ops) => {
        const idx = new IntIndex(4);
        const ref = new Map<number, number>();
        ops.forEach(([add, k], i) => {
          if (add && !ref.has(k)) {
            idx.set(k, i);
            ref.set(k, i);
          } else if (!add) {
            idx.delete(k);
            ref.delete(k);
          }
          assert.equal(idx.get(k), ref.get(k) ?? -1);
        });
        assert.equal(idx.size, ref.size);
        for (const [k, v] of ref) assert.equal(idx.get(k), v);
      }),
      { numRuns: 300, seed: 3 },
    );
  });

  it('IntIndex and WideIndex under churn at a steady size drop their deleted markers in place, with no new array', async () => {
    const { WideIndex } = await import('../../../src/detect/wide-index.ts');
    // 1024 cells each.
    const ints = new IntIndex(512);
    const wides = new WideIndex(512);
    const w = (k: number) => Int32Array.of(0xfd005157 | 0, 0, k >> 4, k & 15);
    const cells = (x: object) => (x as { cells: Int32Array }).cells;
    // 300 live keys, one out and one in per step: a flood at the cap, with evictions.
    for (let k = 0; k < 300; k++) {
      ints.set(k, k);
      wides.set(w(k), 0, k);
    }
    const arrays = [cells(ints), cells(wides)];
    for (let k = 300; k < 20_000; k++) {
      ints.delete(k - 300);
      wides.delete(w(k - 300));
      ints.set(k, k);
      wides.set(w(k), 0, k);
    }
    assert.equal(cells(ints), arrays[0], 'IntIndex kept its array');
    assert.equal(cells(wides), arrays[1], 'WideIndex kept its array');
    assert.equal(cells(ints).length, 1024 * 2, '300 keys stay in 1024 cells');
    for (let k = 0; k < 20_000; k++) {
      assert.equal(ints.get(k), k >= 19_700 ? k : -1, `int ${k}`);
      assert.equal(wides.get(w(k)), k >= 19_700 ? k : -1, `wide ${k}`);
    }
  });

  it('ipv4ToInt reads what net.isIPv4 accepts, -1 for the rest', () => {
    assert.equal(ipv4ToInt('198.18.0.11'), 0xc612000b);
    assert.equal(ipv4ToInt('255.255.255.255'), 0xffffffff);
    assert.equal(ipv4ToInt('0.0.0.0'), 0);
    for (const bad of ['fd00::1', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', '1.2.3.', 'a.b.c.d', '']) assert.equal(ipv4ToInt(bad), -1, bad);
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        const n = ipv4ToInt(ip);
        assert.ok(isIPv4(ip) && n >= 0);
        assert.equal(`${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`, ip);
      }),
      { numRuns: 2000, seed: 4 },
    );
  });

  it('a table holds string and integer keys, reuses freed slots, and evicts one-shot keys before busy ones', () => {
    const t = new KeyTable();
    const a = t.insertNum(0xc612000b);
    const b = t.insert('fd00::1');
    assert.equal(t.getNum(0xc612000b), a);
    assert.equal(t.get('fd00::1'), b);
    assert.equal(t.key(a), '', 'an integer key keeps no text');
    assert.equal(t.key(b), 'fd00::1');
    assert.equal(t.size, 2);
    t.release(a);
    assert.equal(t.getNum(0xc612000b), -1);
    assert.equal(t.insertNum(0xc612000c), a, 'freed slot reused');
    for (let i = 0; i < 98; i++) t.insert(`k${i}`);
    t.touch(b);
    t.evict();
    assert.equal(t.size, 90);
    assert.equal(t.get('fd00::1'), b, 'the key seen again got its second chance');
  });
});

describe('128-bit keys', () => {
  it('WideIndex behaves as a Map<128-bit key, slot> under random sets and deletes', async () => {
    const { WideIndex } = await import('../../../src/detect/wide-index.ts');
    const word = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom(-1, 0x7fffffff, -0x80000000, 0xfd005157 | 0));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.tuple(word, word, word, word)), { maxLength: 1500 }), (ops) => {
        const idx = new WideIndex(4);
        const ref = new Map<string, number>();
        ops.forEach(([add, k], i) => {
          const w = Int32Array.from(k);
          const name = k.join(',');
          if (add && !ref.has(name)) {
            idx.set(w, 0, i);
            ref.set(name, i);
          } else if (!add) {
            idx.delete(w);
            ref.delete(name);
          }
          assert.equal(idx.get(w), ref.get(name) ?? -1);
        });
        assert.equal(idx.size, ref.size);
      }),
      { numRuns: 300, seed: 5 },
    );
  });

  it('ipv6Words reads the 128 bits of every plain IPv6 text, and refuses IPv4 tails and junk', async () => {
    const { ipv6Words } = await import('../../../src/domain/ipv6.ts');
    const { BlockList } = await import('node:net');
    const out = new Int32Array(4);
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        if (ip.includes('.')) {
          assert.equal(ipv6Words(ip, out), false);
          return;
        }
        assert.equal(ipv6Words(ip, out), true, ip);
        // The words, written back as a full address, name the same host (BlockList compares the bits).
        const full = [...out].flatMap((w) => [(w >>> 16).toString(16), (w & 0xffff).toString(16)]).join(':');
        const b = new BlockList();
        b.addAddress(full, 'ipv6');
        assert.ok(b.check(ip, 'ipv6'), `${ip} -> ${full}`);
        const other = new BlockList();
        other.addAddress(ip, 'ipv6');
        assert.ok(other.check(full, 'ipv6'));
      }),
      { numRuns: 3000, seed: 6 },
    );
    for (const bad of ['', ':', ':::', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', 'fe80::1%eth0', '::ffff:1.2.3.4', 'g::1', '1:2:3:4:5:6:7:']) assert.equal(ipv6Words(bad, out), false, bad);
    assert.equal(ipv6Words('::', out), true);
    assert.deepEqual([...out], [0, 0, 0, 0]);
    assert.equal(ipv6Words('fd00:5157:0:1a::3', out), true);
    assert.deepEqual([...out].map((w) => (w >>> 0).toString(16)), ['fd005157', '1a', '0', '3']);
  });
});
