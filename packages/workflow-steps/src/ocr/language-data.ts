import { existsSync } from 'node:fs';
import { copyFile, mkdir, stat, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

/** Languages whose trained data ships as an npm package (`@tesseract.js-data/<code>`), read offline. */
export const OCR_LANGUAGES = ['eng', 'jpn'] as const;
export type OcrLanguage = (typeof OCR_LANGUAGES)[number];

/** A tesseract language code: `eng`, `deu`, `chi_sim`. */
const LANGUAGE_CODE = /^[a-z]{3}(?:_[a-z]+)?$/;

/** The folder holding `<code>.traineddata.gz` inside the installed `@tesseract.js-data/<code>` package. */
export function languageDataPath(language: string): string {
  if (!LANGUAGE_CODE.test(language)) throw new Error(`${JSON.stringify(language)} is not a language code`);
  const data = require(`@tesseract.js-data/${language}`) as { langPath: string };
  return data.langPath;
}

/**
 * The languages of `languages` whose trained data is not installed here (no `@tesseract.js-data/<code>`
 * package holding `<code>.traineddata.gz`): OCR never downloads it, so a worker for them could not start.
 *
 * @example
 * missingOcrLanguages(['eng', 'deu']); // ['deu'] where only @tesseract.js-data/eng and /jpn are installed
 */
export function missingOcrLanguages(languages: readonly string[]): string[] {
  return languages.filter((language) => {
    try {
      return !existsSync(join(languageDataPath(language), `${language}.traineddata.gz`));
    } catch {
      return true;
    }
  });
}

/**
 * tesseract.js reads every language of a worker from one `langPath`, while each language package has its
 * own folder; so the files are linked (or copied) side by side into one folder under the cache directory.
 * Never leave `langPath` unset: tesseract.js would then fetch from a CDN.
 */
export async function prepareLanguageFolder(cacheDir: string, languages: readonly string[]): Promise<string> {
  const folder = join(cacheDir, 'lang');
  await mkdir(folder, { recursive: true });
  for (const language of languages) {
    const file = `${language}.traineddata.gz`;
    const target = join(folder, file);
    if (await exists(target)) continue;
    const source = join(languageDataPath(language), file);
    try {
      await symlink(source, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      await copyFile(source, target);
    }
  }
  return folder;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
