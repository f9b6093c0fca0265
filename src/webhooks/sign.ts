import { createHash, createHmac } from 'node:crypto';

/** The prefix of a Standard Webhooks secret (`whsec_<base64>`). */
export const SECRET_PREFIX = 'whsec_';

/** Key length the Standard Webhooks spec recommends, in bytes. */
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;

/**
 * The HMAC key of a WEBHOOK_SECRET: `whsec_<base64>` (or the base64 alone), decoded, as the spec and its libraries
 * read it. Throws a one-line message that never repeats the secret.
 */
export function secretKey(secret: string): Buffer {
  const text = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new Error(`must be a Standard Webhooks secret, ${SECRET_PREFIX} followed by base64 (e.g. ${SECRET_PREFIX}$(openssl rand -base64 32))`);
  }
  const key = Buffer.from(text, 'base64');
  if (key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES) {
    throw new Error(`must decode to ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} bytes (got ${key.length}; e.g. ${SECRET_PREFIX}$(openssl rand -base64 32))`);
  }
  return key;
}

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * The Standard Webhooks headers of one attempt: `v1,` and the base64 HMAC-SHA256 of `${id}.${timestamp}.${body}`
 * under the decoded secret. Signed here with node:crypto (the `standardwebhooks` package, a devDependency,
 * verifies it in the tests): no runtime dependency for twelve lines.
 */
export function signedHeaders(key: Buffer, id: string, timestampSeconds: number, body: string): SignedHeaders {
  const signature = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`, 'utf8').digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': `v1,${signature}` };
}

/**
 * What logs, metrics and the status page call the receiver: its host and a short hash of the whole URL (a path
 * or query may carry a token), never the URL itself.
 */
export function receiverFingerprint(url: string): string {
  const hash = createHash('sha256').update(url).digest('hex').slice(0, 8);
  let host = 'receiver';
  try {
    host = new URL(url).host;
  } catch {
    // config.ts refuses such a URL; the hash alone names it.
  }
  return `${host}#${hash}`;
}
