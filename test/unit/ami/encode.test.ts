import assert from 'node:assert/strict';
import { AmiValueError, encodeAction } from '../../../src/sources/ami/encode.ts';
import { escapeText as escapeControl } from '../../../src/console/escape.ts';

const text = (buf: Buffer): string => buf.toString('utf8');

describe('encodeAction', () => {
  it('writes ordered `Key: value` lines and a blank line', () => {
    assert.equal(
      text(encodeAction({ Action: 'Hangup', Channel: 'PJSIP/1001-00000001', Cause: 16 })),
      'Action: Hangup\r\nChannel: PJSIP/1001-00000001\r\nCause: 16\r\n\r\n',
    );
  });

  it('puts Action first whatever the record order', () => {
    assert.equal(text(encodeAction({ Channel: 'x', Action: 'Hangup' })), 'Action: Hangup\r\nChannel: x\r\n\r\n');
  });

  it('repeats a key for an array value and keeps tuple order', () => {
    assert.equal(
      text(encodeAction({ Action: 'Originate', Variable: ['A=1', 'B=2'], Async: true })),
      'Action: Originate\r\nVariable: A=1\r\nVariable: B=2\r\nAsync: true\r\n\r\n',
    );
    assert.equal(
      text(
        encodeAction([
          ['Action', 'Setvar'],
          ['Variable', 'X'],
          ['Variable', 'Y'],
        ]),
      ),
      'Action: Setvar\r\nVariable: X\r\nVariable: Y\r\n\r\n',
    );
  });

  it('skips undefined values and encodes UTF-8', () => {
    assert.equal(text(encodeAction({ Action: 'Ping', Extra: undefined, Name: 'Zoë' })), 'Action: Ping\r\nName: Zoë\r\n\r\n');
  });

  for (const [label, value] of [
    ['CR', 'a\rb'],
    ['LF', 'PJSIP/1001\nAction: Originate'],
    ['CRLF', 'x\r\n\r\nAction: Logoff'],
    ['NUL', 'x\0y'],
  ] as const) {
    it(`rejects ${label} in a value, naming the key and not the value`, () => {
      assert.throws(
        () => encodeAction({ Action: 'Hangup', Channel: value }),
        (err: unknown) => {
          assert.ok(err instanceof AmiValueError);
          assert.equal(err.key, 'Channel');
          assert.equal(err.problem, 'control-char');
          assert.ok(!err.message.includes('Originate') && !err.message.includes('Logoff'));
          return true;
        },
      );
    });
  }

  it('rejects a control char inside an array element', () => {
    assert.throws(() => encodeAction({ Action: 'Originate', Variable: ['A=1', 'B=\n2'] }), AmiValueError);
  });

  for (const key of ['Bad Key', 'Key:', 'Key\r\nAction', '', 'Kéy', 'a\0']) {
    it(`rejects the key ${JSON.stringify(key)}`, () => {
      assert.throws(
        () => encodeAction({ Action: 'Ping', [key]: 'v' }),
        (err: unknown) => err instanceof AmiValueError && err.problem === 'bad-key' && !/[\r\n\0]/.test(err.message),
      );
    });
  }

  it('rejects an action without Action and a non-scalar value', () => {
    assert.throws(() => encodeAction({ Channel: 'x' }), (e: unknown) => e instanceof AmiValueError && e.problem === 'missing-action');
    assert.throws(
      () => encodeAction({ Action: 'Ping', Obj: {} as unknown as string }),
      (e: unknown) => e instanceof AmiValueError && e.problem === 'bad-type',
    );
  });
});

describe('escapeControl', () => {
  it('shows control chars, ESC included, as \\xNN and cuts long text', () => {
    assert.equal(escapeControl('\x1b[2J\x07ok\r\n\x7f'), '\\x1b[2J\\x07ok\\x0d\\x0a\\x7f');
    assert.equal(escapeControl('abcdef', 3), 'abc…(+3)');
  });
});
