import { loadConfig } from '../../src/config.ts';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/connection.ts';
import { createReadiness } from '../../src/http/readiness.ts';
import { startHttpServer } from '../../src/http/server.ts';
import { captureLogs } from '../helpers/logs.ts';
import { BACKENDS } from '../helpers/queue.ts';
import { blackHole, startHttpEnv, type HttpEnv } from './fixture.ts';

const HOSTILE_ERROR = `<script>document.title="pwned"</script><img src=x onerror=alert(1)> & "quotes" 'too'`;

describe.each(BACKENDS)('http server on %s', (backend) => {
  let env: HttpEnv | undefined;
  afterEach(async () => {
    await env?.close();
    env = undefined;
  });

  const get = (path: string, init?: RequestInit) => fetch(`${env!.server.url}${path}`, init);

  it('says it is alive on /healthz', async () => {
    env = await startHttpEnv(backend);
    const response = await get('/healthz');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('shows each workspace, its last success and its runs on the status page', async () => {
    env = await startHttpEnv(backend);
    const summary = await env.sync();
    await env.database.sql`
      insert into sync_runs (workspace, kind, status, started_at, finished_at, error)
      values ('alpha', 'sync', 'failed', now() - interval '2 hours', now() - interval '2 hours', ${HOSTILE_ERROR}),
             ('<b>evil</b>', 'sync', 'failed', now(), now(), 'x')`;

    const overview = await get('/');
    expect(overview.status).toBe(200);
    expect(overview.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(overview.headers.get('content-security-policy')).toContain("default-src 'none'");
    const summaryHtml = await overview.text();
    expect(summaryHtml).toContain('<a href="/workspaces/%3Cb%3Eevil%3C%2Fb%3E">&lt;b&gt;evil&lt;/b&gt;</a>');
    expect(summaryHtml).toContain('<a href="/workspaces/alpha">alpha</a>');
    expect(summaryHtml).not.toContain('<b>evil');

    const response = await get('/workspaces/alpha');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await response.text();

    const [run] = await env.database.sql<{ finished: Date }[]>`select finished_at as finished from sync_runs where id = ${summary.runId}`;
    const finished = run!.finished.toISOString().replace(/\.\d{3}Z$/, "Z");
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).toContain('<h2>alpha</h2>');
    expect(html).toContain(`Last successful sync: <time datetime="${finished}">`);
    expect(html).toContain('<td data-label="Items" class="num">250</td>');
    expect(html).toContain(`<td data-label="New versions" class="num">${summary.versionsAdded}</td>`);
    expect(html).toContain('<span class="status succeeded">succeeded</span>');
    const today = new Date().toISOString().slice(0, 10);
    expect(html).toContain(`<title>${today}: 250 versions</title>`);
    expect(html).toContain('250 new versions in the last 30 days');

    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot; &#39;too&#39;');
    expect(await (await get('/workspaces/%3Cb%3Eevil%3C%2Fb%3E')).text()).toContain('<h2>&lt;b&gt;evil&lt;/b&gt;</h2>');
    expect(html).not.toContain(env.config.workspaces[0]!.apiKey);
    expect(summaryHtml).not.toContain(env.config.workspaces[0]!.apiKey);
  });

  it('answers 404 for unknown paths and 405 for other methods', async () => {
    env = await startHttpEnv(backend);
    expect((await get('/nope')).status).toBe(404);
    expect((await get('/healthz/x')).status).toBe(404);
    const post = await get('/metrics', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('closes promptly with a request half sent', async () => {
    env = await startHttpEnv(backend);
    const { port } = new URL(env.server.url);
    const socket = connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    // The server resets it: ECONNRESET is the expected end here.
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    // Headers without their final blank line: a busy connection, which server.close() alone would wait for.
    socket.write('GET /metrics HTTP/1.1\r\nHost: localhost\r\n');
    await expect.poll(() => socket.bytesWritten).toBeGreaterThan(0);
    const started = Date.now();
    await env.server.close();
    await closed;
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('closes promptly with a keep-alive connection open', async () => {
    env = await startHttpEnv(backend);
    const agent = new Agent({ keepAlive: true });
    try {
      // Wrapped: resolving with a bare promise would wait for the socket to close.
      const { socketClosed } = await new Promise<{ socketClosed: Promise<void> }>((resolve, reject) => {
        const req = request(`${env!.server.url}/healthz`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve({ socketClosed: new Promise<void>((closed) => req.socket!.once('close', () => closed())) }));
        });
        req.on('error', reject);
        req.end();
      });
      const started = Date.now();
      await env.server.close();
      await socketClosed;
      expect(Date.now() - started).toBeLessThan(1000);
      await expect(fetch(`${env.server.url}/healthz`)).rejects.toThrow();
    } finally {
      agent.destroy();
    }
  });
});

describe('status page with a database that does not answer', () => {
  it('answers 503 within its bound and logs no query text', async () => {
    const hole = await blackHole();
    const sql = postgres(`postgres://nobody@127.0.0.1:${hole.port}/none`, { max: 1, connect_timeout: 30, onnotice: () => undefined });
    const database: Database = { sql, reads: sql, url: '', close: () => sql.end({ timeout: 0 }) };
    const env = await startHttpEnv('postgres');
    const { log, text } = captureLogs('debug');
    const server = await startHttpServer({
      config: { http: { port: 0, host: '127.0.0.1', board: undefined }, health: loadConfig({}).health },
      log,
      database,
      queue: env.queue,
      metrics: env.metrics,
      ready: createReadiness({ database, schedulesRegistered: () => true, timeoutMs: 300 }),
      pageTimeoutMs: 300,
    });
    try {
      const started = Date.now();
      const page = await fetch(`${server.url}/`);
      expect(page.status).toBe(503);
      expect(Date.now() - started).toBeLessThan(2000);
      expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect(text()).toContain('http request failed');
      expect(text()).not.toMatch(/select|sync_runs|batch_call_history/i);
    } finally {
      await server.close();
      await env.close();
      await database.close();
      await hole.close();
    }
  });
});
