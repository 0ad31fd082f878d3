import type { KaiwaRestClient } from '@kaiwa/client';
import type { User } from '@kaiwa/protocol';
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { describeError, ErrorText, Modal } from './components/common';
import { WorkflowEditor } from './components/WorkflowEditor';
import { useChatVersion, useController } from './hooks';
import { t } from './i18n';
import { definitionText, describeTrigger, startsByHand } from './workflow-editing';
import {
  applyWorkflowProgress,
  describeWorkflowError,
  formatDuration,
  isFinished,
  isWorkflowProgressFrame,
  mergeRunDetails,
  mergeRunViews,
  newestFirst,
  previewOutput,
  statusLabel,
  stepSummary,
  WORKFLOW_POLL_MS,
  type WorkflowRunDetailsView,
  type WorkflowRunView,
  type WorkflowStepStatus,
  type WorkflowSummary,
} from './workflows-timeline';

/*
 * The Workflows view: the defined workflows (members start those started by hand; admins define and edit
 * them in the editor), the runs the user may see, and the
 * step timeline of one run with each step's status, attempts, duration and error. While the chat's WebSocket
 * is up, the server pushes every change of those runs; while it is down, the view asks again every two
 * seconds (new runs after the newest one known, unfinished runs one by one), and once more when it is back,
 * for what happened in between.
 */

/** Unfinished runs refreshed per poll; the rest wait for the next one. */
const REFRESH_PER_POLL = 10;

function StatusBadge({ status }: { status: WorkflowStepStatus }) {
  return <span class={`workflow-status status-${status}`}>{statusLabel(status)}</span>;
}

