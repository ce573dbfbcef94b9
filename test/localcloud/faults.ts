/**
 * Fault, latency and throttling injection, switchable per service and action while the cloud runs.
 * Services: ec2, eks, sts, ssm, events, kubernetes. Actions are API names (`CreateRoute`) or, for
 * Kubernetes, `<verb> <resource>` (`list ciliumnodes`).
 */

import { setTimeout as sleep } from 'node:timers/promises';

export interface FaultRule {
  service?: string;
  action?: string;
  /**
   * `error`: answer with `status` and `code`; `timeout`: hold the request and never answer (the client
   * times out); `reset`: destroy the connection; `wrong-ca` (kubernetes only): present a certificate that
   * the cluster CA did not sign; `empty` (kubernetes list actions only, `list ciliumnodes`): answer the list
   * with 200 and no items while the objects still exist (authentication and RBAC still apply).
   */
  kind: 'error' | 'timeout' | 'reset' | 'wrong-ca' | 'empty';
  status?: number;
  code?: string;
  message?: string;
  /** Affect only this many matching calls, then expire (default: until cleared). */
  times?: number;
  /** Let this many matching calls through before the fault starts. */
  afterCalls?: number;
}

export interface LatencyRule {
  service?: string;
  action?: string;
  /** Fixed delay, or a uniform delay between minMs and maxMs. */
  fixedMs?: number;
  minMs?: number;
  maxMs?: number;
}

interface ActiveFault extends FaultRule {
  id: number;
  seen: number;
}

const matches = (rule: { service?: string; action?: string }, service: string, action: string) =>
  (rule.service === undefined || rule.service === service) && (rule.action === undefined || rule.action === action);

/** What `intercept` decided for one call. */
export type Interception = { kind: 'dropped' } | { kind: 'error'; fault: FaultRule } | { kind: 'empty'; fault: FaultRule } | { kind: 'pass' };

/** The Kubernetes list actions the fake API serves (kubernetes.ts), as faults and the call log name them: the only calls an `empty` fault answers. */
export const LIST_ACTIONS = ['list ciliumnodes', 'list nodes', 'list pods'] as const;
export const isListAction = (action: string) => (LIST_ACTIONS as readonly string[]).includes(action);

export class FaultInjector {
  private faults: ActiveFault[] = [];
  private latency: LatencyRule[] = [];
  private nextId = 1;

  addFault(rule: FaultRule): number {
    const id = this.nextId++;
    this.faults.push({ ...rule, id, seen: 0 });
    return id;
  }

  setLatency(rules: LatencyRule[]): void {
    this.latency = [...rules];
  }

  clear(): void {
    this.faults = [];
    this.latency = [];
  }

  list(): { faults: FaultRule[]; latency: LatencyRule[] } {
    return { faults: this.faults.map(({ id: _id, seen: _seen, ...rule }) => rule), latency: this.latency };
  }

  /** The fault this call runs into, if any; counts the call against the rule. */
  take(service: string, action: string): FaultRule | undefined {
    for (const fault of this.faults) {
      // wrong-ca acts on TLS connections (see `active`), never on a request.
      if (fault.kind === 'wrong-ca' || !matches(fault, service, action)) continue;
      // empty acts on list calls only; other calls neither get it nor count against it.
      if (fault.kind === 'empty' && !isListAction(action)) continue;
      fault.seen += 1;
      if (fault.afterCalls !== undefined && fault.seen <= fault.afterCalls) continue;
      if (fault.times !== undefined) {
        if (fault.times <= 0) continue;
        fault.times -= 1;
      }
      return fault;
    }
    return undefined;
  }

  /** Whether a fault of `kind` is active for the service (without counting a call). */
  active(service: string, kind: FaultRule['kind']): boolean {
    return this.faults.some((f) => f.kind === kind && (f.service === undefined || f.service === service) && (f.times === undefined || f.times > 0));
  }

  delayMs(service: string, action: string): number {
    const rule = this.latency.find((r) => matches(r, service, action));
    if (!rule) return 0;
    if (rule.fixedMs !== undefined) return rule.fixedMs;
    const min = rule.minMs ?? 0;
    const max = rule.maxMs ?? min;
    return min + Math.random() * (max - min);
  }

  /**
   * Applies the latency and the fault for one call, as every server here does before answering: a timeout
   * is never answered and a reset destroys the socket (both recorded through `record` and reported as
   * `dropped`); an error fault is handed back for the caller to render in its own protocol, an empty fault for
   * the caller (the Kubernetes API) to answer its list with no items.
   */
  async intercept(
    service: string,
    action: string,
    socket: { destroy(): void },
    record: (status: number, error: string) => void,
    signal?: AbortSignal,
  ): Promise<Interception> {
    const delay = this.delayMs(service, action);
    if (delay > 0) await sleep(delay, undefined, signal ? { signal } : undefined);
    const fault = this.take(service, action);
    if (fault?.kind === 'timeout') {
      record(0, 'Timeout');
      return { kind: 'dropped' }; // never answered: the client's own timeout ends the request
    }
    if (fault?.kind === 'reset') {
      record(0, 'ConnectionReset');
      socket.destroy();
      return { kind: 'dropped' };
    }
    if (fault?.kind === 'error' || fault?.kind === 'empty') return { kind: fault.kind, fault };
    return { kind: 'pass' };
  }
}
