/**
 * `npm run org -- <command>`: the operator's command for organizations, calling the operator route
 * (functions/api/organizations-routes.ts) of the local stack (default: .local/stack.json) or of AWS (`--url`, the
 * stack's OperatorUrl output; the request is SigV4-signed with your AWS credentials).
 *
 *   list
 *   show <id>
 *   create <id> --name <name> [--limit <records>] [--contact <email>]... [--time-zone <IANA>] [--key-file <f.pub>]...
 *   update <id> [--name <name>] [--limit <records>] [--contact <email>]... [--time-zone <IANA>]
 *   suspend <id> | resume <id>
 *   delete <id> [--force]
 *   sync [--file <organizations.json>]    create what the file lists and is missing (the CDK context's bootstrap)
 *
 * Options: --url <operator URL>, --state-dir <dir> (local; default .local). Exit code 0 on success, 1 otherwise.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseOrganizations } from '../functions/core/organizations.ts';
import { localTarget, type OperatorTarget, operatorRequest, regionOf } from './operator-client.ts';

const USAGE = `usage: npm run org -- list | show <id> | create <id> --name <n> [--limit <n>] [--contact <e>]... [--time-zone <z>] [--key-file <f.pub>]...
       | update <id> [--name] [--limit] [--contact]... [--time-zone] | suspend <id> | resume <id> | delete <id> [--force]
       | sync [--file <organizations.json>]    options: --url <operator URL (AWS)> --state-dir <dir>`;

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      limit: { type: 'string' },
      contact: { type: 'string', multiple: true },
      'time-zone': { type: 'string' },
      'key-file': { type: 'string', multiple: true },
      key: { type: 'string', multiple: true },
      force: { type: 'boolean' },
      file: { type: 'string' },
      url: { type: 'string' },
      'state-dir': { type: 'string' },
    },
  });
  const [command, id] = positionals;
  const target: OperatorTarget = values.url
    ? { kind: 'aws', url: values.url, region: regionOf(values.url) }
    : localTarget(values['state-dir'] ?? process.env.INTEGRATOR_STATE_DIR ?? '.local');
  const needId = () => id ?? fail(`${command}: give the organization id\n${USAGE}`);
  const fields = () => {
    const limit = values.limit === undefined ? undefined : Number(values.limit);
    if (limit !== undefined && !Number.isFinite(limit)) fail(`--limit: "${values.limit}" is not a number`);
    return {
      ...(values.name !== undefined ? { name: values.name } : {}),
      ...(limit !== undefined ? { allowedRecords: limit } : {}),
      ...(values.contact ? { contacts: values.contact } : {}),
      ...(values['time-zone'] ? { timeZone: values['time-zone'] } : {}),
    };
  };
  const keys = () => [
    ...(values.key ?? []),
    ...(values['key-file'] ?? []).map((file) => {
      try {
        return readFileSync(file, 'utf8').trim();
      } catch (err) {
        return fail(`--key-file ${file}: ${(err as Error).message}`);
      }
    }),
  ];

  const call = async (method: string, path: string, body?: unknown) => {
    const answer = await operatorRequest(target, method, path, body);
    console.log(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body, null, 2));
    return answer.status >= 200 && answer.status < 300;
  };
  const org = () => `/organizations/${encodeURIComponent(needId())}`;

  switch (command) {
    case 'list':
      return (await call('GET', '/organizations')) ? 0 : 1;
    case 'show':
      return (await call('GET', org())) ? 0 : 1;
    case 'create':
      return (await call('POST', '/organizations', { id: needId(), ...fields(), sshPublicKeys: keys() })) ? 0 : 1;
    case 'update':
      return (await call('PATCH', org(), fields())) ? 0 : 1;
    case 'suspend':
    case 'resume':
      return (await call('POST', `${org()}/${command}`)) ? 0 : 1;
    case 'delete':
      return (await call('DELETE', `${org()}${values.force ? '?force=true' : ''}`)) ? 0 : 1;
    case 'sync': {
      const file = values.file ?? 'config/organizations.json';
      let listed: ReturnType<typeof parseOrganizations>;
      try {
        listed = parseOrganizations(JSON.parse(readFileSync(file, 'utf8')), file);
      } catch (err) {
        return fail(`sync: ${(err as Error).message}`);
      }
      let ok = true;
      for (const o of listed) {
        const { id: orgId, ...rest } = o;
        ok = (await call('PUT', `/organizations/${encodeURIComponent(orgId)}`, rest)) && ok;
      }
      return ok ? 0 : 1;
    }
    default:
      return fail(USAGE);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => fail(`org: ${err instanceof Error ? err.message : String(err)}`),
);
