/**
 * Prints one plain closing line after the run, `jest: N passed, N failed, N skipped`, so a CI log
 * states the test count in a form any reader recognises (jest's own summary is a table).
 */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    process.stdout.write(`jest: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped\n`);
  }
}

module.exports = SummaryReporter;
