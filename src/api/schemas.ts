import { z } from 'zod';

/**
 * Runtime shapes of `GET /v1/voiceai/batch-calling/workspace`
 * (spec/batch-calling-workspace.openapi.yaml).
 *
 * Enums are validated as plain strings on purpose: a new status or provider
 * must not break the pipeline. The known values below are only used to warn
 * once when the API grows.
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

/**
 * The page envelope. Items are checked one by one afterwards (a bad item is
 * rejected, not the page), so here they are only required to be an array.
 */
export const pageSchema = z.looseObject({
  batch_calls: z.array(z.unknown()),
  next_doc: z.string().nullable().optional(),
  has_more: z.boolean().default(false),
});

export type Page = z.output<typeof pageSchema>;
