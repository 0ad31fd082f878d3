/*
 * The rules behind the projects screen and its board of tickets: columns by status, the order of cards in a
 * column, filters, optimistic moves, overdue dates, ticket counts per project, who may edit what, and a
 * ticket drafted from a chat message. No DOM here, so it is tested in Node; the views live in
 * components/ProjectsView.tsx, ProjectBoard.tsx and TicketDialog.tsx.
 */
import type { Project, ProjectStatus, Ticket, TicketPriority, TicketStatus, User } from '@kaiwa/protocol';
import { t } from './i18n';

/** The board's columns, left to right: the schema's ticket statuses in their order. */
export const TICKET_STATUSES = [
  'open',
  'in_progress',
  'blocked',
  'done',
  'closed',
] as const satisfies readonly TicketStatus[];

export function statusLabel(status: TicketStatus): string {
  return t(`projects.ticketStatus.${status}`);
}

/** Most pressing first, as the board sorts them. */
export const TICKET_PRIORITIES = [
  'urgent',
  'high',
  'medium',
  'low',
] as const satisfies readonly TicketPriority[];

export function priorityLabel(priority: TicketPriority): string {
  return t(`projects.priority.${priority}`);
}

export const PROJECT_STATUSES = [
  'active',
  'on_hold',
  'completed',
  'archived',
] as const satisfies readonly ProjectStatus[];

export function projectStatusLabel(status: ProjectStatus): string {
  return t(`projects.status.${status}`);
}

const PRIORITY_RANK: Record<TicketPriority, number> = { urgent: 0, high: 1, medium: 2, low: 3 };

/** Statuses whose tickets need nothing more: they are never overdue and do not count as open. */
const FINISHED: ReadonlySet<TicketStatus> = new Set(['done', 'closed']);

/** Today's local calendar date as the API writes dates: `2026-12-06`. */
export function todayKey(now = new Date()): string {
  const month = String(now.getMonth() + 1).padStart(2, '0');
  const day = String(now.getDate()).padStart(2, '0');
  return `${now.getFullYear()}-${month}-${day}`;
}

/** A ticket past its due date that is still being worked on (due today is not overdue yet). */
export function isOverdue(ticket: Pick<Ticket, 'dueDate' | 'status'>, today: string): boolean {
  return ticket.dueDate !== null && ticket.dueDate < today && !FINISHED.has(ticket.status);
}

/**
 * The order of cards in a column: most pressing priority first, then the earliest due date (tickets
 * without one after those with one), then the oldest ticket; ids break ties so the order never jumps.
 */
function compareTickets(a: Ticket, b: Ticket): number {
  return (
    PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority] ||
    (a.dueDate ?? '9999-99-99').localeCompare(b.dueDate ?? '9999-99-99') ||
    a.createdAt.localeCompare(b.createdAt) ||
    a.id.localeCompare(b.id)
  );
}

/** Which tickets the board shows: everyone's or one person's (or nobody's), any or one priority. */
export interface BoardFilter {
  /** A user id, `unassigned`, or `all`. */
  assignee: string;
  /** A priority or `all`. */
  priority: TicketPriority | 'all';
}

export const NO_FILTER: BoardFilter = { assignee: 'all', priority: 'all' };

function matchesFilter(ticket: Ticket, filter: BoardFilter): boolean {
  if (filter.priority !== 'all' && ticket.priority !== filter.priority) return false;
  if (filter.assignee === 'all') return true;
  if (filter.assignee === 'unassigned') return ticket.assigneeId === null;
  return ticket.assigneeId === filter.assignee;
}

/** The board's columns: every status, each with its tickets that pass the filter, in card order. */
export function groupByStatus(
  tickets: readonly Ticket[],
  filter: BoardFilter = NO_FILTER,
): Record<TicketStatus, Ticket[]> {
  const columns = Object.fromEntries(TICKET_STATUSES.map((status) => [status, [] as Ticket[]])) as Record<
    TicketStatus,
    Ticket[]
  >;
  for (const ticket of tickets) if (matchesFilter(ticket, filter)) columns[ticket.status].push(ticket);
  for (const status of TICKET_STATUSES) columns[status].sort(compareTickets);
  return columns;
}

/** The tickets after one of them moved to another column (before the server has agreed). */
export function moveTicket(tickets: readonly Ticket[], ticketId: string, status: TicketStatus): Ticket[] {
  return tickets.map((ticket) => (ticket.id === ticketId ? { ...ticket, status } : ticket));
}

/**
 * Puts a ticket the server sent into the list: replaces the one with its id, or adds it. A change of one's
 * own still on its way wins over an older copy, so an answer that arrives late never undoes a later move.
 */
export function upsertTicket(tickets: readonly Ticket[], next: Ticket): Ticket[] {
  const index = tickets.findIndex((ticket) => ticket.id === next.id);
  if (index === -1) return [...tickets, next];
  const current = tickets[index]!;
  if (current.updatedAt > next.updatedAt) return [...tickets];
  return tickets.map((ticket, at) => (at === index ? next : ticket));
}

/** Open (not done or closed) and total tickets per project id. */
export function ticketCounts(tickets: readonly Ticket[]): Map<string, { open: number; total: number }> {
  const counts = new Map<string, { open: number; total: number }>();
  for (const ticket of tickets) {
    const count = counts.get(ticket.projectId) ?? { open: 0, total: 0 };
    count.total += 1;
    if (!FINISHED.has(ticket.status)) count.open += 1;
    counts.set(ticket.projectId, count);
  }
  return counts;
}

/** The owner of a project and staff edit it (and archive it); the engine says the same. */
export function canEditProject(user: Pick<User, 'id' | 'role'>, project: Pick<Project, 'ownerId'>): boolean {
  return user.role === 'admin' || user.role === 'moderator' || project.ownerId === user.id;
}

/** The reporter, the assignee, the project's owner and staff edit a ticket; the engine says the same. */
export function canEditTicket(
  user: Pick<User, 'id' | 'role'>,
  ticket: Pick<Ticket, 'reporterId' | 'assigneeId'>,
  project: Pick<Project, 'ownerId'>,
): boolean {
  return (
    user.role === 'admin' ||
    user.role === 'moderator' ||
    [ticket.reporterId, ticket.assigneeId, project.ownerId].includes(user.id)
  );
}

/** Labels as typed (`bug, ui , bug`): trimmed, without empties or repeats, at most 20 of 48 characters. */
export function parseLabels(text: string): string[] {
  const labels = text
    .split(',')
    .map((label) => label.trim().slice(0, 48))
    .filter(Boolean);
  return [...new Set(labels)].slice(0, 20);
}

const TITLE_LENGTH = 120;

/**
 * A ticket drafted from a chat message: its first line (without markdown marks) as the title, the message
 * quoted as the description with a link back to it.
 */
export function ticketDraftFromMessage(
  text: string,
  link: string,
  author: string,
  words: { untitled: string; inTheChat: string } = { untitled: 'From chat', inTheChat: 'in the chat' },
): { title: string; description: string } {
  const firstLine =
    text
      .split('\n')
      .map((line) => line.replace(/^[#>\-*\s]+/, '').trim())
      .find(Boolean) ?? '';
  const plain = firstLine.replace(/[*_`~]/g, '');
  const title =
    plain.length > TITLE_LENGTH ? `${plain.slice(0, TITLE_LENGTH - 1).trimEnd()}…` : plain || words.untitled;
  const quoted = text
    .trim()
    .split('\n')
    .map((line) => `> ${line}`)
    .join('\n');
  return { title, description: `${quoted}\n\n— ${author}, [${words.inTheChat}](${link})` };
}
