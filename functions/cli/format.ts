/**
 * What the operator CLI prints: one JSON object (`--json`, a stable contract) or readable tables.
 */
import type { RoutePlan } from '../core/plan.js';
import type { ObservedState, RunReport } from '../service/reconcile.js';

/** The `--json` object for plan and apply. Field names are a contract: extend, never rename. */
export function reportJson(report: RunReport) {
  const { plan } = report;
  return {
    mode: report.mode,
    status: report.status,
    cluster: report.clusterName,
    vpcId: report.vpcId ?? null,
    routeTableIds: report.routeTableIds,
    actions: plan.actions.map((action) => ({
      routeTableId: action.routeTableId,
      destination: action.destination,
      action: action.action,
      ...(action.target ? { target: action.target } : {}),
      ...(action.previousTarget ? { previousTarget: action.previousTarget } : {}),
      reason: action.reason,
      ...(action.node ? { node: action.node } : {}),
    })),
    sourceDestCheck: plan.sourceDestCheck,
    refused: plan.refused,
    vetoed: plan.vetoed,
    unresolved: plan.unresolved,
    pending: plan.pending,
    protected: plan.protected,
    conflicts: plan.conflicts,
    counts: plan.counts,
    ...(report.outcome ? { outcome: report.outcome } : {}),
    durationMs: report.durationMs,
  };
}

/** Left-aligned text columns; the last column is not padded. */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function section(title: string, body: string): string {
  return `\n${title}\n${body}\n`;
}

export function planText(report: RunReport): string {
  const { plan } = report;
  const parts: string[] = [];
  parts.push(
    `${report.mode === 'apply' ? 'Applied' : 'Plan'} for cluster ${report.clusterName}` +
      (report.vpcId ? ` (remote VPC ${report.vpcId})` : '') +
      `: ${report.routeTableIds.length} route table(s)`,
  );
  for (const routeTableId of report.routeTableIds) {
    const rows = plan.actions
      .filter((action) => action.routeTableId === routeTableId)
      .map((action) => [action.destination, action.previousTarget ?? '-', action.action, action.action === 'delete' ? '-' : (action.target ?? '-'), action.reason]);
    parts.push(
      section(
        `Route table ${routeTableId}`,
        rows.length ? textTable(['DESTINATION', 'CURRENT TARGET', 'ACTION', 'NEW TARGET', 'REASON'], rows) : '(no managed routes and nothing to add)',
      ),
    );
  }
  parts.push(...listSections(plan));
  parts.push(summaryLine(report));
  return parts.join('\n');
}

function listSections(plan: RoutePlan): string[] {
  const out: string[] = [];
  const fixes = plan.sourceDestCheck.filter((fix) => fix.action === 'disable');
  if (fixes.length) out.push(section('Source/dest check to turn off', textTable(['ENI', 'NODE'], fixes.map((fix) => [fix.networkInterfaceId, fix.node]))));
  if (plan.vetoed.length) out.push(section('Vetoed deletions', textTable(['ROUTE TABLE', 'DESTINATION', 'GUARD', 'REASON'], plan.vetoed.map((v) => [v.routeTableId, v.destination, v.guard, v.reason]))));
  if (plan.refused.length) out.push(section('Refused', textTable(['NODE', 'FIELD', 'VALUE', 'REASON'], plan.refused.map((r) => [r.node, r.field, r.value ?? '-', r.reason]))));
  if (plan.unresolved.length) out.push(section('Unresolved nodes', textTable(['NODE', 'IP', 'CIDRS', 'REASON'], plan.unresolved.map((u) => [u.node, u.ip, u.cidrs.join(',') || '-', u.reason]))));
  if (plan.pending.length) out.push(section('Pending nodes (no pod CIDR yet)', textTable(['NODE', 'IP'], plan.pending.map((p) => [p.node, p.ip]))));
  if (plan.protected.length) {
    out.push(section('Protected routes (kept as they are: neither rewritten nor deleted)', textTable(['ROUTE TABLE', 'DESTINATION', 'NODE', 'REASON'], plan.protected.map((p) => [p.routeTableId, p.destination, p.node, p.reason]))));
  }
  if (plan.conflicts.length) out.push(section('Conflicts with unmanaged routes', textTable(['ROUTE TABLE', 'DESTINATION', 'NODE', 'EXISTING TARGET'], plan.conflicts.map((c) => [c.routeTableId, c.destination, c.node, c.existingTarget]))));
  return out;
}

