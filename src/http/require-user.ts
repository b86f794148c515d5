import type { Db } from "../db/client";
import type { User } from "../protocol/types";
import { lookUpUser } from "../users/repo";
import { ApiError } from "./errors";

/**
 * A user another user acts on (a profile, a DM, a block): 404 for an id that never was
 * a user, 410 `gone` for an erased account.
 */
export async function requireUser(db: Db, id: string): Promise<User> {
  const user = await lookUpUser(db, id);
  if (user === null) throw new ApiError("not_found", "No such user");
  if (user === "erased") throw new ApiError("gone", "This account was deleted");
  return user;
}
