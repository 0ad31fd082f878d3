import type { PluginJobRun, PluginSettingDefinition, PluginSettings, PluginSummary } from '@kaiwa/client';
import { useCallback, useEffect, useId, useRef, useState } from 'preact/hooks';
import { formatFull } from '../format';
import { useController } from '../hooks';
import { type MessageKey, t } from '../i18n';
import {
  checkDraft,
  draftChanged,
  draftOf,
  type SettingProblem,
  type SettingsDraft,
  valuesOf,
} from '../plugin-settings-form';
import { describeError, ErrorText } from './common';
import { formErrors } from './FormField';
import { UninstallPlugin, UpgradePlugin } from './PluginLifecycle';

/*
 * Below each plugin on the admins' plugins screen: its settings form, rendered from the settings schema its
 * manifest declares (text, number, a switch, a choice for enumerated values; labels, help, defaults, bounds),
 * checked in the browser and again by the server (whose complaint about a field is shown under it), and the
 * runs of its scheduled jobs, latest first. Each opens with a button of its own.
 */

type Panel = 'settings' | 'jobs' | 'upgrade' | 'uninstall' | null;

/** The Settings, Job runs, Upgrade and Uninstall buttons of one plugin and the panel that is open. */
export function PluginDetails({
  plugin,
  onChanged,
  onUninstalled,
}: {
  plugin: PluginSummary;
  onChanged: () => void;
  onUninstalled: (result: { id: string; keptData: boolean }) => void;
}) {
  const [open, setOpen] = useState<Panel>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const panelId = useId();
  const upgradeRef = useRef<HTMLButtonElement>(null);
  const uninstallRef = useRef<HTMLButtonElement>(null);
  const toggle = (panel: Exclude<Panel, null>) => {
    setNotice(null);
    setOpen((current) => (current === panel ? null : panel));
  };
  // Closing a panel from inside it gives the focus back to the button that opened it.
  const closePanel = (opener: { current: HTMLButtonElement | null }) => {
    setOpen(null);
    requestAnimationFrame(() => opener.current?.focus());
  };
  return (
    <div class="plugin-details">
      <div class="plugin-details-buttons">
        <button
          type="button"
          class="button small"
          aria-expanded={open === 'settings'}
          aria-controls={open === 'settings' ? panelId : undefined}
          aria-label={t('pluginSettings.showNamed', { name: plugin.id })}
          onClick={() => toggle('settings')}
        >
          {t('pluginSettings.show')}
        </button>
        <button
          type="button"
          class="button small"
          aria-expanded={open === 'jobs'}
          aria-controls={open === 'jobs' ? panelId : undefined}
          aria-label={t('pluginJobs.showNamed', { name: plugin.id })}
          onClick={() => toggle('jobs')}
        >
          {t('pluginJobs.show')}
        </button>
        <button
          ref={upgradeRef}
          type="button"
          class="button small"
          aria-expanded={open === 'upgrade'}
          aria-controls={open === 'upgrade' ? panelId : undefined}
          aria-label={t('pluginLifecycle.upgradeNamed', { name: plugin.id })}
          onClick={() => toggle('upgrade')}
        >
          {t('pluginLifecycle.upgrade')}
        </button>
        <button
          ref={uninstallRef}
          type="button"
          class="button small plugin-uninstall-button"
          aria-expanded={open === 'uninstall'}
          aria-controls={open === 'uninstall' ? panelId : undefined}
          aria-label={t('pluginLifecycle.uninstallNamed', { name: plugin.id })}
          onClick={() => toggle('uninstall')}
        >
          {t('pluginLifecycle.uninstall')}
        </button>
      </div>
      {notice ? (
        <p class="notice plugin-notice" role="status">
          {notice}
        </p>
      ) : null}
      {open === 'settings' ? (
        <div id={panelId} class="plugin-panel">
          <PluginSettingsForm pluginId={plugin.id} onSaved={onChanged} />
        </div>
      ) : null}
      {open === 'jobs' ? (
        <div id={panelId} class="plugin-panel">
          <PluginJobRuns pluginId={plugin.id} />
        </div>
      ) : null}
      {open === 'upgrade' ? (
        <div id={panelId} class="plugin-panel">
          <UpgradePlugin
            plugin={plugin}
            onChanged={onChanged}
            onDone={(upgraded) => {
              closePanel(upgradeRef);
              if (upgraded) {
                const params = { name: upgraded.id, from: upgraded.fromVersion, to: upgraded.toVersion };
                setNotice(
                  t(
                    upgraded.migrated ? 'pluginLifecycle.upgradedMigrated' : 'pluginLifecycle.upgraded',
                    params,
                  ),
                );
              }
            }}
          />
        </div>
      ) : null}
      {open === 'uninstall' ? (
        <div id={panelId} class="plugin-panel">
          <UninstallPlugin
            plugin={plugin}
            onDone={(result) => (result ? onUninstalled(result) : closePanel(uninstallRef))}
          />
        </div>
      ) : null}
    </div>
  );
}

