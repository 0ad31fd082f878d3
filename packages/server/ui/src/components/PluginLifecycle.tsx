import type { InstalledPlugin, PluginSummary, PluginTarball, UpgradedPlugin } from '@kaiwa/client';
import { useId, useRef, useState } from 'preact/hooks';
import { useController } from '../hooks';
import { type MessageKey, t, tRich } from '../i18n';
import {
  canComputeSha256,
  type LifecycleProblem,
  lifecycleProblem,
  normalSha256,
  sha256Hex,
} from '../plugin-lifecycle-form';

/*
 * Installing, upgrading and uninstalling plugins on the admins' plugins screen. Install and Upgrade take a
 * tarball and the SHA-256 its publisher gives: the admin pastes it (the help text says how to compute it,
 * `sha256sum plugin.tgz`); the browser computes the chosen file's own checksum and says whether the two match,
 * but never fills the field in, since a checksum copied from the file itself would prove nothing. The server
 * checks again and its refusal is shown with every issue it names; a rolled-back upgrade says which stage
 * failed, why, and which version runs again. Uninstall asks first, says what goes, and keeps the plugin's
 * data unless the admin unticks "Keep its data".
 */

const SHA_COMMAND = 'sha256sum plugin.tgz';
const ACCEPT = '.tgz,.tar,.tar.gz,application/gzip,application/x-gzip,application/x-tar';

/** A failed install, upgrade or uninstall: the sentence, a rollback's stage, reason and version, every issue. */
function ProblemView({ problem, id }: { problem: LifecycleProblem; id?: string }) {
  const { rollback } = problem;
  return (
    <div class="error-text plugin-lifecycle-problem" role="alert" id={id}>
      <p class="problem-title">{t(problem.key, problem.params)}</p>
      {rollback ? (
        <ul class="problem-lines">
          <li>
            {t('pluginLifecycle.rollback.failed', {
              version: rollback.failedVersion,
              stage: ['start', 'migrate', 'health'].includes(rollback.stage)
                ? t(`pluginLifecycle.rollback.stages.${rollback.stage}` as MessageKey)
                : rollback.stage,
              reason: rollback.reason,
            })}
          </li>
          <li>
            {rollback.restoreError
              ? t('pluginLifecycle.rollback.restoreFailed', {
                  version: rollback.restoredVersion,
                  error: rollback.restoreError,
                })
              : t('pluginLifecycle.rollback.restored', { version: rollback.restoredVersion })}
          </li>
        </ul>
      ) : null}
      {problem.params.detail ? <p class="problem-text">{problem.params.detail}</p> : null}
      {problem.issues.length > 0 ? (
        <>
          <p class="problem-text">{t('pluginLifecycle.issues')}</p>
          <ul class="problem-lines">
            {problem.issues.map((issue) => (
              <li key={issue}>{issue}</li>
            ))}
          </ul>
        </>
      ) : null}
    </div>
  );
}

