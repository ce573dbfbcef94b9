/**
 * How the Lambda functions are bundled: one esbuild configuration (functionEsbuildOptions, its plugin included)
 * for the stack, for test/infra/bundle.test.ts and for the bench (test/bench/bundle.ts). The stack runs it through
 * esbuild's JS API in a child process (infra/bundle-function.ts) as the asset's local bundling, not through
 * NodejsFunction: NodejsFunction drives esbuild's command line, which takes no plugins, and the plugin is what
 * keeps ≈ 430 KiB of zod that no function uses out of the reconcile bundle (module init is mostly V8 compiling
 * the bundle; `npm run bench -- --only bundle` measures it).
 */
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { BuildOptions, Plugin } from 'esbuild';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The child process that bundles one function for the stack (its arguments: entry, output directory). */
const BUNDLE_FUNCTION_SCRIPT = fileURLToPath(new URL('./bundle-function.ts', import.meta.url));

/**
 * esbuild's ESM output has no `require`; a CommonJS dependency that calls it (for a Node built-in) would
 * throw "Dynamic require of … is not supported". The alias keeps the banner's binding from colliding with a
 * bundled module's own top-level `createRequire`.
 */
export const ESM_REQUIRE_SHIM = "import { createRequire as __ehrCreateRequire } from 'node:module'; const require = __ehrCreateRequire(import.meta.url);";

/** `import { z } from 'zod'` (alone, or among other names) on a line of its own. */
const ZOD_NAMED_IMPORT = /^import \{([^}]*)\} from 'zod';$/gm;

/**
 * The source with every value import of `z` from 'zod' turned into `import * as z from 'zod'` (the other names of
 * the same import stay named). The same binding either way: zod's index re-exports its whole API both as the
 * namespace `z` and name by name, so `z.object` is the same function through either.
 */
export function importZodAsNamespace(source: string): string {
  return source.replace(ZOD_NAMED_IMPORT, (line, names: string) => {
    const list = names.split(',').map((name) => name.trim()).filter(Boolean);
    if (!list.includes('z')) return line;
    const others = list.filter((name) => name !== 'z');
    return `${others.length ? `import { ${others.join(', ')} } from 'zod'; ` : ''}import * as z from 'zod';`;
  });
}

/**
 * esbuild cannot tree-shake `import { z } from 'zod'`: the namespace re-exported as `z` is one object, so one such
 * import keeps all of zod (every locale, the JSON-schema converters, ≈ 430 KiB). Our code imports `* as z`,
 * which esbuild shakes name by name (test/infra/bundle.test.ts keeps it so); Powertools Parser's event schemas
 * use the named form, and this plugin rewrites just those import lines as they are bundled.
 */
export const powertoolsParserWithZodNamespace: Plugin = {
  name: 'powertools-parser-with-zod-namespace',
  setup(build) {
    build.onLoad({ filter: /[\\/]@aws-lambda-powertools[\\/]parser[\\/]lib[\\/]esm[\\/].*\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const rewritten = importZodAsNamespace(source);
      return rewritten === source ? undefined : { contents: rewritten, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

/** The plugins every function bundle is built with. */
export const BUNDLE_PLUGINS: readonly Plugin[] = [powertoolsParserWithZodNamespace];

/**
 * How every function is bundled, as esbuild JS API options for its entry file. `@aws-sdk/*` is bundled (nothing
 * external): a function runs the SDK version the tests ran against, not whichever one the runtime image carries
 * that week.
 *
 * Minified except for identifiers, and a source map beside the bundle that the runtime does not load (no
 * `--enable-source-maps`, see RUNTIME_ENVIRONMENT in constructs/route-sync.ts). Trade-off, measured with the
 * bench when the choice was made (Node 22, 2 vCPU):
 * - With `--enable-source-maps`, Node reads and parses the ≈ 2.8 MB map at module init (≈ +20 % module init,
 *   30-80 ms, on every cold start) and decodes all of its mappings at the first stack trace a container produces
 *   (≈ +130-160 ms, on the very invocation that is already failing). Stack frames then name TypeScript files.
 * - Without it, frames read `at toCiliumNodeRecord (file:///var/task/index.mjs:<line>:<column>)`: the
 *   real function and class names, because identifiers are not minified, which says where an error came from.
 *   For a file and line, decode the position with the map shipped in the same asset (`index.mjs.map`), or set
 *   NODE_OPTIONS=--enable-source-maps on the function while investigating.
 * Keeping identifiers costs nothing measurable at load (V8's time goes into parsing and compiling code, not
 * into the length of names) and makes the map smaller (no `names` table); the bundle grows ≈ 40 %.
 */
export function functionEsbuildOptions(entry: string, outfile: string): BuildOptions {
  return {
    entryPoints: [entry],
    // `outfile` names the entry's file. With code splitting esbuild writes a directory: the entry (`index.mjs`),
    // the chunks it imports statically (code it shares with a lazy chunk), and for each module reached only
    // through `import()` a chunk (chunks/) that is loaded when that import runs, not at module init: the
    // reconciler's SSM lookup (functions/service/dependencies.ts) and, in both functions, the AWS SDK's own
    // lazy imports (the credential providers past the environment's, which a Lambda never reaches, and event
    // streams). Without splitting, esbuild inlines those in lazy wrappers that module init still compiles, and
    // cannot tree-shake inside them.
    outdir: dirname(outfile),
    entryNames: basename(outfile, extname(outfile)),
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': extname(outfile) },
    splitting: true,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    minifyWhitespace: true,
    minifySyntax: true,
    minifyIdentifiers: false,
    sourcemap: true,
    sourcesContent: false,
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_SHIM },
    external: [],
    plugins: [...BUNDLE_PLUGINS],
    logLevel: 'warning',
  };
}

/** The file name of the bundle in the asset; the handler is `index.handler`. */
export const BUNDLE_FILE = 'index.mjs';

/**
 * A function's code: `entry` bundled with functionEsbuildOptions into the asset (`index.mjs`, its chunks and their
 * maps), on this machine. The bundling runs in a child process because the asset's local bundling is synchronous
 * and esbuild's plugins need its asynchronous API. A failed bundle fails the synth (no fallback to a Docker build).
 * The asset hash is the bundle's, as with NodejsFunction: a change that does not change the bundle deploys nothing.
 */
export function bundledFunctionCode(entry: string): lambda.Code {
  return lambda.Code.fromAsset(ROOT, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Required by the type; never used, tryBundle either bundles or throws.
      image: lambda.Runtime.NODEJS_22_X.bundlingImage,
      // What tryBundle runs, as the command the image would run. It also tells the functions apart: they are
      // bundled from the same root with the same options and differ only in the entry, which the CDK's asset
      // cache sees only here (not inside tryBundle); without it, a stack's second function would silently
      // get the first one's bundle (test/infra/bundle.test.ts).
      command: ['node', '--import', 'tsx', relative(ROOT, BUNDLE_FUNCTION_SCRIPT), relative(ROOT, entry), `/asset-output/${BUNDLE_FILE}`],
      local: {
        tryBundle(outputDir) {
          const result = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), BUNDLE_FUNCTION_SCRIPT, entry, join(outputDir, BUNDLE_FILE)], {
            cwd: ROOT,
            stdio: ['ignore', 'inherit', 'inherit'],
          });
          if (result.status !== 0) throw new Error(`bundling ${entry} failed (exit ${result.status ?? result.signal ?? result.error?.message})`);
          return true;
        },
      },
    },
  });
}
