/**
 * SSM adapter: managed-instance (`mi-…`) lookups through `ssm:DescribeInstanceInformation`.
 */
import { paginateDescribeInstanceInformation, type InstanceInformation, type SSMClient } from '@aws-sdk/client-ssm';
import type { ManagedInstancePort, ManagedInstanceRecord } from '../core/ports.js';

/** InstanceInformationStringFilter.Values holds 1–100 items (SSM API model). */
export const MAX_INSTANCE_IDS_PER_CALL = 100;
/** DescribeInstanceInformation MaxResults range is 5–50 (default 10). */
const PAGE_SIZE = 50;

export class SsmManagedInstanceAdapter implements ManagedInstancePort {
  constructor(private readonly client: SSMClient) {}

  async describeManagedInstances(instanceIds: string[]): Promise<ManagedInstanceRecord[]> {
    const unique = [...new Set(instanceIds)];
    const records: ManagedInstanceRecord[] = [];
    // Batches run one after another: SSM's request rate is far below EC2's, and a few batches suffice.
    for (let start = 0; start < unique.length; start += MAX_INSTANCE_IDS_PER_CALL) {
      const batch = unique.slice(start, start + MAX_INSTANCE_IDS_PER_CALL);
      const pages = paginateDescribeInstanceInformation(
        { client: this.client, pageSize: PAGE_SIZE },
        { Filters: [{ Key: 'InstanceIds', Values: batch }] },
      );
      for await (const page of pages) {
        for (const info of page.InstanceInformationList ?? []) {
          const record = toManagedInstanceRecord(info);
          if (record) records.push(record);
        }
      }
    }
    return records;
  }
}

function toManagedInstanceRecord(info: InstanceInformation): ManagedInstanceRecord | undefined {
  if (!info.InstanceId) return undefined;
  return {
    instanceId: info.InstanceId,
    ipAddress: info.IPAddress,
    pingStatus: info.PingStatus,
    activationId: info.ActivationId,
    computerName: info.ComputerName,
  };
}
