// The web page's copy of the client (web/client.js: one classic script, `window.JwtAuthClient`),
// built from src/ by esbuild, and the size an app pays for it (minified + gzip, printed).
// `--check` fails when web/client.js is not what src/ builds (scripts/test.sh runs it).
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const here = path.dirname(fileURLToPath(import.meta.url));
const entry = path.join(here, '..', 'src', 'index.ts');
const target = path.join(here, '..', '..', '..', 'web', 'client.js');
const banner = '// Generated from clients/typescript/src by `npm run bundle` (esbuild): do not edit.';

const page = await build({
  entryPoints: [entry],
  bundle: true,
  format: 'iife',
  globalName: 'JwtAuthClient',
  target: 'es2022',
  banner: { js: banner },
  write: false,
  legalComments: 'none',
});
const text = page.outputFiles[0].text;

const app = await build({ entryPoints: [entry], bundle: true, format: 'esm', target: 'es2022', minify: true, write: false });
const minified = app.outputFiles[0].contents;
const gzipped = zlib.gzipSync(minified, { level: 9 });
console.log(`@jwt-auth/client: ${minified.length} bytes minified, ${gzipped.length} bytes minified + gzip (ESM, every flow)`);

if (process.argv.includes('--check')) {
  const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '';
  if (current !== text) {
    console.error('web/client.js is not what clients/typescript/src builds: run `npm run bundle` there');
    process.exit(1);
  }
} else {
  fs.writeFileSync(target, text);
}
