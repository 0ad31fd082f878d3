import type { FileRecord, Project, Ticket, TicketPriority, TicketStatus, User } from '@kaiwa/protocol';
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useId, useRef, useState } from 'preact/hooks';
import { formatFull, formatSize } from '../format';
import { useController } from '../hooks';
import { formattingLocale, t } from '../i18n';
import {
  type BoardFilter,
  canEditProject,
  canEditTicket,
  groupByStatus,
  isOverdue,
  moveTicket,
  NO_FILTER,
  priorityLabel,
  projectStatusLabel,
  statusLabel,
  TICKET_PRIORITIES,
  TICKET_STATUSES,
  todayKey,
  upsertTicket,
} from '../projects-board';
import { Avatar, describeError, ErrorText } from './common';
import { Icon } from './icons';
import { ProjectDialog, useRefreshOnFocus } from './ProjectsView';
import { goTo, openProjects, rememberProject, TicketDialog } from './TicketDialog';

/*
 * One project: its board of tickets in a column per status, and its files. A card moves by drag and drop
 * (pointer) or by its status menu (keyboard, touch); either way the board shows the move at once and puts
 * the card back if the server refuses. The server publishes no ticket events on the socket, so the board
 * loads again when the window regains focus and after every change made here.
 */

const TICKET_DRAG_TYPE = 'application/x-kaiwa-ticket';

/** A due date (`2026-12-06`) as people read it: `6 Dec`. */
function formatDue(date: string): string {
  const [year, month, day] = date.split('-').map(Number);
  return new Intl.DateTimeFormat(formattingLocale(), { day: 'numeric', month: 'short' }).format(
    new Date(year ?? 1970, (month ?? 1) - 1, day ?? 1),
  );
}

/** Every ticket of a project, page by page. */
async function loadTickets(controller: ReturnType<typeof useController>, projectId: string) {
  const all: Ticket[] = [];
  let after: string | undefined;
  for (let page = 0; page < 25; page += 1) {
    const { tickets } = await controller.rest.listTickets({
      projectId,
      limit: 200,
      ...(after ? { after } : {}),
    });
    all.push(...tickets);
    if (tickets.length < 200) break;
    after = tickets[tickets.length - 1]?.id;
  }
  return all;
}

function TicketCard({
  ticket,
  assignee,
  today,
  editable,
  onOpen,
  onMove,
}: {
  ticket: Ticket;
  assignee: User | undefined;
  today: string;
  editable: boolean;
  onOpen: () => void;
  onMove: (status: TicketStatus) => void;
}) {
  const overdue = isOverdue(ticket, today);
  const statusId = useId();
  return (
    <li
      class={`ticket-card priority-${ticket.priority}`}
      data-ticket-id={ticket.id}
      draggable={editable}
      onDragStart={(event) => {
        event.dataTransfer?.setData(TICKET_DRAG_TYPE, ticket.id);
        event.dataTransfer?.setData('text/plain', ticket.title);
        if (event.dataTransfer) event.dataTransfer.effectAllowed = 'move';
        event.currentTarget.classList.add('dragging');
      }}
      onDragEnd={(event) => event.currentTarget.classList.remove('dragging')}
    >
      <button type="button" class="ticket-title" onClick={onOpen}>
        {ticket.title}
      </button>
      <div class="ticket-meta">
        <span class={`priority-badge priority-${ticket.priority}`}>{priorityLabel(ticket.priority)}</span>
        {ticket.dueDate ? (
          <span
            class={`ticket-due${overdue ? ' overdue' : ''}`}
            title={t('projects.dueTitle', { date: ticket.dueDate })}
          >
            {overdue ? t('projects.overdue') : t('projects.due')}
            <time dateTime={ticket.dueDate}>{formatDue(ticket.dueDate)}</time>
          </span>
        ) : null}
        {ticket.labels.map((label) => (
          <span key={label} class="ticket-label">
            {label}
          </span>
        ))}
      </div>
      <div class="ticket-footer">
        <label class="visually-hidden" for={statusId}>
          {t('projects.statusOf', { title: ticket.title })}
        </label>
        <select
          id={statusId}
          class="ticket-status"
          value={ticket.status}
          disabled={!editable}
          onChange={(event) => onMove(event.currentTarget.value as TicketStatus)}
        >
          {TICKET_STATUSES.map((status) => (
            <option key={status} value={status}>
              {statusLabel(status)}
            </option>
          ))}
        </select>
        {assignee ? (
          <span class="ticket-assignee" title={t('projects.assignedTo', { name: assignee.displayName })}>
            <Avatar user={assignee} size="small" />
            <span class="visually-hidden">{t('projects.assignedTo', { name: assignee.displayName })}</span>
          </span>
        ) : (
          <span class="ticket-assignee" title={t('projects.unassigned')}>
            <span class="avatar-empty" aria-hidden="true" />
            <span class="visually-hidden">{t('projects.unassigned')}</span>
          </span>
        )}
      </div>
    </li>
  );
}

