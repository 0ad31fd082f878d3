import { describe, expect } from 'vitest';
import { createId } from '../../ids.js';
import type { ChatStorage, ProjectStorage } from '../../ports/chat-store.js';
import type { FileRecord } from '../../schemas/file-record.js';
import type { Project, Ticket } from '../../schemas/project.js';
import { conflictField, now, type RepositorySuite } from './support.js';

/** The tests of {@link projectFileRepositoryTests}, by the key `skipTests` takes. */
export type ProjectFileRepositoryTest = 'projects' | 'projects-ids' | 'tickets' | 'files';

/** Projects, tickets and file records: round trips, every filter, keyset pages and deletes. */
export function projectFileRepositoryTests(
  suite: RepositorySuite<ProjectFileRepositoryTest, ChatStorage & ProjectStorage>,
): void {
  const { store, test, newUser, newRoom } = suite;

  describe('projects and tickets', () => {
    test('projects', 'inserts, finds, filters and updates projects', async () => {
      const owner = await newUser();
      const other = await newUser();
      const at = now();
      const project: Project = {
        id: createId(),
        name: 'Kaiwa 1.0',
        description: '最初のリリース 🚀',
        status: 'active',
        ownerId: owner.id,
        createdAt: at,
        updatedAt: at,
      };
      const held: Project = { ...project, id: createId(), status: 'on_hold' };
      const foreign: Project = { ...project, id: createId(), ownerId: other.id };
      for (const entry of [project, held, foreign]) await store.projects.insert(entry);
      expect(await store.projects.findById(project.id)).toEqual(project);
      expect(await store.projects.list({ ownerId: owner.id, limit: 10 })).toEqual([project, held]);
      expect(await store.projects.list({ ownerId: owner.id, status: 'on_hold', limit: 10 })).toEqual([held]);
      expect(await store.projects.list({ ownerId: owner.id, after: project.id, limit: 10 })).toEqual([held]);
      const later = now();
      await store.projects.update(project.id, {
        name: 'Renamed',
        description: '',
        status: 'completed',
        ownerId: other.id,
        updatedAt: later,
      });
      expect(await store.projects.findById(project.id)).toEqual({
        ...project,
        name: 'Renamed',
        description: '',
        status: 'completed',
        ownerId: other.id,
        updatedAt: later,
      });
      expect(await conflictField(store.projects.insert(project))).toBe('id');
    });

    test('projects-ids', "lists every project's id in id order", async () => {
      const owner = await newUser();
      const at = now();
      const ids = [createId(), createId()];
      for (const id of ids) {
        await store.projects.insert({
          id,
          name: 'Ids',
          description: '',
          status: 'archived',
          ownerId: owner.id,
          createdAt: at,
          updatedAt: at,
        });
      }
      const listed = await store.projects.listIds();
      expect(listed).toEqual([...listed].sort());
      expect(listed).toEqual(expect.arrayContaining(ids));
    });

    test('tickets', 'inserts, finds, filters and updates tickets', async () => {
      const owner = await newUser();
      const dev = await newUser();
      const at = now();
      const project: Project = {
        id: createId(),
        name: 'Tickets',
        description: '',
        status: 'active',
        ownerId: owner.id,
        createdAt: at,
        updatedAt: at,
      };
      await store.projects.insert(project);
      const ticket = (overrides: Partial<Ticket>): Ticket => ({
        id: createId(),
        projectId: project.id,
        title: 'Crash on start',
        description: 'スタック トレース',
        status: 'open',
        priority: 'medium',
        reporterId: owner.id,
        assigneeId: null,
        dueDate: null,
        labels: [],
        createdAt: at,
        updatedAt: at,
        ...overrides,
      });
      const urgent = ticket({
        priority: 'urgent',
        assigneeId: dev.id,
        dueDate: '2026-12-01',
        labels: ['bug', 'バグ'],
      });
      const later = ticket({ title: 'Docs', dueDate: '2027-03-01' });
      const done = ticket({ title: 'Old', status: 'done' });
      for (const entry of [urgent, later, done]) await store.tickets.insert(entry);

      expect(await store.tickets.findById(urgent.id)).toEqual(urgent);
      const ids = async (query: Parameters<typeof store.tickets.list>[0]) =>
        (await store.tickets.list(query)).map((entry) => entry.id);
      expect(await ids({ projectId: project.id, limit: 10 })).toEqual([urgent.id, later.id, done.id]);
      expect(await ids({ projectId: project.id, priority: 'urgent', limit: 10 })).toEqual([urgent.id]);
      expect(await ids({ projectId: project.id, status: 'done', limit: 10 })).toEqual([done.id]);
      expect(await ids({ assigneeId: dev.id, limit: 10 })).toEqual([urgent.id]);
      expect(await ids({ projectId: project.id, dueBefore: '2026-12-01', limit: 10 })).toEqual([urgent.id]);
      expect(await ids({ projectId: project.id, dueBefore: '2027-12-31', limit: 10 })).toEqual([
        urgent.id,
        later.id,
      ]);
      expect(await ids({ projectId: project.id, after: urgent.id, limit: 1 })).toEqual([later.id]);

      const updatedAt = now();
      await store.tickets.update(urgent.id, {
        title: 'Crash fixed',
        description: '',
        status: 'closed',
        priority: 'low',
        assigneeId: null,
        dueDate: null,
        labels: ['fixed'],
        updatedAt,
      });
      expect(await store.tickets.findById(urgent.id)).toEqual({
        ...urgent,
        title: 'Crash fixed',
        description: '',
        status: 'closed',
        priority: 'low',
        assigneeId: null,
        dueDate: null,
        labels: ['fixed'],
        updatedAt,
      });
      expect(await conflictField(store.tickets.insert(later))).toBe('id');
    });
  });

  describe('file records', () => {
    test('files', 'inserts, finds, filters by link and MIME type, and deletes', async () => {
      const alice = await newUser();
      const room = await newRoom(alice.id);
      const file = (overrides: Partial<FileRecord>): FileRecord => ({
        id: createId(),
        name: '写真 1.png',
        mimeType: 'image/png',
        size: 5_000_000_000,
        sha256: 'a'.repeat(64),
        storageKey: `blobs/${createId()}`,
        uploaderId: alice.id,
        roomId: room.id,
        projectId: null,
        ticketId: null,
        createdAt: now(),
        ...overrides,
      });
      const png = file({});
      const jpeg = file({ name: 'b.jpg', mimeType: 'image/jpeg', size: 0 });
      const pdf = file({ name: 'c.pdf', mimeType: 'application/pdf' });
      const imagePrefix = file({ name: 'd', mimeType: 'imagex/odd' });
      for (const entry of [png, jpeg, pdf, imagePrefix]) await store.files.insert(entry);

      expect(await store.files.findById(png.id)).toEqual(png);
      expect(await store.files.findByIds([pdf.id, png.id, createId()])).toEqual([png, pdf]);
      expect(await store.files.findByIds([])).toEqual([]);
      const ids = async (query: Parameters<typeof store.files.list>[0]) =>
        (await store.files.list(query)).map((entry) => entry.id);
      expect(await ids({ roomId: room.id, limit: 10 })).toEqual([png.id, jpeg.id, pdf.id, imagePrefix.id]);
      expect(await ids({ roomId: room.id, mimeType: 'image/*', limit: 10 })).toEqual([png.id, jpeg.id]);
      expect(await ids({ roomId: room.id, mimeType: 'image/png', limit: 10 })).toEqual([png.id]);
      expect(await ids({ roomId: room.id, mimeType: 'application/*', after: png.id, limit: 10 })).toEqual([
        pdf.id,
      ]);

      await store.files.delete(png.id);
      await store.files.delete(png.id);
      expect(await store.files.findById(png.id)).toBeUndefined();
      expect(await conflictField(store.files.insert(jpeg))).toBe('id');
    });
  });
}
