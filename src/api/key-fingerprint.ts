import { createHash } from 'node:crypto';

/** Identifies an API key (e.g. for its shared request budget) without revealing it. */
export function keyFingerprint(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('hex').slice(0, 16);
}