/** A scrollable table of runs or steps under the given column headings. */
function WorkflowTable({ columns, children }: { columns: string[]; children: ComponentChildren }) {
  return (
    <div class="workflow-table-wrap">
      <table class="workflow-table">
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column} scope="col">
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

function time(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : '';
}

/** The room open behind the dialog, from the address (`/rooms/<id>`), for the editor's example. */
function openRoomId(): string | undefined {
  return /^\/rooms\/([^/?#]+)/.exec(location.pathname)?.[1];
}

export function WorkflowsDialog({
  api,
  me,
  onClose,
}: {
  api: KaiwaRestClient;
  me: User;
  onClose: () => void;
}) {
  const [workflows, setWorkflows] = useState<WorkflowSummary[] | null>(null);
  const [runs, setRuns] = useState<Map<string, WorkflowRunView>>(new Map());
  const [selected, setSelected] = useState<string | null>(null);
  const [details, setDetails] = useState<WorkflowRunDetailsView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [now, setNow] = useState(Date.now());
  const [reload, setReload] = useState(0);
  /** The definition being edited: `''` for a new workflow; null while the lists show. */
  const [editing, setEditing] = useState<string | null>(null);
  const runsRef = useRef(runs);
  runsRef.current = runs;
  const controller = useController();
  useChatVersion(controller);
  const live = controller.connection.state === 'online';

  const mergeRuns = useCallback((changed: WorkflowRunView[]) => {
    if (changed.length === 0) return;
    setRuns((previous) => mergeRunViews(previous, changed));
  }, []);

  useEffect(
    () =>
      controller.onFrame((frame) => {
        if (!isWorkflowProgressFrame(frame)) return;
        if (frame.type === 'workflow.run.updated') mergeRuns([frame.run]);
        setDetails((current) => (current ? applyWorkflowProgress(current, frame) : current));
      }),
    [controller, mergeRuns],
  );

  const poll = useCallback(async () => {
    try {
      const known = [...runsRef.current.keys()].sort();
      let after = known[known.length - 1];
      const fresh: WorkflowRunView[] = [];
      // New runs since the newest one known (all of them, page by page, on the first poll).
      for (let pages = 0; pages < 10; pages++) {
        const query = `/workflow-runs?limit=200${after ? `&after=${after}` : ''}`;
        const page = (await api.request<{ runs: WorkflowRunView[] }>('GET', query)).runs;
        fresh.push(...page);
        if (page.length < 200) break;
        after = page[page.length - 1]!.id;
      }
      const unfinished = [...runsRef.current.values()].filter((run) => !isFinished(run.status));
      const refreshed = await Promise.all(
        unfinished
          .slice(0, REFRESH_PER_POLL)
          .map((run) =>
            api
              .request<WorkflowRunDetailsView>('GET', `/workflow-runs/${run.id}`)
              .then((answer) => answer.run),
          ),
      );
      mergeRuns([...fresh, ...refreshed]);
      setError(null);
    } catch (caught) {
      setError(describeError(caught));
    }
  }, [api, mergeRuns]);

  const loadWorkflows = useCallback(
    () =>
      api.request<{ workflows: WorkflowSummary[] }>('GET', '/workflows').then(
        (answer) => setWorkflows(answer.workflows),
        (caught: unknown) => setError(describeError(caught)),
      ),
    [api],
  );
  useEffect(() => {
    void loadWorkflows();
  }, [loadWorkflows]);

  // Durations of what is still running grow on screen.
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, []);

  // Once now (and whenever the socket comes back); again every two seconds only while it is down.
  useEffect(() => {
    void poll();
    if (live) return;
    const timer = setInterval(() => void poll(), WORKFLOW_POLL_MS);
    return () => clearInterval(timer);
  }, [poll, live]);

  // The selected run's timeline: pushed changes apply to it; without the socket, asked again until it ends.
  useEffect(() => {
    if (!selected) {
      setDetails(null);
      return;
    }
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const answer = await api.request<WorkflowRunDetailsView>('GET', `/workflow-runs/${selected}`);
        if (stopped) return;
        setDetails((current) => mergeRunDetails(current, answer));
        mergeRuns([answer.run]);
        if (!live && !isFinished(answer.run.status)) timer = setTimeout(load, WORKFLOW_POLL_MS);
      } catch (caught) {
        if (!stopped) setError(describeError(caught));
      }
    };
    void load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [api, selected, mergeRuns, reload, live]);

  /** Runs one button's request with the buttons disabled, showing what went wrong. */
  const act = async (request: () => Promise<void>) => {
    setBusy(true);
    try {
      await request();
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      setBusy(false);
    }
  };

  const start = (workflowId: string) =>
    act(async () => {
      const run = await api.request<WorkflowRunView>('POST', `/workflows/${workflowId}/runs`, {});
      mergeRuns([run]);
      setSelected(run.id);
      setError(null);
    });

  const cancel = (runId: string) =>
    act(async () => {
      mergeRuns([await api.request<WorkflowRunView>('POST', `/workflow-runs/${runId}/cancel`)]);
      setReload((count) => count + 1);
    });

  const names = new Map((workflows ?? []).map((workflow) => [workflow.id, workflow.name]));
  const runList = newestFirst([...runs.values()]);
  const { capabilities } = controller.state;
  const canStart = capabilities.startWorkflows;
  const canDefine = capabilities.defineWorkflows;

  if (editing !== null) {
    return (
      <Modal
        title={editing === '' ? t('workflows.new') : t('workflows.edit')}
        onClose={() => setEditing(null)}
      >
        <WorkflowEditor
          api={api}
          initialText={editing}
          roomId={openRoomId()}
          onCancel={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            void loadWorkflows();
          }}
        />
      </Modal>
    );
  }

  return (
    <Modal title={t('workflows.title')} onClose={onClose}>
      <div class="workflows">
        <ErrorText error={error} />
        <section aria-labelledby="workflow-list-heading">
          <div class="workflow-list-head">
            <h3 id="workflow-list-heading">{t('workflows.title')}</h3>
            {canDefine ? (
              <button type="button" class="button small" onClick={() => setEditing('')}>
                {t('workflows.new')}
              </button>
            ) : null}
          </div>
          {workflows === null ? (
            <p role="status">{t('common.loading')}</p>
          ) : workflows.length === 0 ? (
            <p class="muted">
              {t('workflows.none')}
              {canDefine ? t('workflows.defineOne') : ''}
            </p>
          ) : (
            <ul class="pick-list">
              {workflows.map((workflow) => (
                <li key={workflow.id}>
                  <div class="pick-main">
                    <span>{workflow.name}</span>
                    <span class="muted">
                      {workflow.id} · {t('workflows.versionShort', { version: workflow.version })} ·{' '}
                      {describeTrigger(workflow.definition.trigger)}
                    </span>
                  </div>
                  <div class="workflow-actions">
                    {canDefine ? (
                      <button
                        type="button"
                        class="button small"
                        aria-label={t('workflows.editNamed', { name: workflow.name })}
                        onClick={() => setEditing(definitionText(workflow.definition))}
                      >
                        {t('workflows.editShort')}
                      </button>
                    ) : null}
                    {canStart && startsByHand(workflow.definition.trigger) ? (
                      <button
                        type="button"
                        class="button small"
                        aria-label={t('workflows.startNamed', { name: workflow.name })}
                        disabled={busy}
                        onClick={() => void start(workflow.id)}
                      >
                        {t('workflows.start')}
                      </button>
                    ) : null}
                  </div>
                </li>
              ))}
            </ul>
          )}
        </section>
        <section aria-labelledby="workflow-runs-heading">
          <h3 id="workflow-runs-heading">{t('workflows.runs')}</h3>
          {runList.length === 0 ? (
            <p class="muted">{t('workflows.noRuns')}</p>
          ) : (
            <WorkflowTable
              columns={[
                t('workflows.columns.workflow'),
                t('workflows.columns.status'),
                t('workflows.columns.started'),
                t('workflows.columns.duration'),
              ]}
            >
              {runList.map((run) => (
                <tr key={run.id} aria-selected={run.id === selected}>
                  <td>
                    <button type="button" class="link-button" onClick={() => setSelected(run.id)}>
                      {names.get(run.workflowId) ?? run.workflowId}
                    </button>
                  </td>
                  <td>
                    <StatusBadge status={run.status} />
                  </td>
                  <td>{time(run.startedAt ?? run.createdAt)}</td>
                  <td>{formatDuration(run.startedAt, run.finishedAt, now)}</td>
                </tr>
              ))}
            </WorkflowTable>
          )}
        </section>
        {details ? (
          <section aria-labelledby="workflow-run-heading" aria-live="polite">
            <h3 id="workflow-run-heading">
              {names.get(details.run.workflowId) ?? details.run.workflowId}{' '}
              <StatusBadge status={details.run.status} />
            </h3>
            <p class="muted">
              {t('workflows.runLine', { run: details.run.id, version: details.run.workflowVersion })} ·{' '}
              {stepSummary(details.steps)}
            </p>
            {details.run.error ? <p class="error-text">{describeWorkflowError(details.run.error)}</p> : null}
            {!isFinished(details.run.status) &&
            (capabilities.seeAllWorkflowRuns || me.id === details.run.actorId) ? (
              <div class="dialog-actions">
                <button
                  type="button"
                  class="button danger small"
                  disabled={busy}
                  onClick={() => void cancel(details.run.id)}
                >
                  {t('workflows.cancelRun')}
                </button>
              </div>
            ) : null}
            <WorkflowTable
              columns={[
                t('workflows.columns.step'),
                t('workflows.columns.status'),
                t('workflows.columns.attempts'),
                t('workflows.columns.duration'),
                t('workflows.columns.result'),
              ]}
            >
              {details.steps.map((step) => (
                <tr key={step.stepId}>
                  <td>
                    {step.stepId}
                    <span class="muted"> ({step.type})</span>
                  </td>
                  <td>
                    <StatusBadge status={step.status} />
                  </td>
                  <td>{step.attempts}</td>
                  <td>{formatDuration(step.startedAt, step.finishedAt, now)}</td>
                  <td class={step.error ? 'error-text' : 'workflow-output'}>
                    {step.error ? describeWorkflowError(step.error) : previewOutput(step.output)}
                  </td>
                </tr>
              ))}
            </WorkflowTable>
          </section>
        ) : null}
      </div>
    </Modal>
  );
}
