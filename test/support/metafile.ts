/**
 * Reading an esbuild metafile of a code-split function bundle (infra/bundling.ts): which output files module init
 * loads, and which source files each set of outputs holds code of. For test/infra/bundle.test.ts and the bench.
 */
import { resolve } from 'node:path';
import type { Metafile } from 'esbuild';

/** Every code file of the bundle (not the source maps), as absolute paths. */
export function codeOutputs(meta: Metafile): string[] {
  return Object.keys(meta.outputs)
    .filter((path) => !path.endsWith('.map'))
    .map((path) => resolve(path));
}

/** The output files module init loads: `entryFile` and every chunk it imports statically, transitively (absolute paths). */
export function staticallyLoaded(meta: Metafile, entryFile: string): string[] {
  const byPath = new Map(Object.entries(meta.outputs).map(([path, output]) => [resolve(path), output]));
  if (!byPath.has(resolve(entryFile))) throw new Error(`no output ${entryFile} in the metafile`);
  const loaded = new Set<string>();
  const visit = (path: string) => {
    if (loaded.has(path)) return;
    loaded.add(path);
    for (const imported of byPath.get(path)!.imports) if (imported.kind === 'import-statement' && !imported.external) visit(resolve(imported.path));
  };
  visit(resolve(entryFile));
  return [...loaded];
}

/** The source files the given outputs hold code of, with the bytes of each (inputs left empty by tree-shaking are not counted). */
export function inputsOf(meta: Metafile, outputs: readonly string[]): Record<string, number> {
  const wanted = new Set(outputs.map((path) => resolve(path)));
  const inputs: Record<string, number> = {};
  for (const [path, output] of Object.entries(meta.outputs)) {
    if (!wanted.has(resolve(path))) continue;
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) if (bytesInOutput > 0) inputs[input] = (inputs[input] ?? 0) + bytesInOutput;
  }
  return inputs;
}

/** The imports the given outputs make (`kind` and path, external ones included). */
export function importsOf(meta: Metafile, outputs: readonly string[]): { path: string; kind: string; external?: boolean; from: string }[] {
  const wanted = new Set(outputs.map((path) => resolve(path)));
  return Object.entries(meta.outputs)
    .filter(([path]) => wanted.has(resolve(path)))
    .flatMap(([path, output]) => output.imports.map((entry) => ({ ...entry, from: resolve(path) })));
}

/** The code files holding code of a source file whose path contains `fragment` (absolute paths). */
export function outputsHolding(meta: Metafile, fragment: string): string[] {
  return codeOutputs(meta).filter((file) => Object.keys(inputsOf(meta, [file])).some((input) => input.includes(fragment)));
}
