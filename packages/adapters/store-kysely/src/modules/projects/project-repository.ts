import type { Project, ProjectRepository, ProjectStatus } from '@kaiwa/core';
import type { Selectable, Updateable } from 'kysely';
import type { ProjectsTable } from '../../database.js';
import { asConflictError } from '../../unique-violations.js';
import type { RepositoryContext } from '../repository-context.js';

function toProject(row: Selectable<ProjectsTable>): Project {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    status: row.status as ProjectStatus,
    ownerId: row.owner_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export class KyselyProjectRepository implements ProjectRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async insert(project: Project): Promise<void> {
    try {
      await this.#context.db
        .insertInto('projects')
        .values({
          id: project.id,
          name: project.name,
          description: project.description,
          status: project.status,
          owner_id: project.ownerId,
          created_at: project.createdAt,
          updated_at: project.updatedAt,
        })
        .execute();
    } catch (error) {
      throw asConflictError(error, 'projects');
    }
  }

  async findById(id: string): Promise<Project | undefined> {
    const row = await this.#context.db
      .selectFrom('projects')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toProject(row);
  }

  async list(query: {
    status?: ProjectStatus;
    ownerId?: string;
    after?: string;
    limit: number;
  }): Promise<Project[]> {
    let select = this.#context.db.selectFrom('projects').selectAll();
    if (query.status !== undefined) select = select.where('status', '=', query.status);
    if (query.ownerId !== undefined) select = select.where('owner_id', '=', query.ownerId);
    if (query.after !== undefined) select = select.where('id', '>', query.after);
    const rows = await select.orderBy('id').limit(query.limit).execute();
    return rows.map(toProject);
  }

  async listIds(): Promise<string[]> {
    const rows = await this.#context.db.selectFrom('projects').select('id').orderBy('id').execute();
    return rows.map((row) => row.id);
  }

  async update(id: string, patch: Partial<Omit<Project, 'id' | 'createdAt'>>): Promise<void> {
    const values: Updateable<ProjectsTable> = {};
    if (patch.name !== undefined) values.name = patch.name;
    if (patch.description !== undefined) values.description = patch.description;
    if (patch.status !== undefined) values.status = patch.status;
    if (patch.ownerId !== undefined) values.owner_id = patch.ownerId;
    if (patch.updatedAt !== undefined) values.updated_at = patch.updatedAt;
    if (Object.keys(values).length === 0) return;
    await this.#context.db.updateTable('projects').set(values).where('id', '=', id).execute();
  }
}
