import type { Project, ProjectStatus, Ticket, User } from '@kaiwa/protocol';
import { useCallback, useEffect, useId, useMemo, useRef, useState } from 'preact/hooks';
import { useController } from '../hooks';
import { t } from '../i18n';
import {
  canEditProject,
  PROJECT_STATUSES,
  projectStatusLabel,
  ticketCounts,
  upsertTicket,
} from '../projects-board';
import { Avatar, describeError, ErrorText, Modal } from './common';
import { ConfirmButton, FormField, formErrors, NO_ERRORS } from './FormField';
import { Icon } from './icons';
import { ProjectBoard } from './ProjectBoard';
import { goTo } from './TicketDialog';

/*
 * The projects screen (`/projects`): every project with its status, owner and ticket counts, a new project,
 * editing and archiving for its owner and staff; `/projects/<id>` shows one project's board.
 */

/** Calls `load` again when the window comes back into view (no ticket events arrive on the socket). */
export function useRefreshOnFocus(load: () => unknown): void {
  const latest = useRef(load);
  latest.current = load;
  useEffect(() => {
    let last = Date.now();
    const refresh = () => {
      if (document.visibilityState !== 'visible' || Date.now() - last < 2_000) return;
      last = Date.now();
      void latest.current();
    };
    addEventListener('focus', refresh);
    document.addEventListener('visibilitychange', refresh);
    return () => {
      removeEventListener('focus', refresh);
      document.removeEventListener('visibilitychange', refresh);
    };
  }, []);
}

const PROJECT_FIELDS = ['name', 'description', 'status'] as const;

