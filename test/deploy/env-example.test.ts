import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const CONFIG = readFileSync(new URL('src/config.ts', root), 'utf8');
const EXAMPLE = readFileSync(new URL('.env.example', root), 'utf8');

/** The keys of config.ts's environment schema: every variable the app reads. */
function configVariables(): string[] {
  const start = CONFIG.indexOf('const envSchema = z.object({');
  expect(start, 'src/config.ts no longer declares envSchema = z.object({').toBeGreaterThanOrEqual(0);
  const end = CONFIG.indexOf('\n});', start);
  return [...CONFIG.slice(start, end).matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!);
}

describe('.env.example', () => {
  it('lists every variable src/config.ts reads, set or commented out', () => {
    const variables = configVariables();
    expect(variables.length).toBeGreaterThan(30);
    const listed = new Set([...EXAMPLE.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!));
    expect(variables.filter((name) => !listed.has(name))).toEqual([]);
  });

  it('holds no secret: every value that is set is empty', () => {
    const set = [...EXAMPLE.matchAll(/^([A-Z][A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1], m[2]]);
    expect(set.filter(([, value]) => value !== '')).toEqual([]);
  });
});
