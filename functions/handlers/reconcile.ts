/**
 * The reconcile Lambda: recognise the trigger, run one reconcile (service/reconcile.ts), report it.
 * Every trigger leads to the same full, level-triggered run; the trigger only decides plan vs apply and
 * what extra is reported. One `reconcile run` log line and one EMF blob describe each run.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { type ControllerConfig, ENV_LABELS, parseControllerConfig, rawConfigFromEnv } from '../core/config.js';
import { IncompleteReadError, ScopeConfigError } from '../core/errors.js';
import type { PlanCounts, RoutePlan } from '../core/plan.js';
import type { ManagedInstanceRecord } from '../core/ports.js';
import { type ControllerDeps, createControllerDeps } from '../service/dependencies.js';
import { type RunMode, type RunReport, reconcile } from '../service/reconcile.js';
import { logger, metrics, redactSecrets } from '../shared/powertools.js';
import { SharedValue } from '../shared/shared-value.js';
import { type Trigger, type TriggerBatch, parseTriggers } from './events.js';

export interface FollowUpOptions {
  /** How long after an arrival (registration, instance running) pending nodes are re-checked; 0 turns it off. */
  windowMs: number;
  intervalMs: number;
  sleep: (ms: number) => Promise<void>;
}

export interface HandlerOptions {
  loadConfig: () => ControllerConfig;
  createDeps: (config: ControllerConfig) => Promise<ControllerDeps>;
  followUp?: FollowUpOptions;
  /** Time kept back from the invocation's deadline when starting mutations (default APPLY_TIME_RESERVE_MS). */
  applyTimeReserveMs?: number;
}

/** Time kept back from the Lambda timeout when deciding whether another follow-up run still fits. */
const FOLLOW_UP_TIME_RESERVE_MS = 30_000;

/**
 * No mutation starts later than this before the invocation's deadline. A large first sync (thousands of routes
 * at EC2's 5 creates/s) does not fit in one invocation: the run stops starting mutations here, lets those in
 * flight finish (each is bounded by the SDK's request timeout and retries), reports what it did and what is
 * left, and returns — the next run continues where it stopped. Without the reserve the invocation would be cut
 * off by the timeout instead: an error, a retried and eventually dead-lettered trigger, and no report.
 */
export const APPLY_TIME_RESERVE_MS = 30_000;

