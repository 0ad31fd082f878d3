/** Columns of a board (the sidebar's Projects entry). */
export function BoardIcon() {
  return (
    <svg
      class="icon"
      viewBox="0 0 24 24"
      width="18"
      height="18"
      fill="none"
      stroke="currentColor"
      stroke-width="2"
      stroke-linecap="round"
      stroke-linejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      <path d="M3 4h18v16H3z" />
      <path d="M9 4v16" />
      <path d="M15 4v16" />
    </svg>
  );
}
