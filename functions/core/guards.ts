/**
 * Safety guards over a proposed plan. A route table carries production traffic: when the evidence for
 * deleting routes looks like a broken read rather than a change in the cluster, the deletions are
 * vetoed (kept) and reported instead of applied.
 */
import { ConfigError, IncompleteReadError } from './errors.js';
import type { GuardOptions, RouteTableRecord, RouteTableSelector } from './types.js';

export type DeletionGuard = 'empty-node-list' | 'unprotectable-claim' | 'deletion-budget';

export interface ProposedDeletion {
  /** Deleting a blackholed route removes no working path, so it never counts against the budget. */
  blackhole?: boolean;
}

export interface DeletionVerdict<T> {
  allowed: T[];
  vetoed: { deletion: T; guard: DeletionGuard; reason: string }[];
}

export interface DeletionContext {
  /** CiliumNode objects read in this run. */
  nodeCount: number;
  /** Managed routes across all managed route tables before this run. */
  managedRouteCount: number;
  /** Of those, the ones not blackholed (carrying traffic). */
  activeManagedRouteCount: number;
  /**
   * Pod CIDR entries (`node field`) of refused nodes that protect no destination (ClaimSet.unprotectableCidrs), of
   * nodes whose routes cannot be found by their ENI either: any working route may be theirs.
   */
  unprotectableClaims?: string[];
}

/** The share of managed routes one run may delete. Rounded first: 0.58 × 50 is 28.999999999999996 in floating point. */
function shareOf(managedRouteCount: number, options: GuardOptions): number {
  return Math.floor(Number((options.maxDeleteFraction * managedRouteCount).toFixed(6)));
}

/** Deletions of active routes one run may make: the share of the active managed routes, or the minimum budget if that is larger. */
export function deletionBudget(activeManagedRouteCount: number, options: GuardOptions): number {
  return Math.max(options.minDeleteBudget, shareOf(activeManagedRouteCount, options));
}

export function judgeDeletions<T extends ProposedDeletion>(
  deletions: T[],
  context: DeletionContext,
  options: GuardOptions,
): DeletionVerdict<T> {
  if (deletions.length === 0) return { allowed: [], vetoed: [] };

  // An empty list is far more often a failed or misdirected read than a cluster without nodes.
  if (context.nodeCount === 0 && context.managedRouteCount > 0 && !options.allowEmpty) {
    const reason =
      `the CiliumNode list is empty while ${context.managedRouteCount} managed routes exist; ` +
      'nothing is deleted unless an empty list is explicitly allowed (allowEmpty / --allow-empty)';
    return { allowed: [], vetoed: deletions.map((deletion) => ({ deletion, guard: 'empty-node-list', reason })) };
  }

  const active = deletions.filter((deletion) => !deletion.blackhole);

  // A node that claims a CIDR no destination can be protected for, and whose ENI is unknown, may own any of the
  // routes: none of the working ones is shown to be stale. Blackholed routes carry no traffic, so they still go.
  const unprotectable = context.unprotectableClaims ?? [];
  if (unprotectable.length > 0 && active.length > 0 && !options.force) {
    const reason =
      `a refused CiliumNode lists a pod CIDR that cannot be read or covers a whole pod network (${unprotectable.join('; ')}), and its ENI is not known, ` +
      'so no working route is shown not to be its own; nothing active is deleted until that CiliumNode is fixed or gone, unless forced (force / --force)';
    return {
      allowed: deletions.filter((deletion) => deletion.blackhole),
      vetoed: active.map((deletion) => ({ deletion, guard: 'unprotectable-claim', reason })),
    };
  }

  // The budget is a share of the routes that carry traffic: blackholed ones count neither as deletions nor in
  // the base, or stale blackholes would widen the share until one run could take every working route.
  const budget = deletionBudget(context.activeManagedRouteCount, options);
  const withinShare = active.length <= shareOf(context.activeManagedRouteCount, options);
  // The minimum budget lets small clusters lose a node, but never lets one run empty the tables of
  // working routes: only the configured share (or force) can allow that.
  // (An empty CiliumNode list that the operator explicitly allowed is that approval already.)
  const approvedEmpty = context.nodeCount === 0 && options.allowEmpty;
  const wouldEmpty = !approvedEmpty && active.length > 0 && active.length >= context.activeManagedRouteCount;
  if (!withinShare && (active.length > budget || wouldEmpty) && !options.force) {
    const reason =
      active.length <= budget
        ? `every active managed route (${active.length}) would be deleted; the minimum budget never allows that, ` +
          'so nothing active is deleted unless forced (force / --force)'
        : `${active.length} of ${context.activeManagedRouteCount} active managed routes would be deleted, more than the budget of ${budget} ` +
          `(${Math.round(options.maxDeleteFraction * 100)} %, at least ${options.minDeleteBudget}); ` +
          'nothing active is deleted unless forced (force / --force)';
    return {
      allowed: deletions.filter((deletion) => deletion.blackhole),
      vetoed: active.map((deletion) => ({ deletion, guard: 'deletion-budget', reason })),
    };
  }
  return { allowed: deletions, vetoed: [] };
}

