/**
 * The events of the change feed (change_feed.kind), written by the triggers of migrations/0011_change_feed.sql:
 * - `created`: a job's first version;
 * - `updated`: a later new version (or a late older one of a job already stored);
 * - `amended`: a stored version whose content the API changed without bumping its timestamp;
 * - `deleted`: a reconciliation (or an operator) marked the job deleted;
 * - `undeleted`: the mark was cleared (the API listed the job again).
 */
export const FEED_KINDS = ['created', 'updated', 'amended', 'deleted', 'undeleted'] as const;
export type FeedKind = (typeof FEED_KINDS)[number];

/** The channel the feed's triggers NOTIFY once per writing transaction, delivered at its commit. */
export const FEED_CHANNEL = 'threetone_changes';
