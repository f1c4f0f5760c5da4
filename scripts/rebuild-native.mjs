// ssh2's optional native crypto (and cpu-features) are compiled by node-gyp against the system Node's headers,
// but every script here runs on the Node 22 from the `node` devDependency. A module built for another ABI fails to
// load and ssh2 silently falls back to slower pure-JS crypto, so rebuild them against Node 22's own headers.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const modules = join(process.cwd(), 'node_modules');
// The `node` package installs its platform binary (with headers) as node_modules/node/node_modules/node-<os>-<arch>.
const platformDirs = [join(modules, 'node', 'node_modules'), modules].filter(existsSync);
const nodedir = platformDirs
  .flatMap((dir) => readdirSync(dir).map((d) => join(dir, d)))
  .filter((d) => /node-(linux|darwin)-(x64|arm64)$/.test(d))
  .find((d) => existsSync(join(d, 'include', 'node', 'node.h')));
const targets = ['ssh2', 'cpu-features'].filter((m) => existsSync(join(modules, m)));

if (!nodedir || targets.length === 0) {
  console.log('rebuild-native: nothing to rebuild');
} else {
  try {
    execFileSync('npm', ['rebuild', ...targets, `--nodedir=${nodedir}`], { stdio: 'inherit' });
  } catch {
    // The pure-JS fallback is correct, only slower; an install must not fail for it.
    console.warn('rebuild-native: rebuild failed; ssh2 will use its pure-JS crypto');
  }
}
