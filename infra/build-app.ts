/**
 * How the app is put together, in one place: `infra/app.ts` (what `cdk synth` runs), the infra tests
 * (test/infra/support.ts) and the teardown definition helper (infra/teardown-definition.ts) all build the
 * stack through these functions, so they cannot drift apart.
 */
import { readFileSync } from 'node:fs';
import { App, type AppProps } from 'aws-cdk-lib';
import { parseStackContext, readRawContext, type StackConfig } from './context.js';
import { EksHybridRoutesStack, STACK_NAME } from './stack.js';

/** The repository root (a directory URL). */
export const ROOT = new URL('../', import.meta.url);

/** `cdk.json`, as `cdk synth` reads it: the app command and the context (example values and feature flags). */
export function readCdkJson(): { app: string; context: Record<string, unknown> } {
  return JSON.parse(readFileSync(new URL('cdk.json', ROOT), 'utf8')) as { app: string; context: Record<string, unknown> };
}

/** cdk.json's context with overrides; an override of `undefined` removes the key. */
export function cdkJsonContext(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...readCdkJson().context, ...overrides };
  for (const [key, value] of Object.entries(merged)) if (value === undefined) delete merged[key];
  return merged;
}

/**
 * The CDK's own switch for skipping asset bundling (what `cdk synth --exclusively` uses for stacks it skips):
 * the template is the real one apart from the asset hash, and no esbuild run is needed.
 */
export const NO_BUNDLING_CONTEXT = { 'aws:cdk:bundling-stacks': [] as string[] };

/** Validates the app's context (throws ContextError naming every bad key) and adds the one stack to the app. */
export function addStack(app: App): { stack: EksHybridRoutesStack; config: StackConfig } {
  const config = parseStackContext(readRawContext(app.node));
  const stack = new EksHybridRoutesStack(app, STACK_NAME, { config });
  return { stack, config };
}

/** An app with cdk.json's context (+ overrides), not bundling the Lambdas, and the stack in it. */
export function buildUnbundledApp(overrides: Record<string, unknown> = {}, props: Omit<AppProps, 'context'> = {}) {
  const app = new App({ ...props, context: { ...cdkJsonContext(overrides), ...NO_BUNDLING_CONTEXT } });
  return { app, ...addStack(app) };
}
