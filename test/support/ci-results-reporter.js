'use strict';

/**
 * Jest reporter, listed in every test/jest.*.json. It does nothing unless JEST_RESULTS_DIR is
 * set (.ci/run sets it); then each jest run writes its totals to <dir>/<time>-<pid>.json, and
 * .ci/run sums them into one "N passed, N failed" line. A reporter, rather than --json flags,
 * lets CI run the very `npm test` of README, which chains several jest runs.
 *
 * `failedSuitesWithoutFailedTests` counts test files that failed with no failing test (a
 * compile error, a throwing afterAll, an unhandled rejection after the tests): CI counts each
 * as one failure, so a broken file can never show as "0 failed".
 */
const fs = require('node:fs');
const path = require('node:path');

class CiResultsReporter {
  onRunComplete(testContexts, results) {
    const dir = process.env.JEST_RESULTS_DIR;
    if (!dir) return;
    const projects = [...testContexts].map((context) => {
      const { displayName } = context.config;
      return (displayName && displayName.name) || context.config.rootDir;
    });
    const failedSuitesWithoutFailedTests = results.testResults.filter(
      (suite) => (suite.testExecError || suite.failureMessage) && suite.numFailingTests === 0,
    ).length;
    const summary = {
      projects,
      numPassedTests: results.numPassedTests,
      numFailedTests: results.numFailedTests,
      numPendingTests: results.numPendingTests,
      numTotalTests: results.numTotalTests,
      numTotalTestSuites: results.numTotalTestSuites,
      numFailedTestSuites: results.numFailedTestSuites,
      failedSuitesWithoutFailedTests,
      success: results.success,
      wasInterrupted: results.wasInterrupted,
    };
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${Date.now()}-${process.pid}.json`);
    fs.writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
  }
}

module.exports = CiResultsReporter;
