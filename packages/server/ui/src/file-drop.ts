/*
 * Files dragged onto a room (or a thread panel) go to its composer. The area the composer sits in gets the
 * class `dragging-files` while files are over it, which the stylesheet shows as a drop zone.
 */
import type { RefObject } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

/** The area a composer accepts dropped files for. */
const DROP_AREA = '.thread-panel, .room';

function carriesFiles(event: DragEvent): boolean {
  return [...(event.dataTransfer?.types ?? [])].includes('Files');
}

/** Sends files dropped on the composer's room or thread panel to `onFiles`. */
export function useFileDrop(inside: RefObject<HTMLElement>, onFiles: (files: File[]) => void): void {
  const latest = useRef(onFiles);
  latest.current = onFiles;
  useEffect(() => {
    const area = inside.current?.closest<HTMLElement>(DROP_AREA);
    if (!area) return;
    // dragenter and dragleave fire for every child crossed; counting them tells when the files left.
    let depth = 0;
    const show = (on: boolean) => area.classList.toggle('dragging-files', on);
    const onEnter = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      depth += 1;
      show(true);
    };
    const onOver = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
    };
    const onLeave = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) show(false);
    };
    const onDrop = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      // The thread panel's own drop must not reach a room around it.
      event.stopPropagation();
      depth = 0;
      show(false);
      const files = [...(event.dataTransfer?.files ?? [])];
      if (files.length > 0) latest.current(files);
    };
    area.addEventListener('dragenter', onEnter);
    area.addEventListener('dragover', onOver);
    area.addEventListener('dragleave', onLeave);
    area.addEventListener('drop', onDrop);
    return () => {
      area.removeEventListener('dragenter', onEnter);
      area.removeEventListener('dragover', onOver);
      area.removeEventListener('dragleave', onLeave);
      area.removeEventListener('drop', onDrop);
      show(false);
    };
  }, [inside]);
}
