import type { Db } from "../db/client";

/** The Hono environment of every route: bindings plus what middleware puts in context. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    db: Db;
    auth: { userId: string; deviceId: string; exp: number };
  };
}
