// Prints jest's JSON result as the plain closing line CI reads: "jest: N passed, N failed".
import fs from 'node:fs';

const result = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const skipped = result.numPendingTests + result.numTodoTests;
console.log(`jest: ${result.numPassedTests} passed, ${result.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(result.numFailedTests === 0 && result.numTotalTests > 0 && result.success ? 0 : 1);
