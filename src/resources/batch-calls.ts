import { z } from 'zod';
import type { ListResource } from './resource.ts';

/**
 * `GET /v1/voiceai/batch-calling/workspace` (spec/batch-calling-workspace.openapi.yaml).
 *
 * Enums are validated as plain strings on purpose: a new status or provider
 * must not break the pipeline. The known values are only used to warn once
 * when the API grows.
 */

export const KNOWN_STATUSES = ['pending', 'in_progress', 'completed', 'failed', 'cancelled'] as const;
export const FINAL_STATUSES = ['completed', 'failed', 'cancelled'] as const;
export const KNOWN_PROVIDERS = ['twilio', 'vobiz', 'sip_trunk'] as const;

const int = z.number().int().refine(Number.isSafeInteger, 'must be a safe integer');

export const whatsAppParamsSchema = z.looseObject({
  whatsapp_phone_number_id: z.string().nullable().optional(),
  whatsapp_call_permission_request_template_name: z.string(),
  whatsapp_call_permission_request_template_language_code: z.string(),
});

/** One batch call job. Unknown fields are kept (they land in `raw`). */
export const batchCallSchema = z.looseObject({
  id: z.string().min(1),
  phone_number_id: z.string().nullable().optional(),
  phone_provider: z.string().nullable().optional(),
  whatsapp_params: whatsAppParamsSchema.nullable().optional(),
  name: z.string(),
  agent_id: z.string(),
  created_at_unix: int,
  scheduled_time_unix: int,
  total_calls_dispatched: int.default(0),
  total_calls_scheduled: int.default(0),
  total_calls_finished: int.default(0),
  last_updated_at_unix: int,
  status: z.string().min(1),
  retry_count: int.default(0),
  agent_name: z.string(),
});

export type BatchCall = z.output<typeof batchCallSchema>;
/** What the API sends for one job (defaults not yet applied). */
export type BatchCallInput = z.input<typeof batchCallSchema>;

export const batchCalls: ListResource<BatchCall> = {
  name: 'batch calls',
  path: '/v1/voiceai/batch-calling/workspace',
  envelopeKey: 'batch_calls',
  itemSchema: batchCallSchema,
  idField: 'id',
  versionField: 'last_updated_at_unix',
  createdField: 'created_at_unix',
  columns: [
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
  ],
  keyFields: ['id', 'agent_id', 'status', 'phone_provider', 'phone_number_id'],
  unixSecondsFields: ['created_at_unix', 'scheduled_time_unix', 'last_updated_at_unix'],
  knownValues: { status: KNOWN_STATUSES, phone_provider: KNOWN_PROVIDERS },
  tables: { current: 'batch_calls', history: 'batch_call_history', live: 'batch_call_live_jobs' },
  finalStatuses: FINAL_STATUSES,
};
