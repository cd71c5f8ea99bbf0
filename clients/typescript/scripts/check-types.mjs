// Fails when src/schema.ts is not what openapi-typescript makes of openapi.yaml today.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const fresh = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'jwt-auth-types-')), 'schema.ts');
const cli = path.join(root, 'node_modules', 'openapi-typescript', 'bin', 'cli.js');
execFileSync(process.execPath, [cli, path.join(root, '..', '..', 'openapi.yaml'), '-o', fresh], { stdio: 'ignore' });
const same = fs.readFileSync(fresh, 'utf8') === fs.readFileSync(path.join(root, 'src', 'schema.ts'), 'utf8');
fs.rmSync(path.dirname(fresh), { recursive: true });
if (!same) {
  console.error('src/schema.ts is behind openapi.yaml: run `npm run types` in clients/typescript');
  process.exit(1);
}
console.log('src/schema.ts matches openapi.yaml');
