import type { Message, Project, Ticket, TicketPriority, TicketStatus, User } from '@kaiwa/protocol';
import { type ComponentChildren, render } from 'preact';
import { useEffect, useId, useMemo, useState } from 'preact/hooks';
import { ControllerContext, useController } from '../hooks';
import { t, tRich } from '../i18n';
import { MessageMarkdown } from '../markdown/message-markdown';
import { permalink } from '../navigation';
import {
  canEditTicket,
  parseLabels,
  priorityLabel,
  statusLabel,
  TICKET_PRIORITIES,
  TICKET_STATUSES,
  ticketDraftFromMessage,
} from '../projects-board';
import { describeError, ErrorText, Modal } from './common';
import { FormField, formErrors, NO_ERRORS } from './FormField';

/*
 * Creating and editing a ticket (title, description in markdown with a preview, status, priority, assignee,
 * due date, labels), and the "Create ticket" action of a chat message, which drafts one from the message.
 */

/** Shows another screen of the chat without reloading: the chat follows the address on `popstate`. */
export function goTo(path: string): void {
  if (`${location.pathname}${location.search}` !== path) history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}

/** Everyone the directory lists, by name, for the assignee picker. */
function usePeople(): User[] {
  const controller = useController();
  const [people, setPeople] = useState<User[]>(() =>
    [...controller.state.users.values()].sort((a, b) => a.displayName.localeCompare(b.displayName)),
  );
  useEffect(() => {
    let live = true;
    controller.listUsers().then(
      (users) => live && setPeople(users.filter((user) => !user.deactivatedAt && user.role !== 'guest')),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [controller]);
  return people;
}

/** A labelled select of people, with "Nobody" first; the value is a user id or ''. */
function PeoplePicker({
  label,
  value,
  onValue,
  people,
  disabled = false,
  error,
}: {
  label: string;
  value: string;
  onValue: (userId: string) => void;
  people: User[];
  disabled?: boolean;
  error?: string | undefined;
}) {
  const id = useId();
  const known = people.some((person) => person.id === value);
  const controller = useController();
  const current = value && !known ? controller.state.users.get(value) : undefined;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select
        id={id}
        value={value}
        disabled={disabled}
        onChange={(event) => onValue(event.currentTarget.value)}
      >
        <option value="">{t('tickets.nobody')}</option>
        {value && !known ? (
          <option value={value}>{current?.displayName ?? t('projects.someoneCapital')}</option>
        ) : null}
        {people.map((person) => (
          <option key={person.id} value={person.id}>
            {person.displayName} (@{person.username})
          </option>
        ))}
      </select>
      {error ? <p class="field-error">{error}</p> : null}
    </div>
  );
}

function Select<T extends string>({
  label,
  value,
  options,
  labels,
  onValue,
  disabled = false,
}: {
  label: string;
  value: T;
  options: readonly T[];
  labels: (value: T) => string;
  onValue: (value: T) => void;
  disabled?: boolean;
}) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select
        id={id}
        value={value}
        disabled={disabled}
        onChange={(event) => onValue(event.currentTarget.value as T)}
      >
        {options.map((option) => (
          <option key={option} value={option}>
            {labels(option)}
          </option>
        ))}
      </select>
    </div>
  );
}

/** A markdown text area with a Write / Preview switch. */
function MarkdownField({
  label,
  value,
  onValue,
  disabled,
  error,
}: {
  label: string;
  value: string;
  onValue: (value: string) => void;
  disabled: boolean;
  error?: string | undefined;
}) {
  const controller = useController();
  const id = useId();
  const [preview, setPreview] = useState(disabled && value.length > 0);
  return (
    <div class="field markdown-field">
      <div class="markdown-field-header">
        <label for={id}>{label}</label>
        <div class="segmented">
          <button
            type="button"
            class="link-button"
            aria-pressed={!preview}
            disabled={disabled}
            onClick={() => setPreview(false)}
          >
            {t('tickets.write')}
          </button>
          <button type="button" class="link-button" aria-pressed={preview} onClick={() => setPreview(true)}>
            {t('tickets.preview')}
          </button>
        </div>
      </div>
      {preview ? (
        <div class="markdown-preview">
          {value.trim() ? (
            <MessageMarkdown text={value} users={controller.state.users} />
          ) : (
            <p class="muted">{t('tickets.nothingToPreview')}</p>
          )}
        </div>
      ) : (
        <textarea
          id={id}
          value={value}
          rows={6}
          maxLength={50_000}
          disabled={disabled}
          onInput={(event) => onValue(event.currentTarget.value)}
        />
      )}
      <p class="hint">{t('tickets.markdownHint')}</p>
      {error ? <p class="field-error">{error}</p> : null}
    </div>
  );
}

const TICKET_FIELDS = ['projectId', 'title', 'description', 'assigneeId', 'dueDate', 'labels'] as const;

/**
 * A ticket to create (in `projectId`, or one of `projects` to choose from) or to edit (`ticket`). People who
 * may not edit the ticket see it read-only.
 */
