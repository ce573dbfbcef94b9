/**
 * The CDK app (`cdk.json`: `npx tsx infra/app.ts`). Reads and validates the context, builds the one stack,
 * and runs the cdk-nag AwsSolutions checks on it: an unacknowledged error fails `cdk synth`.
 */
import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { addStack } from './build-app.js';
import { ContextError } from './context.js';

const app = new App();
try {
  addStack(app);
} catch (error) {
  if (!(error instanceof ContextError)) throw error;
  // The message names every bad key and value; a stack trace would only hide it.
  console.error(error.message);
  process.exit(2);
}
Aspects.of(app).add(new AwsSolutionsChecks());
app.synth();