function problemText(problem: SettingProblem): string {
  return t(problem.key, problem.params);
}

/** The hint under a field: its help text, its default and its bounds, as the manifest gives them. */
function hintOf(definition: PluginSettingDefinition, secretSaved: boolean): string[] {
  const lines: string[] = [];
  if (definition.description) lines.push(definition.description);
  if (definition.secret) {
    lines.push(t(secretSaved ? 'pluginSettings.secretSaved' : 'pluginSettings.secretUnset'));
    return lines;
  }
  if (definition.type === 'number' || definition.type === 'integer') {
    const { minimum: min, maximum: max } = definition;
    if (min !== undefined && max !== undefined) lines.push(t('pluginSettings.between', { min, max }));
    else if (min !== undefined) lines.push(t('pluginSettings.atLeast', { min }));
    else if (max !== undefined) lines.push(t('pluginSettings.atMost', { max }));
  }
  if (definition.type === 'string' && !definition.enum && definition.maxLength !== undefined) {
    const { minLength: min, maxLength: max } = definition;
    lines.push(
      min ? t('pluginSettings.lengthBetween', { min, max }) : t('pluginSettings.lengthAtMost', { max }),
    );
  }
  if (definition.default !== undefined && definition.type !== 'boolean' && !definition.enum) {
    lines.push(t('pluginSettings.emptyIsDefault', { value: String(definition.default) }));
  }
  return lines;
}

function SettingField({
  definition,
  value,
  secretSaved,
  error,
  onValue,
}: {
  definition: PluginSettingDefinition;
  value: string | boolean;
  secretSaved: boolean;
  error: string | undefined;
  onValue: (value: string | boolean) => void;
}) {
  const id = useId();
  const hintId = useId();
  const errorId = useId();
  const label = definition.title ?? definition.key;
  const hint = hintOf(definition, secretSaved);
  const describedBy = [hint.length > 0 ? hintId : '', error ? errorId : ''].filter(Boolean).join(' ');
  const described = {
    'aria-invalid': error ? ('true' as const) : undefined,
    ...(describedBy ? { 'aria-describedby': describedBy } : {}),
  };
  const hintText =
    hint.length > 0 ? (
      <p class="hint" id={hintId}>
        {hint.map((line) => (
          <span key={line} class="hint-line">
            {line}
          </span>
        ))}
      </p>
    ) : null;
  const errorText = error ? (
    <p class="field-error" id={errorId}>
      {error}
    </p>
  ) : null;

  if (definition.type === 'boolean') {
    return (
      <div class="field plugin-setting">
        <label class="toggle">
          <input
            type="checkbox"
            role="switch"
            name={definition.key}
            checked={value === true}
            aria-checked={value === true}
            {...described}
            onChange={(event) => onValue(event.currentTarget.checked)}
          />
          <span>{label}</span>
        </label>
        {hintText}
        {errorText}
      </div>
    );
  }
  const required =
    definition.required && definition.default === undefined && !(definition.secret && secretSaved);
  return (
    <div class="field plugin-setting">
      <label for={id}>
        {label}
        {required ? <span class="muted"> ({t('pluginSettings.required')})</span> : null}
      </label>
      {definition.enum ? (
        <select
          id={id}
          name={definition.key}
          value={String(value)}
          {...described}
          onChange={(event) => onValue(event.currentTarget.value)}
        >
          {value === '' ? <option value="">{t('pluginSettings.choose')}</option> : null}
          {definition.enum.map((choice) => (
            <option key={choice} value={choice}>
              {choice}
            </option>
          ))}
        </select>
      ) : (
        <input
          id={id}
          name={definition.key}
          // Numbers too are typed as text (with the phone's number keys): a number input would hand over an
          // empty value for "1,5" or "abc", and the form would take that as "the default".
          type={definition.secret ? 'password' : 'text'}
          inputMode={
            definition.type === 'integer' ? 'numeric' : definition.type === 'number' ? 'decimal' : undefined
          }
          autocomplete={definition.secret ? 'new-password' : 'off'}
          value={String(value)}
          placeholder={definition.default === undefined ? undefined : String(definition.default)}
          {...described}
          onInput={(event) => onValue(event.currentTarget.value)}
        />
      )}
      {hintText}
      {errorText}
    </div>
  );
}