/** Creates a project, or edits one (name, description, status; archive with a confirmation). */
export function ProjectDialog({
  me,
  project,
  onClose,
  onSaved,
}: {
  me: User;
  project?: Project | undefined;
  onClose: () => void;
  onSaved: (project: Project) => void;
}) {
  const controller = useController();
  const [name, setName] = useState(project?.name ?? '');
  const [description, setDescription] = useState(project?.description ?? '');
  const [status, setStatus] = useState<ProjectStatus>(project?.status ?? 'active');
  const [errors, setErrors] = useState(NO_ERRORS);
  const [busy, setBusy] = useState(false);
  const descriptionId = useId();
  const statusId = useId();
  const save = async () => {
    setBusy(true);
    setErrors(NO_ERRORS);
    const fields = { name: name.trim(), description, status };
    try {
      onSaved(
        project
          ? await controller.rest.updateProject(project.id, fields)
          : await controller.rest.createProject(fields),
      );
    } catch (caught) {
      setErrors(formErrors(caught, PROJECT_FIELDS));
      setBusy(false);
    }
  };
  return (
    <Modal title={project ? t('projects.editProject') : t('projects.newProject')} onClose={onClose}>
      <form
        class="stack ticket-form"
        onSubmit={(event) => {
          event.preventDefault();
          void save();
        }}
      >
        <FormField
          label={t('projects.name')}
          value={name}
          onValue={setName}
          maxLength={128}
          required
          autoFocus
          error={errors.fields.name}
        />
        <div class="field">
          <label for={descriptionId}>{t('projects.description')}</label>
          <textarea
            id={descriptionId}
            value={description}
            rows={4}
            maxLength={10_000}
            onInput={(event) => setDescription(event.currentTarget.value)}
          />
          {errors.fields.description ? <p class="field-error">{errors.fields.description}</p> : null}
        </div>
        <div class="field">
          <label for={statusId}>{t('projects.statusLabel')}</label>
          <select
            id={statusId}
            value={status}
            onChange={(event) => setStatus(event.currentTarget.value as ProjectStatus)}
          >
            {PROJECT_STATUSES.map((each) => (
              <option key={each} value={each}>
                {projectStatusLabel(each)}
              </option>
            ))}
          </select>
        </div>
        <ErrorText error={errors.general} />
        <div class="dialog-actions">
          {project && project.status !== 'archived' && canEditProject(me, project) ? (
            <div class="dialog-actions-start">
              <ConfirmButton
                label={t('projects.archiveProject')}
                question={t('projects.archiveQuestion')}
                confirmLabel={t('projects.archive')}
                danger
                onConfirm={async () =>
                  onSaved(await controller.rest.updateProject(project.id, { status: 'archived' }))
                }
              />
            </div>
          ) : null}
          <button type="button" class="button" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" class="button primary" disabled={busy || !name.trim()}>
            {project ? t('projects.saveProject') : t('projects.createProject')}
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** Every ticket the server lists (for the counts), page by page. */
async function loadAllTickets(controller: ReturnType<typeof useController>): Promise<Ticket[]> {
  const all: Ticket[] = [];
  let after: string | undefined;
  for (let page = 0; page < 25; page += 1) {
    const { tickets } = await controller.rest.listTickets({ limit: 200, ...(after ? { after } : {}) });
    all.push(...tickets);
    if (tickets.length < 200) break;
    after = tickets[tickets.length - 1]?.id;
  }
  return all;
}

type ListFilter = 'current' | 'archived' | 'all';

function ProjectList({ me }: { me: User }) {
  const controller = useController();
  const [projects, setProjects] = useState<Project[] | null>(null);
  const [tickets, setTickets] = useState<Ticket[]>([]);
  const counts = useMemo(() => ticketCounts(tickets), [tickets]);
  const [error, setError] = useState<string | null>(null);
  const [filter, setFilter] = useState<ListFilter>('current');
  const [editing, setEditing] = useState<Project | 'new' | null>(null);
  const filterId = useId();

  const load = useCallback(async () => {
    try {
      const [list, tickets] = await Promise.all([
        controller.rest.listProjects({ limit: 200 }),
        loadAllTickets(controller),
      ]);
      setProjects(list.projects);
      setTickets(tickets);
      controller.ensureUsers(list.projects.map((project) => project.ownerId));
      setError(null);
    } catch (caught) {
      setError(describeError(caught));
    }
  }, [controller]);
  useEffect(() => {
    void load();
  }, [load]);
  useRefreshOnFocus(load);
  // Others' changes arrive live: new and renamed projects, and tickets for the counts.
  useEffect(() => {
    const stop = controller.onFrame((frame) => {
      if (frame.type === 'project.created' || frame.type === 'project.updated') {
        const { project } = frame;
        setProjects((current) => current && [...current.filter((each) => each.id !== project.id), project]);
        controller.ensureUsers([project.ownerId]);
      } else if (frame.type === 'ticket.created' || frame.type === 'ticket.updated') {
        setTickets((current) => upsertTicket(current, frame.ticket));
      }
    });
    return () => {
      stop();
    };
  }, [controller]);

  const shown = (projects ?? [])
    .filter((project) =>
      filter === 'all'
        ? true
        : filter === 'archived'
          ? project.status === 'archived'
          : project.status !== 'archived',
    )
    .sort((a, b) => a.name.localeCompare(b.name));

  return (
    <div class="projects-screen">
      <header class="projects-header">
        <div class="project-title-row">
          <h1>{t('projects.title')}</h1>
          <div class="project-actions">
            <label for={filterId} class="visually-hidden">
              {t('projects.show')}
            </label>
            <select
              id={filterId}
              value={filter}
              onChange={(event) => setFilter(event.currentTarget.value as ListFilter)}
            >
              <option value="current">{t('projects.current')}</option>
              <option value="archived">{t('projects.archived')}</option>
              <option value="all">{t('projects.all')}</option>
            </select>
            <button type="button" class="button primary small" onClick={() => setEditing('new')}>
              <Icon name="plus" /> {t('projects.newProject')}
            </button>
          </div>
        </div>
      </header>
      <div class="projects-body">
        <ErrorText error={error} />
        {projects === null && !error ? (
          <p role="status">{t('projects.loadingProjects')}</p>
        ) : shown.length === 0 ? (
          <div class="empty-state">
            <p class="muted">{projects?.length ? t('projects.noneHere') : t('projects.noneYet')}</p>
          </div>
        ) : (
          <ul class="project-list">
            {shown.map((project) => {
              const owner = controller.state.users.get(project.ownerId);
              const count = counts.get(project.id) ?? { open: 0, total: 0 };
              return (
                <li key={project.id} class="project-item">
                  <div class="project-item-main">
                    <a
                      class="project-link"
                      href={`/projects/${project.id}`}
                      onClick={(event) => {
                        if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
                        event.preventDefault();
                        goTo(`/projects/${project.id}`);
                      }}
                    >
                      {project.name}
                    </a>
                    <span class={`project-status status-${project.status}`}>
                      {projectStatusLabel(project.status)}
                    </span>
                  </div>
                  {project.description ? <p class="project-summary">{project.description}</p> : null}
                  <div class="project-item-meta">
                    <span class="project-owner">
                      <Avatar user={owner} size="small" />
                      <span>{owner?.displayName ?? t('projects.someone')}</span>
                    </span>
                    <span class="project-counts">
                      {t('projects.counts', { open: count.open, count: count.total })}
                    </span>
                    {canEditProject(me, project) ? (
                      <button
                        type="button"
                        class="button small"
                        aria-label={t('projects.editName', { name: project.name })}
                        onClick={() => setEditing(project)}
                      >
                        <Icon name="edit" /> {t('projects.edit')}
                      </button>
                    ) : null}
                  </div>
                </li>
              );
            })}
          </ul>
        )}
      </div>
      {editing ? (
        <ProjectDialog
          me={me}
          project={editing === 'new' ? undefined : editing}
          onClose={() => setEditing(null)}
          onSaved={(saved) => {
            setEditing(null);
            if (editing === 'new') goTo(`/projects/${saved.id}`);
            else void load();
          }}
        />
      ) : null}
    </div>
  );
}

/** The projects screen: the list, or one project's board. */
export function ProjectsView({ projectId, me }: { projectId: string | null; me: User }) {
  return projectId ? <ProjectBoard key={projectId} projectId={projectId} me={me} /> : <ProjectList me={me} />;
}
