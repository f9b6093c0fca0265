/** A YAML value: what sources.yml needs and no more. */
export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue | undefined };

const PLAIN = /^[A-Za-z_][A-Za-z0-9_.]*$/;
/** Words YAML 1.1 readers (PyYAML, which dbt uses) take for booleans or null when unquoted. */
const RESERVED = /^(y|n|yes|no|true|false|on|off|null)$/i;

function scalar(value: string | number | boolean | null): string {
  if (typeof value === 'string') return PLAIN.test(value) && !RESERVED.test(value) ? value : JSON.stringify(value);
  return String(value);
}

/**
 * Block-style YAML. Strings that are not plain words are written as JSON strings, which YAML reads as the same
 * double-quoted scalars; keys whose value is undefined are left out.
 */
export function toYaml(value: YamlValue, indent = 0): string {
  return lines(value, indent).join('\n') + '\n';
}

function lines(value: YamlValue, indent: number): string[] {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${pad}[]`];
    return value.flatMap((item) => {
      if (item !== null && typeof item === 'object') {
        const inner = lines(item, indent + 2);
        if (inner.length === 0 || (Array.isArray(item) && item.length === 0)) return [`${pad}- []`];
        return [`${pad}- ${inner[0]!.slice(indent + 2)}`, ...inner.slice(1)];
      }
      return [`${pad}- ${scalar(item)}`];
    });
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter((e): e is [string, YamlValue] => e[1] !== undefined);
    if (entries.length === 0) return [`${pad}{}`];
    return entries.flatMap(([key, item]) => {
      if (item !== null && typeof item === 'object') {
        if (Array.isArray(item) ? item.length === 0 : Object.keys(item).length === 0) return [`${pad}${scalar(key)}: ${Array.isArray(item) ? '[]' : '{}'}`];
        return [`${pad}${scalar(key)}:`, ...lines(item, Array.isArray(item) ? indent + 2 : indent + 2)];
      }
      return [`${pad}${scalar(key)}: ${scalar(item)}`];
    });
  }
  return [`${pad}${scalar(value)}`];
}
