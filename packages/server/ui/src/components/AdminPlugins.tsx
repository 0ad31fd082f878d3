import type { PluginSummary } from '@kaiwa/client';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { formatFull } from '../format';
import { useController } from '../hooks';
import { type MessageKey, t } from '../i18n';
import { describeError, ErrorText, Modal } from './common';
import { InstallPlugin } from './PluginLifecycle';
import { PluginDetails } from './PluginSettings';

/*
 * Admins' plugins screen: every installed plugin with its version, state, bot user and last problem, and
 * Start / Stop (each audited on the server), its settings form and its scheduled job runs (PluginSettings.tsx),
 * Upgrade and Uninstall, and Install plugin above the list (PluginLifecycle.tsx). A plugin that is starting or
 * restarting is looked at again every second until it settles.
 */

const STATES = ['stopped', 'starting', 'running', 'restarting', 'failed'];

function stateLabel(state: string): string {
  return STATES.includes(state) ? t(`plugins.states.${state}` as MessageKey) : state;
}

export function PluginsDialog({ onClose }: { onClose: () => void }) {
  const controller = useController();
  const [plugins, setPlugins] = useState<PluginSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  // Each announcement its own object, so the same words said twice move the focus again.
  const [notice, setNotice] = useState<{ text: string } | null>(null);
  const noticeRef = useRef<HTMLParagraphElement>(null);
  // What was installed or uninstalled is said at the top, and the focus goes there (the row it came from
  // may be gone): once the notice is in the page, not at a guessed frame.
  const announce = (text: string) => setNotice({ text });
  useEffect(() => {
    if (notice) noticeRef.current?.focus();
  }, [notice]);

  const load = useCallback(async () => {
    try {
      setPlugins((await controller.rest.listPlugins()).plugins);
      setError(null);
    } catch (caught) {
      setError(describeError(caught));
    }
  }, [controller]);
  useEffect(() => {
    void load();
  }, [load]);

  const settling = plugins?.some((plugin) => plugin.state === 'starting' || plugin.state === 'restarting');
  useEffect(() => {
    if (!settling) return;
    const timer = setInterval(() => void load(), 1_000);
    return () => clearInterval(timer);
  }, [settling, load]);

  const toggle = async (plugin: PluginSummary) => {
    setBusy(plugin.id);
    setError(null);
    try {
      const next = await controller.rest.setPluginRunning(plugin.id, plugin.state !== 'running');
      setPlugins((current) => (current ?? []).map((each) => (each.id === next.id ? next : each)));
    } catch (caught) {
      setError(describeError(caught));
      void load();
    } finally {
      setBusy(null);
    }
  };

  return (
    <Modal title={t('plugins.title')} onClose={onClose}>
      <div class="stack plugins-admin">
        <InstallPlugin
          onInstalled={(installed) => {
            if (installed)
              announce(t('pluginLifecycle.installed', { name: installed.id, version: installed.version }));
            void load();
          }}
        />
        {notice ? (
          <p ref={noticeRef} class="notice plugin-notice" role="status" tabIndex={-1}>
            {notice.text}
          </p>
        ) : null}
        <ErrorText error={error} />
        {plugins === null && !error ? <p role="status">{t('common.loading')}</p> : null}
        {plugins && plugins.length === 0 ? <p class="muted">{t('plugins.none')}</p> : null}
        {plugins && plugins.length > 0 ? (
          <>
            <h3>{t('plugins.count', { count: plugins.length })}</h3>
            <ul class="plugin-list">
              {[...plugins]
                .sort((a, b) => a.id.localeCompare(b.id))
                .map((plugin) => {
                  const running = plugin.state === 'running';
                  return (
                    <li key={plugin.id} class="plugin-row">
                      <div class="plugin-main">
                        <span class="plugin-name">
                          <strong>{plugin.id}</strong> <span class="muted">{plugin.version}</span>
                        </span>
                        <span class={`plugin-state state-${plugin.state}`}>{stateLabel(plugin.state)}</span>
                        <span class="muted plugin-bot">
                          {t('plugins.actsAs', { bot: plugin.botUsername })}
                        </span>
                        {plugin.lastProblem ? (
                          <span class="plugin-problem">
                            {t('plugins.lastProblem', {
                              type: plugin.lastProblem.type,
                              at: formatFull(plugin.lastProblem.at),
                              detail: plugin.lastProblem.detail,
                            })}
                          </span>
                        ) : null}
                      </div>
                      <button
                        type="button"
                        class={`button small${running ? '' : ' primary'}`}
                        disabled={busy === plugin.id}
                        aria-label={t(running ? 'plugins.stopNamed' : 'plugins.startNamed', {
                          name: plugin.id,
                        })}
                        onClick={() => void toggle(plugin)}
                      >
                        {t(running ? 'plugins.stop' : 'plugins.start')}
                      </button>
                      <PluginDetails
                        plugin={plugin}
                        onChanged={() => void load()}
                        onUninstalled={(result) => {
                          announce(
                            t(
                              result.keptData
                                ? 'pluginLifecycle.uninstalledKept'
                                : 'pluginLifecycle.uninstalledDropped',
                              { name: result.id },
                            ),
                          );
                          setPlugins((current) => (current ?? []).filter((each) => each.id !== result.id));
                          void load();
                        }}
                      />
                    </li>
                  );
                })}
            </ul>
          </>
        ) : null}
      </div>
    </Modal>
  );
}
