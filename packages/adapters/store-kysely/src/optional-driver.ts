/**
 * Loads a database driver that is an optional peer dependency, turning "cannot find package" into an
 * error that says what to install.
 *
 * @example const { default: Database } = await importDriver('better-sqlite3', '^12.0.0', () => import('better-sqlite3'));
 */
export async function importDriver<T>(name: string, range: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    // Only the driver itself: a module missing inside an installed driver is another problem.
    const missing =
      (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String(error).includes(`'${name}'`);
    if (missing) {
      throw new Error(
        `@kaiwa/store-kysely needs the optional dependency "${name}" for this database; install it with: npm install ${name}@${range}`,
        { cause: error },
      );
    }
    throw error;
  }
}
