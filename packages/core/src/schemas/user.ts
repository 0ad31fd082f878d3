import { z } from 'zod';
import { IdSchema, TimestampSchema } from './common.js';

export const USER_ROLES = ['admin', 'moderator', 'member', 'guest', 'bot'] as const;
export const UserRoleSchema = z.enum(USER_ROLES);
export type UserRole = z.infer<typeof UserRoleSchema>;

/** Lower-case handle used in @mentions: 2–32 of a–z, 0–9, `_`, `.`, `-`, starting with a letter or digit. */
export const UsernameSchema = z
  .string()
  .min(2)
  .max(32)
  .regex(
    /^[a-z0-9][a-z0-9_.-]*$/,
    'must be lower-case letters, digits, "_", "." or "-", starting with a letter or digit',
  );

export const DisplayNameSchema = z.string().trim().min(1).max(64);

export const UserSchema = z.object({
  id: IdSchema,
  username: UsernameSchema,
  displayName: DisplayNameSchema,
  role: UserRoleSchema,
  forcePasswordChange: z.boolean(),
  createdAt: TimestampSchema,
  updatedAt: TimestampSchema,
  /**
   * When an admin deactivated the account; absent while it is active. A deactivated user cannot sign in, is
   * left out of user lists, and keeps the messages they wrote.
   */
  deactivatedAt: TimestampSchema.optional(),
});
export type User = z.infer<typeof UserSchema>;

export const CreateUserInputSchema = z.object({
  username: UsernameSchema,
  displayName: DisplayNameSchema.optional(),
  role: UserRoleSchema.default('member'),
  forcePasswordChange: z.boolean().default(false),
});
export type CreateUserInput = z.input<typeof CreateUserInputSchema>;

export const UpdateUserInputSchema = z
  .object({
    displayName: DisplayNameSchema,
    role: UserRoleSchema,
    forcePasswordChange: z.boolean(),
  })
  .partial();
export type UpdateUserInput = z.input<typeof UpdateUserInputSchema>;