export function TicketDialog({
  me,
  projects,
  projectId,
  ticket,
  draft,
  onClose,
  onSaved,
}: {
  me: User;
  /** The projects a new ticket may go into (active ones); the one of `projectId` comes first. */
  projects: Project[];
  projectId: string;
  ticket?: Ticket | undefined;
  draft?: { title: string; description: string } | undefined;
  onClose: () => void;
  onSaved: (ticket: Ticket) => void;
}) {
  const controller = useController();
  const people = usePeople();
  const [project, setProject] = useState(ticket?.projectId ?? projectId);
  const [title, setTitle] = useState(ticket?.title ?? draft?.title ?? '');
  const [description, setDescription] = useState(ticket?.description ?? draft?.description ?? '');
  const [status, setStatus] = useState<TicketStatus>(ticket?.status ?? 'open');
  const [priority, setPriority] = useState<TicketPriority>(ticket?.priority ?? 'medium');
  const [assignee, setAssignee] = useState(ticket?.assigneeId ?? '');
  const [dueDate, setDueDate] = useState(ticket?.dueDate ?? '');
  const [labels, setLabels] = useState((ticket?.labels ?? []).join(', '));
  const [errors, setErrors] = useState(NO_ERRORS);
  const [busy, setBusy] = useState(false);
  const projectField = useId();
  const owner = projects.find((each) => each.id === project);
  const editable = !ticket || !owner || canEditTicket(me, ticket, owner);

  const save = async () => {
    setBusy(true);
    setErrors(NO_ERRORS);
    const fields = {
      title: title.trim(),
      description,
      status,
      priority,
      assigneeId: assignee || null,
      dueDate: dueDate || null,
      labels: parseLabels(labels),
    };
    try {
      const saved = ticket
        ? await controller.rest.updateTicket(ticket.id, fields)
        : await controller.rest.createTicket({ projectId: project, ...fields });
      onSaved(saved);
    } catch (caught) {
      setErrors(formErrors(caught, TICKET_FIELDS));
      setBusy(false);
    }
  };

  return (
    <Modal
      title={ticket ? (editable ? t('tickets.edit') : t('tickets.view')) : t('tickets.new')}
      onClose={onClose}
    >
      <form
        class="stack ticket-form"
        onSubmit={(event) => {
          event.preventDefault();
          if (editable) void save();
        }}
      >
        {!ticket && projects.length > 1 ? (
          <div class="field">
            <label for={projectField}>{t('tickets.project')}</label>
            <select
              id={projectField}
              value={project}
              onChange={(event) => setProject(event.currentTarget.value)}
            >
              {projects.map((each) => (
                <option key={each.id} value={each.id}>
                  {each.name}
                </option>
              ))}
            </select>
            {errors.fields.projectId ? <p class="field-error">{errors.fields.projectId}</p> : null}
          </div>
        ) : null}
        {!editable ? <p class="notice">{t('tickets.readOnly')}</p> : null}
        <FormField
          label={t('tickets.title')}
          value={title}
          onValue={setTitle}
          maxLength={256}
          required
          disabled={!editable}
          error={errors.fields.title}
          autoFocus={!draft}
        />
        <MarkdownField
          label={t('tickets.description')}
          value={description}
          onValue={setDescription}
          disabled={!editable}
          error={errors.fields.description}
        />
        <div class="field-row">
          <Select
            label={t('tickets.status')}
            value={status}
            options={TICKET_STATUSES}
            labels={statusLabel}
            onValue={setStatus}
            disabled={!editable}
          />
          <Select
            label={t('tickets.priority')}
            value={priority}
            options={TICKET_PRIORITIES}
            labels={priorityLabel}
            onValue={setPriority}
            disabled={!editable}
          />
        </div>
        <div class="field-row">
          <PeoplePicker
            label={t('tickets.assignee')}
            value={assignee}
            onValue={setAssignee}
            people={people}
            disabled={!editable}
            error={errors.fields.assigneeId}
          />
          <FormField
            label={t('tickets.dueDate')}
            type="date"
            value={dueDate}
            onValue={setDueDate}
            disabled={!editable}
            error={errors.fields.dueDate}
          />
        </div>
        <FormField
          label={t('tickets.labels')}
          value={labels}
          onValue={setLabels}
          hint={t('tickets.labelsHint')}
          disabled={!editable}
          error={errors.fields.labels}
        />
        <ErrorText error={errors.general} />
        <div class="dialog-actions">
          <button type="button" class="button" onClick={onClose}>
            {editable ? t('common.cancel') : t('common.close')}
          </button>
          {editable ? (
            <button type="submit" class="button primary" disabled={busy || !title.trim() || !project}>
              {ticket ? t('tickets.save') : t('tickets.create')}
            </button>
          ) : null}
        </div>
      </form>
    </Modal>
  );
}

