/**
 * A scheduled run that failed to start, as an operator meets it: the twin's scheduler does not fire a job's firing
 * (its clock is moved past it without firing, as a stopped scheduler would), and the run watch, which compares the
 * job's due firings with the recorded firing runs, e-mails the job's contacts exactly once, however many passes run.
 * An export job on the same schedule is watched the same way.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DEFAULT_SCHEDULE, nextRuns } from '../../functions/core/transfer/schedules.ts';
import { type E2eTwin, mailbox, schedulerClock, startE2eTwin, twinApi, until } from '../support/e2e.ts';

const JOB = 'profile-import';
const EXPORT_JOB = 'hris-cases';
let e2e: E2eTwin;

before(async () => {
  e2e = await startE2eTwin('missed', [{ id: 'acme' }], {
    INTEGRATOR_TWIN_CONTROL: '1',
    INTEGRATOR_RUN_WATCH_MS: '300',
    INTEGRATOR_MISSED_FIRING_GRACE_MS: '60000',
  });
});
after(async () => {
  await e2e?.close();
});

test('a firing the scheduler never made is e-mailed once, naming the job, for an import and an export job', async () => {
  const api = twinApi(e2e.twin, 'acme');
  const job = (await api('GET', `/v1/jobs/${JOB}`)).body.job;
  const saved = await api('PUT', `/v1/jobs/${JOB}`, {
    templateId: job.templateId,
    mapping: job.mapping,
    syncKey: job.syncKey,
    revision: job.revision,
    processing: 'scheduled',
    contacts: ['ops@acme.example'],
  });
  assert.equal(saved.status, 200, JSON.stringify(saved.body));
  const exportJob = await api('PUT', `/v1/jobs/${EXPORT_JOB}`, {
    direction: 'export',
    name: 'Case status for the HRIS',
    templateId: 'case_status_export',
    mode: 'full',
    mapping: [
      { column: 'Case', field: 'caseId' },
      { column: 'Status', field: 'caseStatus' },
    ],
    schedule: DEFAULT_SCHEDULE,
    contacts: ['exports@acme.example'],
  });
  assert.equal(exportJob.status, 201, JSON.stringify(exportJob.body));
  const launched = await api('POST', `/v1/jobs/${EXPORT_JOB}/launch`);
  assert.equal(launched.status, 200, JSON.stringify(launched.body));
  const [firing] = nextRuns(DEFAULT_SCHEDULE, new Date(), 1);
  assert.ok(firing);
  const mail = mailbox(e2e.stateDir);
  // Past the firing, within the grace period: not missed yet.
  await schedulerClock(e2e.twin, 'jump', new Date(firing.getTime() + 30_000));
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(mail.matching(JOB), []);
  assert.deepEqual(mail.matching(EXPORT_JOB), []);
  // Past the grace period, the firing never made: one e-mail.
  await schedulerClock(e2e.twin, 'jump', new Date(firing.getTime() + 120_000));
  const [found] = await until(
    'the missed firing e-mailed',
    async () => {
      const m = mail.matching(JOB);
      return m.length > 0 ? m : undefined;
    },
    { twin: e2e.twin },
  );
  const text = mail.read(found!);
  assert.match(text, /did not start/);
  assert.match(text, /ops@acme\.example/);
  assert.ok(text.includes(firing.toISOString()), 'names the firing time');
  const [exported] = await until(
    "the export job's missed firing e-mailed",
    async () => {
      const m = mail.matching(EXPORT_JOB);
      return m.length > 0 ? m : undefined;
    },
    { twin: e2e.twin },
  );
  const exportText = mail.read(exported!);
  assert.match(exportText, /did not start/);
  assert.match(exportText, /exports@acme\.example/);
  assert.ok(exportText.includes(firing.toISOString()), 'names the firing time');
  // Many more passes (every 300 ms), the clock further on: still one.
  await schedulerClock(e2e.twin, 'jump', new Date(firing.getTime() + 10 * 60_000));
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(mail.matching(JOB).length, 1);
  assert.equal(mail.matching(EXPORT_JOB).length, 1);
});