/** Guard option values checked at the edge; the field names match the configuration's. */
export function validateGuardOptions(options: GuardOptions): GuardOptions {
  if (!Number.isFinite(options.maxDeleteFraction) || options.maxDeleteFraction < 0 || options.maxDeleteFraction > 1) {
    throw new ConfigError('maxDeleteFraction', `must be a number from 0 to 1, got ${String(options.maxDeleteFraction)}`);
  }
  if (!Number.isInteger(options.minDeleteBudget) || options.minDeleteBudget < 0) {
    throw new ConfigError('minDeleteBudget', `must be a whole number ≥ 0, got ${String(options.minDeleteBudget)}`);
  }
  return options;
}

/**
 * The route-table read is complete: every explicitly named table came back, a tag matched at least one table,
 * and all tables are in one VPC (the remote VPC, when it is configured). Returns that VPC id.
 */
export function checkRouteTableRead(
  selector: RouteTableSelector,
  tables: RouteTableRecord[],
  expectedVpcId?: string,
): string {
  if (selector.kind === 'ids') {
    const found = new Set(tables.map((table) => table.routeTableId));
    const missing = selector.routeTableIds.filter((id) => !found.has(id));
    if (missing.length > 0) {
      throw new IncompleteReadError('route-tables', `route tables not returned by EC2: ${missing.join(', ')}`);
    }
  }
  // Tag matching is exact and case-sensitive: a typo in the tag, or tags taken off the tables, would otherwise
  // look like a healthy run with nothing to manage (and a teardown with no routes to remove).
  if (selector.kind === 'tag' && tables.length === 0) {
    const where = expectedVpcId ? ` in ${expectedVpcId}` : '';
    throw new IncompleteReadError('route-tables', `no route table${where} carries the tag ${selector.key}=${selector.value}; check the configured tag and the tables' tags (keys and values are case-sensitive)`);
  }
  const vpcs = [...new Set(tables.map((table) => table.vpcId))];
  if (vpcs.length > 1) {
    throw new IncompleteReadError('route-tables', `managed route tables span several VPCs (${vpcs.join(', ')}); they must all be in the remote VPC`);
  }
  const [vpcId] = vpcs;
  // Only a selector naming no table at all gets here with none (configuration refuses an empty id list).
  if (vpcId === undefined) throw new IncompleteReadError('route-tables', 'no managed route table was found, so the remote VPC is unknown');
  if (expectedVpcId !== undefined && vpcId !== expectedVpcId) {
    throw new IncompleteReadError('route-tables', `managed route tables are in ${vpcId}, not in the configured remote VPC ${expectedVpcId}`);
  }
  return vpcId;
}
