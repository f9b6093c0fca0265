/**
 * One line for logs, run records and the CLI. A drizzle query error's message
 * embeds every bound parameter (a whole page of data), so for database errors
 * only the server's own message and SQLSTATE are used.
 */
export function describeError(error: unknown): string {
  const dbError = findPostgresError(error);
  // undefined_table: almost always a database nobody migrated yet.
  if (dbError?.code === '42P01') return oneLine(`database error ${dbError.code}: ${dbError.message}; the tables are missing: run "threetone-sync migrate"`);
  if (dbError) return oneLine(`database error ${dbError.code}: ${dbError.message}`);
  if (error instanceof Error) {
    if (error.name === 'DrizzleQueryError') return oneLine(`database query failed: ${describeError(error.cause)}`);
    return oneLine(error.message || error.name);
  }
  return oneLine(String(error));
}

/** The postgres.js server error behind `error`, if any (drizzle wraps it as `cause`). */
export function findPostgresError(error: unknown): { code: string; message: string } | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current.name === 'PostgresError' && typeof (current as { code?: unknown }).code === 'string') {
      return { code: (current as unknown as { code: string }).code, message: current.message };
    }
    current = current.cause;
  }
  return undefined;
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 500 ? `${flat.slice(0, 497)}...` : flat;
}
