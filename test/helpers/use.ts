import { afterEach, beforeEach } from 'vitest';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

/**
 * A fresh migrated database for every test of the calling file, dropped
 * after it. The returned object stands for the current test's database
 * (`database.sql`, `database.url`, or passed where a Database is expected),
 * so a file declares it once instead of repeating the hooks.
 */
export function useTestDatabase(): TestDatabase {
  let current: TestDatabase | undefined;
  beforeEach(async () => {
    current = await createTestDatabase();
  });
  afterEach(async () => {
    await current?.drop();
    current = undefined;
  });
  return new Proxy({} as TestDatabase, {
    get(_target, property) {
      if (!current) throw new Error('useTestDatabase(): the database exists only inside a test');
      return current[property as keyof TestDatabase];
    },
  });
}

/**
 * Simulators started by a test with `start`, each closed after it. `defaults`
 * are merged under every start's options.
 */
export function useSimulator(defaults: SimulatorOptions = {}): { start(options?: SimulatorOptions): Promise<Simulator> } {
  const started: Simulator[] = [];
  afterEach(async () => {
    for (const simulator of started.splice(0).reverse()) await simulator.close();
  });
  return {
    async start(options = {}) {
      const simulator = await startSimulator({ ...defaults, ...options });
      started.push(simulator);
      return simulator;
    },
  };
}