/** A plugin's settings form: Save sends only when something changed and the browser's checks pass. */
function PluginSettingsForm({ pluginId, onSaved }: { pluginId: string; onSaved: () => void }) {
  const controller = useController();
  const [settings, setSettings] = useState<PluginSettings | null>(null);
  const [initial, setInitial] = useState<SettingsDraft>({});
  const [draft, setDraft] = useState<SettingsDraft>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [notice, setNotice] = useState<{ key: MessageKey; failed: boolean } | null>(null);
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  const titleId = useId();

  const show = useCallback((next: PluginSettings) => {
    setSettings(next);
    const start = draftOf(next);
    setInitial(start);
    setDraft(start);
  }, []);

  useEffect(() => {
    let live = true;
    controller.rest
      .pluginSettings(pluginId)
      .then((loaded) => live && show(loaded))
      .catch((caught: unknown) => live && setGeneral(describeError(caught)));
    return () => {
      live = false;
    };
  }, [controller, pluginId, show]);

  // The first field with a problem gets the focus, so a keyboard user lands on it.
  const focusFirstProblem = () =>
    requestAnimationFrame(() =>
      formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus(),
    );

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!settings || busy) return;
    setNotice(null);
    setGeneral(null);
    const problems = checkDraft(settings, draft);
    if (Object.keys(problems).length > 0) {
      setErrors(
        Object.fromEntries(Object.entries(problems).map(([key, problem]) => [key, problemText(problem)])),
      );
      focusFirstProblem();
      return;
    }
    setBusy(true);
    try {
      const saved = await controller.rest.savePluginSettings(pluginId, valuesOf(settings, draft));
      show(saved);
      setErrors({});
      setNotice(
        saved.state === 'running'
          ? { key: 'pluginSettings.saved', failed: false }
          : saved.state === 'failed'
            ? { key: 'pluginSettings.savedFailed', failed: true }
            : { key: 'pluginSettings.savedStopped', failed: false },
      );
      onSaved();
    } catch (caught) {
      const found = formErrors(
        caught,
        settings.definitions.map((definition) => definition.key),
      );
      setErrors(found.fields);
      setGeneral(
        found.general ?? (Object.keys(found.fields).length > 0 ? t('pluginSettings.fixFields') : null),
      );
      focusFirstProblem();
    } finally {
      setBusy(false);
    }
  };

  if (!settings) {
    return general ? <ErrorText error={general} /> : <p role="status">{t('common.loading')}</p>;
  }
  const changed = draftChanged(initial, draft);
  return (
    <section class="plugin-settings" aria-labelledby={titleId}>
      <h4 id={titleId}>{t('pluginSettings.title')}</h4>
      {settings.definitions.length === 0 ? (
        <p class="muted">{t('pluginSettings.none')}</p>
      ) : (
        <form ref={formRef} class="stack" noValidate onSubmit={(event) => void submit(event)}>
          <p class="hint">
            {settings.updatedAt
              ? t('pluginSettings.lastSaved', { at: formatFull(settings.updatedAt) })
              : t('pluginSettings.neverSaved')}
          </p>
          {settings.definitions.map((definition) => (
            <SettingField
              key={definition.key}
              definition={definition}
              value={draft[definition.key] ?? ''}
              secretSaved={settings.secretsSet.includes(definition.key)}
              error={errors[definition.key]}
              onValue={(value) => {
                setDraft((current) => ({ ...current, [definition.key]: value }));
                setNotice(null);
                setErrors(({ [definition.key]: _fixed, ...rest }) => rest);
              }}
            />
          ))}
          <ErrorText error={general} />
          {notice ? (
            <p class={notice.failed ? 'error-text' : 'notice'} role="status">
              {t(notice.key)}
            </p>
          ) : null}
          <div class="plugin-settings-actions">
            <button type="submit" class="button primary" disabled={!changed || busy}>
              {busy ? t('common.working') : t('pluginSettings.save')}
            </button>
            {changed ? null : <span class="hint">{t('pluginSettings.unchanged')}</span>}
          </div>
        </form>
      )}
    </section>
  );
}

