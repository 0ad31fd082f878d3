import type { ServerInfo } from '@kaiwa/protocol';
import { t } from '../i18n';

/*
 * Without a model (KAIWA_LLM_BASE_URL unset) nothing answers the assistant: a message to it would just be
 * posted and wait forever. The composer says so — while a message mentioning it is being written, and all the
 * time in a direct room with it — before anything is sent.
 */

/** Whether the text calls on the assistant: a mention of its username (`@assistant` by default). */
export function addressesAssistant(text: string, username = 'assistant'): boolean {
  const name = username.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^\\w@])@${name}(?![\\w.-]*\\w)`, 'i').test(text);
}

export function AssistantNotice({
  text,
  server,
  directPeerUsername,
}: {
  text: string;
  server: ServerInfo;
  /** The other person's username, in a direct room. */
  directPeerUsername?: string | undefined;
}) {
  // Older servers do not say; only a server that says it has none gets the notice.
  if (server.assistantEnabled !== false) return null;
  const username = server.assistantUsername ?? 'assistant';
  const direct = directPeerUsername?.toLowerCase() === username.toLowerCase();
  if (!direct && !addressesAssistant(text, username)) return null;
  return (
    <p class="assistant-notice" role="status">
      {t(direct ? 'composer.noAssistantDirect' : 'composer.noAssistant', { name: username })}
    </p>
  );
}
