// `node --import ./forbid-aws-sdk.mjs …`: any import of the AWS SDK (@aws-sdk/*, @smithy/*)
// in the process throws, naming the module that asked for it. Used by
// test/cli/fast-start.test.ts to show that commands on local directories never load it.
import { register } from 'node:module';

const hooks = `
export async function resolve(specifier, context, next) {
  if (/^@(aws-sdk|smithy)\\//.test(specifier)) throw new Error('AWS SDK loaded: ' + specifier + ' imported by ' + context.parentURL);
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
