/**
 * Bundles one Lambda function: `node --import tsx infra/bundle-function.ts <entry> <outfile>`. The stack's asset
 * bundling (bundledFunctionCode in infra/bundling.ts) runs it, because esbuild's plugins need its asynchronous
 * API and the CDK's local bundling is synchronous. Exit 1 with esbuild's messages on failure.
 */
import { build } from 'esbuild';
import { functionEsbuildOptions } from './bundling.js';

const [entry, outfile] = process.argv.slice(2);
if (!entry || !outfile) {
  console.error('usage: bundle-function.ts <entry> <outfile>');
  process.exit(2);
}
try {
  await build(functionEsbuildOptions(entry, outfile));
} catch {
  // esbuild has printed its errors (logLevel 'warning').
  process.exit(1);
}
