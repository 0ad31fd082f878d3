import type { ServerInfo } from '@kaiwa/protocol';
import { t } from '../i18n';

/*
 * Without a model (KAIWA_LLM_BASE_URL unset) nothing answers `@assistant`: the message would just be posted
 * and wait forever. The composer says so while such a message is being written, before it is sent.
 */

/** Whether the text calls on the assistant: an `@assistant` mention. */
export function addressesAssistant(text: string): boolean {
  return /(^|[^\w@])@assistant\b/i.test(text);
}

export function AssistantNotice({ text, server }: { text: string; server: ServerInfo }) {
  // Older servers do not say; only a server that says it has none gets the notice.
  if (server.assistantEnabled !== false || !addressesAssistant(text)) return null;
  return (
    <p class="assistant-notice" role="status">
      {t('composer.noAssistant')}
    </p>
  );
}
