import type { WorkflowRun, WorkflowStepRecord } from './ports/workflow-repository.js';
import type { FileRecord } from './schemas/file-record.js';
import type { Project, Ticket } from './schemas/project.js';
import type { Room } from './schemas/room.js';
import type { RoomEvent, RoomEventType } from './schemas/room-event.js';
import type { User } from './schemas/user.js';

/** Why sessions or keys were ended; clients see it as the close reason of their socket. */
export type SessionRevocationReason =
  | 'logout'
  | 'password_changed'
  | 'password_reset'
  | 'role_changed'
  | 'deactivated'
  | 'api_key_revoked'
  | 'refresh_token_reused';

/** Sessions (refresh-token families, the `sid` of access tokens) and API keys of one user that just ended. */
export interface SessionRevocation {
  userId: string;
  /** Ended sessions by id. */
  sessionIds: string[];
  /** Revoked API keys by id. */
  apiKeyIds: string[];
  /** Every credential of the user ended, whatever its session (logout everywhere, deactivation). */
  allSessions: boolean;
  reason: SessionRevocationReason;
  at: string;
}

/** Events that are not tied to one room's sequence. */
export type GlobalEvent =
  | { type: 'user.created'; payload: { user: User } }
  | { type: 'user.updated'; payload: { user: User } }
  /**
   * Ephemeral: not stored, not sequenced (the revocations themselves are). Every instance drops the ended
   * sessions and keys at once: access tokens carrying them fail, sockets opened with them close.
   */
  | { type: 'user.sessions_revoked'; payload: SessionRevocation }
  | { type: 'room.created'; payload: { room: Room; memberIds: string[] } }
  | { type: 'read.updated'; payload: { roomId: string; userId: string; lastReadMessageId: string | null } }
  | { type: 'project.created'; payload: { project: Project } }
  | { type: 'project.updated'; payload: { project: Project } }
  | { type: 'ticket.created'; payload: { ticket: Ticket } }
  | { type: 'ticket.updated'; payload: { ticket: Ticket } }
  | { type: 'file.created'; payload: { file: FileRecord } }
  | { type: 'file.deleted'; payload: { file: FileRecord } }
  /** A workflow run changed status; stored before it is announced. */
  | { type: 'workflow.run.updated'; payload: { run: WorkflowRun } }
  /** A step of a run changed (started, retried, finished, skipped); stored before it is announced. */
  | { type: 'workflow.step.updated'; payload: { runId: string; step: WorkflowStepRecord } }
  /** Ephemeral: not stored, not sequenced. */
  | { type: 'typing.updated'; payload: { roomId: string; userId: string; typing: boolean } }
  /** Ephemeral: not stored, not sequenced. */
  | { type: 'presence.updated'; payload: { userId: string; status: 'online' | 'away' | 'offline' } }
  /**
   * Ephemeral: not stored, not sequenced (the setting itself is, in the room settings). A room's setting
   * under `key` changed; every instance that caches it reads it again from the store.
   */
  | { type: 'room.settings.updated'; payload: { roomId: string; key: string } }
  /**
   * Ephemeral: not stored, not sequenced. A piece of a reply being generated (the in-chat assistant); the
   * final text arrives later as an ordinary `message.created` whose `metadata.assistant.streamId` matches.
   */
  | {
      type: 'message.delta';
      payload: {
        roomId: string;
        streamId: string;
        /** The message being answered. */
        replyToId: string;
        /** Thread the reply will be posted in; null for the room timeline. */
        threadRootId: string | null;
        authorId: string;
        delta: string;
        /** True on the last frame of a stream (its `delta` is empty). */
        done: boolean;
      };
    };

/** Everything the engine announces, on its emitter and on the bus. */
export type ChatEvent = RoomEvent | GlobalEvent;
export type ChatEventType = ChatEvent['type'];

/** Listener signatures for the engine's eventemitter3 emitter: `engine.events.on('message.created', e => …)`. */
export type ChatEventListeners = {
  [K in ChatEventType]: (event: Extract<ChatEvent, { type: K }>) => void;
};

export function isRoomEvent(event: ChatEvent): event is RoomEvent {
  return 'seq' in event;
}

export type { RoomEventType };
