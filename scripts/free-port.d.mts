/** See free-port.mjs: a port below the ephemeral range, free now and handed out once per process. */
export function freePort(): Promise<number>;