function summaryLine(report: RunReport): string {
  const c = report.plan.counts;
  const parts = [`create ${c.create}`, `replace ${c.replace}`, `delete ${c.delete}`, `keep ${c.keep}`, `vetoed ${c.vetoed}`, `source/dest fixes ${c.sourceDestCheckFixes}`];
  let text = `\n${parts.join(', ')}.`;
  if (report.outcome) {
    const o = report.outcome;
    text += ` Done: ${o.created} created, ${o.replaced} replaced, ${o.deleted} deleted, ${o.sourceDestCheckDisabled} source/dest checks off, ${o.failed.length} failed.`;
    for (const failure of o.failed) {
      text += `\n  failed ${failure.kind} ${failure.routeTableId ?? failure.networkInterfaceId ?? ''} ${failure.destination ?? ''}: ${failure.error}`;
    }
    for (const held of o.heldBack ?? []) text += `\n  not deleted ${held.routeTableId} ${held.destination}: ${held.reason}`;
    for (const gone of o.targetGone ?? []) {
      const where = [gone.routeTableId, gone.destination].filter((part) => part !== undefined).join(' ');
      text += `\n  left ${gone.kind}${where ? ` ${where}` : ''}: ${gone.networkInterfaceId} was deleted during the run; the next run plans again`;
    }
  } else if (report.mode === 'plan') {
    text += ' Nothing was changed (plan).';
  }
  return text;
}

export type NodeState = 'routed' | 'drift' | 'pending' | 'refused' | 'unresolved';

export interface NodeStatus {
  name: string;
  ip: string | null;
  networkInterfaceId: string | null;
  sourceDestCheck: 'off' | 'on' | null;
  cidrs: string[];
  state: NodeState;
  detail: string;
}

/** One row per CiliumNode: where it stands, derived from the observed state and its plan. */
export function nodeStatuses(plan: RoutePlan, state: ObservedState): NodeStatus[] {
  return state.ciliumNodes.map((record): NodeStatus => {
    const name = record.name;
    const claim = state.claims.nodes.find((node) => node.node === name);
    const routed = plan.routed.find((node) => node.node === name);
    const fix = routed ? plan.sourceDestCheck.find((entry) => entry.networkInterfaceId === routed.networkInterfaceId) : undefined;
    const refusals = plan.refused.filter((entry) => entry.node === name);
    const unresolved = plan.unresolved.find((entry) => entry.node === name);
    const pending = plan.pending.some((entry) => entry.node === name);
    const drift = plan.actions.filter((action) => action.node === name && action.action !== 'keep');
    // A route of this node's that a guard keeps pointing elsewhere (its old target is protected): not in place,
    // and "apply" will not change it until the guard's reason is gone.
    const held = routed
      ? plan.actions.filter((action) => action.node === name && action.action === 'keep' && action.target === undefined && action.previousTarget !== routed.networkInterfaceId)
      : [];
    const claimed = [...record.podCIDRs, ...record.poolCIDRs.flatMap((pool) => pool.cidrs)];
    const base = {
      name,
      ip: claim?.ip.text ?? record.addresses.find((address) => address.type === 'InternalIP' && address.ip !== '')?.ip ?? null,
      networkInterfaceId: routed?.networkInterfaceId ?? null,
      sourceDestCheck: fix ? (fix.action === 'disable' ? ('on' as const) : ('off' as const)) : null,
      cidrs: routed && routed.cidrs.length > 0 ? routed.cidrs : claimed,
    };
    const notes = refusals.map((r) => `${r.field}: ${r.reason}`);
    if (!claim) return { ...base, state: 'refused', detail: notes.join('; ') };
    if (unresolved) return { ...base, state: 'unresolved', detail: unresolved.reason };
    if (drift.length || held.length || fix?.action === 'disable') {
      const detail = [
        ...drift.map((a) => `${a.action} ${a.destination} in ${a.routeTableId}`),
        ...held.map((a) => `${a.destination} in ${a.routeTableId} still points at ${a.previousTarget ?? 'another target'}, ${a.reason}`),
        ...(fix?.action === 'disable' ? ['source/dest check is on'] : []),
        ...notes,
      ];
      return { ...base, state: 'drift', detail: detail.join('; ') };
    }
    if (pending) return { ...base, state: 'pending', detail: 'no pod CIDR allocated yet' };
    // Every CIDR it claims was refused (out of scope or disputed): nothing of it is routed.
    if (claim.cidrs.length === 0) return { ...base, state: 'refused', detail: notes.join('; ') };
    return { ...base, state: 'routed', detail: ['routes in place', ...notes].join('; ') };
  });
}

export function statusText(plan: RoutePlan, state: ObservedState, statuses: NodeStatus[]): string {
  const rows = statuses.map((s) => [s.name, s.ip ?? '-', s.networkInterfaceId ?? '-', s.sourceDestCheck ?? '-', s.cidrs.join(',') || '-', s.state, s.detail]);
  const c = plan.counts;
  return [
    `Cluster ${state.cluster.name}` + (state.vpcId ? ` (remote VPC ${state.vpcId})` : '') + `, ${state.routeTables.length} managed route table(s), ${c.managedRoutes} managed routes`,
    '',
    rows.length ? textTable(['NODE', 'IP', 'ENI', 'SRC/DST CHECK', 'CIDRS', 'STATE', 'DETAIL'], rows) : '(no CiliumNodes)',
    '',
    `Drift: ${c.drift} route(s), ${c.sourceDestCheckFixes} source/dest check(s)` + (c.drift + c.sourceDestCheckFixes > 0 ? '; "apply" converges them.' : '.'),
    ...(plan.protected.length > 0 ? [`Protected: ${plan.protected.length} route(s) kept as they are until the node named in "plan" is fixed.`] : []),
  ].join('\n');
}
