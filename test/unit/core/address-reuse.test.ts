/**
 * A node's address passed on to another machine: the ENI that carries the node's IP has been attached only since
 * after the node's CiliumNode was created, or the IP is a secondary (or IPv6) address of it, whose assignment EC2
 * does not date. The node is routed only when its Kubernetes Node shows its kubelet reporting from that address
 * since then (recently, for a secondary address), by a clock that is not ahead; otherwise it is unresolved, its
 * routes are kept as they are and the machine's source/dest check is left alone.
 */
import { describe, expect, test } from '@jest/globals';
import { HEARTBEAT_FUTURE_TOLERANCE_MS, HEARTBEAT_RECENT_MS, attachmentChecks, attachmentDoubt, planRoutes } from '../../../functions/core/plan.js';
import type { NodeStatusRecord } from '../../../functions/core/types.js';
import { actionLines, ciliumNode, eni, eniId, foreignRoutes, nodeName, plan, planInput, route, table } from '../../support/builders.js';

const T1 = 'rtb-0000000000000000a';
const NODE = nodeName(1);
const IP = '10.20.1.1';
const CIDR = '10.30.1.0/24';
const OLD_ENI = eniId(0x91); // the node's ENI before its machine went away (the route still points there)
const NEW_ENI = eniId(0x92); // the ENI that carries the address now
const CREATED = '2026-11-01T08:00:00Z';
const BEFORE = '2026-11-01T07:58:12.000Z';
const AFTER = '2026-12-01T10:00:00.000Z';
/** This run's clock in these tests: a day after the attachment. */
const NOW = '2026-12-02T10:00:00.000Z';
const minutesBeforeNow = (minutes: number) => new Date(Date.parse(NOW) - minutes * 60_000).toISOString();

const node = (createdAt?: string) => ciliumNode(NODE, IP, [CIDR], createdAt === undefined ? {} : { createdAt });
const carrier = (attachTime: string | undefined, sourceDestCheck = true) => eni(NEW_ENI, IP, { sourceDestCheck, ...(attachTime === undefined ? {} : { attachTime }) });
const found = (internalIps: string[], readyHeartbeat?: string): NodeStatusRecord => ({ state: 'found', internalIps, ...(readyHeartbeat ? { readyHeartbeat } : {}) });

/** The address now on NEW_ENI, the route still to OLD_ENI (a blackhole: that machine is gone). */
function world(options: { attachTime?: string; createdAt?: string; status?: NodeStatusRecord } = {}) {
  return {
    nodes: [node('createdAt' in options ? options.createdAt : CREATED)],
    enis: [carrier('attachTime' in options ? options.attachTime : AFTER)],
    tables: [table(T1, [...foreignRoutes(), route.managed(CIDR, OLD_ENI, 'blackhole')])],
    ...(options.status ? { nodeStatuses: { [NODE]: options.status } } : {}),
    now: NOW,
  };
}

describe('attachmentChecks: which nodes need their Kubernetes Node read', () => {
  test('exactly the resolved nodes whose ENI was attached after their CiliumNode was created', () => {
    const input = planInput({
      nodes: [node(CREATED), ciliumNode(nodeName(2), '10.20.1.2', ['10.30.2.0/24'], { createdAt: CREATED }), ciliumNode(nodeName(3), '10.20.1.3', [], { createdAt: CREATED })],
      enis: [carrier(AFTER), eni(eniId(2), '10.20.1.2', { attachTime: BEFORE }), eni(eniId(3), '10.20.1.3', { attachTime: CREATED })],
      tables: [table(T1, foreignRoutes())],
    });
    expect(attachmentChecks(input)).toEqual([{ node: NODE, ip: IP, networkInterfaceId: NEW_ENI, instanceId: expect.stringMatching(/^i-/), kind: 'attached-later', attachTime: AFTER, createdAt: CREATED }]);
  });

  test.each([
    ['no creationTimestamp', { createdAt: undefined }],
    ['no attach time', { attachTime: undefined }],
    ['an attach time that is no time', { attachTime: 'yesterday' }],
    ['a creationTimestamp that is no time', { createdAt: 'soon' }],
  ])('%s: nothing to check, the node is routed as before', (_name, options) => {
    const input = planInput(world(options as { attachTime?: string; createdAt?: string }));
    expect(attachmentChecks(input)).toEqual([]);
    expect(actionLines(planRoutes(input))).toEqual([`replace ${T1} ${CIDR} -> ${NEW_ENI} [blackhole]`]);
  });

  test('an unresolved node (no ENI carries its address) is not checked: it is not routed anyway', () => {
    const input = planInput({ nodes: [node(CREATED)], enis: [], tables: [table(T1, foreignRoutes())] });
    expect(attachmentChecks(input)).toEqual([]);
  });
});

