/**
 * The spec's description of every API field the batch-calls resource stores as a column
 * (spec/batch-calling-workspace.openapi.yaml, BatchCallResponse; a field whose schema is a $ref takes the referenced
 * schema's description). The spec does not ship with the package, so its words live here; test/bi/dbt-sources.test.ts
 * reads the spec and fails when one differs, or when a column of the resource (src/resources/batch-calls.ts) has none.
 */
export const API_FIELD_DESCRIPTIONS: Readonly<Record<string, string>> = {
  id: 'Unique batch call ID',
  phone_number_id: 'Caller phone number ID',
  phone_provider: 'Telephony provider for batch calls.',
  whatsapp_params: 'WhatsApp parameters for batch calls (future support).',
  name: 'Name of the batch call job',
  agent_id: 'Agent ID to use for calls',
  created_at_unix: 'Unix timestamp when created',
  scheduled_time_unix: 'Unix timestamp when scheduled to start',
  total_calls_dispatched: 'Number of calls dispatched',
  total_calls_scheduled: 'Number of calls scheduled',
  total_calls_finished: 'Number of calls finished (completed + failed)',
  last_updated_at_unix: 'Unix timestamp of last update',
  status: 'Current status of the batch job',
  retry_count: 'Number of retries attempted',
  agent_name: 'Name of the agent',
};