/** Projects a ticket may be created in: every one but archived ones, by name. */
export async function openProjects(controller: ReturnType<typeof useController>): Promise<Project[]> {
  const { projects } = await controller.rest.listProjects({ limit: 200 });
  return projects
    .filter((project) => project.status !== 'archived')
    .sort((a, b) => a.name.localeCompare(b.name));
}

function FromMessageDialog({ message, me, onClose }: { message: Message; me: User; onClose: () => void }) {
  const controller = useController();
  const [projects, setProjects] = useState<Project[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<Ticket | null>(null);
  useEffect(() => {
    openProjects(controller).then(setProjects, (caught: unknown) => setError(describeError(caught)));
  }, [controller]);

  if (created) {
    const project = projects?.find((each) => each.id === created.projectId);
    return (
      <Modal title={t('tickets.created')} onClose={onClose}>
        <p role="status">
          {tRich('tickets.createdText', {
            title: created.title,
            project: <strong>{project?.name ?? t('tickets.theProject')}</strong>,
          })}
        </p>
        <div class="dialog-actions">
          <button type="button" class="button" onClick={onClose}>
            {t('common.close')}
          </button>
          <a
            class="button primary"
            href={`/projects/${created.projectId}`}
            onClick={(event) => {
              if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
              event.preventDefault();
              onClose();
              goTo(`/projects/${created.projectId}`);
            }}
          >
            {t('tickets.openBoard')}
          </a>
        </div>
      </Modal>
    );
  }
  if (!projects || projects.length === 0) {
    return (
      <Modal title={t('tickets.new')} onClose={onClose}>
        <ErrorText error={error} />
        {projects ? (
          <p>
            {tRich('tickets.noProject', {
              link: (
                <a
                  href="/projects"
                  onClick={(event) => {
                    event.preventDefault();
                    onClose();
                    goTo('/projects');
                  }}
                >
                  {t('tickets.createProject')}
                </a>
              ),
            })}
          </p>
        ) : error ? null : (
          <p role="status">{t('projects.loadingProjects')}</p>
        )}
      </Modal>
    );
  }
  const author = controller.state.users.get(message.authorId)?.displayName ?? t('projects.someone');
  const draft = ticketDraftFromMessage(message.text, permalink(message.roomId, message.id), author, {
    untitled: t('tickets.fromChat'),
    inTheChat: t('tickets.inTheChat'),
  });
  const remembered = lastProject(me.id);
  const first = projects.find((each) => each.id === remembered) ?? projects[0]!;
  return (
    <TicketDialog
      me={me}
      projects={projects}
      projectId={first.id}
      draft={draft}
      onClose={onClose}
      onSaved={(ticket) => {
        rememberProject(me.id, ticket.projectId);
        setCreated(ticket);
      }}
    />
  );
}

const lastProjectKey = (userId: string) => `kaiwa.lastProject.${userId}`;

/** The project shown or used last in this browser, the first choice for a ticket from a message. */
export function rememberProject(userId: string, projectId: string): void {
  try {
    localStorage.setItem(lastProjectKey(userId), projectId);
  } catch {
    // Storage off: the first project by name is offered instead.
  }
}

function lastProject(userId: string): string | null {
  try {
    return localStorage.getItem(lastProjectKey(userId));
  } catch {
    return null;
  }
}

/**
 * Renders its children at the end of the body, outside the message: the toolbar it is opened from fades and
 * ignores the pointer when the message is not hovered, and a dialog inside it would inherit that.
 */
function BodyPortal({ children }: { children: ComponentChildren }) {
  const controller = useController();
  const host = useMemo(() => document.createElement('div'), []);
  useEffect(() => {
    document.body.append(host);
    return () => {
      render(null, host);
      host.remove();
    };
  }, [host]);
  useEffect(() => {
    render(<ControllerContext.Provider value={controller}>{children}</ControllerContext.Provider>, host);
  });
  return null;
}

/** The "Create ticket" action of a message (people who use projects): drafts a ticket from it. */
export function CreateTicketButton({ message }: { message: Message }) {
  const controller = useController();
  const [open, setOpen] = useState(false);
  const me = controller.state.me;
  if (!me || !controller.state.capabilities.useProjects) return null;
  return (
    <>
      <button
        type="button"
        class="icon-button"
        aria-label={t('tickets.create')}
        title={t('tickets.create')}
        onClick={() => setOpen(true)}
      >
        <TicketIcon />
      </button>
      {open ? (
        <BodyPortal>
          <FromMessageDialog message={message} me={me} onClose={() => setOpen(false)} />
        </BodyPortal>
      ) : null}
    </>
  );
}

/** A ticket with a check mark (the icon set in icons.tsx is shared; this one belongs to projects). */
function TicketIcon() {
  return (
    <svg
      class="icon"
      viewBox="0 0 24 24"
      width="18"
      height="18"
      fill="none"
      stroke="currentColor"
      stroke-width="2"
      stroke-linecap="round"
      stroke-linejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      <path d="M4 4h16v16H4z" />
      <path d="M8 12l3 3 5-6" />
    </svg>
  );
}
