import assert from 'node:assert/strict';
import { discoverTrunks, keepTrusted, parseIdentifyMatch, sipUriHost } from '../../../src/trust/discover-trunks.ts';
import { fixtureFrames } from '../../helpers/fixtures.ts';
import { header } from '../../../src/sources/ami/framer.ts';
import type { AmiFrame } from '../../../src/domain/types.ts';

/** The list events of a recorded answer (ActionID cap-2), as the AMI client returns them. */
function recorded(file: string): { ok: boolean; events: AmiFrame[] } {
  const events = fixtureFrames(file).filter((f) => header(f, 'ActionID') === 'cap-2' && header(f, 'Event') !== undefined);
  return { ok: true, events };
}

describe('trunk discovery', () => {
  it('parses identify Match lists: masks, prefixes, host names', () => {
    assert.deepEqual(parseIdentifyMatch('198.18.0.50/255.255.255.255, 198.18.2.0/24,sip.provider.example,fd00:5157::50'), {
      cidrs: ['198.18.0.50/32', '198.18.2.0/24', 'fd00:5157::50/128'],
      hosts: ['sip.provider.example'],
    });
  });
  it('takes the host of SIP URIs', () => {
    assert.equal(sipUriHost('sip:lab-pbx@198.18.0.50:5060'), '198.18.0.50');
    assert.equal(sipUriHost('sip:[fd00:5157::50]:5060'), 'fd00:5157::50');
    assert.equal(sipUriHost('garbage'), null);
  });
  it('finds the trunk of the real Asterisk answers (identify match and outbound registration)', async () => {
    const asked: string[] = [];
    const action = async (f: Record<string, string>) => {
      asked.push(`${f.Action} ${f.Endpoint ?? ''}`.trim());
      if (f.Action === 'PJSIPShowEndpoints') return recorded('pjsip-show-endpoints.ami');
      if (f.Action === 'PJSIPShowEndpoint') return f.Endpoint === 'provider' ? recorded('pjsip-show-endpoint-provider.ami') : { ok: true, events: [] };
      return recorded('pjsip-show-registrations-outbound.ami');
    };
    const { entries, problems } = await discoverTrunks(action);
    assert.deepEqual(problems, []);
    assert.ok(asked.includes('PJSIPShowEndpoint provider'));
    assert.ok(entries.some((e) => e.cidr === '198.18.0.50/32' && e.why.includes('provider')), JSON.stringify(entries));
  });
  it('resolves host names and reports the ones that do not resolve', async () => {
    const action = async (f: Record<string, string>) => {
      if (f.Action === 'PJSIPShowEndpoints') return { ok: true, events: [{ headers: [['Event', 'EndpointList'], ['ObjectName', 'itsp']] as [string, string][] }] };
      if (f.Action === 'PJSIPShowEndpoint') return { ok: true, events: [{ headers: [['Event', 'IdentifyDetail'], ['Endpoint', 'itsp'], ['Match', 'sip.itsp.example,gone.example']] as [string, string][] }] };
      return { ok: true, events: [] };
    };
    const resolve = async (h: string) => (h === 'sip.itsp.example' ? ['198.18.3.3', 'fd00:5157::33'] : []);
    const { entries, problems } = await discoverTrunks(action, { resolve });
    assert.deepEqual(entries.map((e) => e.cidr), ['198.18.3.3/32', 'fd00:5157::33/128']);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /gone\.example/);
  });
  it('a discovery after a reconnect never drops a trunk found before (a restarted Asterisk may list none yet)', async () => {
    const real = async (f: Record<string, string>) => {
      if (f.Action === 'PJSIPShowEndpoints') return recorded('pjsip-show-endpoints.ami');
      if (f.Action === 'PJSIPShowEndpoint') return f.Endpoint === 'provider' ? recorded('pjsip-show-endpoint-provider.ami') : { ok: true, events: [] };
      return recorded('pjsip-show-registrations-outbound.ami');
    };
    const booting = async () => ({ ok: true, events: [] as AmiFrame[] });
    const first = keepTrusted([], (await discoverTrunks(real)).entries);
    assert.ok(first.some((e) => e.cidr === '198.18.0.50/32'), JSON.stringify(first));
    // Asterisk restarted: AMI is up, PJSIP has no endpoints loaded yet.
    const afterRestart = keepTrusted(first, (await discoverTrunks(booting)).entries);
    assert.deepEqual(afterRestart, first);
    // A trunk found later is added; the earlier ones stay, with the reason found now.
    const later = keepTrusted(afterRestart, [{ cidr: '198.18.7.7/32', why: 'trunk itsp' }, { cidr: '198.18.0.50/32', why: 'trunk provider (again)' }]);
    assert.deepEqual(later.map((e) => e.cidr).sort(), [...new Set([...first.map((e) => e.cidr), '198.18.7.7/32'])].sort());
    assert.equal(later.find((e) => e.cidr === '198.18.0.50/32')!.why, 'trunk provider (again)');
  });
});
