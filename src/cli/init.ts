/**
 * `weir init <dir>`: writes a ready project from templates/init (package.json,
 * tsconfig.json, src/job.ts — keyed state, timers, a window — and its test using
 * weir/testing). Refuses a directory that already has any of those files.
 * `{{name}}` becomes the directory's name, `{{weirVersion}}` this weir's version.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { ConfigError } from '../util/errors.ts';
import type { CliIo } from './io.ts';

/** templates/init of this package (the same relative path from src/cli and dist/cli). */
const TEMPLATE_DIR = fileURLToPath(new URL('../../templates/init/', import.meta.url));
const PACKAGE_JSON = fileURLToPath(new URL('../../package.json', import.meta.url));
/** npm never packs a file named .gitignore, so the template holds it as `gitignore`. */
const RENAME: Record<string, string> = { gitignore: '.gitignore' };

export function registerInitCommand(program: Command, io: CliIo): void {
  program
    .command('init')
    .description('create a new project: package.json, tsconfig.json, an example job and its test')
    .argument('<dir>', 'directory to create (or an empty one)')
    .action((dir: string) => {
      initProject(dir, io);
    });
}

/** Writes the template into `dir`; returns the paths written, relative to `dir`. */
export function initProject(dir: string, io: CliIo): string[] {
  const target = resolve(dir);
  const files = templateFiles(TEMPLATE_DIR);
  const existing = files.map((f) => RENAME[f] ?? f).filter((f) => existsSync(join(target, f)));
  if (existing.length > 0) throw new ConfigError(`${dir} already has ${existing.join(', ')}; weir init writes only into a new or empty directory`);
  const name = basename(target).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+/, '') || 'weir-job';
  const version = (JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string }).version;
  const written: string[] = [];
  for (const f of files) {
    const out = join(target, RENAME[f] ?? f);
    mkdirSync(dirname(out), { recursive: true });
    const text = readFileSync(join(TEMPLATE_DIR, f), 'utf8').replaceAll('{{name}}', name).replaceAll('{{weirVersion}}', version);
    writeFileSync(out, text, { flag: 'wx' });
    written.push(relative(target, out));
  }
  io.out(`created ${written.length} files in ${dir}:\n${written.map((f) => `  ${f}\n`).join('')}`);
  io.out(`\nnext:\n  cd ${dir}\n  npm install\n  npm test      # the job's tests\n  npm start     # weir run src/job.ts\n`);
  return written;
}

function templateFiles(root: string, sub = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, sub)).sort()) {
    const rel = sub === '' ? entry : `${sub}/${entry}`;
    if (statSync(join(root, rel)).isDirectory()) out.push(...templateFiles(root, rel));
    else out.push(rel);
  }
  return out;
}
