/**
 * The teardown task Lambda: every Task state of the teardown state machine invokes it with `{step, ...}`.
 * It checks the payload, runs that one step (functions/service/teardown.ts) and returns its JSON result. Errors
 * are named for the state machine: `InvalidTeardownInput` (bad execution input, nothing changed),
 * `InvalidTeardownPayload` (a step payload that is not what the state machine sends), `TeardownMisconfigured`
 * (the function's own environment), `TransientError` (throttling, timeouts, 5xx: the state retries with backoff
 * and jitter), or the step's own (`DrainTimedOut`, `UninstallFailed`, ...), which the per-node Catch records.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { ENV_LABELS, parseControllerConfig, rawConfigFromEnv } from '../core/config.js';
import { ConfigError, ScopeConfigError } from '../core/errors.js';
import { TEARDOWN_ENV, TEARDOWN_STEPS, TRANSIENT_ERROR, type TeardownStep } from '../core/teardown-steps.js';
import { type NodeTarget, NodeTargetSchema, type TeardownRequest, TeardownRequestSchema, checkStepRequest } from '../core/teardown.js';
import { createTeardownDeps } from '../service/teardown-dependencies.js';
import type { TeardownDeps, TeardownSettings } from '../service/teardown.js';
import { TeardownService } from '../service/teardown.js';
import { logger, metrics, redactSecrets } from '../shared/powertools.js';
import { SharedValue } from '../shared/shared-value.js';
import { fieldPath } from '../shared/field-path.js';

export interface TeardownHandlerOptions {
  loadSettings: () => TeardownSettings;
  createDeps: (settings: TeardownSettings) => Promise<TeardownDeps>;
  /** Time kept back from the invocation's deadline when starting route deletions (default STEP_TIME_RESERVE_MS). */
  stepTimeReserveMs?: number;
}

/**
 * The routes step starts no deletion later than this before the function's deadline (TEARDOWN_FUNCTION_TIMEOUT,
 * 2 minutes), so the deletions in flight (each bounded by the SDK's request timeout) end and the step returns
 * its report, with what it did not start under `notStarted`, instead of being cut off with no report.
 */
export const STEP_TIME_RESERVE_MS = 30_000;

/** What middy keeps back from the Lambda deadline to end a step that is still running (see timedOut below). */
const TIMEOUT_EARLY_MS = 1_000;

// The state machine builds these payloads from the snapshot's output; they are checked as strictly as the
// execution input anyway, so a hand-started or edited execution fails with the field named instead of halfway
// through a step, and a direct invoke of this function cannot put a shell command into the uninstall step or
// an arbitrary id into any call (TeardownRequestSchema, NodeTargetSchema).
const request = TeardownRequestSchema;
const node = NodeTargetSchema;
const nodeStep = { request, node };
const PayloadSchema = z.discriminatedUnion('step', [
  z.object({ step: z.literal('snapshot'), input: z.unknown() }),
  z.object({ step: z.literal('pause'), request, nodes: z.array(node) }),
  z.object({ step: z.literal('drain'), ...nodeStep, previous: z.looseObject({ deadline: z.number(), evicted: z.array(z.string()).optional() }).optional() }),
  z.object({ step: z.literal('uninstall'), ...nodeStep, previous: z.looseObject({ commandId: z.string().optional(), deadline: z.number().optional() }).optional() }),
  z.object({ step: z.literal('delete-objects'), ...nodeStep }),
  z.object({ step: z.literal('deregister'), ...nodeStep }),
  z.object({ step: z.literal('restore-source-dest-check'), ...nodeStep }),
  z.object({ step: z.literal('terminate'), ...nodeStep }),
  z.object({ step: z.literal('routes'), request, nodes: z.array(node), nodeResults: z.unknown() }),
  z.object({ step: z.literal('activations'), request }),
  // After a failed pause the run comes straight to resume: no node results, no route report.
  z.object({
    step: z.literal('resume'),
    state: z.looseObject({ request, nodes: z.array(node), pause: z.unknown().optional(), nodeResults: z.unknown().optional(), routes: z.unknown().optional() }),
  }),
  z.object({ step: z.literal('verify'), state: z.looseObject({ request, nodes: z.array(node).optional() }) }),
]);
type Payload = z.infer<typeof PayloadSchema>;

