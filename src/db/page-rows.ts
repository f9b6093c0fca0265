import type { ValidItem } from '../api/validate.ts';

/** The API fields stored as columns, in one place: the write's SQL is built from this list. */
export const API_COLUMNS = [
  ['id', 'text'],
  ['phone_number_id', 'text'],
  ['phone_provider', 'text'],
  ['whatsapp_params', 'jsonb'],
  ['name', 'text'],
  ['agent_id', 'text'],
  ['created_at_unix', 'bigint'],
  ['scheduled_time_unix', 'bigint'],
  ['total_calls_dispatched', 'bigint'],
  ['total_calls_scheduled', 'bigint'],
  ['total_calls_finished', 'bigint'],
  ['last_updated_at_unix', 'bigint'],
  ['status', 'text'],
  ['retry_count', 'bigint'],
  ['agent_name', 'text'],
] as const;

export type ApiColumn = (typeof API_COLUMNS)[number][0];

/** One version of one job, shaped like a row of batch_calls / batch_call_history. */
export type PageRow = Record<ApiColumn, unknown> & { raw: Record<string, unknown> };

/**
 * Rows for one page's write. A page may repeat an id; Postgres refuses to
 * upsert the same key twice in one statement, so versions are collapsed per
 * (id, last_updated_at_unix), the later occurrence winning.
 */
export function toPageRows(valid: ValidItem[]): PageRow[] {
  const byVersion = new Map<string, PageRow>();
  for (const { item, raw } of valid) {
    byVersion.set(`${item.id}\u0000${item.last_updated_at_unix}`, {
      id: item.id,
      phone_number_id: item.phone_number_id ?? null,
      phone_provider: item.phone_provider ?? null,
      whatsapp_params: item.whatsapp_params ?? null,
      name: item.name,
      agent_id: item.agent_id,
      created_at_unix: item.created_at_unix,
      scheduled_time_unix: item.scheduled_time_unix,
      total_calls_dispatched: item.total_calls_dispatched,
      total_calls_scheduled: item.total_calls_scheduled,
      total_calls_finished: item.total_calls_finished,
      last_updated_at_unix: item.last_updated_at_unix,
      status: item.status,
      retry_count: item.retry_count,
      agent_name: item.agent_name,
      raw,
    });
  }
  return [...byVersion.values()];
}
