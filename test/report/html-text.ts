/** Reading the report's HTML back in tests: a section, a table's cells as text. */

const ENTITIES: Record<string, string> = { '&lt;': '<', '&gt;': '>', '&amp;': '&', '&quot;': '"', '&#39;': "'" };

export function text(html: string): string {
  return html.replace(/<[^>]*>/g, '').replace(/&(lt|gt|amp|quot|#39);/g, (e) => ENTITIES[e]!);
}

/** The HTML of the section with this id. */
export function section(html: string, id: string): string {
  const start = html.indexOf(`<section class="workspace" id="${id}">`);
  if (start < 0) throw new Error(`no section ${id}`);
  return html.slice(start, html.indexOf('</section>', start));
}

/** The rows of the n-th table in `html`, header row included, each a list of cell texts; the dot plot's column dropped. */
export function tableRows(html: string, n = 0): string[][] {
  const table = html.split('<table')[n + 1]!.split('</table>')[0]!;
  return [...table.matchAll(/<tr[^>]*>(.*?)<\/tr>/gs)].map((row) =>
    [...row[1]!.matchAll(/<(t[hd])([^>]*)>(.*?)<\/\1>/gs)].filter((cell) => !cell[2]!.includes('plot')).map((cell) => text(cell[3]!)),
  );
}

/** RFC 4180 records (quoted fields, doubled quotes, CRLF) for checking what the report wrote. */
export function parseCsv(csv: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < csv.length; i++) {
    const c = csv[i]!;
    if (quoted) {
      if (c === '"' && csv[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') record.push(field), (field = '');
    else if (c === '\r' && csv[i + 1] === '\n') record.push(field), records.push(record), (record = []), (field = ''), i++;
    else field += c;
  }
  if (field !== '' || record.length > 0) throw new Error('the CSV does not end with CRLF');
  return records;
}
