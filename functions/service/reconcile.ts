/**
 * One reconcile run, the way a Kubernetes controller does it: read everything (cluster, CiliumNodes,
 * route tables, ENIs), plan with the pure core, then apply only the planned mutations. Any failed or
 * partial read aborts before the first mutation. The Lambda handler and the CLI both call this.
 */
import pLimit from 'p-limit';
import { type ClaimSet, collectClaims } from '../core/claims.js';
import type { ControllerConfig } from '../core/config.js';
import { IncompleteReadError } from '../core/errors.js';
import { checkRouteTableRead } from '../core/guards.js';
import { type AttachmentCheck, type RouteAction, type RoutePlan, applyOrder, attachmentChecks, attachmentDoubt, planRoutes } from '../core/plan.js';
import type { CiliumNodePort, CiliumNodePortFactory, ClusterPort, Ec2Port } from '../core/ports.js';
import { type Scope, buildScope } from '../core/scope.js';
import type { CiliumNodeRecord, ClusterInfo, NetworkInterfaceRecord, NodeStatusRecord, RouteTableRecord } from '../core/types.js';

export interface ReconcileDeps {
  cluster: ClusterPort;
  ciliumNodes: CiliumNodePortFactory;
  ec2: Ec2Port;
  now?: () => number;
  /**
   * Attachments already shown to be their node's (attachmentDoubt found none), with the Node status that showed
   * it, kept for the life of the process: a node replaced under the same name costs one Node read, not one per run.
   */
  attachmentProofs?: Map<string, NodeStatusRecord>;
}

/** Proofs kept at most; past this the oldest go first (a proof missing costs one more read, nothing else). */
const MAX_ATTACHMENT_PROOFS = 10_000;
/**
 * Node reads per run at most. Each is one GET (15 s deadline, 16 at once), so an API server that hangs holds the
 * run's reads for 60 s at worst; a node not read in this run is unresolved in it and read in the next.
 */
export const MAX_NODE_READS_PER_RUN = 64;

const proofKey = (check: AttachmentCheck) => [check.node, check.ip, check.networkInterfaceId, check.attachTime].join(' ');

/**
 * The Node status of every node whose ENI may not be its machine's (attachmentChecks): from the proofs kept, else
 * read. A Node that cannot be read leaves only its own node unresolved, so it is not a failed read of the run.
 */
async function readNodeStatuses(deps: ReconcileDeps, kubernetes: CiliumNodePort, checks: AttachmentCheck[], now: number): Promise<Map<string, NodeStatusRecord>> {
  const statuses = new Map<string, NodeStatusRecord>();
  const toRead: AttachmentCheck[] = [];
  for (const check of checks) {
    const proof = deps.attachmentProofs?.get(proofKey(check));
    if (proof) statuses.set(check.node, proof);
    else toRead.push(check);
  }
  if (toRead.length === 0) return statuses;
  const names = [...new Set(toRead.map((check) => check.node))];
  const reading = names.slice(0, MAX_NODE_READS_PER_RUN);
  let read: Map<string, NodeStatusRecord>;
  try {
    read = await kubernetes.readNodeStatuses(reading);
  } catch (error) {
    // The port answers per node and should not reject; if it does, every node it was asked about is unread.
    read = new Map(reading.map((name) => [name, { state: 'unreadable', error: describeError(error) }]));
  }
  for (const name of names.slice(MAX_NODE_READS_PER_RUN)) {
    read.set(name, { state: 'unreadable', error: `not read in this run (at most ${MAX_NODE_READS_PER_RUN} Node reads per run)` });
  }
  for (const check of toRead) {
    const status = read.get(check.node);
    if (status) statuses.set(check.node, status);
    // Only proofs are kept: a doubt is looked at again on the next run, when the kubelet may have reported.
    if (status && deps.attachmentProofs && attachmentDoubt(check, status, now) === undefined) {
      if (deps.attachmentProofs.size >= MAX_ATTACHMENT_PROOFS) deps.attachmentProofs.delete(deps.attachmentProofs.keys().next().value!);
      deps.attachmentProofs.set(proofKey(check), status);
    }
  }
  return statuses;
}

export interface ObservedState {
  cluster: ClusterInfo;
  scope: Scope;
  vpcId?: string;
  routeTables: RouteTableRecord[];
  ciliumNodes: CiliumNodeRecord[];
  claims: ClaimSet;
  networkInterfaces: NetworkInterfaceRecord[];
  /** Node statuses of the nodes attachmentChecks named (see PlanInput.nodeStatuses). */
  nodeStatuses: Map<string, NodeStatusRecord>;
  /** The wall clock when the state was read (ms since the epoch): what heartbeats are judged against. */
  observedAt: number;
}

async function read<T>(source: IncompleteReadError['source'], work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof IncompleteReadError) throw error;
    throw new IncompleteReadError(source, `read failed, nothing was changed: ${describeError(error)}`, { cause: error });
  }
}

