import type { PluginSettingDefinition, PluginSettings, PluginSettingValue } from '@kaiwa/client';
import type { MessageKey, Params } from './i18n';

/*
 * The plugin settings form as data: what each field holds while an admin edits (text for text and number
 * fields, a flag for a switch), the checks the browser makes before it sends anything (a required field left
 * empty, a number field holding no number or no whole number, a value outside the choices), and the values the
 * save sends. Lengths and bounds are shown as hints and checked by the server alone, whose complaint is shown
 * under the field: one rule, in one place. An empty text or number field means "the default": it is left out
 * of the save, as is a secret field left empty (the server keeps the saved secret then).
 */

/** What the fields hold, by setting key. */
export type SettingsDraft = Record<string, string | boolean>;

/** A problem with one field, as a catalogue key and its parameters. */
export interface SettingProblem {
  key: MessageKey;
  params?: Params;
}

/** The form's starting point: the values the plugin runs with; secrets start empty (they are never sent back). */
export function draftOf(settings: PluginSettings): SettingsDraft {
  const draft: SettingsDraft = {};
  for (const definition of settings.definitions) {
    const value = definition.secret ? undefined : settings.values[definition.key];
    draft[definition.key] =
      definition.type === 'boolean' ? value === true : value === undefined ? '' : String(value);
  }
  return draft;
}

/** Whether the admin changed anything since `initial`. */
export function draftChanged(initial: SettingsDraft, draft: SettingsDraft): boolean {
  return Object.keys({ ...initial, ...draft }).some((key) => initial[key] !== draft[key]);
}

/** The number a number field holds (a decimal comma read as a point), or `undefined` when there is none. */
function numberIn(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const value = Number(/^-?\d*,\d+$/.test(trimmed) ? trimmed.replace(',', '.') : trimmed);
  return Number.isFinite(value) ? value : undefined;
}

/** The browser's checks of one field (see above); the server checks everything again. */
export function checkSetting(
  definition: PluginSettingDefinition,
  entry: string | boolean | undefined,
  secretSaved: boolean,
): SettingProblem | undefined {
  if (definition.type === 'boolean') return undefined;
  const text = typeof entry === 'string' ? entry : '';
  if (text.trim() === '') {
    const hasValue = definition.default !== undefined || (definition.secret && secretSaved);
    return definition.required && !hasValue ? { key: 'pluginSettings.problems.required' } : undefined;
  }
  if (definition.type === 'string') {
    return definition.enum && !definition.enum.includes(text)
      ? { key: 'pluginSettings.problems.notAChoice' }
      : undefined;
  }
  const value = numberIn(text);
  if (value === undefined) return { key: 'pluginSettings.problems.notANumber' };
  if (definition.type === 'integer' && !Number.isInteger(value)) {
    return { key: 'pluginSettings.problems.notAWholeNumber' };
  }
  return undefined;
}

/** Every field's problem, by setting key; empty when the form may be sent. */
export function checkDraft(settings: PluginSettings, draft: SettingsDraft): Record<string, SettingProblem> {
  const problems: Record<string, SettingProblem> = {};
  for (const definition of settings.definitions) {
    const problem = checkSetting(
      definition,
      draft[definition.key],
      settings.secretsSet.includes(definition.key),
    );
    if (problem) problems[definition.key] = problem;
  }
  return problems;
}

/** The values a save sends: empty fields left out (defaults, or the saved secret), numbers as numbers. */
export function valuesOf(settings: PluginSettings, draft: SettingsDraft): Record<string, PluginSettingValue> {
  const values: Record<string, PluginSettingValue> = {};
  for (const definition of settings.definitions) {
    const entry = draft[definition.key];
    if (definition.type === 'boolean') {
      values[definition.key] = entry === true;
      continue;
    }
    const text = typeof entry === 'string' ? entry : '';
    if (text.trim() === '') continue;
    if (definition.type === 'string') values[definition.key] = text;
    else values[definition.key] = numberIn(text) ?? Number.NaN;
  }
  return values;
}
