import assert from 'node:assert/strict';
import { FAILURE_TYPES } from '../../src/domain/types.ts';
describe('domain', () => {
  it('treats ChallengeSent as a normal step, not a failure', () => {
    assert.equal(FAILURE_TYPES.has('ChallengeSent'), false);
    assert.equal(FAILURE_TYPES.has('ChallengeResponseFailed'), true);
  });
});
