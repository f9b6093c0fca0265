import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { ListResource } from '../resources/resource.ts';
import { ThreetoneClient, type ApiRetry } from './client.ts';
import { keyFingerprint } from './key-fingerprint.ts';
import type { BudgetWait, RequestBudget } from '../budget/budget.ts';
import { createMemoryBudget } from '../budget/shared.ts';
import { DEFAULT_RETRY } from './retry-policy.ts';

/** A client for one workspace's key, with the settings of config; an in-process budget unless a shared one is given. */
export function clientFromConfig(
  config: Config,
  options: {
    resource: ListResource;
    apiKey: string;
    /** Where the key was configured (`THREETONE_WORKSPACES["acme"]`), named by a rejected key's error. */
    keySource?: string | undefined;
    budget?: RequestBudget | undefined;
    log: Logger;
    signal: AbortSignal;
    onWait?: ((wait: BudgetWait) => void) | undefined;
    onRetry?: ((retry: ApiRetry) => void) | undefined;
    /** A long walk: its requests leave the budget's fresh reserve to incremental syncs. Default false. */
    bulk?: boolean | undefined;
  },
): ThreetoneClient {
  return new ThreetoneClient({
    resource: options.resource,
    baseUrl: config.baseUrl,
    apiKey: options.apiKey,
    keySource: options.keySource,
    pageSize: config.pageSize,
    timeoutMs: config.timeoutMs,
    maxBodyBytes: config.maxBodyBytes,
    retry: { ...DEFAULT_RETRY, maxAttempts: config.maxAttempts, baseDelayMs: config.retryBaseDelayMs, maxRetryAfterMs: config.maxRetryAfterMs },
    budget: options.budget ?? createMemoryBudget(config.budget, keyFingerprint(options.apiKey), { marginMs: config.budgetMarginMs, freshReserve: config.budgetFreshReserve }),
    bulk: options.bulk === true,
    ...(options.onWait ? { onWait: options.onWait } : {}),
    ...(options.onRetry ? { onRetry: options.onRetry } : {}),
    log: options.log,
    signal: options.signal,
  });
}
