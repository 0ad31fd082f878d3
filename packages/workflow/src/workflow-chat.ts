import type {
  ChatEventListeners,
  CreateFileRecordInput,
  CreateTicketInput,
  FileRecord,
  Message,
  SendMessageInput,
  Ticket,
  UpdateTicketInput,
} from '@kaiwa/core';

/**
 * The chat operations workflow steps use, each acting as a user and checked like any other call of that
 * user. `ChatEngine` from `@kaiwa/core` has them all, so the server passes its engine; a test can pass a
 * small stand-in. Steps depend on this port, never on the concrete engine.
 *
 * @example
 * const workflows = new WorkflowEngine({ store, bus, services: { chat: engine, store }, steps });
 * // in a step:
 * await context.services.chat.sendMessage(context.actorId, { roomId, text: 'done' });
 */
export interface WorkflowChat {
  /**
   * Posts a message as `actorId` (the `notify` step).
   * @example await chat.sendMessage(actorId, { roomId, text: '請求書を受け付けました' });
   */
  sendMessage(actorId: string, input: SendMessageInput): Promise<Message>;
  /**
   * A file the actor may see (`upload`, `ocr`).
   * @example const file = await chat.getFileRecord(actorId, fileId);
   */
  getFileRecord(actorId: string, fileId: string): Promise<FileRecord>;
  /**
   * Records a file already written to the blob store (`store`).
   * @example await chat.createFileRecord(actorId, { name: 'result.json', mimeType, size, sha256, storageKey, roomId });
   */
  createFileRecord(actorId: string, input: CreateFileRecordInput): Promise<FileRecord>;
  /** @example const ticket = await chat.getTicket(actorId, ticketId); */
  getTicket(actorId: string, ticketId: string): Promise<Ticket>;
  /** @example await chat.createTicket(actorId, { projectId, title: 'Invoice 42' }); */
  createTicket(actorId: string, input: CreateTicketInput): Promise<Ticket>;
  /** @example await chat.updateTicket(actorId, ticketId, { status: 'done' }); */
  updateTicket(actorId: string, ticketId: string, patch: UpdateTicketInput): Promise<Ticket>;
}

/**
 * Where triggers hear of new messages and uploads: the chat engine's `events` emitter (`engine.events`),
 * which carries the events of every instance on the bus.
 *
 * @example new WorkflowTriggers({ events: engine.events, repository: store.workflows, workflows });
 */
export interface WorkflowChatEvents {
  on(type: 'message.created', listener: ChatEventListeners['message.created']): unknown;
  on(type: 'file.created', listener: ChatEventListeners['file.created']): unknown;
  off(type: 'message.created', listener: ChatEventListeners['message.created']): unknown;
  off(type: 'file.created', listener: ChatEventListeners['file.created']): unknown;
}
