/** The names an operator types for each configuration field, so errors name the option they typed. */
import type { ConfigLabels } from '../core/config.js';

export const CLI_LABELS: ConfigLabels = {
  clusterName: '--cluster',
  region: '--region',
  routeTableIds: '--route-table-ids',
  routeTableTag: '--route-table-tag',
  vpcId: '--vpc-id',
  readerRoleArn: '--reader-role-arn',
  podNetworks: '--pod-networks',
  nodeNetworks: '--node-networks',
  maxDeleteFraction: '--max-delete-fraction',
  minDeleteBudget: '--min-delete-budget',
  allowEmpty: '--allow-empty',
  force: '--force',
  applyConcurrency: '--concurrency',
};
