import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { limitLabel, type Admission, type BudgetLimit } from './rule.ts';
import type { BudgetStore, StoreSnapshot } from './store.ts';

/**
 * KEYS: log (sorted set: member per request, score its time in ms), block (hash: until, reason).
 * ARGV: margin ms, number of limits, then points and window ms of each, then a member id.
 * The same rule as admission.ts's `admit`, in one script so that check and record are one atomic step for every
 * process on the key; the time is Redis's own, so clients whose clocks disagree still share one timeline.
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local margin = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local longest = 0
for i = 1, n do
  local w = tonumber(ARGV[2 + 2 * i]) + margin
  if w > longest then longest = w end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - longest)
local wait = 0
local binding = ''
local block = redis.call('HMGET', KEYS[2], 'until', 'reason')
if block[1] and tonumber(block[1]) > now then
  wait = tonumber(block[1]) - now
  binding = block[2] or 'API'
end
for i = 1, n do
  local points = tonumber(ARGV[1 + 2 * i])
  local w = tonumber(ARGV[2 + 2 * i]) + margin
  local count = redis.call('ZCOUNT', KEYS[1], '(' .. (now - w), '+inf')
  if count >= points then
    local leaving = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - w), '+inf', 'WITHSCORES', 'LIMIT', count - points, 1)
    local untilMs = tonumber(leaving[2]) + w
    if untilMs - now > wait or (untilMs - now == wait and binding == '') then
      wait = math.max(1, untilMs - now)
      binding = tostring(i)
    end
  end
end
if wait > 0 then return {0, wait, binding} end
redis.call('ZADD', KEYS[1], now, now .. ':' .. ARGV[3 + 2 * n])
redis.call('PEXPIRE', KEYS[1], longest)
return {1, now, ''}
`;

/** KEYS: block. ARGV: ms, reason. Keeps whichever block ends later. */
const BLOCK = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untilMs = now + tonumber(ARGV[1])
local current = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if current >= untilMs then return 0 end
redis.call('HSET', KEYS[1], 'until', untilMs, 'reason', ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) + 1000)
return 1
`;

/** KEYS: log, block. ARGV: longest window + margin. */
const READ = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local times = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - tonumber(ARGV[1])), '+inf', 'WITHSCORES')
local block = redis.call('HMGET', KEYS[2], 'until', 'reason')
return {now, times, block[1] or '', block[2] or ''}
`;

type Scripts = {
  threetoneBudgetTake(log: string, block: string, ...args: (string | number)[]): Promise<[number, number, string]>;
  threetoneBudgetBlock(block: string, ms: number, reason: string): Promise<number>;
  threetoneBudgetRead(log: string, block: string, longest: number): Promise<[number, string[], string, string]>;
};

/**
 * The budget of every process using `redis`, under `prefix` (the queue's prefix in production, a random one per test).
 * The connection is the caller's.
 */
export function createRedisStore(redis: Redis, prefix: string): BudgetStore {
  redis.defineCommand('threetoneBudgetTake', { numberOfKeys: 2, lua: TAKE });
  redis.defineCommand('threetoneBudgetBlock', { numberOfKeys: 1, lua: BLOCK });
  redis.defineCommand('threetoneBudgetRead', { numberOfKeys: 2, lua: READ });
  const scripts = redis as unknown as Scripts;
  const process = randomBytes(6).toString('hex');
  let sequence = 0;
  // One hash tag for both keys of an API key, so the scripts that touch both run on Redis Cluster (no CROSSSLOT).
  const keys = (key: string) => [`${prefix}:budget:{${key}}:log`, `${prefix}:budget:{${key}}:block`] as const;
  const longest = (limits: readonly BudgetLimit[], marginMs: number) => Math.max(0, ...limits.map((l) => l.windowMs)) + marginMs;
  return {
    async take(key, limits, marginMs): Promise<Admission> {
      const [log, block] = keys(key);
      const args = limits.flatMap((l) => [l.points, l.windowMs]);
      const [ok, value, binding] = await named(scripts.threetoneBudgetTake(log, block, marginMs, limits.length, ...args, `${process}:${sequence++}`));
      if (ok === 1) return { ok: true };
      const index = Number(binding);
      const limit = Number.isInteger(index) && index >= 1 && index <= limits.length ? limitLabel(limits[index - 1]!) : binding;
      return { ok: false, waitMs: value, limit };
    },
    async block(key, ms, reason) {
      await named(scripts.threetoneBudgetBlock(keys(key)[1], Math.max(1, Math.ceil(ms)), reason));
    },
    async read(key, limits, marginMs): Promise<StoreSnapshot> {
      const [log, block] = keys(key);
      const [now, flat, until, reason] = await named(scripts.threetoneBudgetRead(log, block, longest(limits, marginMs)));
      const times: number[] = [];
      for (let i = 1; i < flat.length; i += 2) times.push(Number(flat[i]));
      const blockedUntil = Number(until);
      return { now, times, block: until !== '' && blockedUntil > now ? { until: blockedUntil, reason } : null };
    },
    async close() {
      // The connection belongs to whoever opened it.
    },
  };
}

/** ioredis says only "Command timed out" or "Connection is closed": a run's error line should say which store. */
function named<T>(call: Promise<T>): Promise<T> {
  return call.catch((error: unknown) => {
    throw new Error(`the request budget's Redis: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  });
}
