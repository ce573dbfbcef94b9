import { ConfigError, IncompleteReadError } from '../../../functions/core/errors.js';
import {
  type DeletionContext,
  type DeletionGuard,
  checkRouteTableRead,
  deletionBudget,
  judgeDeletions,
  validateGuardOptions,
} from '../../../functions/core/guards.js';
import { DEFAULT_GUARD_OPTIONS, type GuardOptions, type RouteTableSelector } from '../../../functions/core/types.js';
import { OTHER_VPC, REMOTE_VPC, guardOptions, table } from '../../support/builders.js';

interface Deletion {
  id: string;
  blackhole?: boolean;
}

/** `n` active deletions a1..an and `b` blackholed ones b1..bn. */
function deletions(active: number, blackholes = 0): Deletion[] {
  return [
    ...Array.from({ length: active }, (_, i) => ({ id: `a${i + 1}` })),
    ...Array.from({ length: blackholes }, (_, i) => ({ id: `b${i + 1}`, blackhole: true })),
  ];
}

const ids = (list: Deletion[]) => list.map((d) => d.id);

interface JudgeCase {
  name: string;
  proposed: Deletion[];
  context: DeletionContext;
  options?: Partial<GuardOptions>;
  allowed: string[];
  vetoed: string[];
  guard?: DeletionGuard;
  reason?: RegExp;
}

