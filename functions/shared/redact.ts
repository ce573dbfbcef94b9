/**
 * What a Kubernetes bearer token, or the presigned STS URL inside it, looks like. The adapters never put
 * one in a message; this is the second line of defence in case a library error ever echoes a request.
 */
const SECRET_PATTERNS: [RegExp, string][] = [
  [/k8s-aws-v1\.[A-Za-z0-9_\-=]+/g, 'k8s-aws-v1.[REDACTED]'],
  [/(X-Amz-(?:Signature|Security-Token|Credential)=)[^&\s"']+/gi, '$1[REDACTED]'],
  [/(Bearer\s+)[A-Za-z0-9_\-.=/+]{16,}/g, '$1[REDACTED]'],
];

/** `text` with any bearer token or presigned-URL credential replaced by a marker. */
export function redactSecrets(text: string): string {
  let redacted = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) redacted = redacted.replace(pattern, replacement);
  return redacted;
}
