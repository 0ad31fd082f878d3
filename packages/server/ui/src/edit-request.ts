/*
 * Up-arrow in an empty composer edits one's last message: the composer asks, the message's own item (which
 * holds the edit form) answers. A registry by message id, so only the one item is told.
 */
import { useLayoutEffect } from 'preact/hooks';

const editors = new Map<string, (editing: boolean) => void>();

/**
 * Registers a message item that can open its edit form (its `setEditing` state setter), while `enabled`.
 * Registered as the item enters the page, not after the next paint: an up-arrow pressed as soon as one's
 * message shows (its ack arrived, the item re-rendered) finds it.
 */
export function useEditRequest(
  messageId: string,
  enabled: boolean,
  setEditing: (editing: boolean) => void,
): void {
  useLayoutEffect(() => {
    if (!enabled) return;
    editors.set(messageId, setEditing);
    return () => {
      if (editors.get(messageId) === setEditing) editors.delete(messageId);
    };
  }, [messageId, enabled, setEditing]);
}

/** Opens the edit form of a message shown on screen; false when it is not. */
export function requestEdit(messageId: string): boolean {
  const setEditing = editors.get(messageId);
  setEditing?.(true);
  return setEditing !== undefined;
}