/** Reads the real state. Throws IncompleteReadError when any part cannot be read completely. */
export async function observe(deps: ReconcileDeps, config: ControllerConfig): Promise<ObservedState> {
  const cluster = await read('cluster', () => deps.cluster.describeCluster(config.clusterName));
  const scope = buildScope(cluster.remoteNetworks, config.scope);
  let kubernetes: CiliumNodePort | undefined;
  const [routeTables, ciliumNodes] = await Promise.all([
    read('route-tables', () => deps.ec2.describeRouteTables(config.routeTables, config.vpcId)),
    read('ciliumnodes', async () => {
      kubernetes = await deps.ciliumNodes(cluster);
      return kubernetes.listCiliumNodes();
    }).catch((error: unknown) => {
      deps.cluster.forget?.(config.clusterName);
      throw error;
    }),
  ]);
  const vpcId = checkRouteTableRead(config.routeTables, routeTables, config.vpcId);
  const claims = collectClaims(ciliumNodes, scope);
  // Refused nodes' ENIs are looked up too: the routes pointing at them are protected (ClaimSet.refusedNodeIps).
  const ips = [...new Set([...claims.nodes, ...claims.refusedNodeIps].map((node) => node.ip.text))];
  const networkInterfaces = await read('network-interfaces', () => deps.ec2.findNetworkInterfaces(vpcId, ips));
  const checks = attachmentChecks({ claims, networkInterfaces, ...(vpcId ? { vpcId } : {}) });
  // The wall clock, not deps.now (which times the run and is stepped in tests): heartbeats are wall-clock times.
  const observedAt = Date.now();
  const nodeStatuses = checks.length > 0 ? await readNodeStatuses(deps, kubernetes!, checks, observedAt) : new Map<string, NodeStatusRecord>();
  return { cluster, scope, vpcId, routeTables, ciliumNodes, claims, networkInterfaces, nodeStatuses, observedAt };
}

export function planFromState(state: ObservedState, config: ControllerConfig): RoutePlan {
  return planRoutes({
    scope: state.scope,
    claims: state.claims,
    ...(state.vpcId ? { vpcId: state.vpcId } : {}),
    networkInterfaces: state.networkInterfaces,
    routeTables: state.routeTables,
    guards: config.guards,
    nodeStatuses: state.nodeStatuses,
    now: state.observedAt,
  });
}

export interface MutationFailure {
  kind: 'create' | 'replace' | 'delete' | 'source-dest-check';
  routeTableId?: string;
  destination?: string;
  networkInterfaceId?: string;
  error: string;
  code: string;
}

