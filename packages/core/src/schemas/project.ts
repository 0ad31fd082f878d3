import { z } from 'zod';
import { DateSchema, IdSchema, TimestampSchema } from './common.js';

export const PROJECT_STATUSES = ['active', 'on_hold', 'completed', 'archived'] as const;
export const ProjectStatusSchema = z.enum(PROJECT_STATUSES);
export type ProjectStatus = z.infer<typeof ProjectStatusSchema>;

export const ProjectSchema = z.object({
  id: IdSchema,
  name: z.string().trim().min(1).max(128),
  description: z.string().max(10_000),
  status: ProjectStatusSchema,
  ownerId: IdSchema,
  createdAt: TimestampSchema,
  updatedAt: TimestampSchema,
});
export type Project = z.infer<typeof ProjectSchema>;

export const CreateProjectInputSchema = z.object({
  name: z.string().trim().min(1).max(128),
  description: z.string().max(10_000).default(''),
  status: ProjectStatusSchema.default('active'),
});
export type CreateProjectInput = z.input<typeof CreateProjectInputSchema>;

export const UpdateProjectInputSchema = z
  .object({
    name: z.string().trim().min(1).max(128),
    description: z.string().max(10_000),
    status: ProjectStatusSchema,
    ownerId: IdSchema,
  })
  .partial();
export type UpdateProjectInput = z.input<typeof UpdateProjectInputSchema>;

export const ProjectQuerySchema = z.object({
  status: ProjectStatusSchema.optional(),
  ownerId: IdSchema.optional(),
  after: IdSchema.optional(),
  limit: z.number().int().min(1).max(200).default(50),
});
export type ProjectQuery = z.input<typeof ProjectQuerySchema>;

export const TICKET_STATUSES = ['open', 'in_progress', 'blocked', 'done', 'closed'] as const;
export const TicketStatusSchema = z.enum(TICKET_STATUSES);
export type TicketStatus = z.infer<typeof TicketStatusSchema>;

export const TICKET_PRIORITIES = ['low', 'medium', 'high', 'urgent'] as const;
export const TicketPrioritySchema = z.enum(TICKET_PRIORITIES);
export type TicketPriority = z.infer<typeof TicketPrioritySchema>;

export const LabelSchema = z.string().trim().min(1).max(48);

export const TicketSchema = z.object({
  id: IdSchema,
  projectId: IdSchema,
  title: z.string().trim().min(1).max(256),
  description: z.string().max(50_000),
  status: TicketStatusSchema,
  priority: TicketPrioritySchema,
  reporterId: IdSchema,
  assigneeId: IdSchema.nullable(),
  dueDate: DateSchema.nullable(),
  labels: z.array(LabelSchema),
  createdAt: TimestampSchema,
  updatedAt: TimestampSchema,
});
export type Ticket = z.infer<typeof TicketSchema>;

export const CreateTicketInputSchema = z.object({
  projectId: IdSchema,
  title: z.string().trim().min(1).max(256),
  description: z.string().max(50_000).default(''),
  status: TicketStatusSchema.default('open'),
  priority: TicketPrioritySchema.default('medium'),
  assigneeId: IdSchema.nullable().default(null),
  dueDate: DateSchema.nullable().default(null),
  labels: z.array(LabelSchema).max(20).default([]),
});
export type CreateTicketInput = z.input<typeof CreateTicketInputSchema>;

export const UpdateTicketInputSchema = z
  .object({
    title: z.string().trim().min(1).max(256),
    description: z.string().max(50_000),
    status: TicketStatusSchema,
    priority: TicketPrioritySchema,
    assigneeId: IdSchema.nullable(),
    dueDate: DateSchema.nullable(),
    labels: z.array(LabelSchema).max(20),
  })
  .partial();
export type UpdateTicketInput = z.input<typeof UpdateTicketInputSchema>;

export const TicketQuerySchema = z.object({
  projectId: IdSchema.optional(),
  status: TicketStatusSchema.optional(),
  priority: TicketPrioritySchema.optional(),
  assigneeId: IdSchema.optional(),
  /** Only tickets due on or before this date. */
  dueBefore: DateSchema.optional(),
  after: IdSchema.optional(),
  limit: z.number().int().min(1).max(200).default(50),
});
export type TicketQuery = z.input<typeof TicketQuerySchema>;