/** An error renamed for the state machine's Retry/Catch, with any credential-looking text removed. */
function named(name: string, error: unknown): Error {
  const message = redactSecrets(error instanceof Error ? error.message : String(error));
  const renamed = new Error(message, { cause: error });
  renamed.name = name;
  return renamed;
}

/**
 * Connection-level failures a retry can cure that the SDK's classification (isTransientError: ECONNRESET,
 * ECONNREFUSED, EPIPE, ETIMEDOUT, EHOSTUNREACH, ENETUNREACH, ENOTFOUND, EAI_AGAIN) does not list: undici's
 * own codes and the request deadline. A TLS failure (a CA that does not match, an expired certificate) also
 * comes without a status, but retrying it only delays the report, so it is in neither list.
 */
const MORE_TRANSIENT_CONNECTION_CODES = new Set([
  'ECONNABORTED',
  'TimeoutError',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/** Throttling, timeouts, 5xx and dropped connections, from the AWS SDK or the Kubernetes API, looked for down the cause chain. */
export function isTransient(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 5) return false;
  const sdkError = error as Parameters<typeof isTransientError>[0];
  if ('$metadata' in error || 'name' in error) {
    if (isThrottlingError(sdkError) || isTransientError(sdkError) || isServerError(sdkError)) return true;
  }
  const { name, statusCode, code } = error as { name?: unknown; statusCode?: unknown; code?: unknown };
  if (name === 'KubernetesApiError') {
    if (typeof statusCode === 'number') return statusCode === 429 || statusCode >= 500;
    return typeof code === 'string' && MORE_TRANSIENT_CONNECTION_CODES.has(code); // no answer at all
  }
  return isTransient((error as { cause?: unknown }).cause, depth + 1);
}

function classify(step: TeardownStep, error: unknown): Error {
  // The scope narrowing comes from the function's environment, like the set-up's ConfigErrors, not the input.
  if (error instanceof ScopeConfigError) return named('TeardownMisconfigured', `the teardown function's environment: ${error.message}`);
  if (error instanceof ConfigError) return named('InvalidTeardownInput', error);
  if (isTransient(error)) return named(TRANSIENT_ERROR, error);
  if (error instanceof Error) {
    error.message = redactSecrets(error.message);
    if (error.stack) error.stack = redactSecrets(error.stack);
    return error;
  }
  return named(`${step}Failed`, error);
}

function parsePayload(event: unknown): Payload {
  const parsed = PayloadSchema.safeParse(event);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const step = typeof event === 'object' && event !== null ? (event as { step?: unknown }).step : undefined;
  const known = typeof step === 'string' && (TEARDOWN_STEPS as readonly string[]).includes(step);
  throw named('InvalidTeardownPayload', `${known ? `step ${step}: ` : ''}${fieldPath(issue.path, 'payload')}: ${issue.message}`);
}

async function runStep(service: TeardownService, payload: Payload, signal: AbortSignal | undefined): Promise<unknown> {
  // The snapshot checks the execution input itself; every later step's request must still be for this cluster.
  if (payload.step !== 'snapshot') checkStepRequest('request' in payload ? payload.request : payload.state.request, service.clusterName);
  switch (payload.step) {
    case 'snapshot':
      return service.snapshot(payload.input);
    case 'pause':
      return service.pause(payload.request as TeardownRequest, payload.nodes as NodeTarget[]);
    case 'drain':
      return service.drain(payload.request as TeardownRequest, payload.node as NodeTarget, payload.previous);
    case 'uninstall':
      return service.uninstall(payload.request as TeardownRequest, payload.node as NodeTarget, payload.previous);
    case 'delete-objects':
      return service.deleteObjects(payload.request as TeardownRequest, payload.node as NodeTarget);
    case 'deregister':
      return service.deregister(payload.request as TeardownRequest, payload.node as NodeTarget);
    case 'restore-source-dest-check':
      return service.restoreSourceDestCheck(payload.request as TeardownRequest, payload.node as NodeTarget);
    case 'terminate':
      return service.terminate(payload.request as TeardownRequest, payload.node as NodeTarget);
    case 'routes':
      return service.routes(payload.request as TeardownRequest, payload.nodes as NodeTarget[], payload.nodeResults, signal);
    case 'activations':
      return service.activations(payload.request as TeardownRequest);
    case 'resume':
      return service.resume(payload.state.request as TeardownRequest, payload.state.nodes as NodeTarget[], payload.state.pause, payload.state.nodeResults, payload.state.routes);
    case 'verify':
      return service.verify(payload.state);
  }
}

/** `RECONCILER_RULE_NAMES` and the reconciler's own settings (CLUSTER_NAME, ROUTE_TABLE_*, ...). */
export function teardownSettingsFromEnv(env: Record<string, string | undefined>): TeardownSettings {
  const ruleNames = (env[TEARDOWN_ENV.ruleNames] ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  return { config: parseControllerConfig(rawConfigFromEnv(env), ENV_LABELS), ruleNames };
}

export function createTeardownHandler(options: TeardownHandlerOptions) {
  const service = new SharedValue<TeardownService>(async () => {
    // Settings and clients come from the function's own environment (variables, Region), not the execution
    // input: a ConfigError there is named apart, so nobody edits the input to fix it.
    try {
      const settings = options.loadSettings();
      logger.appendPersistentKeys({ clusterName: settings.config.clusterName });
      return new TeardownService(await options.createDeps(settings), settings);
    } catch (error) {
      if (error instanceof ConfigError) throw named('TeardownMisconfigured', `the teardown function's environment: ${error.message}`);
      throw error;
    }
  });

  const stepTimeReserveMs = options.stepTimeReserveMs ?? STEP_TIME_RESERVE_MS;

  // middy aborts `invocationEnds` just before the task's deadline and ends the invocation; the route step then
  // starts no further deletion (the other steps make a call or two each). Its own stop comes earlier
  // (STEP_TIME_RESERVE_MS), so that normally it ends on its own, with a report.
  const teardownHandler = async (event: unknown, context: Context, { signal: invocationEnds }: { signal?: AbortSignal } = {}): Promise<unknown> => {
    const timeUp = AbortSignal.timeout(Math.max(0, context.getRemainingTimeInMillis() - stepTimeReserveMs));
    const signal = invocationEnds ? AbortSignal.any([invocationEnds, timeUp]) : timeUp;
    let payload: Payload;
    try {
      payload = parsePayload(event);
    } catch (error) {
      logger.error('invalid teardown payload; nothing was read or changed', { error });
      throw error;
    }
    // Keys go on each line rather than appended to the logger: the local runner invokes this handler for
    // several nodes at once in one process, where appended keys would be shared.
    const about = { step: payload.step, ...('node' in payload ? { node: payload.node.name } : {}) };
    const started = Date.now();
    try {
      const result = await runStep(await service.get(), payload, signal);
      logger.info('teardown step', { ...about, durationMs: Date.now() - started, result });
      return result;
    } catch (error) {
      const thrown = classify(payload.step, error);
      logger.error('teardown step failed', { ...about, durationMs: Date.now() - started, error: thrown });
      metrics.addMetric('TeardownStepFailures', MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
      throw thrown;
    }
  };

  // A step still running at the deadline (calls slowed by throttling and retries) ends as a TransientError, so
  // the state retries it with backoff, rather than as an error no Retry or Catch names. Every step can be run
  // again: each starts from a fresh read, and what was done is not done twice.
  const timedOut = (): never => {
    const error = named(TRANSIENT_ERROR, 'the step was still running at the Lambda timeout; it is run again from a fresh read');
    logger.error('teardown step timed out', { error });
    metrics.addMetric('TeardownStepFailures', MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
    throw error;
  };

  // Metrics are published by hand, on failure only: a step that succeeded has nothing to count, and the
  // middleware would warn about an empty blob on every invocation.
  return middy(teardownHandler, { timeoutEarlyInMillis: TIMEOUT_EARLY_MS, timeoutEarlyResponse: timedOut }).use(injectLambdaContext(logger, { resetKeys: true }));
}

export const handler = createTeardownHandler({
  loadSettings: () => teardownSettingsFromEnv(process.env),
  // Imported statically, as in handlers/reconcile.ts: a dynamic import makes esbuild wrap the SDK and Kubernetes
  // client in lazy initialisers it cannot tree-shake (≈ 480 KiB more bundle), and only moves the loading into
  // the first invocation.
  createDeps: (settings) => createTeardownDeps(settings, process.env[TEARDOWN_ENV.teardownRoleArn]),
});
