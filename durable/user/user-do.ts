import { DurableObject } from "cloudflare:workers";

export class UserDO extends DurableObject<Env> {}
