import type { ComponentType, FunctionComponent } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/**
 * A component whose code is fetched the first time it is rendered: screens and dialogs most visits never
 * open (projects, plugins, workflows, settings, the emoji picker) stay out of the script the page starts
 * with, so a room opens sooner. It renders nothing until its chunk has arrived (a few milliseconds from the
 * HTTP cache or the service worker, which keeps every chunk of the build), then the component. A chunk
 * that could not be fetched is asked for again the next time the component is shown.
 *
 * @example
 * const ProjectsView = lazyComponent(() => import('./rare-screens').then((module) => module.ProjectsView));
 */
export function lazyComponent<Props extends object>(
  load: () => Promise<ComponentType<Props>>,
): FunctionComponent<Props> {
  let loaded: ComponentType<Props> | undefined;
  let loading: Promise<ComponentType<Props>> | undefined;
  const start = () => {
    loading ??= load().then(
      (component) => {
        loaded = component;
        return component;
      },
      (error: unknown) => {
        loading = undefined;
        throw error;
      },
    );
    return loading;
  };
  function Lazy(props: Props) {
    const [, setReady] = useState(false);
    useEffect(() => {
      if (loaded) return;
      let live = true;
      start().then(
        () => live && setReady(true),
        (error: unknown) => console.warn('Kaiwa could not load part of the page', error),
      );
      return () => {
        live = false;
      };
    }, []);
    const Component = loaded;
    return Component ? <Component {...props} /> : null;
  }
  return Lazy;
}
