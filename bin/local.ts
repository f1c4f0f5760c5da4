/**
 * `npm start`: the whole system on this machine, in the foreground. Ctrl-C stops every process it started;
 * state (tables, objects, keys) persists under .local/ (or INTEGRATOR_STATE_DIR) across restarts.
 */
import { relative, resolve } from 'node:path';
import { DEMO_ORG, startTwin } from '../lib/local/twin.ts';

const stateDir = resolve(process.env.INTEGRATOR_STATE_DIR ?? '.local');
const quiet = process.env.INTEGRATOR_QUIET === '1';

const twin = await startTwin({
  stateDir,
  log: (entry) => {
    if (!quiet) console.log(JSON.stringify(entry));
  },
});

const { sftp, api, dynamodb, s3, calendar } = twin.info;
const demo = sftp.users.find((u) => u.org === DEMO_ORG) ?? sftp.users[0];
// Paths inside the project are shown relative to it (as typed in the README); others in full.
const rel = (p: string) => {
  const r = relative(process.cwd(), p);
  return r === '' ? '.' : r.startsWith('..') ? p : r;
};
const today = new Date().toISOString().slice(0, 10).replaceAll('-', '');

console.log(`
Integrator is running locally (state in ${rel(stateDir)}/, details in ${rel(stateDir)}/stack.json).

  DynamoDB Local  ${dynamodb.endpoint}      S3 (bucket ${s3.bucket})  ${s3.endpoint}
  HTTP API        ${api.url}      SFTP  ${sftp.host}:${sftp.port}
  Calendar stand-ins  Google ${calendar.google}   Microsoft ${calendar.microsoft ?? '(not started: run through npm start)'}
${
  demo
    ? `
Upload a file as the ${demo.org} organization:
  echo 'put examples/fn_profile_import.csv /inbound/fn_profile_import_${today}.csv' |
    sftp -i ${rel(demo.privateKeyPath)} -P ${sftp.port} -o UserKnownHostsFile=${rel(sftp.knownHostsPath)} ${demo.username}@${sftp.host}

Connect the demo case manager's calendar to a stand-in: README, "Calendar sync".

See the run (a few seconds later) and its per-row errors:
  curl -s -H "Authorization: Bearer $(node -p "require('${resolve(stateDir, 'stack.json')}').api.tokens['${demo.org}']")" ${api.url}/v1/runs

The archived original, and an .errors.csv of the failed rows if any (the folder is the day of the run, UTC):
  echo 'ls -l /archive/${new Date().toISOString().slice(0, 10)}' |
    sftp -i ${rel(demo.privateKeyPath)} -P ${sftp.port} -o UserKnownHostsFile=${rel(sftp.knownHostsPath)} ${demo.username}@${sftp.host}
`
    : ''
}
Ctrl-C stops everything.`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping…');
    await twin.stop();
    process.exit(0);
  });
}
