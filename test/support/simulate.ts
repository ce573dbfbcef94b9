/**
 * Applies a plan's mutations to route-table records the way EC2 would, so property tests can check
 * what the tables look like after a run without any AWS (or local-cloud) call.
 */
import type { RoutePlan } from '../../functions/core/plan.js';
import type { RouteRecord, RouteTableRecord } from '../../functions/core/types.js';

export function applyPlanToTables(tables: RouteTableRecord[], plan: RoutePlan): RouteTableRecord[] {
  const next = tables.map((table) => ({ ...table, routes: table.routes.map((route) => ({ ...route })) }));
  const byId = new Map(next.map((table) => [table.routeTableId, table]));
  for (const action of plan.actions) {
    const table = byId.get(action.routeTableId);
    if (!table) throw new Error(`plan names unknown table ${action.routeTableId}`);
    const index = table.routes.findIndex((route) => route.destination === action.destination);
    if (action.action === 'create') {
      if (index >= 0) throw new Error(`create of existing ${action.destination} in ${table.routeTableId}`);
      const route: RouteRecord = {
        destination: action.destination,
        destinationType: action.destination.includes(':') ? 'ipv6' : 'ipv4',
        origin: 'CreateRoute',
        state: 'active',
        networkInterfaceId: action.target!,
      };
      table.routes.push(route);
    } else if (action.action === 'replace') {
      if (index < 0) throw new Error(`replace of missing ${action.destination}`);
      const { instanceId: _dropped, ...rest } = table.routes[index]!;
      table.routes[index] = { ...rest, networkInterfaceId: action.target!, state: 'active' };
    } else if (action.action === 'delete') {
      if (index < 0) throw new Error(`delete of missing ${action.destination}`);
      table.routes.splice(index, 1);
    }
  }
  return next;
}
