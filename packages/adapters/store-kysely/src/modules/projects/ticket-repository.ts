import type { Ticket, TicketPriority, TicketRepository, TicketStatus } from '@kaiwa/core';
import type { Selectable, Updateable } from 'kysely';
import type { TicketsTable } from '../../database.js';
import { asConflictError } from '../../unique-violations.js';
import type { RepositoryContext } from '../repository-context.js';

function toTicket(row: Selectable<TicketsTable>): Ticket {
  return {
    id: row.id,
    projectId: row.project_id,
    title: row.title,
    description: row.description,
    status: row.status as TicketStatus,
    priority: row.priority as TicketPriority,
    reporterId: row.reporter_id,
    assigneeId: row.assignee_id,
    dueDate: row.due_date,
    labels: JSON.parse(row.labels) as string[],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export class KyselyTicketRepository implements TicketRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async insert(ticket: Ticket): Promise<void> {
    try {
      await this.#context.db
        .insertInto('tickets')
        .values({
          id: ticket.id,
          project_id: ticket.projectId,
          title: ticket.title,
          description: ticket.description,
          status: ticket.status,
          priority: ticket.priority,
          reporter_id: ticket.reporterId,
          assignee_id: ticket.assigneeId,
          due_date: ticket.dueDate,
          labels: JSON.stringify(ticket.labels),
          created_at: ticket.createdAt,
          updated_at: ticket.updatedAt,
        })
        .execute();
    } catch (error) {
      throw asConflictError(error, 'tickets');
    }
  }

  async findById(id: string): Promise<Ticket | undefined> {
    const row = await this.#context.db
      .selectFrom('tickets')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toTicket(row);
  }

  async list(query: {
    projectId?: string;
    status?: TicketStatus;
    priority?: TicketPriority;
    assigneeId?: string;
    dueBefore?: string;
    after?: string;
    limit: number;
  }): Promise<Ticket[]> {
    let select = this.#context.db.selectFrom('tickets').selectAll();
    if (query.projectId !== undefined) select = select.where('project_id', '=', query.projectId);
    if (query.status !== undefined) select = select.where('status', '=', query.status);
    if (query.priority !== undefined) select = select.where('priority', '=', query.priority);
    if (query.assigneeId !== undefined) select = select.where('assignee_id', '=', query.assigneeId);
    if (query.dueBefore !== undefined) select = select.where('due_date', '<=', query.dueBefore);
    if (query.after !== undefined) select = select.where('id', '>', query.after);
    const rows = await select.orderBy('id').limit(query.limit).execute();
    return rows.map(toTicket);
  }

  async update(
    id: string,
    patch: Partial<Omit<Ticket, 'id' | 'projectId' | 'reporterId' | 'createdAt'>>,
  ): Promise<void> {
    const values: Updateable<TicketsTable> = {};
    if (patch.title !== undefined) values.title = patch.title;
    if (patch.description !== undefined) values.description = patch.description;
    if (patch.status !== undefined) values.status = patch.status;
    if (patch.priority !== undefined) values.priority = patch.priority;
    if (patch.assigneeId !== undefined) values.assignee_id = patch.assigneeId;
    if (patch.dueDate !== undefined) values.due_date = patch.dueDate;
    if (patch.labels !== undefined) values.labels = JSON.stringify(patch.labels);
    if (patch.updatedAt !== undefined) values.updated_at = patch.updatedAt;
    if (Object.keys(values).length === 0) return;
    await this.#context.db.updateTable('tickets').set(values).where('id', '=', id).execute();
  }

  async findByLabel(projectId: string, label: string): Promise<Ticket | undefined> {
    // Labels are a JSON array in text. LIKE narrows the rows; `%`, `_` and `\` become the one-character
    // wildcard so no dialect's escape rules matter, and the exact match is checked on the parsed labels.
    const pattern = `%${JSON.stringify(label).replace(/[%_\\]/g, '_')}%`;
    const rows = await this.#context.db
      .selectFrom('tickets')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('labels', 'like', pattern)
      .orderBy('id')
      .execute();
    return rows.map(toTicket).find((ticket) => ticket.labels.includes(label));
  }
}