function BoardColumn({
  status,
  tickets,
  children,
  onDropTicket,
}: {
  status: TicketStatus;
  tickets: Ticket[];
  children: ComponentChildren;
  onDropTicket: (ticketId: string, status: TicketStatus) => void;
}) {
  const [over, setOver] = useState(false);
  const depth = useRef(0);
  const headingId = useId();
  const accepts = (event: DragEvent) => event.dataTransfer?.types.includes(TICKET_DRAG_TYPE) ?? false;
  return (
    <section
      class={`board-column${over ? ' drop-target' : ''}`}
      data-status={status}
      aria-labelledby={headingId}
      onDragEnter={(event) => {
        if (!accepts(event)) return;
        depth.current += 1;
        setOver(true);
      }}
      onDragOver={(event) => {
        if (!accepts(event)) return;
        event.preventDefault();
        if (event.dataTransfer) event.dataTransfer.dropEffect = 'move';
      }}
      onDragLeave={(event) => {
        if (!accepts(event)) return;
        depth.current = Math.max(0, depth.current - 1);
        if (depth.current === 0) setOver(false);
      }}
      onDrop={(event) => {
        event.preventDefault();
        depth.current = 0;
        setOver(false);
        const ticketId = event.dataTransfer?.getData(TICKET_DRAG_TYPE);
        if (ticketId) onDropTicket(ticketId, status);
      }}
    >
      <h2 id={headingId} class="board-column-header">
        <span>{statusLabel(status)}</span>
        <span class="column-count">
          {tickets.length}
          <span class="visually-hidden"> {t('projects.columnTickets', { count: tickets.length })}</span>
        </span>
      </h2>
      <ul class="board-cards">{children}</ul>
      {tickets.length === 0 ? <p class="column-empty">{t('projects.noTickets')}</p> : null}
    </section>
  );
}

