import type { Ticket } from '@kaiwa/protocol';
import { describe, expect, it } from 'vitest';
import {
  canEditProject,
  canEditTicket,
  groupByStatus,
  isOverdue,
  moveTicket,
  parseLabels,
  ticketCounts,
  ticketDraftFromMessage,
  todayKey,
  upsertTicket,
} from './projects-board';

let counter = 0;
function ticket(change: Partial<Ticket> = {}): Ticket {
  counter += 1;
  return {
    id: `T${String(counter).padStart(3, '0')}`,
    projectId: 'P1',
    title: `ticket ${counter}`,
    description: '',
    status: 'open',
    priority: 'medium',
    reporterId: 'U1',
    assigneeId: null,
    dueDate: null,
    labels: [],
    createdAt: `2026-12-0${Math.min(counter, 9)}T10:00:00.000Z`,
    updatedAt: `2026-12-0${Math.min(counter, 9)}T10:00:00.000Z`,
    ...change,
  };
}

describe('groupByStatus', () => {
  it('has a column for every status, empty ones included, in the schema order', () => {
    const columns = groupByStatus([ticket({ status: 'blocked' })]);
    expect(Object.keys(columns)).toEqual(['open', 'in_progress', 'blocked', 'done', 'closed']);
    expect(columns.blocked).toHaveLength(1);
    expect(columns.open).toEqual([]);
  });

  it('orders a column by priority, then due date (undated last), then age', () => {
    const lowDue = ticket({ priority: 'low', dueDate: '2026-12-01' });
    const mediumLate = ticket({ dueDate: '2026-12-20' });
    const mediumUndated = ticket();
    const mediumSoon = ticket({ dueDate: '2026-12-10' });
    const urgent = ticket({ priority: 'urgent' });
    const olderUndated = { ...mediumUndated, id: 'T000', createdAt: '2026-11-01T00:00:00.000Z' };
    const columns = groupByStatus([lowDue, mediumLate, mediumUndated, mediumSoon, urgent, olderUndated]);
    expect(columns.open.map((each) => each.id)).toEqual([
      urgent.id,
      mediumSoon.id,
      mediumLate.id,
      'T000',
      mediumUndated.id,
      lowDue.id,
    ]);
  });

  it('filters by assignee (someone, nobody) and priority', () => {
    const mine = ticket({ assigneeId: 'U2', priority: 'high' });
    const theirs = ticket({ assigneeId: 'U3', priority: 'high' });
    const nobodys = ticket({ priority: 'low' });
    const all = [mine, theirs, nobodys];
    expect(groupByStatus(all, { assignee: 'U2', priority: 'all' }).open).toEqual([mine]);
    expect(groupByStatus(all, { assignee: 'unassigned', priority: 'all' }).open).toEqual([nobodys]);
    expect(groupByStatus(all, { assignee: 'all', priority: 'high' }).open).toEqual([mine, theirs]);
    expect(groupByStatus(all, { assignee: 'U3', priority: 'low' }).open).toEqual([]);
  });
});

describe('moves', () => {
  it('moves one ticket to another column and leaves the list it came from alone', () => {
    const first = ticket();
    const second = ticket();
    const before = [first, second];
    const after = moveTicket(before, second.id, 'done');
    expect(groupByStatus(after).done).toEqual([{ ...second, status: 'done' }]);
    expect(before[1]?.status).toBe('open');
    expect(after[0]).toBe(first);
  });

  it('takes the server copy of a ticket unless the local one is newer', () => {
    const original = ticket();
    const newer = { ...original, status: 'done' as const, updatedAt: '2026-12-31T00:00:00.000Z' };
    expect(upsertTicket([original], newer)).toEqual([newer]);
    expect(upsertTicket([newer], original)).toEqual([newer]);
    const added = ticket();
    expect(upsertTicket([original], added)).toEqual([original, added]);
  });
});

describe('isOverdue', () => {
  it('is overdue only after the due day and while the ticket is still being worked on', () => {
    expect(isOverdue({ dueDate: '2026-12-05', status: 'open' }, '2026-12-06')).toBe(true);
    expect(isOverdue({ dueDate: '2026-12-05', status: 'blocked' }, '2026-12-06')).toBe(true);
    expect(isOverdue({ dueDate: '2026-12-06', status: 'open' }, '2026-12-06')).toBe(false);
    expect(isOverdue({ dueDate: '2026-12-05', status: 'done' }, '2026-12-06')).toBe(false);
    expect(isOverdue({ dueDate: '2026-12-05', status: 'closed' }, '2026-12-06')).toBe(false);
    expect(isOverdue({ dueDate: null, status: 'open' }, '2026-12-06')).toBe(false);
  });

  it('writes today as a local calendar date', () => {
    expect(todayKey(new Date(2026, 0, 5, 23, 30))).toBe('2026-01-05');
  });
});

describe('projects', () => {
  it('counts open and total tickets per project', () => {
    const counts = ticketCounts([
      ticket({ projectId: 'A' }),
      ticket({ projectId: 'A', status: 'done' }),
      ticket({ projectId: 'A', status: 'blocked' }),
      ticket({ projectId: 'B', status: 'closed' }),
    ]);
    expect(counts.get('A')).toEqual({ open: 2, total: 3 });
    expect(counts.get('B')).toEqual({ open: 0, total: 1 });
    expect(counts.get('C')).toBeUndefined();
  });

  it('lets owners and staff edit a project, and the people of a ticket edit it', () => {
    const project = { ownerId: 'owner' };
    expect(canEditProject({ id: 'owner', role: 'member' }, project)).toBe(true);
    expect(canEditProject({ id: 'x', role: 'moderator' }, project)).toBe(true);
    expect(canEditProject({ id: 'x', role: 'member' }, project)).toBe(false);
    const work = { reporterId: 'reporter', assigneeId: 'assignee' };
    for (const id of ['reporter', 'assignee', 'owner']) {
      expect(canEditTicket({ id, role: 'member' }, work, project)).toBe(true);
    }
    expect(canEditTicket({ id: 'x', role: 'admin' }, work, project)).toBe(true);
    expect(canEditTicket({ id: 'x', role: 'member' }, work, project)).toBe(false);
  });
});

describe('text', () => {
  it('reads labels as typed, without blanks or repeats', () => {
    expect(parseLabels(' bug, ui , bug,, ')).toEqual(['bug', 'ui']);
    expect(parseLabels('')).toEqual([]);
  });

  it('drafts a ticket from a message: first line as title, the message quoted with a link back', () => {
    const draft = ticketDraftFromMessage(
      '## **Login** fails on Safari\nsteps: open the page',
      'https://chat.example/rooms/R1?message=M1',
      'Ada',
    );
    expect(draft.title).toBe('Login fails on Safari');
    expect(draft.description).toBe(
      '> ## **Login** fails on Safari\n> steps: open the page\n\n— Ada, [in the chat](https://chat.example/rooms/R1?message=M1)',
    );
    expect(ticketDraftFromMessage('x'.repeat(300), 'l', 'a').title).toHaveLength(120);
    expect(ticketDraftFromMessage('   ', 'l', 'a').title).toBe('From chat');
  });
});