describe('judgeDeletions', () => {
  const cases: JudgeCase[] = [
    { name: 'nothing to delete', proposed: [], context: { nodeCount: 0, managedRouteCount: 10, activeManagedRouteCount: 10 }, allowed: [], vetoed: [] },
    {
      name: 'empty node list while managed routes exist: everything vetoed, blackholes included',
      proposed: deletions(2, 2),
      context: { nodeCount: 0, managedRouteCount: 4, activeManagedRouteCount: 4 },
      allowed: [],
      vetoed: ['a1', 'a2', 'b1', 'b2'],
      guard: 'empty-node-list',
      reason: /CiliumNode list is empty while 4 managed routes exist.*allowEmpty/,
    },
    {
      name: 'empty node list with only blackholed routes to delete: vetoed too',
      proposed: deletions(0, 3),
      context: { nodeCount: 0, managedRouteCount: 3, activeManagedRouteCount: 3 },
      allowed: [],
      vetoed: ['b1', 'b2', 'b3'],
      guard: 'empty-node-list',
      reason: /empty/,
    },
    {
      name: 'empty node list, a single route: vetoed (the minimum budget does not apply)',
      proposed: deletions(1),
      context: { nodeCount: 0, managedRouteCount: 1, activeManagedRouteCount: 1 },
      allowed: [],
      vetoed: ['a1'],
      guard: 'empty-node-list',
    },
    {
      name: 'allowEmpty lifts the empty-list guard',
      proposed: deletions(2, 1),
      context: { nodeCount: 0, managedRouteCount: 4, activeManagedRouteCount: 4 },
      options: { allowEmpty: true },
      allowed: ['a1', 'a2', 'b1'],
      vetoed: [],
    },
    {
      name: 'allowEmpty does not lift the budget',
      proposed: deletions(10),
      context: { nodeCount: 0, managedRouteCount: 10, activeManagedRouteCount: 10 },
      options: { allowEmpty: true },
      allowed: [],
      vetoed: ids(deletions(10)),
      guard: 'deletion-budget',
    },
    {
      name: 'allowEmpty and force together delete everything',
      proposed: deletions(10, 2),
      context: { nodeCount: 0, managedRouteCount: 12, activeManagedRouteCount: 12 },
      options: { allowEmpty: true, force: true },
      allowed: ids(deletions(10, 2)),
      vetoed: [],
    },
    {
      name: 'force alone does not lift the empty-list guard',
      proposed: deletions(2),
      context: { nodeCount: 0, managedRouteCount: 2, activeManagedRouteCount: 2 },
      options: { force: true },
      allowed: [],
      vetoed: ['a1', 'a2'],
      guard: 'empty-node-list',
    },
    {
      name: 'budget exceeded: active deletions vetoed, blackholes still deleted',
      proposed: deletions(6, 2),
      context: { nodeCount: 5, managedRouteCount: 10, activeManagedRouteCount: 10 },
      allowed: ['b1', 'b2'],
      vetoed: ids(deletions(6)),
      guard: 'deletion-budget',
      reason: /6 of 10 active managed routes would be deleted, more than the budget of 5 \(50 %, at least 3\).*force/,
    },
    {
      // Stale blackholes (stopped nodes) must not widen the share: 50 % of 12 managed routes would allow 6.
      name: 'the share is of the active routes: 5 of 8 active (12 managed, 4 blackholed) is over the budget of 4',
      proposed: deletions(5),
      context: { nodeCount: 5, managedRouteCount: 12, activeManagedRouteCount: 8 },
      allowed: [],
      vetoed: ids(deletions(5)),
      guard: 'deletion-budget',
      reason: /^5 of 8 active managed routes would be deleted, more than the budget of 4 \(50 %, at least 3\)/,
    },
    {
      name: 'the share is of the active routes: 4 of 8 active (12 managed, 4 blackholed) is within it',
      proposed: deletions(4),
      context: { nodeCount: 5, managedRouteCount: 12, activeManagedRouteCount: 8 },
      allowed: ids(deletions(4)),
      vetoed: [],
    },
    {
      // Blackholed routes of stopped nodes that are still listed stay; the two working routes would both go.
      name: 'blackholed routes never make room to delete every working route (2 active, 4 blackholed)',
      proposed: deletions(2),
      context: { nodeCount: 6, managedRouteCount: 6, activeManagedRouteCount: 2 },
      allowed: [],
      vetoed: ids(deletions(2)),
      guard: 'deletion-budget',
      reason: /^every active managed route \(2\) would be deleted/,
    },
    {
      name: 'the minimum budget never lets a run delete every active managed route',
      proposed: deletions(3),
      context: { nodeCount: 1, managedRouteCount: 3, activeManagedRouteCount: 3 },
      allowed: [],
      vetoed: ids(deletions(3)),
      guard: 'deletion-budget',
      reason: /every active managed route \(3\) would be deleted; the minimum budget never allows that.*force/,
    },
    {
      name: 'deleting every active route is allowed when forced',
      proposed: deletions(3),
      context: { nodeCount: 1, managedRouteCount: 3, activeManagedRouteCount: 3 },
      options: { force: true },
      allowed: ids(deletions(3)),
      vetoed: [],
    },
    {
      name: 'within the minimum budget and leaving an active route: allowed',
      proposed: deletions(2),
      context: { nodeCount: 1, managedRouteCount: 3, activeManagedRouteCount: 3 },
      allowed: ids(deletions(2)),
      vetoed: [],
    },
    {
      name: 'exactly at the budget: allowed',
      proposed: deletions(5),
      context: { nodeCount: 5, managedRouteCount: 10, activeManagedRouteCount: 10 },
      allowed: ids(deletions(5)),
      vetoed: [],
    },
    {
      name: 'blackholes never count against the budget',
      proposed: deletions(5, 5),
      context: { nodeCount: 5, managedRouteCount: 10, activeManagedRouteCount: 10 },
      allowed: ids(deletions(5, 5)),
      vetoed: [],
    },
    {
      name: 'all blackholes, far over the share: allowed',
      proposed: deletions(0, 10),
      context: { nodeCount: 1, managedRouteCount: 10, activeManagedRouteCount: 10 },
      allowed: ids(deletions(0, 10)),
      vetoed: [],
    },
    {
      name: 'small table: the minimum budget allows 3 of 4',
      proposed: deletions(3),
      context: { nodeCount: 1, managedRouteCount: 4, activeManagedRouteCount: 4 },
      allowed: ids(deletions(3)),
      vetoed: [],
    },
    {
      name: 'small table: 4 of 4 exceeds the minimum budget',
      proposed: deletions(4),
      context: { nodeCount: 1, managedRouteCount: 4, activeManagedRouteCount: 4 },
      allowed: [],
      vetoed: ids(deletions(4)),
      guard: 'deletion-budget',
      reason: /budget of 3/,
    },
    {
      name: 'one route, one deletion: vetoed, the minimum budget never empties the tables',
      proposed: deletions(1),
      context: { nodeCount: 1, managedRouteCount: 1, activeManagedRouteCount: 1 },
      allowed: [],
      vetoed: ['a1'],
      guard: 'deletion-budget',
      reason: /every active managed route \(1\)/,
    },
    {
      name: 'one route, one deletion, maxDeleteFraction 1: the share allows it',
      proposed: deletions(1),
      context: { nodeCount: 1, managedRouteCount: 1, activeManagedRouteCount: 1 },
      options: { maxDeleteFraction: 1 },
      allowed: ['a1'],
      vetoed: [],
    },
    {
      name: 'one of two active routes: allowed by the minimum budget',
      proposed: deletions(1),
      context: { nodeCount: 1, managedRouteCount: 2, activeManagedRouteCount: 2 },
      allowed: ['a1'],
      vetoed: [],
    },
    {
      name: 'force lifts the budget',
      proposed: deletions(9, 1),
      context: { nodeCount: 1, managedRouteCount: 10, activeManagedRouteCount: 10 },
      options: { force: true },
      allowed: ids(deletions(9, 1)),
      vetoed: [],
    },
    {
      name: 'custom fraction 20 %: 21 of 100 vetoed',
      proposed: deletions(21),
      context: { nodeCount: 50, managedRouteCount: 100, activeManagedRouteCount: 100 },
      options: { maxDeleteFraction: 0.2 },
      allowed: [],
      vetoed: ids(deletions(21)),
      guard: 'deletion-budget',
      reason: /budget of 20 \(20 %/,
    },
    {
      name: 'custom fraction 20 %: 20 of 100 allowed',
      proposed: deletions(20),
      context: { nodeCount: 50, managedRouteCount: 100, activeManagedRouteCount: 100 },
      options: { maxDeleteFraction: 0.2 },
      allowed: ids(deletions(20)),
      vetoed: [],
    },
    {
      name: 'fraction 0 and minimum 0: no active deletion at all, blackholes still go',
      proposed: deletions(1, 1),
      context: { nodeCount: 5, managedRouteCount: 100, activeManagedRouteCount: 100 },
      options: { maxDeleteFraction: 0, minDeleteBudget: 0 },
      allowed: ['b1'],
      vetoed: ['a1'],
      guard: 'deletion-budget',
    },
    {
      name: 'fraction 1: every managed route may go',
      proposed: deletions(10),
      context: { nodeCount: 1, managedRouteCount: 10, activeManagedRouteCount: 10 },
      options: { maxDeleteFraction: 1 },
      allowed: ids(deletions(10)),
      vetoed: [],
    },
  ];

  test.each(cases)('$name', ({ proposed, context, options, allowed, vetoed, guard, reason }) => {
    const verdict = judgeDeletions(proposed, context, guardOptions(options));
    expect(ids(verdict.allowed)).toEqual(allowed);
    expect(verdict.vetoed.map((v) => v.deletion.id)).toEqual(vetoed);
    if (guard) expect(new Set(verdict.vetoed.map((v) => v.guard))).toEqual(new Set([guard]));
    if (reason) for (const v of verdict.vetoed) expect(v.reason).toMatch(reason);
  });

  test('the verdict hands back the same deletion objects it was given', () => {
    const proposed = deletions(6, 1);
    const verdict = judgeDeletions(proposed, { nodeCount: 1, managedRouteCount: 10, activeManagedRouteCount: 10 }, DEFAULT_GUARD_OPTIONS);
    expect(verdict.allowed[0]).toBe(proposed[6]);
    expect(verdict.vetoed[0]?.deletion).toBe(proposed[0]);
  });

  // A run that deletes *more than* the configured share is vetoed; deleting exactly the share is allowed.
  test.each([
    [0.58, 50, 29],
    [0.29, 100, 29],
    [0.57, 100, 57],
    [0.2, 100, 20],
    [0.07, 100, 7],
  ])('exactly the configured share (%p of %p = %p routes) is allowed', (fraction, managed, share) => {
    const verdict = judgeDeletions(deletions(share), { nodeCount: 1, managedRouteCount: managed, activeManagedRouteCount: managed }, guardOptions({ maxDeleteFraction: fraction, minDeleteBudget: 0 }));
    expect({ allowed: verdict.allowed.length, vetoed: verdict.vetoed.length }).toEqual({ allowed: share, vetoed: 0 });
  });
});

describe('deletionBudget', () => {
  test.each([
    [0, 0.5, 3, 3],
    [1, 0.5, 3, 3],
    [6, 0.5, 3, 3],
    [7, 0.5, 3, 3],
    [8, 0.5, 3, 4],
    [10, 0.5, 3, 5],
    [11, 0.5, 3, 5],
    [256, 0.5, 3, 128],
    [100, 0.2, 3, 20],
    [100, 0, 0, 0],
    [100, 0, 3, 3],
    [100, 1, 0, 100],
    [9, 0.25, 0, 2],
    [10, 0.5, 10, 10],
  ])('%p managed routes, fraction %p, minimum %p → %p', (managed, fraction, minimum, expected) => {
    expect(deletionBudget(managed, guardOptions({ maxDeleteFraction: fraction, minDeleteBudget: minimum }))).toBe(expected);
  });

  test('defaults: 50 %, at least 3', () => {
    expect(DEFAULT_GUARD_OPTIONS).toEqual({ allowEmpty: false, force: false, maxDeleteFraction: 0.5, minDeleteBudget: 3 });
    expect(deletionBudget(2, DEFAULT_GUARD_OPTIONS)).toBe(3);
    expect(deletionBudget(20, DEFAULT_GUARD_OPTIONS)).toBe(10);
  });

  test.each([
    [50, 0.58, 29],
    [100, 0.29, 29],
    [100, 0.57, 57],
    [200, 0.29, 58],
  ])('%p managed routes × %p is exactly %p', (managed, fraction, expected) => {
    expect(deletionBudget(managed, guardOptions({ maxDeleteFraction: fraction, minDeleteBudget: 0 }))).toBe(expected);
  });
});

describe('validateGuardOptions', () => {
  test.each<[string, Partial<GuardOptions>]>([
    ['defaults', {}],
    ['fraction 0', { maxDeleteFraction: 0 }],
    ['fraction 1', { maxDeleteFraction: 1 }],
    ['minimum 0', { minDeleteBudget: 0 }],
    ['large minimum', { minDeleteBudget: 1000 }],
    ['flags on', { allowEmpty: true, force: true }],
  ])('%s is accepted and returned unchanged', (_name, overrides) => {
    const options = guardOptions(overrides);
    expect(validateGuardOptions(options)).toBe(options);
  });

  test.each<[string, Partial<GuardOptions>, string]>([
    ['negative fraction', { maxDeleteFraction: -0.1 }, 'maxDeleteFraction'],
    ['fraction above 1', { maxDeleteFraction: 1.01 }, 'maxDeleteFraction'],
    ['fraction NaN', { maxDeleteFraction: Number.NaN }, 'maxDeleteFraction'],
    ['fraction Infinity', { maxDeleteFraction: Number.POSITIVE_INFINITY }, 'maxDeleteFraction'],
    ['negative minimum', { minDeleteBudget: -1 }, 'minDeleteBudget'],
    ['fractional minimum', { minDeleteBudget: 1.5 }, 'minDeleteBudget'],
    ['minimum NaN', { minDeleteBudget: Number.NaN }, 'minDeleteBudget'],
  ])('%s → ConfigError on %s', (_name, overrides, field) => {
    let error: unknown;
    try {
      validateGuardOptions(guardOptions(overrides));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe(field);
  });
});

describe('checkRouteTableRead', () => {
  const ids = (...routeTableIds: string[]): RouteTableSelector => ({ kind: 'ids', routeTableIds });
  const tag: RouteTableSelector = { kind: 'tag', key: 'eks-hybrid-routes/cluster', value: 'lab' };
  const RTB_A = 'rtb-0aaaaaaaaaaaaaaa1';
  const RTB_B = 'rtb-0bbbbbbbbbbbbbbb2';
  const RTB_C = 'rtb-0ccccccccccccccc3';

  test.each<[string, RouteTableSelector, ReturnType<typeof table>[], string | undefined, string | undefined]>([
    ['every named table, no expected VPC', ids(RTB_A, RTB_B), [table(RTB_A, []), table(RTB_B, [])], undefined, REMOTE_VPC],
    ['every named table in the expected VPC', ids(RTB_A), [table(RTB_A, [])], REMOTE_VPC, REMOTE_VPC],
    ['tag: two tables in one VPC', tag, [table(RTB_A, []), table(RTB_B, [])], undefined, REMOTE_VPC],
  ])('%s → %s', (_name, selector, tables, expected, vpc) => {
    expect(checkRouteTableRead(selector, tables, expected)).toBe(vpc);
  });

  test.each<[string, RouteTableSelector, ReturnType<typeof table>[], string | undefined, RegExp, RegExp | undefined]>([
    ['a named table missing', ids(RTB_A, RTB_B), [table(RTB_A, [])], undefined, new RegExp(`not returned by EC2: ${RTB_B}$`), new RegExp(RTB_A)],
    ['all named tables missing', ids(RTB_A, RTB_B), [], undefined, new RegExp(`${RTB_A}, ${RTB_B}`), undefined],
    ['tables in several VPCs (ids)', ids(RTB_A, RTB_B), [table(RTB_A, []), table(RTB_B, [], OTHER_VPC)], undefined, new RegExp(`${REMOTE_VPC}.*${OTHER_VPC}`), undefined],
    ['tables in several VPCs (tag)', tag, [table(RTB_A, []), table(RTB_B, [], OTHER_VPC), table(RTB_C, [])], REMOTE_VPC, /several VPCs/, undefined],
    ['tables in another VPC than configured', ids(RTB_A), [table(RTB_A, [], OTHER_VPC)], REMOTE_VPC, new RegExp(`in ${OTHER_VPC}, not in the configured remote VPC ${REMOTE_VPC}`), undefined],
    ['tagged tables in another VPC than configured', tag, [table(RTB_A, [], OTHER_VPC)], REMOTE_VPC, new RegExp(OTHER_VPC), undefined],
    // A typo in the tag must not look like a healthy run that manages nothing, nor a teardown with nothing to remove.
    ['tag: no table carries it, no expected VPC', tag, [], undefined, /^route-tables: no route table carries the tag eks-hybrid-routes\/cluster=lab; check the configured tag/, undefined],
    ['tag: no table carries it, expected VPC given', tag, [], REMOTE_VPC, new RegExp(`no route table in ${REMOTE_VPC} carries the tag eks-hybrid-routes/cluster=lab`), undefined],
  ])('%s → IncompleteReadError', (_name, selector, tables, expected, message, notInMessage) => {
    let error: unknown;
    try {
      checkRouteTableRead(selector, tables, expected);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(IncompleteReadError);
    expect((error as IncompleteReadError).source).toBe('route-tables');
    expect((error as Error).message).toMatch(message);
    if (notInMessage) expect((error as Error).message).not.toMatch(notInMessage);
  });
});
