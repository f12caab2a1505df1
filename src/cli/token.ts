// `npm run token -- --workspace acme --user alice --role owner [--ttl 12h]`: prints a development token.
import { parseArgs } from 'node:util';
import { signToken } from '../auth/dev-token.js';
import { loadConfig } from '../config.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      workspace: { type: 'string', default: 'demo' },
      user: { type: 'string', default: 'dev' },
      role: { type: 'string', default: 'owner' },
      ttl: { type: 'string', default: '12h' },
    },
  });
  if (!['owner', 'admin', 'member'].includes(values.role)) throw new Error('--role must be owner, admin or member');
  const config = loadConfig();
  console.log(await signToken(config.jwt, { workspace: values.workspace, user: values.user, role: values.role }, values.ttl));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
