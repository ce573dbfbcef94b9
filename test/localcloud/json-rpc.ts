/**
 * Pieces the JSON-speaking local services share (SSM and EventBridge are AWS JSON 1.1; EKS is REST-JSON):
 * request parsing, the JSON 1.1 error shape, model-constraint errors and opaque pagination tokens.
 *
 * AWS JSON 1.1 ("AWS JSON 1.1 protocol", Smithy spec): every call is `POST /` with
 * `X-Amz-Target: <ServicePrefix>.<Operation>`; an error is an HTTP 4xx/5xx whose JSON body names the
 * error in `__type` (the SDK v3 reads `__type`, then `code`, then the `x-amzn-errortype` header).
 */
import { AwsError, type AwsRequest, type AwsResponse, jsonResponse } from './protocol.js';

/** `X-Amz-Target: AmazonSSM.SendCommand` → `SendCommand`; anything else is `UnknownOperationException`. */
export function targetAction(request: AwsRequest, prefix: string, known: ReadonlySet<string>): string {
  const target = request.headers['x-amz-target'] ?? '';
  const [service, operation] = target.split('.', 2);
  if (request.method !== 'POST' || service !== prefix || !operation || !known.has(operation)) {
    throw new AwsError('UnknownOperationException', target ? `Unknown operation ${target}` : 'Missing X-Amz-Target header', 400);
  }
  return operation;
}

/** The request body as a JSON object (an empty body is `{}`); malformed JSON is a `SerializationException`. */
export function parseJsonBody(request: AwsRequest): Record<string, unknown> {
  if (request.body.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(request.body);
  } catch {
    throw new AwsError('SerializationException', 'Start of structure or map found where not expected.', 400);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new AwsError('SerializationException', 'Start of structure or map found where not expected.', 400);
  }
  return parsed as Record<string, unknown>;
}

/** AWS JSON 1.1 error: `{"__type": "<code>", "message": "..."}` with the error's HTTP status. */
export function jsonRpcErrorResponse(error: AwsError): AwsResponse {
  return jsonResponse(error.status, { __type: error.code, message: error.message });
}

/**
 * A violated model constraint, worded as AWS's request validation words it (e.g. "1 validation error
 * detected: Value '100' at 'maxResults' failed to satisfy constraint: Member must have value less than
 * or equal to 50"). `code` is `ValidationException` for JSON services, `ValidationError` for STS.
 */
export function constraintError(field: string, value: unknown, constraint: string, code = 'ValidationException'): AwsError {
  const shown = value === undefined || value === null ? 'null' : `'${typeof value === 'string' ? value : JSON.stringify(value)}'`;
  return new AwsError(code, `1 validation error detected: Value ${shown} at '${field}' failed to satisfy constraint: ${constraint}`, 400);
}

export function optionalString(body: Record<string, unknown>, key: string, field = lowerFirst(key)): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new AwsError('SerializationException', `${field}: expected a string`, 400);
  return value;
}

export function requiredString(body: Record<string, unknown>, key: string, field = lowerFirst(key)): string {
  const value = optionalString(body, key, field);
  if (value === undefined) throw constraintError(field, undefined, 'Member must not be null');
  return value;
}

/** An integer in [min, max] (inclusive), or `fallback` when absent. */
export function boundedInteger(body: Record<string, unknown>, key: string, min: number, max: number, fallback: number, field = lowerFirst(key)): number {
  const value = body[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new AwsError('SerializationException', `${field}: expected an integer`, 400);
  if (value < min) throw constraintError(field, String(value), `Member must have value greater than or equal to ${min}`);
  if (value > max) throw constraintError(field, String(value), `Member must have value less than or equal to ${max}`);
  return value;
}

export function optionalArray(body: Record<string, unknown>, key: string, field = lowerFirst(key)): unknown[] | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new AwsError('SerializationException', `${field}: expected a list`, 400);
  return value;
}

const lowerFirst = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);

const TOKEN_PREFIX = 'lc1.';

/** An opaque continuation token: "continue after this key" (stable while items come and go). */
export function encodeToken(after: string): string {
  return TOKEN_PREFIX + Buffer.from(JSON.stringify({ after }), 'utf8').toString('base64url');
}

export function decodeToken(token: string, errorCode: string, message = 'The specified token is not valid.'): string {
  if (token.startsWith(TOKEN_PREFIX)) {
    try {
      const decoded = JSON.parse(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8')) as { after?: unknown };
      if (typeof decoded.after === 'string') return decoded.after;
    } catch {
      // fall through
    }
  }
  throw new AwsError(errorCode, message, 400);
}

/**
 * One page of `items` (sorted by `keyOf`), starting after the token's key. `nextToken` is set only when
 * more items follow, as AWS leaves NextToken out of the last page.
 */
export function paginate<T>(
  items: T[],
  keyOf: (item: T) => string,
  pageSize: number,
  nextToken: string | undefined,
  invalidTokenCode: string,
): { page: T[]; nextToken?: string } {
  const sorted = [...items].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  let start = 0;
  if (nextToken !== undefined && nextToken !== '') {
    const after = decodeToken(nextToken, invalidTokenCode);
    start = sorted.findIndex((item) => keyOf(item) > after);
    if (start < 0) start = sorted.length;
  }
  const page = sorted.slice(start, start + pageSize);
  const more = start + pageSize < sorted.length;
  return more ? { page, nextToken: encodeToken(keyOf(page[page.length - 1]!)) } : { page };
}

/** Epoch seconds, the JSON protocols' default timestamp format. */
export const epochSeconds = (date: Date) => date.getTime() / 1000;