function ProjectFiles({ projectId, canUpload }: { projectId: string; canUpload: boolean }) {
  const controller = useController();
  const [files, setFiles] = useState<FileRecord[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const load = useCallback(() => {
    controller.rest.listFiles({ projectId, limit: 200 }).then(
      (result) => {
        setFiles(result.files);
        controller.ensureUsers(result.files.map((file) => file.uploaderId));
      },
      (caught: unknown) => setError(describeError(caught)),
    );
  }, [controller, projectId]);
  useEffect(load, [load]);
  useRefreshOnFocus(load);

  const download = async (file: FileRecord) => {
    try {
      const link = document.createElement('a');
      link.href = await controller.fileUrl(file.id);
      link.download = file.name;
      link.rel = 'noopener';
      document.body.append(link);
      link.click();
      link.remove();
    } catch (caught) {
      setError(t('projects.downloadFailed', { name: file.name, error: describeError(caught) }));
    }
  };

  return (
    <section class="project-files" aria-label={t('projects.files')}>
      <div class="project-files-header">
        <p class="muted project-files-note">{t('projects.filesNote')}</p>
        {canUpload ? (
          <>
            <input
              ref={input}
              type="file"
              class="visually-hidden"
              tabIndex={-1}
              aria-hidden="true"
              onChange={async (event) => {
                const file = event.currentTarget.files?.[0];
                event.currentTarget.value = '';
                if (!file) return;
                setBusy(true);
                setError(null);
                try {
                  await controller.rest.uploadFile({ projectId, file });
                  load();
                } catch (caught) {
                  setError(t('projects.uploadFailed', { name: file.name, error: describeError(caught) }));
                } finally {
                  setBusy(false);
                }
              }}
            />
            <button type="button" class="button small" disabled={busy} onClick={() => input.current?.click()}>
              <Icon name="clip" /> {busy ? t('projects.uploading') : t('projects.upload')}
            </button>
          </>
        ) : null}
      </div>
      <ErrorText error={error} />
      {files === null && !error ? (
        <p role="status">{t('projects.loadingFiles')}</p>
      ) : files && files.length === 0 ? (
        <p class="muted">{t('projects.noFiles')}</p>
      ) : (
        <ul class="file-list">
          {(files ?? []).map((file) => (
            <li key={file.id} class="file-row">
              <Icon name="file" />
              <span class="file-name">{file.name}</span>
              <span class="muted file-details">
                {formatSize(file.size)} ·{' '}
                {controller.state.users.get(file.uploaderId)?.displayName ?? t('projects.someone')} ·{' '}
                {formatFull(file.createdAt)}
              </span>
              <a
                class="button small"
                href={controller.rest.fileContentUrl(file.id, true)}
                aria-label={t('projects.downloadName', { name: file.name })}
                onClick={(event) => {
                  event.preventDefault();
                  void download(file);
                }}
              >
                {t('projects.download')}
              </a>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function ProjectBoard({ projectId, me }: { projectId: string; me: User }) {
  const controller = useController();
  const [project, setProject] = useState<Project | null>(null);
  const [tickets, setTickets] = useState<Ticket[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [moveError, setMoveError] = useState<string | null>(null);
  const [filter, setFilter] = useState<BoardFilter>(NO_FILTER);
  const [tab, setTab] = useState<'board' | 'files'>('board');
  const [dialog, setDialog] = useState<{ ticket?: Ticket } | 'project' | null>(null);
  const [projects, setProjects] = useState<Project[]>([]);
  const pending = useRef(new Set<string>());
  const assigneeId = useId();
  const priorityId = useId();

  const load = useCallback(async () => {
    try {
      const [loaded, list] = await Promise.all([
        controller.rest.getProject(projectId),
        loadTickets(controller, projectId),
      ]);
      setProject(loaded);
      // A move still on its way keeps its column until the server answers it.
      setTickets((current) =>
        list.map((each) =>
          pending.current.has(each.id) ? (current?.find((mine) => mine.id === each.id) ?? each) : each,
        ),
      );
      controller.ensureUsers([
        loaded.ownerId,
        ...list.flatMap((each) => (each.assigneeId ? [each.assigneeId] : [])),
      ]);
      setError(null);
    } catch (caught) {
      setError(describeError(caught));
    }
  }, [controller, projectId]);
  useEffect(() => {
    setProject(null);
    setTickets(null);
    rememberProject(me.id, projectId);
    void load();
  }, [load, me.id, projectId]);
  useRefreshOnFocus(load);
  // Others' changes arrive live; a move of one's own still on its way keeps its column until answered.
  useEffect(() => {
    const stop = controller.onFrame((frame) => {
      if (frame.type === 'ticket.created' || frame.type === 'ticket.updated') {
        const { ticket } = frame;
        if (pending.current.has(ticket.id)) return;
        setTickets((current) => {
          if (current === null) return current;
          // Moved to another project: off this board.
          if (ticket.projectId !== projectId) return current.filter((each) => each.id !== ticket.id);
          return upsertTicket(current, ticket);
        });
        if (ticket.assigneeId) controller.ensureUsers([ticket.assigneeId]);
      } else if (frame.type === 'project.updated' && frame.project.id === projectId) {
        setProject(frame.project);
      }
    });
    return () => {
      stop();
    };
  }, [controller, projectId]);

  const move = async (ticketId: string, status: TicketStatus) => {
    const before = tickets?.find((each) => each.id === ticketId);
    if (!before || before.status === status) return;
    setMoveError(null);
    pending.current.add(ticketId);
    setTickets((current) => moveTicket(current ?? [], ticketId, status));
    try {
      const saved = await controller.rest.updateTicket(ticketId, { status });
      setTickets((current) => upsertTicket(current ?? [], saved));
    } catch (caught) {
      // Back where it was, unless something else moved it meanwhile.
      setTickets((current) =>
        (current ?? []).map((each) =>
          each.id === ticketId && each.status === status ? { ...each, status: before.status } : each,
        ),
      );
      setMoveError(
        t('projects.moveFailed', {
          title: before.title,
          status: statusLabel(status),
          error: describeError(caught),
        }),
      );
    } finally {
      pending.current.delete(ticketId);
    }
  };

  if (error && !project) {
    return (
      <div class="projects-screen">
        <div class="projects-header">
          <a href="/projects" class="back-link" onClick={backToList}>
            {t('projects.back')}
          </a>
        </div>
        <ErrorText error={t('projects.loadFailed', { error })} />
      </div>
    );
  }
  if (!project || !tickets) {
    return (
      <div class="projects-screen">
        <p role="status" class="projects-loading">
          {t('projects.loadingProject')}
        </p>
      </div>
    );
  }

  const today = todayKey();
  const columns = groupByStatus(tickets, filter);
  const shown = TICKET_STATUSES.reduce((sum, status) => sum + columns[status].length, 0);
  const owner = controller.state.users.get(project.ownerId);
  const archived = project.status === 'archived';
  const assignees = [...new Set(tickets.flatMap((each) => (each.assigneeId ? [each.assigneeId] : [])))]
    .map(
      (id) => controller.state.users.get(id) ?? ({ id, displayName: t('projects.someoneCapital') } as User),
    )
    .sort((a, b) => a.displayName.localeCompare(b.displayName));

  const openNewTicket = async () => {
    try {
      setProjects(await openProjects(controller));
    } catch {
      setProjects([project]);
    }
    setDialog({});
  };

  return (
    <div class="projects-screen project-board">
      <header class="projects-header">
        <a href="/projects" class="back-link" onClick={backToList}>
          {t('projects.back')}
        </a>
        <div class="project-title-row">
          <h1>{project.name}</h1>
          <span class={`project-status status-${project.status}`}>{projectStatusLabel(project.status)}</span>
          <span class="project-owner muted">
            <Avatar user={owner} size="small" /> {owner?.displayName ?? t('projects.someone')}
          </span>
          <div class="project-actions">
            {canEditProject(me, project) ? (
              <button type="button" class="button small" onClick={() => setDialog('project')}>
                <Icon name="edit" /> {t('projects.editProject')}
              </button>
            ) : null}
            {archived ? null : (
              <button type="button" class="button primary small" onClick={() => void openNewTicket()}>
                <Icon name="plus" /> {t('projects.newTicket')}
              </button>
            )}
          </div>
        </div>
        {project.description ? <p class="project-description">{project.description}</p> : null}
        {archived ? <p class="notice">{t('projects.archivedNotice')}</p> : null}
        <div class="board-toolbar">
          <div class="tabs" role="tablist" aria-label={t('projects.views')}>
            <button
              type="button"
              role="tab"
              aria-selected={tab === 'board'}
              class={`tab${tab === 'board' ? ' current' : ''}`}
              onClick={() => setTab('board')}
            >
              {t('projects.board')}
            </button>
            <button
              type="button"
              role="tab"
              aria-selected={tab === 'files'}
              class={`tab${tab === 'files' ? ' current' : ''}`}
              onClick={() => setTab('files')}
            >
              {t('projects.filesTab')}
            </button>
          </div>
          {tab === 'board' ? (
            <div class="board-filters">
              <label for={assigneeId}>{t('projects.assignee')}</label>
              <select
                id={assigneeId}
                value={filter.assignee}
                onChange={(event) => setFilter({ ...filter, assignee: event.currentTarget.value })}
              >
                <option value="all">{t('projects.anyone')}</option>
                <option value={me.id}>{t('projects.me')}</option>
                <option value="unassigned">{t('projects.unassigned')}</option>
                {assignees
                  .filter((person) => person.id !== me.id)
                  .map((person) => (
                    <option key={person.id} value={person.id}>
                      {person.displayName}
                    </option>
                  ))}
              </select>
              <label for={priorityId}>{t('projects.priorityLabel')}</label>
              <select
                id={priorityId}
                value={filter.priority}
                onChange={(event) =>
                  setFilter({ ...filter, priority: event.currentTarget.value as TicketPriority | 'all' })
                }
              >
                <option value="all">{t('projects.any')}</option>
                {TICKET_PRIORITIES.map((priority) => (
                  <option key={priority} value={priority}>
                    {priorityLabel(priority)}
                  </option>
                ))}
              </select>
              {filter !== NO_FILTER && shown < tickets.length ? (
                <button type="button" class="link-button" onClick={() => setFilter(NO_FILTER)}>
                  {t('projects.showAll', { count: tickets.length })}
                </button>
              ) : null}
            </div>
          ) : null}
        </div>
        {moveError ? (
          <div class="notice-bar" role="alert">
            <span>{moveError}</span>
            <button
              type="button"
              class="icon-button small"
              aria-label={t('common.dismiss')}
              onClick={() => setMoveError(null)}
            >
              <Icon name="close" />
            </button>
          </div>
        ) : null}
      </header>
      {tab === 'files' ? (
        <ProjectFiles projectId={project.id} canUpload={!archived} />
      ) : (
        <section class="board" aria-label={t('projects.ticketsOf', { name: project.name })}>
          {TICKET_STATUSES.map((status) => (
            <BoardColumn
              key={status}
              status={status}
              tickets={columns[status]}
              onDropTicket={(ticketId, to) => void move(ticketId, to)}
            >
              {columns[status].map((ticket) => (
                <TicketCard
                  key={ticket.id}
                  ticket={ticket}
                  assignee={ticket.assigneeId ? controller.state.users.get(ticket.assigneeId) : undefined}
                  today={today}
                  editable={canEditTicket(me, ticket, project)}
                  onOpen={() => {
                    setProjects([project]);
                    setDialog({ ticket });
                  }}
                  onMove={(to) => void move(ticket.id, to)}
                />
              ))}
            </BoardColumn>
          ))}
        </section>
      )}
      {dialog === 'project' ? (
        <ProjectDialog
          me={me}
          project={project}
          onClose={() => setDialog(null)}
          onSaved={(saved) => {
            setProject(saved);
            setDialog(null);
          }}
        />
      ) : dialog ? (
        <TicketDialog
          me={me}
          projects={projects.length > 0 ? projects : [project]}
          projectId={project.id}
          ticket={dialog.ticket}
          onClose={() => setDialog(null)}
          onSaved={(saved) => {
            setDialog(null);
            if (saved.projectId === project.id) setTickets((current) => upsertTicket(current ?? [], saved));
            else goTo(`/projects/${saved.projectId}`);
          }}
        />
      ) : null}
    </div>
  );
}

function backToList(event: MouseEvent): void {
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  goTo('/projects');
}