export interface ApplyOutcome {
  created: number;
  replaced: number;
  deleted: number;
  sourceDestCheckDisabled: number;
  failed: MutationFailure[];
  /** Mutations not started because the run was stopped (the invocation's deadline); the next run plans them again. */
  notStarted: number;
  /**
   * Mutations EC2 refused because the ENI they name was deleted after the run read it (`InvalidNetworkInterfaceID.NotFound`:
   * its instance was terminated meanwhile). Not failures: nothing is wrong with the table, and the next run, which
   * the instance's state change sets off anyway, plans from what is left. Present only when there are any.
   */
  targetGone?: Omit<MutationFailure, 'error' | 'code'>[];
  /**
   * Deletions not made because a create or replace they wait for (an overlapping destination in the same table)
   * failed: the old route stays until the new one exists. Present only when there are any.
   */
  heldBack?: { routeTableId: string; destination: string; reason: string }[];
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

function errorCode(error: unknown): string {
  return error instanceof Error ? error.name : 'Error';
}

/** The ENI a create, replace or source/dest fix names no longer exists. */
function isTargetGone(error: unknown): boolean {
  return errorCode(error) === 'InvalidNetworkInterfaceID.NotFound';
}

/**
 * Applies a plan in two lanes that run side by side, each with up to `concurrency` calls in flight:
 * - source/dest check: every hybrid-node ENI that still checks gets it turned off;
 * - routes: the deletions that overlap nothing being created first (they free room under the route quota),
 *   then creates and replaces, the other deletions last, so a path is never removed before its replacement
 *   exists (applyOrder).
 * The lanes need no order between them: a route to an ENI whose check is still on drops traffic exactly as no
 * route does, and the check is turned off moments later. EC2 throttles each API on its own token bucket, so a
 * lane waiting on ModifyNetworkInterfaceAttribute's bucket must not hold the route calls back (and vice versa).
 * One failed mutation does not stop the others; each is reported. Once `signal` aborts (the invocation is about
 * to time out) no further mutation starts: a run that outlived its invocation must not keep writing while the
 * next run, in the same container, writes too.
 */
export async function applyPlan(ec2: Ec2Port, plan: RoutePlan, options: { concurrency: number; signal?: AbortSignal }): Promise<ApplyOutcome> {
  const outcome: ApplyOutcome = { created: 0, replaced: 0, deleted: 0, sourceDestCheckDisabled: 0, failed: [], notStarted: 0 };
  const stopped = () => {
    if (!options.signal?.aborted) return false;
    outcome.notStarted += 1;
    return true;
  };

  const checkLimit = pLimit(options.concurrency);
  const sourceDestCheckLane = () =>
    Promise.all(
      plan.sourceDestCheck
        .filter((fix) => fix.action === 'disable')
        .map((fix) =>
          checkLimit(async () => {
            if (stopped()) return;
            try {
              await ec2.disableSourceDestCheck(fix.networkInterfaceId);
              outcome.sourceDestCheckDisabled += 1;
            } catch (error) {
              if (isTargetGone(error)) (outcome.targetGone ??= []).push({ kind: 'source-dest-check', networkInterfaceId: fix.networkInterfaceId });
              else outcome.failed.push({ kind: 'source-dest-check', networkInterfaceId: fix.networkInterfaceId, error: describeError(error), code: errorCode(error) });
            }
          }),
        ),
    );

  const routeLimit = pLimit(options.concurrency);
  const failedActions = new Set<RouteAction>();
  const run = (action: RouteAction) =>
    routeLimit(async () => {
      if (stopped()) return;
      try {
        if (action.action === 'create' || action.action === 'replace') {
          const done =
            action.action === 'create'
              ? await ec2.createRoute(action.routeTableId, action.destination, action.target!)
              : await ec2.replaceRoute(action.routeTableId, action.destination, action.target!);
          if (done === 'created') outcome.created += 1;
          else outcome.replaced += 1;
        } else if (action.action === 'delete') {
          await ec2.deleteRoute(action.routeTableId, action.destination);
          outcome.deleted += 1;
        }
      } catch (error) {
        // Either way the deletions that make way for it wait: the new path does not exist.
        failedActions.add(action);
        if (action.action !== 'delete' && isTargetGone(error)) {
          (outcome.targetGone ??= []).push({ kind: action.action as MutationFailure['kind'], routeTableId: action.routeTableId, destination: action.destination, networkInterfaceId: action.target! });
          return;
        }
        outcome.failed.push({
          kind: action.action as MutationFailure['kind'],
          routeTableId: action.routeTableId,
          destination: action.destination,
          error: describeError(error),
          code: errorCode(error),
        });
      }
    });
  const routeLane = async () => {
    const { freeingDeletions, upserts, deletions, waitsFor } = applyOrder(plan);
    await Promise.all(freeingDeletions.map(run));
    await Promise.all(upserts.map(run));
    // These deletions were ordered after the upserts so that no gap opens; where the upsert failed, the gap
    // would open anyway, so the deletion waits for a run in which it succeeds.
    await Promise.all(
      deletions.map((deletion) => {
        const blocker = waitsFor.get(deletion)?.find((upsert) => failedActions.has(upsert));
        if (!blocker) return run(deletion);
        (outcome.heldBack ??= []).push({
          routeTableId: deletion.routeTableId,
          destination: deletion.destination,
          reason: `kept: the ${blocker.action} of ${blocker.destination} it makes way for failed`,
        });
        return undefined;
      }),
    );
  };

  await Promise.all([sourceDestCheckLane(), routeLane()]);
  return outcome;
}

export type RunMode = 'plan' | 'apply';

export interface RunReport {
  mode: RunMode;
  clusterName: string;
  vpcId?: string;
  routeTableIds: string[];
  plan: RoutePlan;
  outcome?: ApplyOutcome;
  /**
   * `ok`: converged (or, for plan, nothing blocked); `vetoed`: a guard held deletions back; `failed`: a mutation
   * failed; `unfinished`: nothing failed, but mutations were left — the run was stopped (its time ran out) before
   * starting them, or the ENI they name was deleted meanwhile — and the next run plans them again.
   */
  status: 'ok' | 'vetoed' | 'failed' | 'unfinished';
  durationMs: number;
}

export async function reconcile(deps: ReconcileDeps, config: ControllerConfig, mode: RunMode, signal?: AbortSignal): Promise<RunReport> {
  const now = deps.now ?? Date.now;
  const started = now();
  const state = await observe(deps, config);
  const plan = planFromState(state, config);
  const outcome = mode === 'apply' ? await applyPlan(deps.ec2, plan, { concurrency: config.applyConcurrency, ...(signal ? { signal } : {}) }) : undefined;
  const status =
    outcome !== undefined && outcome.failed.length > 0
      ? 'failed'
      : outcome !== undefined && (outcome.notStarted > 0 || (outcome.targetGone?.length ?? 0) > 0)
        ? 'unfinished'
        : plan.vetoed.length > 0
          ? 'vetoed'
          : 'ok';
  return {
    mode,
    clusterName: config.clusterName,
    ...(state.vpcId ? { vpcId: state.vpcId } : {}),
    routeTableIds: state.routeTables.map((table) => table.routeTableId),
    plan,
    ...(outcome ? { outcome } : {}),
    status,
    durationMs: now() - started,
  };
}
