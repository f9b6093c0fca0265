import { afterEach, describe, expect, it } from 'vitest';
import { enqueueRun, registerSchedules } from '../../src/jobs/schedules.ts';
import { silentLogger } from '../../src/log.ts';
import { credentialCheck } from '../../src/http/queue-board.ts';
import { BACKENDS } from '../helpers/queue.ts';
import { basic, BOARD, startHttpEnv, type HttpEnv } from './fixture.ts';

describe.each(BACKENDS)('/queues on %s', (backend) => {
  let env: HttpEnv | undefined;
  afterEach(async () => {
    await env?.close();
    env = undefined;
  });

  const get = (path: string, authorization?: string) =>
    fetch(`${env!.server.url}${path}`, { headers: authorization === undefined ? {} : { authorization } });

  it('asks for credentials, refuses wrong ones and serves the board with the right ones', async () => {
    env = await startHttpEnv(backend, { board: BOARD });
    await enqueueRun(env.queue, env.config, { workspace: 'alpha', kind: 'incremental', trigger: 'manual' });

    const anonymous = await get('/queues');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    for (const wrong of [basic(BOARD.user, 'wrong'), basic('someone', BOARD.password), basic(BOARD.user, ''), 'Basic !!!', 'Bearer x']) {
      const refused = await get('/queues/api/queues', wrong);
      expect(refused.status, wrong).toBe(401);
      expect(await refused.text()).not.toContain('threetone-sync');
    }

    const auth = basic(BOARD.user, BOARD.password);
    const page = await get('/queues', auth);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('threetone-sync');
    // Nothing is fetched from another host: no font link, and a policy that keeps the browser on this server.
    expect(html).not.toMatch(/https?:\/\//);
    expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'self'/);
    // The UI's own bundle, served from @bull-board/ui by the static route.
    const base = /<base href="([^"]+)"/.exec(html)?.[1];
    const script = /src="(static\/js\/[^"]+\.js)"/.exec(html)?.[1];
    expect({ base, script: script !== undefined }).toEqual({ base: '/queues/', script: true });
    const asset = await get(`/queues/${script}`, auth);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);

    const api = await get('/queues/api/queues', auth);
    expect(api.status).toBe(200);
    const body = (await api.json()) as { queues: { name: string; counts: Record<string, number> }[] };
    const queue = body.queues.find((q) => q.name.endsWith(env!.config.worker.queueName));
    expect(queue, JSON.stringify(body.queues.map((q) => q.name))).toBeDefined();
    const counts = await env.queue.getJobCounts();
    expect(counts.waiting).toBe(1);
    expect(queue!.counts.waiting).toBe(counts.waiting);
  });

  it('reads jobs, schedules and store stats, and acts on the queue, on this backend', async () => {
    env = await startHttpEnv(backend, { board: BOARD });
    const auth = basic(BOARD.user, BOARD.password);
    const name = env.config.worker.queueName;
    const { jobId } = await enqueueRun(env.queue, env.config, { workspace: 'alpha', kind: 'incremental', trigger: 'manual' });
    await registerSchedules(env.queue, env.config, env.config.workspaces, silentLogger);

    const listed = (await (await get(`/queues/api/queues?activeQueue=${name}&status=waiting&page=1`, auth)).json()) as {
      queues: { name: string; jobs: { id: string; data: { workspace: string } }[] }[];
    };
    expect(listed.queues.find((q) => q.name === name)?.jobs.map((j) => [j.id, j.data.workspace])).toContainEqual([jobId, 'alpha']);

    const job = await get(`/queues/api/queues/${name}/${jobId}`, auth);
    expect(job.status).toBe(200);
    expect(((await job.json()) as { job: { id: string } }).job.id).toBe(jobId);

    const schedulers = (await (await get(`/queues/api/job-schedulers?queueName=${name}`, auth)).json()) as unknown;
    expect(JSON.stringify(schedulers)).toContain('sync:alpha');

    const stats = await get('/queues/api/redis/stats', auth);
    expect(stats.status).toBe(200);
    expect(((await stats.json()) as { backend?: string }).backend ?? 'redis').toBe(backend);

    const pause = await fetch(`${env.server.url}/queues/api/queues/${name}/pause`, { method: 'PUT', headers: { authorization: auth } });
    expect(pause.status).toBe(200);
    expect(await env.queue.isPaused()).toBe(true);
  });

  it('is not served at all without configured credentials', async () => {
    env = await startHttpEnv(backend);
    for (const path of ['/queues', '/queues/', '/queues/api/queues']) {
      expect((await get(path)).status, path).toBe(404);
      expect((await get(path, basic(BOARD.user, BOARD.password))).status, path).toBe(404);
    }
    expect(await (await get('/')).text()).not.toContain('href="/queues"');
  });
});

describe('credentialCheck', () => {
  const check = credentialCheck({ user: 'ops', password: 'p:ss wörd' });

  it('accepts exactly the configured pair, colons and UTF-8 included', () => {
    expect(check(basic('ops', 'p:ss wörd'))).toBe(true);
    expect(check(`basic ${Buffer.from('ops:p:ss wörd').toString('base64')}`)).toBe(true);
    expect(check(basic('ops', 'p:ss word'))).toBe(false);
    expect(check(basic('ops', 'p:ss wörd '))).toBe(false);
    expect(check(basic('Ops', 'p:ss wörd'))).toBe(false);
    expect(check(undefined)).toBe(false);
    expect(check('Basic')).toBe(false);
    expect(check(`Basic ${Buffer.from('no colon').toString('base64')}`)).toBe(false);
  });
});
