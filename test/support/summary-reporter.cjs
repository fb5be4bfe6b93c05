// Prints the plain closing line CI reads: "N passed, N failed".
// Suites that crashed at import (no test results) count as one failure each.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const crashed = results.testResults.filter(
      (s) => s.testExecError || (s.failureMessage && s.numFailingTests === 0 && s.numPassingTests === 0)
    ).length;
    const passed = results.numPassedTests;
    const failed = results.numFailedTests + crashed;
    process.on('exit', () => {
      process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
    });
  }
}
module.exports = SummaryReporter;
