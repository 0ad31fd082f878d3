import type { Message, User } from '@kaiwa/protocol';
import { useEffect } from 'preact/hooks';
import { useController } from '../hooks';
import { t } from '../i18n';
import { workflowOriginOf } from '../workflows-timeline';

/**
 * Beside the author of a message a workflow run posted: a BOT badge and who started the run. Nothing for
 * other messages (nor for a person's message that claims a run in its metadata).
 */
export function WorkflowByline({
  message,
  author,
  users,
}: {
  message: Message;
  author: User | undefined;
  users: Map<string, User>;
}) {
  const controller = useController();
  const origin = workflowOriginOf(message, author);
  const starter = origin ? users.get(origin.startedBy) : undefined;
  useEffect(() => {
    if (origin && !starter) controller.ensureUsers([origin.startedBy]);
  }, [controller, origin?.startedBy, starter]);
  if (author?.role !== 'bot') return null;
  return (
    <>
      <span class="bot-badge">{t('workflows.bot')}</span>
      {origin ? (
        <span
          class="workflow-byline muted"
          title={t('workflows.bylineTitle', { workflow: origin.workflowId, run: origin.runId })}
        >
          {t('workflows.startedBy', { name: starter ? `@${starter.username}` : t('message.someone') })}
        </span>
      ) : null}
    </>
  );
}