/** The file and checksum fields, the comparison with the chosen file, and the server's refusal. */
function TarballForm({
  intro,
  submitLabel,
  busyLabel,
  onSubmit,
  onCancel,
}: {
  intro: string;
  submitLabel: string;
  busyLabel: string;
  /** Sends the tarball; a failure is shown in the form. */
  onSubmit: (tarball: PluginTarball) => Promise<void>;
  onCancel: () => void;
}) {
  const [file, setFile] = useState<File | null>(null);
  const [checksum, setChecksum] = useState('');
  const [actual, setActual] = useState<string | null>(null);
  const [computing, setComputing] = useState(false);
  const [errors, setErrors] = useState<{ file?: string; sha256?: string }>({});
  const [problem, setProblem] = useState<LifecycleProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  const chosen = useRef<File | null>(null);
  const ids = { file: useId(), sha: useId(), hint: useId(), compare: useId(), fileError: useId() };
  const shaErrorId = useId();
  const problemId = useId();

  const choose = async (next: File | null) => {
    chosen.current = next;
    setFile(next);
    setActual(null);
    setProblem(null);
    setErrors(({ file: _fixed, ...rest }) => rest);
    if (!next || !canComputeSha256()) return;
    setComputing(true);
    try {
      const hash = await sha256Hex(await next.arrayBuffer());
      if (chosen.current === next) setActual(hash);
    } catch {
      // No comparison then: the server checks anyway.
    } finally {
      if (chosen.current === next) setComputing(false);
    }
  };

  const expected = normalSha256(checksum);
  const focusFirstProblem = () =>
    requestAnimationFrame(() =>
      formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus(),
    );

  const submit = async (event: Event) => {
    event.preventDefault();
    if (busy) return;
    setProblem(null);
    const found: { file?: string; sha256?: string } = {};
    if (!file) found.file = t('pluginLifecycle.chooseFile');
    if (!expected) found.sha256 = t('pluginLifecycle.enterChecksum');
    setErrors(found);
    if (!file || !expected) {
      focusFirstProblem();
      return;
    }
    setBusy(true);
    try {
      await onSubmit({ file, sha256: expected });
    } catch (caught) {
      setProblem(lifecycleProblem(caught));
    } finally {
      setBusy(false);
    }
  };

  const invalid = (field: 'file' | 'sha256') => Boolean(errors[field] || problem?.fields.includes(field));
  const describedBy = (...parts: (string | false | undefined)[]) => parts.filter(Boolean).join(' ');
  const comparison =
    file && expected && actual ? (
      actual === expected ? (
        <p id={ids.compare} class="hint checksum-match" role="status">
          {t('pluginLifecycle.matches')}
        </p>
      ) : (
        <p id={ids.compare} class="field-error checksum-differs" role="status">
          {t('pluginLifecycle.differs', { actual })}
        </p>
      )
    ) : computing ? (
      <p id={ids.compare} class="hint" role="status">
        {t('pluginLifecycle.computing')}
      </p>
    ) : null;

  return (
    <form ref={formRef} class="stack plugin-tarball-form" noValidate onSubmit={(event) => void submit(event)}>
      <p class="hint">{intro}</p>
      <div class="field">
        <label for={ids.file}>{t('pluginLifecycle.file')}</label>
        <input
          id={ids.file}
          name="file"
          type="file"
          accept={ACCEPT}
          aria-invalid={invalid('file') ? 'true' : undefined}
          {...(errors.file ? { 'aria-describedby': ids.fileError } : {})}
          onChange={(event) => void choose(event.currentTarget.files?.[0] ?? null)}
        />
        {errors.file ? (
          <p class="field-error" id={ids.fileError}>
            {errors.file}
          </p>
        ) : null}
      </div>
      <div class="field plugin-checksum">
        <label for={ids.sha}>{t('pluginLifecycle.checksum')}</label>
        <input
          id={ids.sha}
          name="sha256"
          type="text"
          class="checksum-input"
          autocomplete="off"
          spellcheck={false}
          autocapitalize="off"
          value={checksum}
          aria-invalid={invalid('sha256') ? 'true' : undefined}
          aria-describedby={describedBy(
            ids.hint,
            errors.sha256 && shaErrorId,
            comparison ? ids.compare : undefined,
            problem?.fields.includes('sha256') && problemId,
          )}
          onInput={(event) => {
            setChecksum(event.currentTarget.value);
            setErrors(({ sha256: _fixed, ...rest }) => rest);
            // The refusal was about the checksum sent; a new one is not refused yet.
            setProblem(null);
          }}
        />
        <p class="hint" id={ids.hint}>
          {tRich('pluginLifecycle.checksumHint', {
            command: <code class="checksum-command">{SHA_COMMAND}</code>,
          })}
        </p>
        {errors.sha256 ? (
          <p class="field-error" id={shaErrorId}>
            {errors.sha256}
          </p>
        ) : null}
        {comparison}
      </div>
      {problem ? <ProblemView problem={problem} id={problemId} /> : null}
      <div class="plugin-settings-actions">
        <button type="submit" class="button primary" disabled={busy}>
          {busy ? busyLabel : submitLabel}
        </button>
        <button type="button" class="button" disabled={busy} onClick={onCancel}>
          {t('common.cancel')}
        </button>
      </div>
    </form>
  );
}

