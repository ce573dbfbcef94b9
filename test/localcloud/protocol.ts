/**
 * What every local AWS service handler sees and returns. The server parses the HTTP request once,
 * finds the service from the SigV4 credential scope (as AWS's front end routes by host), and hands it
 * here; each handler renders its own protocol's success and error shapes.
 */
import type { CloudState } from './state.js';

export interface AwsRequest {
  /** Signing name from the credential scope: ec2, eks, sts, ssm, events. */
  service: string;
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: string;
  /** Access key id from the Authorization header, if signed. */
  accessKeyId?: string;
}

export interface AwsResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** An AWS error with its wire code (e.g. `InvalidRoute.NotFound`) and HTTP status. */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }
}

export interface ServiceHandler {
  service: string;
  /** The API action a request names (for the call log, throttling and faults), or throws AwsError. */
  actionOf(request: AwsRequest): string;
  handle(request: AwsRequest, action: string, state: CloudState): Promise<AwsResponse> | AwsResponse;
  errorResponse(error: AwsError, action: string): AwsResponse;
}

export const requestId = () => crypto.randomUUID();

export function xmlEscape(value: unknown): string {
  return String(value).replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): AwsResponse {
  return { status, headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId(), ...headers }, body: JSON.stringify(body) };
}

export function xmlResponse(status: number, body: string): AwsResponse {
  return { status, headers: { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': requestId() }, body: `<?xml version="1.0" encoding="UTF-8"?>\n${body}` };
}
