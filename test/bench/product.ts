/**
 * The product as it ships: the real reconcile Lambda handler (createHandler, configuration from the
 * environment, the real createControllerDeps and SDK clients) in one "container", as test/e2e drives it.
 * A second invocation of the same handler is a warm run (cluster, token and clients cached).
 */
import type { ReconcileResult } from '../../functions/handlers/reconcile.js';
import { fakeLambdaContext } from '../support/fakes.js';

/** The function's timeout (infra/constructs/route-sync.ts FUNCTION_TIMEOUT): the context counts down from it. */
const FUNCTION_TIMEOUT_MS = 5 * 60_000;

export interface InvocationOutcome {
  result?: ReconcileResult;
  /** The handler threw (e.g. failed mutations); the message it threw. */
  error?: string;
  wallMs: number;
}

export type ProductHandler = (event: unknown) => Promise<InvocationOutcome>;

/**
 * A fresh container of the real handler. process.env must already point at the cloud (useCloudEnv), and any
 * follow-up settings (PENDING_FOLLOW_UP_SECONDS…) must be set: the handler reads them when it is created.
 * The modules are imported lazily so Powertools is set up after POWERTOOLS_LOG_LEVEL is silenced.
 */
export async function createProductHandler(): Promise<ProductHandler> {
  const { createHandler } = await import('../../functions/handlers/reconcile.js');
  const { ENV_LABELS, parseControllerConfig, rawConfigFromEnv } = await import('../../functions/core/config.js');
  const { createControllerDeps } = await import('../../functions/service/dependencies.js');
  const handler = createHandler({
    loadConfig: () => parseControllerConfig(rawConfigFromEnv(process.env), ENV_LABELS),
    createDeps: (config) => createControllerDeps(config),
  }) as unknown as (event: unknown, context: unknown) => Promise<ReconcileResult>;
  return async (event) => {
    const started = performance.now();
    const deadline = Date.now() + FUNCTION_TIMEOUT_MS;
    const context = fakeLambdaContext({ awsRequestId: `bench-${crypto.randomUUID()}`, getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()) });
    try {
      const result = await handler(event, context);
      return { result, wallMs: performance.now() - started };
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error), wallMs: performance.now() - started };
    }
  };
}
