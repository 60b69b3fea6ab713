// Spec output plus the counts, written for scripts/run-tests.mjs to print the
// closing `N passed, N failed` line that CI reads.
const Mocha = require('mocha');
const { writeFileSync } = require('node:fs');
const { EVENT_RUN_END } = Mocha.Runner.constants;

class CountingSpec extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const out = process.env.SIPWARDEN_TEST_COUNTS;
      if (out) writeFileSync(out, JSON.stringify({ passes: runner.stats.passes, failures: runner.stats.failures, pending: runner.stats.pending }));
    });
  }
}
module.exports = CountingSpec;
