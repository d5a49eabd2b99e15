// `protofly stub new`: a skeleton stub folder from kit/templates/<lang>/,
// ready to build and to pass the conformance check as it is.
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pfError } from '../kernel/errors.ts';
import { AS_GLUE_DIR, AS_GLUE_FILES, C_GLUE_DIR, C_GLUE_FILES, RUST_GLUE_DIR, RUST_GLUE_FILES, TEMPLATES_DIR } from './paths.ts';

export const KIT_LANGS = ['ts', 'c', 'rust', 'as'] as const;
export type KitLang = (typeof KIT_LANGS)[number];

export interface NewStubOptions {
  name: string;
  lang: string;
  /** The folder the stub's folder is made in; the working directory by default. */
  parent?: string;
}

// The name becomes a file name, a C string literal and part of log lines:
// keep it to characters that are safe in all three.
const NAME = /^[a-z][a-z0-9-]{0,62}$/;

export async function newStub(options: NewStubOptions): Promise<string> {
  const { name, lang } = options;
  if (!NAME.test(name)) throw pfError('PF_ERR_KIT_USAGE', [`"${name}" is not a stub name (lowercase letters, digits and -, starting with a letter)`]);
  if (!(KIT_LANGS as readonly string[]).includes(lang)) {
    throw pfError('PF_ERR_KIT_USAGE', [`--lang must be one of ${KIT_LANGS.join(', ')}, not "${lang}"`]);
  }
  const dir = resolve(options.parent ?? '.', name);
  if (await stat(dir).catch(() => null)) throw pfError('PF_ERR_KIT_EXISTS', [dir]);
  const template = join(TEMPLATES_DIR, lang);
  if (!(await stat(template).catch(() => null))) throw pfError('PF_ERR_KIT_USAGE', [`the ${lang} template is missing at ${template}`]);
  await copyTemplate(template, dir, name);
  // The glue comes along, so the stub builds outside this repository.
  const glue = lang === 'c' ? { dir: C_GLUE_DIR, files: C_GLUE_FILES, into: dir }
    : lang === 'rust' ? { dir: RUST_GLUE_DIR, files: RUST_GLUE_FILES, into: join(dir, 'src') }
    : lang === 'as' ? { dir: AS_GLUE_DIR, files: AS_GLUE_FILES, into: dir } : undefined;
  for (const file of glue?.files ?? []) {
    const from = join(glue!.dir, file);
    await copyFile(from, join(glue!.into, file)).catch((error) => {
      throw pfError('PF_ERR_KIT_USAGE', [`the ${lang} glue ${from} could not be copied (${(error as Error).message})`], { cause: error });
    });
  }
  return dir;
}

async function copyTemplate(from: string, to: string, name: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) await copyTemplate(source, target, name);
    else await writeFile(target, (await readFile(source, 'utf8')).replaceAll('{{name}}', name));
  }
}
