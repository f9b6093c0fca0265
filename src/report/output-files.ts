import { mkdir, stat, writeFile, access } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import type { CsvFile } from './csv-files.ts';

/**
 * Why `file` cannot be written, in words, or null when it can. Checked before the database is read, so a typo
 * in `--out` costs nothing and says what is wrong instead of a raw ENOENT after the queries.
 */
export async function whyNotWritableFile(file: string): Promise<string | null> {
  const target = await kindOf(file);
  if (target === 'folder') return `cannot write the report to ${file}: it is a folder`;
  if (target === 'file') return (await writable(file)) ? null : `cannot write the report to ${file}: no permission to overwrite it`;
  const folder = path.dirname(path.resolve(file));
  const problem = await whyNotWritableFolder(folder);
  return problem === null ? null : `cannot write the report to ${file}: ${problem}`;
}

/** The same for the folder of the CSV files, which is made if its parent folder exists. */
export async function whyNotWritableCsvDir(dir: string): Promise<string | null> {
  const target = await kindOf(dir);
  if (target === 'file') return `cannot write the CSV files to ${dir}: it is a file, not a folder`;
  const problem = await whyNotWritableFolder(target === 'folder' ? path.resolve(dir) : path.dirname(path.resolve(dir)));
  return problem === null ? null : `cannot write the CSV files to ${dir}: ${problem}`;
}

export async function writeCsvFiles(dir: string, files: CsvFile[]): Promise<string[]> {
  await mkdir(dir, { recursive: false }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  const written: string[] = [];
  for (const { file, text } of files) {
    const target = path.join(dir, file);
    await writeFile(target, text);
    written.push(target);
  }
  return written;
}

async function whyNotWritableFolder(folder: string): Promise<string | null> {
  const kind = await kindOf(folder);
  if (kind === 'missing') return `the folder ${folder} does not exist`;
  if (kind === 'file') return `${folder} is a file, not a folder`;
  return (await writable(folder)) ? null : `no permission to write in the folder ${folder}`;
}

async function kindOf(target: string): Promise<'missing' | 'file' | 'folder'> {
  try {
    return (await stat(target)).isDirectory() ? 'folder' : 'file';
  } catch (error) {
    // ENOTDIR: a parent in the path is a file; for the caller that is as missing as ENOENT.
    if (['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '')) return 'missing';
    throw error;
  }
}

async function writable(target: string): Promise<boolean> {
  return access(target, constants.W_OK).then(
    () => true,
    () => false,
  );
}
