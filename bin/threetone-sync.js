#!/usr/bin/env node
// The installed package and the image run the compiled CLI (dist/, built by
// `npm run build`, which `npm install` runs through `prepare`). A source
// checkout with its devDependencies runs the TypeScript sources through tsx
// instead, so that it, and the tests that spawn this file, never run a
// dist/ older than the sources.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const source = new URL('../src/cli/main.ts', import.meta.url);
const compiled = new URL('../dist/cli/main.js', import.meta.url);

function tsxInstalled() {
  try {
    createRequire(import.meta.url).resolve('tsx/esm/api');
    return true;
  } catch {
    return false;
  }
}

if (existsSync(source) && tsxInstalled()) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  process.stderr.write('error: dist/cli/main.js is missing: run "npm run build" (or "npm install", which builds it)\n');
  process.exit(2);
}
