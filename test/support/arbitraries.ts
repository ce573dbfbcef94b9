/**
 * Shared pieces of the property-based tests: how a random list of managed routes per table becomes route
 * table records, with the foreign routes every table carries in front.
 */
import type { RouteRecord, RouteTableRecord } from '../../functions/core/types.js';

/** ENI `i` of the random worlds. */
export const propertyEniId = (i: number) => `eni-${String(i).padStart(17, '0')}`;

export interface RandomRoute {
  destination: string;
  /** Index of the target ENI. */
  eni: number;
  blackhole: boolean;
}

/** One table per list: `rtb-…0`, `rtb-…1`, …, each with `foreign` first, then the managed routes (origin CreateRoute, to ENIs). */
export function routeTablesFrom(tables: RandomRoute[][], foreign: RouteRecord[], vpcId: string): RouteTableRecord[] {
  return tables.map((routes, index) => ({
    routeTableId: `rtb-${String(index).padStart(17, '0')}`,
    vpcId,
    routes: [
      ...foreign,
      ...routes.map(
        (route): RouteRecord => ({
          destination: route.destination,
          destinationType: route.destination.includes(':') ? 'ipv6' : 'ipv4',
          origin: 'CreateRoute',
          state: route.blackhole ? 'blackhole' : 'active',
          networkInterfaceId: propertyEniId(route.eni),
        }),
      ),
    ],
  }));
}