/** `PENDING_FOLLOW_UP_SECONDS` (window, default 0 = off) and `PENDING_FOLLOW_UP_INTERVAL_SECONDS` (default 10). */
export function followUpFromEnv(env: Record<string, string | undefined>): FollowUpOptions {
  const seconds = (name: string, fallback: number) => {
    const text = env[name];
    if (text === undefined || text === '') return fallback;
    if (!/^\d{1,4}$/.test(text.trim())) throw new Error(`${name}: must be a whole number of seconds, got ${JSON.stringify(text)}`);
    return Number(text);
  };
  return {
    windowMs: seconds('PENDING_FOLLOW_UP_SECONDS', 0) * 1000,
    intervalMs: Math.max(1, seconds('PENDING_FOLLOW_UP_INTERVAL_SECONDS', 10)) * 1000,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

function hasKey(value: unknown, key: string): boolean {
  return typeof value === 'object' && value !== null && key in value;
}

/** A queued batch none of whose messages is a trigger: logged, counted (InvalidEvents) and dropped, not failed. */
export interface DroppedBatchResult {
  status: 'dropped';
  invalidMessages: number;
}

export interface ReconcileResult {
  status: RunReport['status'];
  mode: RunMode;
  counts: PlanCounts & { failedMutations: number };
  pending: RoutePlan['pending'];
  unresolved: { node: string; ip: string; reason: string }[];
  vetoed: number;
}

/** Where a freshly registered managed instance stands after the run. */
export type RegistrationStatus =
  | 'routed'
  | 'pending'
  | 'unresolved'
  | 'refused'
  | 'no-ciliumnode-yet'
  | 'not-registered';

export interface RegistrationReport {
  instanceId: string;
  ipAddress?: string;
  pingStatus?: string;
  status: RegistrationStatus;
}

/** Lists longer than this are cut in the log line; the counts stay exact. A CloudWatch log event holds 256 KB. */
const MAX_LISTED = 200;

function listed<T>(items: T[], name: string, truncated: Record<string, number>): T[] {
  if (items.length <= MAX_LISTED) return items;
  truncated[name] = items.length - MAX_LISTED;
  return items.slice(0, MAX_LISTED);
}

/**
 * Where each registered managed instance stands in the plan, matched by node name (hybrid nodes are named
 * after their managed-instance id, FACTS.md) or by the IP SSM reports for it.
 */
export function describeRegistrations(ids: string[], records: ManagedInstanceRecord[], plan: RoutePlan): RegistrationReport[] {
  const byId = new Map(records.map((record) => [record.instanceId, record]));
  return ids.map((instanceId) => {
    const record = byId.get(instanceId);
    const ip = record?.ipAddress;
    const matches = (entry: { node: string; ip?: string }) => entry.node === instanceId || (ip !== undefined && entry.ip === ip);
    const status: RegistrationStatus = !record
      ? 'not-registered'
      : plan.refused.some((refusal) => refusal.node === instanceId)
        ? 'refused'
        : plan.unresolved.some(matches)
          ? 'unresolved'
          : plan.pending.some(matches)
            ? 'pending'
            : plan.routed.some(matches)
              ? 'routed'
              : 'no-ciliumnode-yet';
    return {
      instanceId,
      ...(ip !== undefined ? { ipAddress: ip } : {}),
      ...(record?.pingStatus !== undefined ? { pingStatus: record.pingStatus } : {}),
      status,
    };
  });
}

/**
 * One EMF blob per invocation, over all its runs (the first and any follow-ups): what was done is summed over
 * the runs, how things stand is the last run's. Drift is every change the runs planned plus the deletions the
 * last run still holds back, so a follow-up that finds nothing left does not hide what the first run fixed.
 */
function recordMetrics(reports: RunReport[]): void {
  const report = reports.at(-1)!;
  const { plan, outcome } = report;
  const count = (name: string, value: number) => metrics.addMetric(name, MetricUnit.Count, value);
  const total = (of: (run: RunReport) => number) => reports.reduce((sum, run) => sum + of(run), 0);
  // Mutation metrics count what was done: a plan run does nothing.
  count('RoutesCreated', total((run) => run.outcome?.created ?? 0));
  count('RoutesReplaced', total((run) => run.outcome?.replaced ?? 0));
  count('RoutesDeleted', total((run) => run.outcome?.deleted ?? 0));
  count('RoutesKept', plan.counts.keep);
  count('Drift', total((run) => run.plan.counts.create + run.plan.counts.replace + run.plan.counts.delete) + plan.counts.vetoed);
  count('VetoedDeletions', plan.counts.vetoed);
  count('RefusedNodes', new Set(plan.refused.map((refusal) => refusal.node)).size);
  count('UnresolvedNodes', plan.unresolved.length);
  count('PendingNodes', plan.pending.length);
  // Routes a guard keeps as they are (neither rewritten nor deleted) because a node's data cannot be trusted:
  // until that node is fixed, whatever should be there instead waits.
  count('ProtectedRoutes', plan.protected.length);
  count('SourceDestCheckFixed', total((run) => run.outcome?.sourceDestCheckDisabled ?? 0));
  count('FailedMutations', total((run) => run.outcome?.failed.length ?? 0));
  // Apply runs only: a plan run's 0 would pull down the minimum the UnfinishedRuns alarm watches.
  if (report.mode === 'apply') count('MutationsNotStarted', outcome?.notStarted ?? 0);
  // Left because their ENI went away mid-run (an instance terminated): expected now and then, not a failure.
  count('MutationTargetsGone', total((run) => run.outcome?.targetGone?.length ?? 0));
  metrics.addMetric('RunDurationMs', MetricUnit.Milliseconds, report.durationMs);
}

function runSummary(trigger: Trigger | { kind: 'batch'; triggers: Trigger[] }, report: RunReport, registrations: RegistrationReport[] | undefined) {
  const { plan, outcome } = report;
  const truncated: Record<string, number> = {};
  return {
    trigger,
    mode: report.mode,
    status: report.status,
    clusterName: report.clusterName,
    vpcId: report.vpcId,
    routeTableIds: report.routeTableIds,
    counts: plan.counts,
    applied: outcome
      ? { created: outcome.created, replaced: outcome.replaced, deleted: outcome.deleted, sourceDestCheckDisabled: outcome.sourceDestCheckDisabled }
      : undefined,
    actions: listed(plan.actions.filter((action) => action.action !== 'keep'), 'actions', truncated),
    sourceDestCheckFixes: listed(plan.sourceDestCheck.filter((fix) => fix.action === 'disable'), 'sourceDestCheckFixes', truncated),
    vetoed: listed(plan.vetoed, 'vetoed', truncated),
    refused: listed(plan.refused, 'refused', truncated),
    unresolved: listed(plan.unresolved, 'unresolved', truncated),
    pending: listed(plan.pending, 'pending', truncated),
    conflicts: listed(plan.conflicts, 'conflicts', truncated),
    protectedRoutes: plan.protected.length,
    protected: listed(plan.protected, 'protected', truncated),
    failedMutations: listed(outcome?.failed ?? [], 'failedMutations', truncated),
    heldBack: outcome?.heldBack ? listed(outcome.heldBack, 'heldBack', truncated) : undefined,
    targetGone: outcome?.targetGone ? listed(outcome.targetGone, 'targetGone', truncated) : undefined,
    registrations,
    truncated: Object.keys(truncated).length > 0 ? truncated : undefined,
    durationMs: report.durationMs,
  };
}

function compactResult(report: RunReport): ReconcileResult {
  const { plan } = report;
  return {
    status: report.status,
    mode: report.mode,
    counts: { ...plan.counts, failedMutations: report.outcome?.failed.length ?? 0 },
    pending: plan.pending,
    unresolved: plan.unresolved.map(({ node, ip, reason }) => ({ node, ip, reason })),
    vetoed: plan.vetoed.length,
  };
}

/** The error, with any credential-looking text removed, since Lambda itself logs what the handler throws. */
function scrubbed(error: unknown): unknown {
  if (error instanceof Error) {
    error.message = redactSecrets(error.message);
    if (error.stack) error.stack = redactSecrets(error.stack);
  }
  return error;
}

interface Controller {
  config: ControllerConfig;
  deps: ControllerDeps;
}

export function createHandler(options: HandlerOptions) {
  // One configuration and one set of clients (with their caches) per container. A failed set-up is
  // forgotten, so the next invocation tries again instead of failing forever.
  const controller = new SharedValue<Controller>(async () => {
    const config = options.loadConfig();
    // Every later line of this container names the cluster it is about.
    logger.appendPersistentKeys({ clusterName: config.clusterName });
    return { config, deps: await options.createDeps(config) };
  });
  const getController = () => controller.get();

  const followUp = options.followUp ?? followUpFromEnv(process.env);
  const applyTimeReserveMs = options.applyTimeReserveMs ?? APPLY_TIME_RESERVE_MS;

  // middy aborts `invocationEnds` just before the Lambda's deadline and ends the invocation; the run then starts no
  // further mutation, so it cannot write alongside the next invocation of this container. The run's own stop
  // comes earlier (APPLY_TIME_RESERVE_MS), so that normally it ends on its own, with a report.
  const reconcileHandler = async (event: unknown, context: Context, { signal: invocationEnds }: { signal?: AbortSignal } = {}): Promise<ReconcileResult | DroppedBatchResult> => {
    const timeUp = AbortSignal.timeout(Math.max(0, context.getRemainingTimeInMillis() - applyTimeReserveMs));
    const signal = invocationEnds ? AbortSignal.any([invocationEnds, timeUp]) : timeUp;
    // The EventBridge event's id is the run's correlation id, set before the event is checked so that the
    // line refusing an invalid event carries it too. (Read directly: Powertools' `correlationIdPath` would
    // evaluate the JMESPath `id` for the same value, and its JMESPath engine is ≈ 6 ms of every cold start.)
    const eventId = hasKey(event, 'id') ? (event as { id: unknown }).id : undefined;
    if (typeof eventId === 'string' && eventId) logger.setCorrelationId(eventId);
    let batch: TriggerBatch;
    try {
      batch = parseTriggers(event);
    } catch (error) {
      metrics.addMetric('InvalidEvents', MetricUnit.Count, 1);
      logger.error('invalid event; nothing was read or changed', { error });
      throw error;
    }
    const { triggers } = batch;
    if (batch.invalid.length > 0) {
      metrics.addMetric('InvalidEvents', MetricUnit.Count, batch.invalid.length);
      if (triggers.length === 0) {
        logger.error('no queued message is a trigger: the batch is dropped; nothing was read or changed', { invalid: batch.invalid });
        return { status: 'dropped', invalidMessages: batch.invalid.length };
      }
      logger.error('queued messages that are not triggers were dropped; the run goes on for the others', { invalid: batch.invalid });
    }
    // A queued batch has no top-level EventBridge id: correlate with the first event's.
    const firstEventId = triggers.map((t) => ('eventId' in t ? t.eventId : undefined)).find(Boolean);
    if (firstEventId && eventId === undefined) logger.setCorrelationId(firstEventId);
    const only = triggers.length === 1 ? triggers[0] : undefined;
    const mode: RunMode = only?.kind === 'direct' && only.mode === 'plan' ? 'plan' : 'apply';
    const trigger = only ?? { kind: 'batch', triggers };

    let config: ControllerConfig;
    let deps: ControllerDeps;
    try {
      ({ config, deps } = await getController());
    } catch (error) {
      metrics.addMetric('SetupFailures', MetricUnit.Count, 1);
      logger.error('controller set-up failed (configuration or clients); nothing was read or changed', { trigger, error });
      throw scrubbed(error);
    }

    const runOnce = async (followUp = false): Promise<RunReport> => {
      try {
        return await reconcile(deps, config, mode, signal);
      } catch (error) {
        if (error instanceof IncompleteReadError) {
          metrics.addMetric('ReadFailures', MetricUnit.Count, 1);
          const changed = followUp ? 'this follow-up run changed nothing (the earlier runs of this invocation did their changes)' : 'nothing was changed';
          logger.error(`reconcile read failed; ${changed}`, { trigger, mode, source: error.source, error });
        } else if (error instanceof ScopeConfigError) {
          // The deployment's narrowing does not fit the cluster: a set-up fault, found once the cluster is read.
          metrics.addMetric('SetupFailures', MetricUnit.Count, 1);
          logger.error("the configured scope does not fit the cluster's networks; nothing was changed", { trigger, mode, field: error.field, error });
        } else {
          logger.error('reconcile run failed', { trigger, mode, error });
        }
        throw scrubbed(error);
      }
    };

    const registeredIds = [...new Set(triggers.flatMap((t) => (t.kind === 'ssm-registration' ? t.managedInstanceIds : [])))];
    const describeRun = async (report: RunReport): Promise<RegistrationReport[] | undefined> => {
      let registrations: RegistrationReport[] | undefined;
      if (registeredIds.length > 0) {
        try {
          const records = await deps.managedInstances.describeManagedInstances(registeredIds);
          registrations = describeRegistrations(registeredIds, records, report.plan);
        } catch (error) {
          // Only a report: the run itself already converged.
          logger.warn('managed instance lookup failed; registration status not reported', { managedInstanceIds: registeredIds, error });
        }
      }
      logger.info('reconcile run', runSummary(trigger, report, registrations));
      return registrations;
    };
    // Still to come: a node with a CiliumNode but no pod CIDR yet, a managed instance that registered but whose node
    // has not joined (no CiliumNode yet) — the usual state right after a registration — or a node whose new machine
    // has not shown its kubelet yet (replaced under the same name, at the same address).
    const waiting = (report: RunReport, registrations: RegistrationReport[] | undefined) =>
      report.plan.pending.length > 0 ||
      report.plan.unresolved.some((node) => node.awaitingKubelet) ||
      (registrations ?? []).some((registration) => registration.status === 'no-ciliumnode-yet');

    let report = await runOnce();
    const reports = [report];
    let registrations = await describeRun(report);

    // A node that just registered joins, and gets its pod CIDR from the Cilium operator, a little later. Right
    // after an arrival, re-check at short intervals for a bounded window so its route appears within seconds of the
    // allocation rather than at the next periodic run. The function is the only writer, so this stays serialised.
    const arrival = triggers.some((t) => t.kind === 'ssm-registration' || (t.kind === 'ec2-state' && t.state === 'running'));
    const deadline = Date.now() + followUp.windowMs;
    let followUps = 0;
    try {
      while (
        mode === 'apply' &&
        arrival &&
        report.status !== 'failed' &&
        !signal.aborted &&
        waiting(report, registrations) &&
        Date.now() + followUp.intervalMs <= deadline &&
        context.getRemainingTimeInMillis() > followUp.intervalMs + FOLLOW_UP_TIME_RESERVE_MS
      ) {
        await followUp.sleep(followUp.intervalMs);
        followUps += 1;
        report = await runOnce(true);
        reports.push(report);
        registrations = await describeRun(report);
      }
    } finally {
      // Also when a follow-up fails: what the earlier runs did is still counted.
      if (followUps > 0) metrics.addMetric('FollowUpRuns', MetricUnit.Count, followUps);
      recordMetrics(reports);
    }

    if (report.status === 'failed') {
      const failed = report.outcome?.failed ?? [];
      const notStarted = report.outcome?.notStarted ?? 0;
      logger.error('reconcile run had failed mutations', {
        failedMutations: failed.length,
        notStarted,
        codes: [...new Set(failed.map((failure) => failure.code))],
      });
      throw new Error(
        `${failed.length} route or ENI mutation(s) failed in ${report.clusterName}` +
          (notStarted > 0 ? ` and ${notStarted} were not started before the invocation's time ran out` : '') +
          '; see the "reconcile run" log line',
      );
    }
    if (report.status === 'unfinished') {
      // Not an error: the work left is planned again by the next run (the schedule, or the next event).
      const { outcome } = report;
      if ((outcome?.notStarted ?? 0) > 0) {
        logger.warn('reconcile run stopped before its deadline with mutations left; the next run continues', {
          done: outcome ? outcome.created + outcome.replaced + outcome.deleted + outcome.sourceDestCheckDisabled : 0,
          notStarted: outcome?.notStarted ?? 0,
        });
      }
      if (outcome?.targetGone) {
        logger.warn('mutations left: the ENI they name was deleted during the run (its instance terminated); the next run plans from what is left', {
          targetGone: outcome.targetGone.length,
          networkInterfaceIds: [...new Set(outcome.targetGone.map((entry) => entry.networkInterfaceId))],
        });
      }
    }
    if (report.status === 'vetoed') {
      logger.warn('deletions vetoed by a safety guard; the routes were kept', {
        vetoed: report.plan.vetoed.length,
        reasons: [...new Set(report.plan.vetoed.map((veto) => veto.reason))],
      });
    }
    return compactResult(report);
  };

  return middy(reconcileHandler)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}

export const handler = createHandler({
  loadConfig: () => parseControllerConfig(rawConfigFromEnv(process.env), ENV_LABELS),
  // Static imports, not `await import(...)` on first use: what every run needs is loaded at module init (also
  // what the bench measures; test/infra/bundle.test.ts keeps it so). Deferring it would only move the loading
  // into the first invocation, and make it dearer: import + first use measured ≈ 470 ms that way against
  // ≈ 370 ms static (medians, test/bench/bundle.ts's method, 2 vCPU). The one exception is the registration
  // report's SSM lookup, which most runs never use (lazyManagedInstanceLookup in service/dependencies.ts).
  createDeps: createControllerDeps,
});
