/**
 * The core is pure: no SDK, no Kubernetes client, no network or file I/O. This reads the sources and
 * fails on any import of those, whatever the import form (static, type-only, re-export, dynamic, require).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CORE = join(dirname(fileURLToPath(import.meta.url)), '../../../functions/core');

const FORBIDDEN: RegExp[] = [
  /^@aws-sdk(\/|$)/,
  /^@smithy(\/|$)/,
  /^@kubernetes\/client-node(\/|$)/,
  /^(node:)?https?(\/|$)/,
  /^(node:)?fs(\/|$)/,
  /^(node:)?net(\/|$)/,
];

/** Every module specifier a source text names. */
function specifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) found.push(match[1]!);
  return found;
}

const forbidden = (specifier: string) => FORBIDDEN.some((pattern) => pattern.test(specifier));

describe('the import scanner itself', () => {
  test.each([
    ["import { EC2Client } from '@aws-sdk/client-ec2';", '@aws-sdk/client-ec2', true],
    ["import type { Route } from '@aws-sdk/client-ec2';", '@aws-sdk/client-ec2', true],
    ['import {\n  HttpRequest,\n} from "@smithy/protocol-http";', '@smithy/protocol-http', true],
    ["import * as k8s from '@kubernetes/client-node';", '@kubernetes/client-node', true],
    ["export { request } from 'node:https';", 'node:https', true],
    ["import https from 'https';", 'https', true],
    ["import 'node:http';", 'node:http', true],
    ["const fs = await import('node:fs');", 'node:fs', true],
    ["import { readFile } from 'fs/promises';", 'fs/promises', true],
    ["const net = require('net');", 'net', true],
    ["import { z } from 'zod';", 'zod', false],
    ["import ipaddr from 'ipaddr.js';", 'ipaddr.js', false],
    ["import { parseCidr } from './cidr.js';", './cidr.js', false],
    ["import { fsm } from 'fsm';", 'fsm', false],
    ["import { x } from 'network-utils';", 'network-utils', false],
  ])('%j names %s (forbidden: %p)', (source, specifier, isForbidden) => {
    expect(specifiers(source)).toContain(specifier);
    expect(forbidden(specifier)).toBe(isForbidden);
  });
});

describe('functions/core is pure', () => {
  const files = readdirSync(CORE).filter((name) => name.endsWith('.ts'));

  test('the core files are all there', () => {
    expect(files).toEqual(expect.arrayContaining(['cidr.ts', 'claims.ts', 'config.ts', 'errors.ts', 'guards.ts', 'plan.ts', 'ports.ts', 'scope.ts', 'types.ts']));
  });

  test('the scanner sees the real imports of the core', () => {
    const read = (file: string) => specifiers(readFileSync(join(CORE, file), 'utf8'));
    expect(read('cidr.ts')).toContain('ipaddr.js');
    expect(read('config.ts')).toEqual(expect.arrayContaining(['zod', './cidr.js', './errors.js', './guards.js', './scope.js', './types.js']));
    expect(read('plan.ts')).toEqual(expect.arrayContaining(['./claims.js', './cidr.js', './guards.js', './scope.js', './types.js']));
  });

  test.each(files)('%s imports no SDK, Kubernetes client or I/O module', (file) => {
    const source = readFileSync(join(CORE, file), 'utf8');
    const bad = specifiers(source).filter(forbidden);
    expect(bad).toEqual([]);
  });
});
