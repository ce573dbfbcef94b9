/**
 * What a handler writes, captured per test: Powertools writes INFO lines and EMF blobs to stdout, WARN and
 * ERROR lines to stderr (as Lambda's console does), one JSON document per line.
 */
import { beforeEach, jest } from '@jest/globals';

type Json = Record<string, any>;

export interface CapturedOutput {
  /** Everything written since the test started, as written. */
  text(): string;
  /** Forgets what was written so far. */
  clear(): void;
  /** The JSON lines written so far. */
  lines(): Json[];
  /** Log lines (not EMF blobs), optionally only those with this message. */
  logLines(message?: string): Json[];
}

/** Installs the capture for every test of the calling file. */
export function captureProcessOutput(): CapturedOutput {
  let output: string[] = [];
  beforeEach(() => {
    output = [];
    const capture = (chunk: string | Uint8Array) => {
      output.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    };
    jest.spyOn(process.stdout, 'write').mockImplementation(capture);
    jest.spyOn(process.stderr, 'write').mockImplementation(capture);
  });
  const lines = () =>
    output
      .join('')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Json);
  return {
    text: () => output.join(''),
    clear: () => {
      output = [];
    },
    lines,
    logLines: (message) => lines().filter((line) => !('_aws' in line) && (message === undefined || line.message === message)),
  };
}
