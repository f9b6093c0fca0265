import { spawnCli, type Child } from './child.ts';

/** CLI children of one test: `stopAll` (its cleanup) SIGKILLs, by pid, any still alive when the test ends (it failed). */
export function cliChildren(): { spawn(args: string[], env: Record<string, string>): Child; stopAll(): Promise<void> } {
  const children = new Set<Child>();
  return {
    spawn(args, env) {
      const child = spawnCli(args, env);
      children.add(child);
      return child;
    },
    async stopAll() {
      for (const child of children) if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
      await Promise.all([...children].map((c) => c.exited));
      children.clear();
    },
  };
}
