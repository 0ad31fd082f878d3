/**
 * A private group's name from its people's usernames (`ada-bob-carol`): room names are letters, digits,
 * "_", "." or "-", at most 64 characters.
 *
 * @example
 * groupName(['carol', 'ada', 'bob']); // 'ada-bob-carol'
 */
export function groupName(usernames: string[]): string {
  const name = [...usernames]
    .sort((a, b) => a.localeCompare(b))
    .join('-')
    .slice(0, 64);
  return name.replace(/[-_.]+$/, '') || 'group';
}