/** The Install plugin button at the top of the screen and the form it opens. */
export function InstallPlugin({ onInstalled }: { onInstalled: (plugin: InstalledPlugin | null) => void }) {
  const controller = useController();
  const [open, setOpen] = useState(false);
  const panelId = useId();
  const titleId = useId();
  const openerRef = useRef<HTMLButtonElement>(null);
  const close = () => {
    setOpen(false);
    requestAnimationFrame(() => openerRef.current?.focus());
  };
  return (
    <div class="plugin-install">
      <button
        ref={openerRef}
        type="button"
        class="button primary"
        aria-expanded={open}
        aria-controls={open ? panelId : undefined}
        onClick={() => setOpen((current) => !current)}
      >
        {t('pluginLifecycle.install')}
      </button>
      {open ? (
        <section id={panelId} class="plugin-panel plugin-install-panel" aria-labelledby={titleId}>
          <h3 id={titleId}>{t('pluginLifecycle.installTitle')}</h3>
          <TarballForm
            intro={t('pluginLifecycle.installIntro')}
            submitLabel={t('pluginLifecycle.submitInstall')}
            busyLabel={t('pluginLifecycle.installing')}
            onCancel={close}
            onSubmit={async (tarball) => {
              try {
                const installed = await controller.rest.installPlugin(tarball);
                onInstalled(installed);
                setOpen(false);
              } catch (caught) {
                // A plugin that installed but did not start is in the list all the same.
                onInstalled(null);
                throw caught;
              }
            }}
          />
        </section>
      ) : null}
    </div>
  );
}

/** The upgrade form under a plugin's row. */
export function UpgradePlugin({
  plugin,
  onDone,
  onChanged,
}: {
  plugin: PluginSummary;
  /** After a good upgrade (or Cancel, with null): closes the panel. */
  onDone: (upgraded: UpgradedPlugin | null) => void;
  onChanged: () => void;
}) {
  const controller = useController();
  const titleId = useId();
  return (
    <section class="plugin-upgrade" aria-labelledby={titleId}>
      <h4 id={titleId}>{t('pluginLifecycle.upgradeTitle', { name: plugin.id })}</h4>
      <TarballForm
        intro={t('pluginLifecycle.upgradeIntro', { name: plugin.id, version: plugin.version })}
        submitLabel={t('pluginLifecycle.submitUpgrade')}
        busyLabel={t('pluginLifecycle.upgrading')}
        onCancel={() => onDone(null)}
        onSubmit={async (tarball) => {
          try {
            onDone(await controller.rest.upgradePlugin(plugin.id, tarball));
          } finally {
            // After a rollback too: the old version's state is news.
            onChanged();
          }
        }}
      />
    </section>
  );
}

/** The uninstall question under a plugin's row: what is removed, and "Keep its data" (on by default). */
export function UninstallPlugin({
  plugin,
  onDone,
}: {
  plugin: PluginSummary;
  /** After the uninstall (or Cancel, with null). */
  onDone: (result: { id: string; keptData: boolean } | null) => void;
}) {
  const controller = useController();
  const [keepData, setKeepData] = useState(true);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<LifecycleProblem | null>(null);
  const titleId = useId();
  const keepId = useId();
  const hintId = useId();

  const uninstall = async () => {
    setBusy(true);
    setProblem(null);
    try {
      const result = await controller.rest.uninstallPlugin(plugin.id, { keepData });
      onDone({ id: result.id, keptData: result.keptData });
    } catch (caught) {
      setProblem(lifecycleProblem(caught));
      setBusy(false);
    }
  };

  return (
    <section class="plugin-uninstall" aria-labelledby={titleId}>
      <h4 id={titleId}>{t('pluginLifecycle.uninstallTitle', { name: plugin.id })}</h4>
      <div class="plugin-uninstall-body">
        <p class="plugin-uninstall-text">
          {t('pluginLifecycle.uninstallWhat', { name: plugin.id, bot: plugin.botUsername })}
        </p>
        <div class="plugin-keep-data">
          <label class="toggle" for={keepId}>
            <input
              id={keepId}
              type="checkbox"
              checked={keepData}
              aria-describedby={hintId}
              onChange={(event) => setKeepData(event.currentTarget.checked)}
            />
            <span>{t('pluginLifecycle.keepData')}</span>
          </label>
          <p class={keepData ? 'hint' : 'field-error'} id={hintId}>
            {t(keepData ? 'pluginLifecycle.keepDataHint' : 'pluginLifecycle.dropDataHint')}
          </p>
        </div>
        {problem ? <ProblemView problem={problem} /> : null}
        <div class="plugin-settings-actions">
          <button type="button" class="button danger" disabled={busy} onClick={() => void uninstall()}>
            {busy
              ? t('pluginLifecycle.uninstalling')
              : t('pluginLifecycle.confirmUninstall', { name: plugin.id })}
          </button>
          <button type="button" class="button" disabled={busy} onClick={() => onDone(null)}>
            {t('common.cancel')}
          </button>
        </div>
      </div>
    </section>
  );
}
