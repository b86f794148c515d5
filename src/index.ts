import { buildApp } from "./app";

export { ChannelDO } from "../durable/channel/channel-do";
export { AuthLimiterDO } from "../durable/limiter/auth-limiter-do";
export { UserDO } from "../durable/user/user-do";

export default buildApp() satisfies ExportedHandler<Env>;
