import { describe, expect, it } from 'vitest';
import {
  definitionText,
  describeIssue,
  describeTrigger,
  EXAMPLE_DEFINITION,
  exampleDefinition,
  indentText,
  sortIssues,
  startsByHand,
} from './workflow-editing';
import { workflowOriginOf } from './workflows-timeline';

describe('starting by hand', () => {
  it('is offered for workflows without a trigger or with a manual one, not for the others', () => {
    expect(startsByHand(undefined)).toBe(true);
    expect(startsByHand({ type: 'manual' })).toBe(true);
    for (const type of ['cron', 'message', 'command', 'file', 'webhook'])
      expect(startsByHand({ type })).toBe(false);
  });

  it('names what starts the others', () => {
    expect(describeTrigger(undefined)).toBe('Started by hand');
    expect(describeTrigger({ type: 'cron', schedule: '0 9 * * 1', timezone: 'Asia/Tokyo' })).toBe(
      'On a schedule: 0 9 * * 1 (Asia/Tokyo)',
    );
    expect(describeTrigger({ type: 'message', pattern: 'deploy' })).toBe('Messages matching /deploy/');
    expect(describeTrigger({ type: 'command', name: 'triage' })).toBe('Slash command /run triage');
    expect(describeTrigger({ type: 'command' })).toBe('Slash command /run its id');
    expect(describeTrigger({ type: 'file', mimeType: 'image/*' })).toBe('Uploads of image/*');
    expect(describeTrigger({ type: 'webhook' })).toBe('Incoming webhook');
  });
});

describe('the editor text', () => {
  it('starts from an example with the current room filled in', () => {
    expect(EXAMPLE_DEFINITION).toContain('type: notify');
    expect(exampleDefinition('01JROOM')).toContain('roomId: "01JROOM"');
    expect(exampleDefinition(undefined)).toContain('ROOM_ID');
  });

  it('edits a stored definition as JSON without its version', () => {
    const text = definitionText({ id: 'a', version: 3, name: 'A', steps: [] });
    expect(JSON.parse(text)).toEqual({ id: 'a', name: 'A', steps: [] });
  });

  it('lists problems by line, with their path', () => {
    const issues = sortIssues([
      { path: 'name', message: 'Required' },
      { path: 'steps[1].when', message: 'bad', line: 8 },
      { path: 'steps[0].type', message: 'unknown step type "x"', line: 5 },
    ]);
    expect(issues.map(describeIssue)).toEqual([
      'line 5 · steps[0].type: unknown step type "x"',
      'line 8 · steps[1].when: bad',
      'name: Required',
    ]);
    expect(describeIssue({ path: 'definition', message: 'not valid YAML', line: 1 })).toBe(
      'line 1 · not valid YAML',
    );
  });
});

describe('Tab in the editor', () => {
  it('inserts two spaces at the caret', () => {
    expect(indentText('ab', 1, 1)).toEqual({ text: 'a  b', start: 3, end: 3 });
  });

  it('indents and outdents every selected line', () => {
    const text = 'a\nb\nc';
    const indented = indentText(text, 0, 3);
    expect(indented.text).toBe('  a\n  b\nc');
    const outdented = indentText(indented.text, indented.start, indented.end, true);
    expect(outdented.text).toBe(text);
  });
});

describe('messages of a workflow run', () => {
  const metadata = { workflow: { workflowId: 'deploy', runId: 'r1', startedBy: 'u1' } };

  it('are recognised from a bot with the run in its metadata', () => {
    expect(workflowOriginOf({ metadata }, { role: 'bot' })).toEqual(metadata.workflow);
  });

  it('are never a person’s, and need the whole origin', () => {
    expect(workflowOriginOf({ metadata }, { role: 'member' })).toBeUndefined();
    expect(workflowOriginOf({ metadata }, undefined)).toBeUndefined();
    expect(workflowOriginOf({ metadata: { workflow: { runId: 'r1' } } }, { role: 'bot' })).toBeUndefined();
    expect(workflowOriginOf({ metadata: {} }, { role: 'bot' })).toBeUndefined();
  });
});