describe('planRoutes: a node whose address may have passed to another machine', () => {
  test.each<[string, NodeStatusRecord | undefined, RegExp]>([
    ['its Node was not read', undefined, /was not read/],
    ['its Node is gone', { state: 'not-found' }, /there is no Node .*: the address may have passed to a machine that is not this node/],
    ['its Node could not be read', { state: 'unreadable', error: 'read node x failed: HTTP 403 Forbidden' }, /could not be read \(read node x failed: HTTP 403 Forbidden\)/],
    ['its kubelet has been silent since before the attachment', found([IP], '2026-11-20T00:00:00.000Z'), /has not reported since \(last Ready heartbeat 2026-11-20T00:00:00.000Z\)/],
    ['its kubelet never reported', found([IP]), /last Ready heartbeat none/],
    ['its kubelet reports another address', found(['10.20.7.7'], '2026-12-02T00:00:00.000Z'), /reports 10\.20\.7\.7: the address may have passed/],
    ['its Node reports no InternalIP', found([], '2026-12-02T00:00:00.000Z'), /reports no InternalIP/],
  ])('%s → unresolved: the route is kept as it is and the machine keeps its source/dest check', (_name, status, reason) => {
    const result = plan(world(status ? { status } : {}));
    // A Node that is there may be the node coming up on the new machine: the follow-up runs look again.
    const awaiting = status?.state === 'found' ? { awaitingKubelet: true } : {};
    expect(result.unresolved).toEqual([{ node: NODE, ip: IP, cidrs: [CIDR], reason: expect.stringMatching(reason), ...awaiting }]);
    expect(result.unresolved[0]!.reason).toContain(`${NEW_ENI} (instance i-`);
    expect(result.unresolved[0]!.reason).toContain(`attached at ${AFTER}, after CiliumNode ${NODE} was created (${CREATED})`);
    expect(result.routed).toEqual([]);
    expect(result.sourceDestCheck).toEqual([]);
    // Not rewritten to the new machine, and not deleted either (the blackhole stays: the CIDR is claimed).
    expect(actionLines(result)).toEqual([`keep ${T1} ${CIDR} [blackhole]`]);
    expect(result.protected).toEqual([expect.objectContaining({ routeTableId: T1, destination: CIDR, node: NODE })]);
    expect(result.counts).toMatchObject({ create: 0, replace: 0, delete: 0 });
  });

  test('a node replaced under the same name whose kubelet reports from the address since the attachment is routed there', () => {
    const result = plan(world({ status: found(['10.20.3.3', IP], '2026-12-01T10:02:30.000Z') }));
    expect(result.unresolved).toEqual([]);
    expect(result.routed).toEqual([{ node: NODE, ip: IP, networkInterfaceId: NEW_ENI, cidrs: [CIDR] }]);
    expect(actionLines(result)).toEqual([`replace ${T1} ${CIDR} -> ${NEW_ENI} [blackhole]`]);
    expect(result.sourceDestCheck).toEqual([{ networkInterfaceId: NEW_ENI, node: NODE, action: 'disable' }]);
  });

  test('a heartbeat at the very second of the attachment counts; one a second earlier does not', () => {
    expect(plan(world({ status: found([IP], AFTER) })).routed).toHaveLength(1);
    expect(plan(world({ status: found([IP], '2026-12-01T09:59:59.000Z') })).routed).toEqual([]);
  });

  test('addresses are compared as addresses: an IPv6 InternalIP written another way matches, a different one does not', () => {
    const check = { node: NODE, ip: '2600:1f14:abc::10', networkInterfaceId: NEW_ENI, instanceId: 'i-1', kind: 'attached-later' as const, attachTime: AFTER, createdAt: CREATED };
    expect(attachmentDoubt(check, found(['2600:1f14:0abc:0:0:0:0:10'], AFTER), Date.parse(NOW))).toBeUndefined();
    expect(attachmentDoubt(check, found(['2600:1f14:abc::11'], AFTER), Date.parse(NOW))).toMatch(/reports 2600:1f14:abc::11/);
  });

  test('a heartbeat ahead of the run’s clock by more than the tolerance shows nothing (a kubelet whose clock runs ahead cannot vouch for its machine once gone)', () => {
    const ahead = (ms: number) => new Date(Date.parse(NOW) + ms).toISOString();
    expect(plan(world({ status: found([IP], ahead(HEARTBEAT_FUTURE_TOLERANCE_MS)) })).routed).toHaveLength(1);
    const result = plan(world({ status: found([IP], ahead(HEARTBEAT_FUTURE_TOLERANCE_MS + 1000)) }));
    expect(result.routed).toEqual([]);
    expect(result.unresolved[0]!.reason).toMatch(/reports from the future .*this run's clock 2026-12-02T10:00:00.000Z/);
  });

  test('a status for a node that needs no check changes nothing', () => {
    const input = world({ attachTime: BEFORE, status: { state: 'not-found' } });
    expect(actionLines(plan(input))).toEqual([`replace ${T1} ${CIDR} -> ${NEW_ENI} [blackhole]`]);
  });

  test('only the doubted node is held: another node in the same run is routed', () => {
    const other = ciliumNode(nodeName(2), '10.20.1.2', ['10.30.2.0/24'], { createdAt: CREATED });
    const result = plan({
      nodes: [node(CREATED), other],
      enis: [carrier(AFTER), eni(eniId(2), '10.20.1.2', { attachTime: BEFORE })],
      tables: [table(T1, [...foreignRoutes(), route.managed(CIDR, OLD_ENI, 'blackhole')])],
      nodeStatuses: { [NODE]: { state: 'not-found' } },
    });
    expect(result.unresolved.map((u) => u.node)).toEqual([NODE]);
    expect(actionLines(result)).toEqual([`keep ${T1} ${CIDR} [blackhole]`, `create ${T1} 10.30.2.0/24 -> ${eniId(2)}`]);
  });
});

describe('a node whose IP is a secondary or IPv6 address of its ENI (EC2 does not date its assignment)', () => {
  const LONG_AGO = '2026-10-01T00:00:00.000Z'; // attached before the CiliumNode: the attach time proves nothing here
  /** NEW_ENI's primary address is another one; the node's IP is its secondary. */
  const secondaryWorld = (status?: NodeStatusRecord) => ({
    nodes: [node(CREATED)],
    enis: [eni(NEW_ENI, '10.20.1.200', { secondaryIps: [IP], sourceDestCheck: true, attachTime: LONG_AGO })],
    tables: [table(T1, [...foreignRoutes(), route.managed(CIDR, OLD_ENI, 'blackhole')])],
    ...(status ? { nodeStatuses: { [NODE]: status } } : {}),
    now: NOW,
  });

  test('is checked even though its ENI was attached long before the CiliumNode', () => {
    expect(attachmentChecks(planInput(secondaryWorld()))).toEqual([expect.objectContaining({ node: NODE, kind: 'secondary-address', networkInterfaceId: NEW_ENI })]);
    // On the primary address, the same attachment needs no check.
    expect(attachmentChecks(planInput({ ...secondaryWorld(), enis: [eni(NEW_ENI, IP, { attachTime: LONG_AGO })] }))).toEqual([]);
  });

  test('a kubelet that reports the address and posted within the recent window: routed', () => {
    const result = plan(secondaryWorld(found([IP], minutesBeforeNow(HEARTBEAT_RECENT_MS / 60_000 - 1))));
    expect(result.routed).toEqual([{ node: NODE, ip: IP, networkInterfaceId: NEW_ENI, cidrs: [CIDR] }]);
    expect(result.sourceDestCheck).toEqual([{ networkInterfaceId: NEW_ENI, node: NODE, action: 'disable' }]);
  });

  test.each<[string, NodeStatusRecord | undefined, RegExp]>([
    ['a kubelet silent for longer than the window', found([IP], minutesBeforeNow(HEARTBEAT_RECENT_MS / 60_000 + 1)), /has not reported in the last 15 minutes/],
    ['a Node that is gone', { state: 'not-found' }, /there is no Node/],
    ['a Node not read', undefined, /was not read/],
  ])('%s: unresolved, the route kept, the check left on', (_name, status, reason) => {
    const result = plan(secondaryWorld(status));
    expect(result.unresolved).toEqual([{ node: NODE, ip: IP, cidrs: [CIDR], reason: expect.stringMatching(reason) }]);
    expect(result.unresolved[0]!.reason).toContain(`${IP} is a secondary or IPv6 address of ${NEW_ENI}`);
    expect(result.sourceDestCheck).toEqual([]);
    expect(actionLines(result)).toEqual([`keep ${T1} ${CIDR} [blackhole]`]);
  });
});
