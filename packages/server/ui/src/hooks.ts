import type { KaiwaChatClient } from '@kaiwa/client';
import { Component, type ComponentType, createContext, type FunctionComponent, h } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import { getLanguage } from './i18n';

export const ControllerContext = createContext<KaiwaChatClient | null>(null);

export function useController(): KaiwaChatClient {
  const controller = useContext(ControllerContext);
  if (!controller) throw new Error('useController outside of the chat');
  return controller;
}

/** Re-renders the component whenever the chat state changes (at most once per microtask). */
export function useChatVersion(controller: KaiwaChatClient): number {
  const [, setTick] = useState(0);
  useEffect(() => controller.state.subscribe(() => setTick((tick) => tick + 1)), [controller]);
  return controller.state.version;
}

/**
 * Whether I may moderate other people's messages in a room (delete them, ask for a transcript again): the
 * server's rights for the room, or, until it has sent them, whether I am staff everywhere.
 */
export function mayModerate(controller: KaiwaChatClient, roomId: string): boolean {
  const { rooms, capabilities } = controller.state;
  return rooms.get(roomId)?.rights?.moderate ?? capabilities.moderateMessages;
}

/** An object URL for a file's bytes, fetched with the token; undefined while it loads or if it failed. */
export function useFileUrl(fileId: string | undefined): string | undefined {
  const controller = useController();
  const [url, setUrl] = useState<string | undefined>(undefined);
  useEffect(() => {
    if (!fileId) return;
    let live = true;
    controller.fileUrl(fileId).then(
      (href) => live && setUrl(href),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [controller, fileId]);
  return url;
}

/** Tracks a media query, e.g. whether the window is narrow. */
export function useMediaQuery(query: string): boolean {
  const [matches, setMatches] = useState(() => globalThis.matchMedia?.(query).matches ?? false);
  useEffect(() => {
    const list = globalThis.matchMedia?.(query);
    if (!list) return;
    const update = () => setMatches(list.matches);
    update();
    list.addEventListener('change', update);
    return () => list.removeEventListener('change', update);
  }, [query]);
  return matches;
}

/**
 * A component that re-renders only when one of its props changed (shallow), like compat's memo, or when the
 * UI's language did (its text comes from `t`, not from its props).
 */
export function memo<P extends object>(render: FunctionComponent<P>): ComponentType<P> {
  class Memo extends Component<P> {
    #language = getLanguage();
    override shouldComponentUpdate(next: P): boolean {
      if (this.#language !== getLanguage()) {
        this.#language = getLanguage();
        return true;
      }
      const current = this.props as Record<string, unknown>;
      const upcoming = next as Record<string, unknown>;
      const keys = new Set([...Object.keys(current), ...Object.keys(upcoming)]);
      for (const key of keys) if (current[key] !== upcoming[key]) return true;
      return false;
    }
    override render() {
      return h(render, this.props);
    }
  }
  return Memo;
}
