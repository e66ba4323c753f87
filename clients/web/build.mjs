// Bundles the page (index.html + app.js) with esbuild into dist/, or the folder given as the first argument;
// `npm run build` generates the code from protos/ and type-checks it first.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { build } from 'esbuild';

const out = resolve(process.argv[2] ?? 'dist');
// Files are overwritten in place (not the folder replaced), so a server already serving it keeps working.
mkdirSync(out, { recursive: true });
await build({
  entryPoints: ['src/main.ts'],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  outfile: join(out, 'app.js'),
  logLevel: 'warning',
});
copyFileSync('index.html', join(out, 'index.html'));
console.log(`built ${join(out, 'index.html')} and app.js`);