function durationText(ms: number | null): string {
  if (ms === null) return t('pluginJobs.notFinished');
  return ms < 1000
    ? t('pluginJobs.milliseconds', { ms })
    : t('pluginJobs.seconds', { s: (ms / 1000).toFixed(1) });
}

/** A plugin's scheduled job runs as the instances recorded them, latest slot first. */
function PluginJobRuns({ pluginId }: { pluginId: string }) {
  const controller = useController();
  const [runs, setRuns] = useState<PluginJobRun[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const titleId = useId();

  const load = useCallback(async () => {
    try {
      setRuns((await controller.rest.pluginJobRuns(pluginId, { limit: 50 })).runs);
      setError(null);
    } catch (caught) {
      setError(describeError(caught));
    }
  }, [controller, pluginId]);
  useEffect(() => {
    void load();
  }, [load]);

  return (
    <section class="plugin-job-runs" aria-labelledby={titleId}>
      <div class="plugin-job-runs-head">
        <h4 id={titleId}>{t('pluginJobs.title')}</h4>
        <button type="button" class="button small" onClick={() => void load()}>
          {t('pluginJobs.refresh')}
        </button>
      </div>
      <ErrorText error={error} />
      {runs === null && !error ? <p role="status">{t('common.loading')}</p> : null}
      {runs && runs.length === 0 ? <p class="muted">{t('pluginJobs.none')}</p> : null}
      {runs && runs.length > 0 ? (
        <table class="job-runs">
          <thead>
            <tr>
              <th scope="col" class="job-cell job-head">
                {t('pluginJobs.slot')}
              </th>
              <th scope="col" class="job-cell job-head">
                {t('pluginJobs.job')}
              </th>
              <th scope="col" class="job-cell job-head">
                {t('pluginJobs.instance')}
              </th>
              <th scope="col" class="job-cell job-head">
                {t('pluginJobs.status')}
              </th>
              <th scope="col" class="job-cell job-head">
                {t('pluginJobs.duration')}
              </th>
              <th scope="col" class="job-cell job-head">
                {t('pluginJobs.reason')}
              </th>
            </tr>
          </thead>
          <tbody class="job-runs-body">
            {runs.map((run) => (
              <tr key={`${run.job} ${run.scheduledAt}`} class={`job-run status-${run.status}`}>
                <td data-label={t('pluginJobs.slot')} class="job-cell">
                  <time dateTime={run.scheduledAt}>{formatFull(run.scheduledAt)}</time>
                </td>
                <td data-label={t('pluginJobs.job')} class="job-cell">
                  {run.job}
                </td>
                <td data-label={t('pluginJobs.instance')} class="job-cell job-run-instance">
                  {run.instanceId}
                </td>
                <td data-label={t('pluginJobs.status')} class="job-cell">
                  <span class={`plugin-state job-status-${run.status}`}>
                    {t(`pluginJobs.states.${run.status}`)}
                  </span>
                </td>
                <td data-label={t('pluginJobs.duration')} class="job-cell">
                  {durationText(run.durationMs)}
                </td>
                <td data-label={t('pluginJobs.reason')} class="job-cell job-run-reason">
                  {run.reason}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
