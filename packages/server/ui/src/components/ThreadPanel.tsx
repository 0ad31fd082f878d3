import type { RoomEntry } from '@kaiwa/client';
import type { ServerInfo, User } from '@kaiwa/protocol';
import { useEffect, useRef } from 'preact/hooks';
import { mayModerate, useController } from '../hooks';
import { t } from '../i18n';
import { navigation } from '../navigation';
import { Composer } from './Composer';
import { Icon } from './icons';
import { useTimelineNavigation } from './Navigation';
import { messageRows, type RowCache, useReaderStick } from './RoomView';
import { WindowedRows } from './WindowedTimeline';

/*
 * A thread beside the room: its first message, then the replies, windowed as the room's timeline is (a
 * thread of thousands of replies keeps only the rows near the view in the page) and kept at the bottom
 * while the reader is there.
 */

export function ThreadPanel({
  entry,
  rootId,
  me,
  server,
  onClose,
}: {
  entry: RoomEntry;
  rootId: string;
  me: User;
  server: ServerInfo;
  onClose: () => void;
}) {
  const controller = useController();
  const state = controller.state;
  const roomId = entry.room.id;
  const root = entry.messages.get(rootId);
  const replies = state.threadReplies(roomId, rootId);
  const pending = state.pending(roomId, rootId);
  const thread = entry.threads.get(rootId);
  const { scroller, onScroll, stick } = useReaderStick();
  const rowCache: RowCache = useRef(new Map());
  const { jump } = navigation.state;
  const moderate = mayModerate(controller, roomId);
  const jumpControl = useTimelineNavigation({
    roomId,
    threadRootId: rootId,
    scroller,
    stick,
    messages: replies,
    pending,
    me,
  });
  const closeButton = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    void controller.loadThread(roomId, rootId);
  }, [controller, roomId, rootId]);

  return (
    <aside
      class="thread-panel"
      aria-labelledby="thread-title"
      onKeyDown={(event) => {
        if (event.key === 'Escape' && !event.defaultPrevented) onClose();
      }}
    >
      <div class="panel-header">
        <h2 id="thread-title">
          {t('thread.title')}{' '}
          <span class="muted">
            {t('thread.inRoom', {
              room: entry.room.kind === 'direct' ? state.roomTitle(roomId) : `#${state.roomTitle(roomId)}`,
            })}
          </span>
        </h2>
        <button
          ref={closeButton}
          type="button"
          class="icon-button"
          aria-label={t('thread.close')}
          onClick={onClose}
        >
          <Icon name="close" />
        </button>
      </div>
      <div class="message-scroller" ref={scroller} onScroll={onScroll}>
        <div>
          {root ? (
            <ol class="message-list thread-root" aria-label={t('thread.start')}>
              {messageRows({
                messages: [root],
                pending: [],
                me,
                users: state.users,
                inThread: true,
                moderate,
              })}
            </ol>
          ) : (
            <p class="loading" role="status">
              {t('common.loading')}
            </p>
          )}
          <p class="thread-divider">
            <span>{t('thread.replies', { count: replies.length })}</span>
          </p>
          {thread?.hasOlder ? (
            <div class="load-older">
              <button
                type="button"
                class="button small"
                disabled={thread.loading}
                onClick={() => controller.loadThread(roomId, rootId, true)}
              >
                {t('thread.loadEarlier')}
              </button>
            </div>
          ) : null}
          <div role="log" aria-live="polite" aria-relevant="additions" aria-label={t('thread.repliesLabel')}>
            <WindowedRows
              scroller={scroller}
              stick={stick}
              focus={jump?.roomId === roomId && jump.threadRootId === rootId ? jump.messageId : undefined}
              rows={messageRows({
                messages: replies,
                pending,
                streaming: state.streaming(roomId, rootId),
                me,
                users: state.users,
                inThread: true,
                moderate,
                cache: rowCache,
              })}
            />
          </div>
        </div>
      </div>
      {jumpControl}
      {root && root.deletedAt === null ? (
        <Composer
          key={rootId}
          roomId={roomId}
          threadRootId={rootId}
          server={server}
          label={t('thread.replyInThread')}
        />
      ) : null}
    </aside>
  );
}
