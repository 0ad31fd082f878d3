/*
 * What the workflow editor and the workflows list need besides components, testable without a browser:
 * who may start a workflow by hand, how its trigger reads, the example to start from, the text a stored
 * definition is edited as, the problems the server's check reports, and tab-as-spaces editing.
 */

import { t } from './i18n';

/** A workflow's trigger as the definition schema (`WorkflowTriggerSchema` in @kaiwa/workflow) has it. */
export type WorkflowTriggerInfo =
  | { type: 'manual' }
  | { type: 'message'; pattern?: string; roomId?: string }
  | { type: 'command'; name?: string; roomId?: string }
  | { type: 'file'; mimeType?: string; roomId?: string }
  | { type: 'cron'; schedule?: string; timezone?: string }
  | { type: 'webhook' }
  | { type: string };

/** A problem the server's check found: `POST /api/v1/workflows/validate`. */
export interface DefinitionIssue {
  path: string;
  message: string;
  /** 1-based line of the text, when the server could tell. */
  line?: number;
}

export interface DefinitionCheck {
  ok: boolean;
  issues: DefinitionIssue[];
}

/** How long typing must pause before the text is checked. */
export const VALIDATE_DELAY_MS = 400;
/** What Tab inserts in the editor. */
export const INDENT = '  ';

/**
 * Whether the list offers Start: only workflows meant to be started by hand (no trigger, or `manual`). The
 * others start on their own (a schedule, messages, uploads, `/run`, a webhook); the API still lets anyone
 * try them by hand, but the list says what starts them instead.
 */
export function startsByHand(trigger: { type: string } | undefined): boolean {
  return trigger === undefined || trigger.type === 'manual';
}

/** What starts a workflow, in a few words: `Every 0 9 * * 1`, `Messages matching /deploy/`, … */
export function describeTrigger(trigger: WorkflowTriggerInfo | undefined): string {
  if (trigger === undefined || trigger.type === 'manual') return t('workflows.trigger.manual');
  const fields = trigger as Record<string, string | undefined>;
  switch (trigger.type) {
    case 'cron':
      return fields.timezone
        ? t('workflows.trigger.cronZone', { schedule: fields.schedule ?? '', zone: fields.timezone })
        : t('workflows.trigger.cron', { schedule: fields.schedule ?? '' });
    case 'message':
      return t('workflows.trigger.message', { pattern: fields.pattern ?? '' });
    case 'command':
      return t('workflows.trigger.command', { name: fields.name ?? t('workflows.trigger.itsId') });
    case 'file':
      return fields.mimeType
        ? t('workflows.trigger.fileOf', { type: fields.mimeType })
        : t('workflows.trigger.file');
    case 'webhook':
      return t('workflows.trigger.webhook');
    default:
      return trigger.type;
  }
}

/** The definition a new workflow starts from: one manual trigger and a notify step. */
export const EXAMPLE_DEFINITION = `id: hello-team
name: Hello team
description: Posts a greeting to a room when started by hand.
trigger: { type: manual }
steps:
  - id: greet
    type: notify
    input:
      roomId: "ROOM_ID"
      text: "Hello from {{ run.workflowId }} (run {{ run.id }})"
`;

/** The example with a real room filled in, when there is one. */
export function exampleDefinition(roomId: string | undefined): string {
  return roomId ? EXAMPLE_DEFINITION.replace('ROOM_ID', roomId) : EXAMPLE_DEFINITION;
}

/**
 * The text a stored definition is edited as: JSON, which the server reads as YAML too. The informational
 * `version` is left out: saving makes the next version anyway.
 */
export function definitionText(definition: Record<string, unknown>): string {
  const { version: _version, ...rest } = definition;
  return `${JSON.stringify(rest, null, 2)}\n`;
}

/** `line 5 · steps[0].type: unknown step type "x"`, or without the line when it is not known. */
export function describeIssue(issue: DefinitionIssue): string {
  const where = issue.path === 'definition' ? '' : `${issue.path}: `;
  return `${issue.line ? t('workflows.issueLine', { line: issue.line }) : ''}${where}${issue.message}`;
}

/** Problems in reading order: by line, those without a line last. */
export function sortIssues(issues: DefinitionIssue[]): DefinitionIssue[] {
  return [...issues].sort(
    (a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER),
  );
}

/**
 * Tab in the editor: spaces instead of leaving the field. With a selection over several lines, every line
 * is indented (or, with Shift, outdented); the result keeps the selection on the same text.
 */
export function indentText(
  text: string,
  start: number,
  end: number,
  outdent = false,
): { text: string; start: number; end: number } {
  const multiline = text.slice(start, end).includes('\n');
  if (!multiline && !outdent) {
    return {
      text: text.slice(0, start) + INDENT + text.slice(end),
      start: start + INDENT.length,
      end: start + INDENT.length,
    };
  }
  const lineStart = text.lastIndexOf('\n', start - 1) + 1;
  const lines = text.slice(lineStart, end).split('\n');
  let removedFirst = 0;
  let delta = 0;
  const changed = lines.map((line, index) => {
    if (!outdent) {
      delta += INDENT.length;
      return INDENT + line;
    }
    const spaces = line.length - line.replace(/^ {1,2}/, '').length;
    if (index === 0) removedFirst = spaces;
    delta -= spaces;
    return line.slice(spaces);
  });
  const result = text.slice(0, lineStart) + changed.join('\n') + text.slice(end);
  const first = outdent ? -removedFirst : INDENT.length;
  return {
    text: result,
    start: Math.max(lineStart, start + first),
    end: Math.max(lineStart, end + delta),
  };
}
