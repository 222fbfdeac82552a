/* global process */
// `node --import ./forbid-packages.mjs …` with WEIR_FORBID="@platformatic/kafka,@aws-sdk/":
// any import of a module whose specifier starts with one of them throws, naming the module
// that asked for it. Used by test/cli/fast-start.test.ts to show what a command never loads.
import { register } from 'node:module';

const prefixes = (process.env.WEIR_FORBID ?? '').split(',').filter((p) => p !== '');
const hooks = `
const prefixes = ${JSON.stringify(prefixes)};
export async function resolve(specifier, context, next) {
  if (prefixes.some((p) => specifier.startsWith(p))) throw new Error('forbidden package loaded: ' + specifier + ' imported by ' + context.parentURL);
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
