/** Writes scenario.schema.json from the zod schema in scenario.ts (`npm run -s localcloud:schema`). */
import { writeFileSync } from 'node:fs';
import { scenarioJsonSchema } from './scenario.js';

writeFileSync(new URL('./scenario.schema.json', import.meta.url), `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`);
